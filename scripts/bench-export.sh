#!/usr/bin/env bash
# Export to WebDataset shards vs `tar -cf` of the same files, side by side.
#
#   scripts/bench-export.sh [BIN]      (default: target/release/shardgen)
#
# Builds the shapes demo (configs/shapes.yaml, BENCH_EXPORT_SAMPLES samples,
# default 1000) once, then, best of 3 each, on a warm page cache:
#   tar        the floor: `tar -cf` of the complete samples' output files
#              (the files the export writes, without its stats members)
#   export     `shardgen export --format webdataset --samples-per-shard 100`
#              into a new folder
#              (all cores, and RAYON_NUM_THREADS=1)
#   python     shardgen.Dataset(DIR), reading every file of every complete
#              sample (the package from python/, no install needed)
# and the ratios to tar. The goal (issue 11): export at most 1.5x tar.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-$PWD/target/release/shardgen}
n=${BENCH_EXPORT_SAMPLES:-1000}
work=$(mktemp -d "${BENCH_DIR:-/tmp}/shardgen-bench-export.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$bin" run configs/shapes.yaml --out "$work/d" --num-samples "$n" --quiet
# The files the export takes: those of the complete samples, from its index.
"$bin" export "$work/d" --format webdataset --out "$work/probe" >/dev/null 2>&1
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
index = json.load(open(f"{work}/probe/index.json"))
with open(f"{work}/files.txt", "w") as out:
    for shard in index["shards"]:
        for start, end in shard["ids"]:
            for i in range(start, end):
                d = f"{i // 10000:06d}/{i:010d}"
                for name in sorted(os.listdir(f"{work}/d/{d}")):
                    if name != ".shardgen.json":
                        out.write(f"{d}/{name}\n")
PY
rm -rf "$work/probe"

best_of_3() {
  local best="" t start
  for i in 1 2 3; do
    start=$(date +%s.%N)
    "$@" "$i" >/dev/null 2>&1
    t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}
run_tar() { tar -cf "$work/floor$1.tar" -C "$work/d" -T "$work/files.txt"; }
run_export() {
  "$bin" export "$work/d" --format webdataset --out "$work/shards$1" --samples-per-shard 100
}
run_export_1() { RAYON_NUM_THREADS=1 run_export "1t$1"; }
run_python() {
  PYTHONPATH=$PWD/python python3 -c 'import sys, shardgen
n = sum(len(s.read(f)) for s in shardgen.Dataset(sys.argv[1]) for f in s.files)
assert n > 0' "$work/d"
}
clean() { rm -rf "$work"/floor*.tar "$work"/shards*; }

run_tar warm >/dev/null; clean
tar_s=$(best_of_3 run_tar); mib=$(du -m "$work/floor1.tar" | cut -f1); clean
export_s=$(best_of_3 run_export); shard_mib=$(du -mc "$work"/shards1/*.tar | tail -n 1 | cut -f1); clean
export1_s=$(best_of_3 run_export_1); clean
python_s=$(best_of_3 run_python)
files=$(wc -l < "$work/files.txt")
echo "== export of the shapes demo ($n samples, $files files, $mib MiB) on $(df --output=fstype "$work" | tail -n 1), best of 3"
printf '%-28s %9s %8s\n' command seconds vs_tar
printf '%-28s %9.3f %8s\n' "tar -cf (floor)" "$tar_s" "1.00"
awk -v e="$export_s" -v t="$tar_s" 'BEGIN { printf "%-28s %9.3f %8.2f\n", "shardgen export (2 cores)", e, e / t }'
awk -v e="$export1_s" -v t="$tar_s" 'BEGIN { printf "%-28s %9.3f %8.2f\n", "shardgen export (1 thread)", e, e / t }'
awk -v e="$python_s" -v t="$tar_s" 'BEGIN { printf "%-28s %9.3f %8.2f\n", "python: Dataset, read all", e, e / t }'
echo "(shards: $shard_mib MiB; the python row: shardgen.Dataset over DIR reading every file of every complete sample)"
