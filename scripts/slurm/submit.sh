#!/usr/bin/env bash
# Submit a sharded shardgen run to Slurm: an array job that generates the samples,
# and a statistics job that starts once every array task has ended and exits 0
# only when every sample of the range is done (3 when some failed or are missing).
#
#   submit.sh CONFIG OUT TOTAL_SAMPLES SAMPLES_PER_TASK [extra sbatch args...]
#
#   CONFIG            pipeline YAML (made absolute here)
#   OUT               output folder shared by all tasks, on a filesystem every
#                     node sees (made absolute here)
#   TOTAL_SAMPLES     samples in the run: [START_SAMPLE, START_SAMPLE+TOTAL_SAMPLES)
#   SAMPLES_PER_TASK  samples per array task; tasks = ceil(TOTAL/PER), the last
#                     one may get fewer
#   extra args        passed to both sbatch calls, e.g. --partition=cpu
#                     --time=02:00:00 --cpus-per-task=8 --output=logs/%x-%j.out
#
# Environment:
#   SHARDGEN       binary to run (default `shardgen` on the nodes' PATH); a path
#                  with a slash is made absolute
#   START_SAMPLE   first sample (default 0)
#   SLURM_CONF     as for any Slurm command
# The jobs receive SHARDGEN and START_SAMPLE through sbatch's default
# --export=ALL; if you pass --export yourself, include them.
#
# Prints on stdout, for scripts:
#   array_job_id=<id>
#   statistics_job_id=<id>
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"

fail() {
    printf 'submit: error: %s\n' "$*" >&2
    exit 2
}

[[ $# -ge 4 ]] || fail "usage: $0 CONFIG OUT TOTAL_SAMPLES SAMPLES_PER_TASK [extra sbatch args...]"
config="$1" out="$2" total="$3" per="$4"
shift 4
extra=("$@")

# Decimal without leading zeros: bash arithmetic reads "010" as octal.
[[ "$total" =~ ^[1-9][0-9]*$ ]] || fail "TOTAL_SAMPLES must be a positive integer, got '$total'"
[[ "$per" =~ ^[1-9][0-9]*$ ]] || fail "SAMPLES_PER_TASK must be a positive integer, got '$per'"
[[ -f "$config" ]] || fail "no such config: $config"
command -v sbatch >/dev/null || fail "sbatch not found on PATH"

# The jobs run elsewhere, in another working folder: give them absolute paths.
config="$(realpath -- "$config")"
out="$(realpath -m -- "$out")"
mkdir -p -- "$out"
# A dataset of the flat layout of earlier shardgen versions (sample folders
# directly in OUT, a manifest without "layout"): every task would refuse it.
digits10='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'
if { [[ -f "$out/.shardgen/pipeline.json" ]] && ! grep -q '"layout"' "$out/.shardgen/pipeline.json"; } ||
    compgen -G "$out/$digits10" >/dev/null; then
    fail "$out is a dataset of the flat layout of earlier shardgen versions; convert it first: shardgen upgrade $out"
fi
SHARDGEN="${SHARDGEN:-shardgen}"
if [[ "$SHARDGEN" == */* ]]; then
    [[ -x "$SHARDGEN" ]] || fail "SHARDGEN is not executable: $SHARDGEN"
    SHARDGEN="$(realpath -- "$SHARDGEN")"
fi
export SHARDGEN
export START_SAMPLE="${START_SAMPLE:-0}"
[[ "$START_SAMPLE" =~ ^(0|[1-9][0-9]*)$ ]] || fail "START_SAMPLE must be a non-negative integer, got '$START_SAMPLE'"

tasks=$(((total + per - 1) / per))

# --parsable prints "<id>" or "<id>;<cluster>".
array_id="$(sbatch --parsable --array="0-$((tasks - 1))" "${extra[@]}" \
    "$here/shardgen-array.sbatch" "$config" "$out" "$per" "$total")"
array_id="${array_id%%;*}"

# afterany: the statistics job runs however the tasks ended, and its own exit
# code says whether the whole range is done (0) or not (3).
if ! stats_id="$(sbatch --parsable --dependency="afterany:$array_id" \
    "${extra[@]}" "$here/statistics.sbatch" "$config" "$out" "$total")"; then
    echo "submit: statistics job refused; cancelling array job $array_id" >&2
    scancel "$array_id" || true
    exit 1
fi
stats_id="${stats_id%%;*}"

echo "submit: array job $array_id: $tasks task(s) of $per sample(s) from sample $START_SAMPLE;" \
    "statistics job $stats_id runs after it; output in $out" >&2
echo "array_job_id=$array_id"
echo "statistics_job_id=$stats_id"
