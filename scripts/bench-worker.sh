#!/usr/bin/env bash
# Worker-mode benchmarks (part 4 of scripts/bench.sh; runs alone too):
#
#   scripts/bench-worker.sh [SHARDGEN_BINARY]
#
# a. configs/python-example.yaml (3 Python blocks) one-shot vs worker mode,
#    BENCH_PYTHON samples (default 300), --jobs = all cores: samples/s and
#    the ratio, measured in the same run.
# b. Protocol overhead: BENCH_PROTOCOL samples (default 3000) at --jobs 1 of
#    a Python worker that only writes one 64-byte file, vs the in-process
#    random-bytes block writing the same file: the difference per sample is
#    what the protocol (and the Python loop) costs on top of the engine.
# c. configs/blender.yaml, BENCH_BLENDER samples (default 20) at --jobs 1,
#    one-shot vs worker (skipped without blender).
# d. BENCH_POOL samples (default 10000) of the same 3 steps by a hand-written
#    multiprocessing.Pool (scripts/bench-pool.py) vs shardgen worker blocks:
#    fresh, and a rerun of 10% of the samples.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-$PWD/target}/release/shardgen
fi
work=$(mktemp -d "${BENCH_DIR:-/tmp}/shardgen-bench-worker.XXXXXX")
trap 'rm -rf "$work"' EXIT

seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}

n=${BENCH_PYTHON:-300}
echo "== part 4a: configs/python-example.yaml, $n samples x 3 Python blocks, --jobs $(nproc)"
printf '%-10s %9s %10s\n' mode run_s samples/s
one=$(seconds "$bin" run configs/python-example-oneshot.yaml --out "$work/oneshot" --num-samples "$n" --quiet)
wrk=$(seconds "$bin" run configs/python-example.yaml --out "$work/worker" --num-samples "$n" --quiet)
awk -v n="$n" -v o="$one" -v w="$wrk" 'BEGIN {
  printf "%-10s %9.2f %10.1f\n", "one-shot", o, n / o
  printf "%-10s %9.2f %10.1f\n", "worker", w, n / w
  printf "worker mode is %.1fx faster\n", o / w
}'
if ! diff -r -q -x .shardgen -x timings.yaml -x plots "$work/oneshot" "$work/worker" >/dev/null; then
  echo "warning: the two datasets differ" >&2
fi

m=${BENCH_PROTOCOL:-3000}
cat > "$work/noop.py" <<'PY'
import json, os
requests, replies = os.fdopen(3), os.fdopen(4, "w")
replies.write('{"ready": true, "protocol": 1}\n'); replies.flush()
payload = bytes(64)
for line in requests:
    request = json.loads(line)
    with open(os.path.join(request["out_dir"], "x.bin"), "wb") as f:
        f.write(payload)
    replies.write('{"ok": true}\n'); replies.flush()
PY
cat > "$work/noop.yaml" <<'YAML'
seed: 1
blocks:
  - {name: w, type: command, command: [python3, "{config_dir}/noop.py"], worker: true, outputs: [x.bin]}
YAML
cat > "$work/bytes.yaml" <<'YAML'
seed: 1
blocks:
  - {name: w, type: random-bytes, outputs: [x.bin], params: {size: 64}}
YAML
echo
echo "== part 4b: protocol overhead, $m samples, --jobs 1"
inproc=$(seconds "$bin" run "$work/bytes.yaml" --out "$work/bytes" --num-samples "$m" --jobs 1 --quiet)
python=$(seconds "$bin" run "$work/noop.yaml" --out "$work/noop" --num-samples "$m" --jobs 1 --quiet)
# Median time of the block per sample, from the run's timings (robust to a
# loaded machine, unlike the wall time).
p50() { awk '/^  w:/ { on = 1 } on && /p50:/ { print $2 * 1000; exit }' "$1/timings.yaml"; }
a50=$(p50 "$work/bytes") b50=$(p50 "$work/noop")
printf '%-22s %9s %14s %16s\n' block run_s wall_ms/sample median_block_ms
awk -v m="$m" -v a="$inproc" -v b="$python" -v a50="$a50" -v b50="$b50" 'BEGIN {
  printf "%-22s %9.2f %14.3f %16.3f\n", "random-bytes", a, 1000 * a / m, a50
  printf "%-22s %9.2f %14.3f %16.3f\n", "python worker (no-op)", b, 1000 * b / m, b50
  printf "worker on top of the in-process block: %.3f ms per sample (median), %.3f ms (wall)\n", b50 - a50, 1000 * (b - a) / m
}'

k=${BENCH_BLENDER:-20}
echo
if ! command -v blender >/dev/null 2>&1; then
  echo "== part 4c: skipped (no blender; scripts/test-blender.sh installs it)"
else
  echo "== part 4c: configs/blender.yaml, $k samples (96x96, 16 Cycles samples, 2 threads each), --jobs 1"
  sed -e '/^    worker:/d' -e "s|{config_dir}|$PWD/configs|" configs/blender.yaml > "$work/blender-oneshot.yaml"
  printf '%-10s %9s %10s\n' mode run_s samples/s
  bone=$(seconds "$bin" run "$work/blender-oneshot.yaml" --out "$work/b1" --num-samples "$k" --jobs 1 --quiet)
  bwrk=$(seconds "$bin" run configs/blender.yaml --out "$work/b2" --num-samples "$k" --jobs 1 --quiet)
  awk -v n="$k" -v o="$bone" -v w="$bwrk" 'BEGIN {
    printf "%-10s %9.2f %10.2f\n", "one-shot", o, n / o
    printf "%-10s %9.2f %10.2f\n", "worker", w, n / w
    printf "worker mode is %.1fx faster\n", o / w
  }'
fi

p=${BENCH_POOL:-10000}
echo
echo "== part 4d: the python example's 3 steps, $p samples, --jobs $(nproc): a multiprocessing.Pool script"
echo "   (scripts/bench-pool.py, in-process, checks only that outputs exist) vs shardgen worker blocks"
printf "%-22s %9s %12s %9s\n" run pool_s shardgen_s ratio
pool_fresh=$(seconds python3 scripts/bench-pool.py "$work/pool" "$p")
sg_fresh=$(seconds "$bin" run configs/python-example.yaml --out "$work/sg" --num-samples "$p" --quiet)
# A rerun of 10%: every tenth sample folder removed.
for id in $(seq 0 10 $((p - 1))); do
  name=$(printf '%010d' "$id")    # the pool's folders are flat, shardgen's in buckets
  rm -rf "${work:?}/pool/$name" "${work:?}/sg/$(printf '%06d' $((id / 10000)))/$name"
done
pool_rerun=$(seconds python3 scripts/bench-pool.py "$work/pool" "$p")
sg_rerun=$(seconds "$bin" run configs/python-example.yaml --out "$work/sg" --num-samples "$p" --quiet)
awk -v a="$pool_fresh" -v b="$sg_fresh" -v c="$pool_rerun" -v d="$sg_rerun" 'BEGIN {
  printf "%-22s %9.2f %12.2f %8.2fx\n", "fresh", a, b, b / a
  printf "%-22s %9.2f %12.2f %8.2fx\n", "rerun of 10%", c, d, d / c
}'
