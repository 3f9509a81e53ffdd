#!/usr/bin/env bash
# NOT shardgen. A stand-in that mimics just enough of the `shardgen run` command
# line to exercise scripts/test-slurm.sh before (or without) the real binary:
#
#   stand-in-shardgen.sh run CONFIG --out DIR [--start-sample S --num-samples N]
#                            [--shard I/K] [--jobs J]
#   stand-in-shardgen.sh run CONFIG --out DIR --statistics-only
#
# It reads `seed`, `samples` and flow-style block lines
#   - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 256}}
# from CONFIG and writes, for each sample i, DIR/<i as %010d>/<output> with
# `size` bytes derived from sha256(seed:block:i:counter), plus a deterministic
# .shardgen.json. Like the real tool it also writes a per-run log under
# DIR/.shardgen/runs/ whose content differs between runs (time, host, pid), so
# the test's exclusion of .shardgen/ is exercised. --statistics-only writes
# DIR/statistics.yaml from the sample folders only.
#
# Fault injection, only inside a Slurm job (SLURM_JOB_ID set), to prove the test
# fails when it should:
#   STAND_IN_CORRUPT_SAMPLE=i   write one byte more into sample i's first output
#   STAND_IN_FAIL_SAMPLE=i      exit 1 when the range contains sample i
set -euo pipefail

fail() {
    printf 'stand-in-shardgen: error: %s\n' "$*" >&2
    exit 2
}

[[ "${1:-}" == run && $# -ge 2 ]] || fail "usage: $0 run CONFIG --out DIR [...]"
config="$2"
shift 2
out="" start="" num="" shard="" stats_only=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --start-sample) start="$2"; shift 2 ;;
        --num-samples) num="$2"; shift 2 ;;
        --shard) shard="$2"; shift 2 ;;
        --jobs) shift 2 ;;
        --statistics-only) stats_only=1; shift ;;
        *) fail "unknown argument: $1" ;;
    esac
done
[[ -f "$config" ]] || fail "no such config: $config"
[[ -n "$out" ]] || fail "--out DIR is required"

seed="$(sed -n 's/^seed:[[:space:]]*\([0-9]*\).*/\1/p' "$config")"
samples="$(sed -n 's/^samples:[[:space:]]*\([0-9]*\).*/\1/p' "$config")"
[[ -n "$seed" && -n "$samples" ]] || fail "$config: need 'seed:' and 'samples:' lines"
# One "name output size" line per block.
blocks="$(sed -n 's/.*name:[[:space:]]*\([A-Za-z0-9_-]*\).*outputs:[[:space:]]*\[\([^],]*\)\].*size:[[:space:]]*\([0-9]*\).*/\1 \2 \3/p' "$config")"
[[ -n "$blocks" ]] || fail "$config: no block lines understood"

mkdir -p "$out/.shardgen/runs"
run_log="$out/.shardgen/runs/$(date -u +%Y%m%dT%H%M%S.%N)-$(hostname -s)-$$.log"

# write_atomic FILE: stdin -> FILE through a temporary file and rename.
write_atomic() {
    cat >"$1.tmp.$$"
    mv -f "$1.tmp.$$" "$1"
}

if ((stats_only)); then
    {
        echo "# statistics (stand-in): from the sample folders only"
        echo "samples: $(find "$out" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' | wc -l)"
        echo "blocks:"
        while read -r name output _size; do
            bytes="$(find "$out" -mindepth 2 -maxdepth 2 -path "$out/[0-9]*/$output" -type f \
                -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')"
            echo "  $name: {output: $output, total_bytes: $bytes}"
        done <<<"$blocks"
        digest="$(cd "$out" && find . -path './[0-9]*' -type f -print0 | sort -z |
            xargs -0 -r sha256sum | sha256sum | cut -c1-64)"
        echo "content_sha256: $digest"
    } | write_atomic "$out/statistics.yaml"
    echo "statistics-only $(date -u +%FT%T.%NZ)" >"$run_log"
    exit 0
fi

# The range: --start-sample/--num-samples default to the config's samples; --shard
# I/K then takes [start + floor(I*n/K), start + floor((I+1)*n/K)).
start="${start:-0}"
num="${num:-$((samples - start))}"
if [[ -n "$shard" ]]; then
    i="${shard%/*}" k="${shard#*/}"
    first=$((start + i * num / k))
    last=$((start + (i + 1) * num / k))
    start=$first num=$((last - first))
fi

in_slurm="${SLURM_JOB_ID:+1}"
for ((s = start; s < start + num; s++)); do
    if [[ -n "$in_slurm" && "${STAND_IN_FAIL_SAMPLE:-}" == "$s" ]]; then
        echo "stand-in-shardgen: injected failure at sample $s" >&2
        exit 1
    fi
    dir="$out/$(printf '%010d' "$s")"
    mkdir -p "$dir"
    record="{\"format\":1,\"sample\":$s,\"blocks\":["
    sep=""
    while read -r name output size; do
        bytes=""
        for ((c = 0; c * 64 < size; c++)); do
            hash="$(printf '%s:%s:%s:%s' "$seed" "$name" "$s" "$c" | sha256sum)"
            bytes+="${hash:0:64}"
        done
        printf '%s' "${bytes:0:size}" | write_atomic "$dir/$output"
        record+="$sep{\"name\":\"$name\",\"status\":\"done\"}"
        sep=","
    done <<<"$blocks"
    if [[ -n "$in_slurm" && "${STAND_IN_CORRUPT_SAMPLE:-}" == "$s" ]]; then
        echo "stand-in-shardgen: injected corruption at sample $s" >&2
        printf 'X' >>"$dir/$(head -n1 <<<"$blocks" | cut -d' ' -f2)"
    fi
    printf '%s]}\n' "$record" | write_atomic "$dir/.shardgen.json"
done
echo "run [$start, $((start + num))) on $(hostname -s) pid $$ at $(date -u +%FT%T.%NZ)" >"$run_log"
