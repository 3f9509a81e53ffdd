#!/usr/bin/env bash
# End-to-end test of shardgen on a real (one-node) Slurm cluster.
#
#   scripts/test-slurm.sh [SHARDGEN [CONFIG]]      as root
#   scripts/test-slurm.sh --compare TREE_A TREE_B  only the tree comparison
#
#   SHARDGEN  the binary under test (default <repo>/target/release/shardgen); not
#             built here: run `cargo build --release` first
#   CONFIG    pipeline YAML (default: a small two-block random-bytes config
#             written here, seed 7, 40 samples)
#
# What it does, timing each phase:
#   1. install   scripts/slurm/local-cluster.sh install (no-op when installed)
#   2. bring-up  local-cluster.sh up in a fresh temporary folder; a trap runs
#                `down` on every exit, so no daemon or job outlives the test
#   3. jobs      scripts/slurm/submit.sh: an array of TOTAL/PER tasks (default
#                4 x 10 samples over 0..40) into ONE output folder, plus the
#                statistics job (afterany); polls squeue every 0.25 s, bounded;
#                every job must end COMPLETED with ExitCode=0:0
#   4. local     the same config in one process over the same range into another
#                folder, then --statistics-only there too
#   5. compare   both trees must hold the same files, byte for byte (sha256),
#                everything but .shardgen/ (per-run logs), the wall times
#                (timings.yaml, plots/timings.*) and report.html (which shows
#                the runs, hosts and wall times): sample folders,
#                their records, statistics.yaml
#
# Environment:
#   TEST_SLURM_TOTAL (40), TEST_SLURM_PER (10)   range and samples per task
#   TEST_SLURM_TIMEOUT (180)                     seconds allowed for the jobs
#   TEST_SLURM_KEEP=1                            keep the temporary folder
#   TEST_SLURM_STATISTICS (statistics.yaml)      file the statistics job writes in
#                                                OUT; missing: a warning, or a
#   TEST_SLURM_REQUIRE_STATISTICS=1              failure with this set
# Exits 0 when everything matched, 1 on any failure or difference, 2 on usage.
set -euo pipefail

repo="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cluster_sh="$repo/scripts/slurm/local-cluster.sh"
submit_sh="$repo/scripts/slurm/submit.sh"

say() { printf 'test-slurm: %s\n' "$*" >&2; }
fail() {
    printf 'test-slurm: FAIL: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Phase timer on $EPOCHREALTIME (microseconds, no subprocess).
now_us() { local t="$EPOCHREALTIME"; echo "${t/./}"; }
declare -a timings=()
phase_done() { # NAME START_US
    local us=$(($(now_us) - $2)) secs
    secs="$(printf '%d.%03d s' $((us / 1000000)) $((us / 1000 % 1000)))"
    timings+=("$(printf '%-9s %10s' "$1" "$secs")")
    say "$1: $secs"
}

# ---------------------------------------------------------------- compare

# listing ROOT: "sha256  ./path" for every file under ROOT except .shardgen/
# and the wall-time summaries, which differ between any two runs by design.
listing() {
    (cd -- "$1" && find . -type f -not -path './.shardgen/*' -not -name timings.yaml \
        -not -path './plots/timings.*' -not -name report.html -print0 | LC_ALL=C sort -z |
        xargs -0 -r sha256sum)
}

# compare_trees A B: fail unless A and B hold the same files with the same bytes.
compare_trees() {
    local a="$1" b="$2" la lb
    [[ -d "$a" && -d "$b" ]] || fail "compare: not folders: '$a' '$b'"
    la="$(listing "$a")"
    lb="$(listing "$b")"
    if [[ "$la" != "$lb" ]]; then
        say "trees differ (< $a, > $b; sha256 and path, .shardgen/ and timings excluded):"
        diff <(printf '%s\n' "$la") <(printf '%s\n' "$lb") | head -n 40 >&2 || true
        fail "$a and $b differ"
    fi
    say "identical: $(wc -l <<<"$la") files in $a and $b"
}

if [[ "${1:-}" == --compare ]]; then
    [[ $# -eq 3 ]] || usage
    compare_trees "$2" "$3"
    exit 0
fi
[[ "${1:-}" != -* ]] || usage

# ---------------------------------------------------------------- setup

shardgen="${1:-$repo/target/release/shardgen}"
config="${2:-}"
total="${TEST_SLURM_TOTAL:-40}"
per="${TEST_SLURM_PER:-10}"
jobs_timeout="${TEST_SLURM_TIMEOUT:-180}"

[[ "$(id -u)" -eq 0 ]] || fail "run as root (installs packages, runs slurmd)"
[[ -f "$shardgen" && -x "$shardgen" ]] || fail "not an executable file: $shardgen (build it first)"
shardgen="$(realpath -- "$shardgen")"
if [[ -n "$config" ]]; then
    [[ -f "$config" ]] || fail "no such config: $config"
    config="$(realpath -- "$config")"
fi

t=$(now_us)
"$cluster_sh" install
phase_done install "$t"

# One temporary folder for everything; slurmctld runs as user slurm and must be
# able to enter it (mktemp makes it 0700).
tmp="$(mktemp -d /tmp/test-slurm.XXXXXX)"
chmod 0755 "$tmp"
cluster="$tmp/cluster"

# Always stop the cluster, whatever happened; then check nothing of it is left.
cleanup() {
    local rc=$? t
    t=$(now_us)
    "$cluster_sh" down "$cluster" || rc=1
    phase_done down "$t"
    local left
    left="$(pgrep -a -f -- "$cluster/" || true)"
    if [[ -n "$left" ]]; then
        say "FAIL: processes of the test cluster still running after down:"
        printf '%s\n' "$left" >&2
        rc=1
    fi
    if [[ "${TEST_SLURM_KEEP:-}" == 1 ]]; then
        say "kept $tmp"
    else
        rm -rf -- "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
# A CI timeout or ^C must still run cleanup: turn the signals into an exit.
trap 'exit 130' INT
trap 'exit 143' TERM

t=$(now_us)
eval "$("$cluster_sh" up "$cluster")" # export SLURM_CONF=...
phase_done bring-up "$t"
[[ -n "${SLURM_CONF:-}" ]] || fail "local-cluster.sh up printed no SLURM_CONF"

if [[ -z "$config" ]]; then
    config="$tmp/config.yaml"
    cat >"$config" <<'EOF'
seed: 7
samples: 40
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 256}}
  - {name: b, type: random-bytes, outputs: [b.bin], params: {size: 128}}
EOF
fi
mkdir -p "$tmp/logs"

# Print what the jobs wrote, and the daemons' last lines, to explain a failure.
show_job_logs() {
    local f
    for f in "$tmp"/logs/*; do
        [[ -f "$f" ]] || continue
        printf -- '--- %s ---\n' "$f" >&2
        tail -n 20 "$f" >&2
    done
    for f in "$cluster/log/slurmd.log" "$cluster/log/slurmctld/slurmctld.log"; do
        printf -- '--- last lines of %s ---\n' "$f" >&2
        tail -n 15 "$f" >&2 || true
    done
}

# ---------------------------------------------------------------- jobs

t=$(now_us)
submitted="$(SHARDGEN="$shardgen" START_SAMPLE=0 "$submit_sh" "$config" "$tmp/slurm-out" \
    "$total" "$per" --output="$tmp/logs/%x-%j.out")"
array_id="$(sed -n 's/^array_job_id=//p' <<<"$submitted")"
stats_id="$(sed -n 's/^statistics_job_id=//p' <<<"$submitted")"
[[ -n "$array_id" && -n "$stats_id" ]] || fail "submit.sh printed no job ids: $submitted"
tasks=$(((total + per - 1) / per))

# The cluster is ours alone: wait until its queue is empty.
deadline=$((SECONDS + jobs_timeout))
while [[ -n "$(squeue -h -o '%i')" ]]; do
    if ((SECONDS >= deadline)); then
        squeue >&2 || true
        show_job_logs
        fail "jobs still queued or running after ${jobs_timeout}s"
    fi
    sleep 0.25
done

# No accounting here: ask the controller (it keeps finished jobs for MinJobAge,
# 300 s). One line per array task. Fields are matched whole (` ExitCode=`, not
# `DerivedExitCode=`).
job_states() { # JOBID -> "id state exitcode" lines, id as 12 or 12_3(15)
    scontrol show job -o "$1" | awk '{
        id = ""; aj = ""; at = ""; st = ""; ec = ""
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^JobId=/) id = substr($i, 7)
            if ($i ~ /^ArrayJobId=/) aj = substr($i, 12)
            if ($i ~ /^ArrayTaskId=/) at = substr($i, 13)
            if ($i ~ /^JobState=/) st = substr($i, 10)
            if ($i ~ /^ExitCode=/) ec = substr($i, 10)
        }
        if (aj != "" && at != "") id = aj "_" at "(" id ")"
        print id, st, ec
    }'
}
bad=0
array_states="$(job_states "$array_id")" || fail "scontrol knows no job $array_id"
stats_state="$(job_states "$stats_id")" || fail "scontrol knows no job $stats_id"
printf '%s\n' "$array_states" "$stats_state" | sed 's/^/test-slurm:   job /' >&2
[[ "$(wc -l <<<"$array_states")" -eq "$tasks" ]] || { say "expected $tasks array tasks"; bad=1; }
while read -r id state code; do
    [[ "$state" == COMPLETED && "$code" == 0:0 ]] || { say "job $id: $state, exit code $code"; bad=1; }
done <<<"$array_states"$'\n'"$stats_state"
if ((bad)); then
    show_job_logs
    fail "not every job completed with exit code 0:0"
fi
phase_done jobs "$t"

# ---------------------------------------------------------------- local run

t=$(now_us)
"$shardgen" run "$config" --out "$tmp/local-out" --start-sample 0 --num-samples "$total" ||
    fail "local run failed"
"$shardgen" run "$config" --out "$tmp/local-out" --statistics-only || fail "local statistics failed"
phase_done local "$t"

# ---------------------------------------------------------------- compare

t=$(now_us)
compare_trees "$tmp/slurm-out" "$tmp/local-out"
# Guard against two identical empty trees.
files="$(listing "$tmp/slurm-out" | wc -l)"
((files >= total)) || fail "only $files files for $total samples in $tmp/slurm-out"
# The statistics file was part of the comparison if it exists; say whether it did.
stats_file="${TEST_SLURM_STATISTICS:-statistics.yaml}"
if [[ -f "$tmp/slurm-out/$stats_file" ]]; then
    say "statistics compared too: $stats_file identical"
elif [[ "${TEST_SLURM_REQUIRE_STATISTICS:-}" == 1 ]]; then
    fail "the statistics job wrote no $stats_file in $tmp/slurm-out"
else
    say "WARNING: no $stats_file in $tmp/slurm-out: statistics not compared" \
        "(set TEST_SLURM_REQUIRE_STATISTICS=1 to make this a failure)"
fi
phase_done compare "$t"

say "PASS: $tasks array tasks + statistics job on Slurm == one local run ($total samples)"
printf 'test-slurm:   %s\n' "${timings[@]}" >&2
