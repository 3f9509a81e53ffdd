#!/usr/bin/env bash
# Benchmarks of the hot paths, each next to a floor measured in the same run
# on the same tree, so the figures are ratios that survive noisy machines.
#
#   scripts/bench.sh [N ...]        (default: 10000 100000)
#
# Environment: BENCH_DIR (where trees are built; default a temp folder under
# /tmp), BENCH_BIG (samples of the aggregation/analyze part; default 1000000,
# built under /dev/shm when it exists), BENCH_SHAPES (samples of the shapes
# part; default 300).
#
# Part 1, the engine beside the hand-written Pool. For each N it builds N
# samples x 3 `random-bytes` blocks (64 bytes each) with shardgen and with
# scripts/pool/bytes_pool.py (a multiprocessing.Pool that runs each missing
# step, all cores), and prints the wall times of: the fresh run, the no-op
# rerun (best of 3), the floor `find DIR -type f | wc -l`, and the rerun
# after every tenth sample was removed (best of 3); the ratios; the peak RSS
# of the scan (--dry-run).
# Part 2, statistics and analyze: on BENCH_BIG samples x 1 block, the time of
# `run --statistics-only` and of `analyze --json`, each beside the floor of
# reading the same bookkeeping files with `cat`; the size of the report.html
# the statistics pass wrote, and the time of `shardgen report DIR` (which is
# analyze's read of every record plus the page: report - analyze bounds what
# the page adds to the statistics pass, which also reads statistics.csv back).
# Part 3, the shapes demo: samples/s at --jobs 1 and --jobs 2 (256x256).
# Part 4, export: `shardgen export --format webdataset` of the 1,000-sample
# demo beside `tar -cf` of the same files (scripts/bench-export.sh).
# Part 5, a dataset's life at scale (scripts/bench-e2e.sh, BENCH_E2E_N
# samples, default 10^6): fresh run, no-op rerun, --statistics-only,
# analyze, merge of two halves, each beside a floor (tar -x, find, cat, cp -a).
# BENCH_PARTS="1 5" runs only those parts.
# Not a test: run it by hand and copy the tables into the README.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/shardgen
work=$(mktemp -d "${BENCH_DIR:-/tmp}/shardgen-bench.XXXXXX")
big_root=/tmp
[ -d /dev/shm ] && big_root=/dev/shm
big=$(mktemp -d "$big_root/shardgen-bench-big.XXXXXX")
trap 'rm -rf "$work" "$big"' EXIT
cat > "$work/bench.yaml" <<'YAML'
seed: 1
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 64}}
  - {name: b, type: random-bytes, outputs: [b.bin], params: {size: 64}}
  - {name: c, type: random-bytes, outputs: [c.bin], params: {size: 64}}
YAML

# seconds and peak RSS (KiB) of a command: "<seconds> <kib>"
measure() {
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>&1
  tail -n 1 "$work/time.txt"
}

# The best of 3 (the machine is shared; the minimum is the least disturbed).
best_of_3() {
  local best="" t
  for _ in 1 2 3; do
    t=$(measure "$@" | cut -d' ' -f1)
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}

part() { case " ${BENCH_PARTS:-1 2 3 4 5} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
if part 1; then
echo "== part 1: shardgen beside the hand-written Pool (scripts/pool/bytes_pool.py) and the floor find DIR -type f | wc -l ($(df --output=fstype "$work" | tail -n 1))"
printf '%-8s %8s %8s %8s %8s %8s %8s %8s %9s %9s %11s %11s\n' \
  N fresh_s pool_s noop_s pool_s find_s 10%_s pool_s noop/find noop/pool 10%/pool scan_MiB
pool=scripts/pool/bytes_pool.py
# Removes every tenth sample: the folders (shardgen) or the outputs (Pool).
drop_tenth() {
  find "$1" -mindepth 2 -maxdepth 2 -name '*[0-9]0' -type d | while read -r d; do
    if [ "$2" = folders ]; then rm -rf "$d"; else rm -f "$d"/*.bin; fi
  done
}
for count in ${@:-10000 100000}; do
  dir="$work/d$count" pdir="$work/p$count"
  read -r fresh _ < <(measure "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet)
  read -r pfresh _ < <(measure python3 "$pool" "$pdir" 0 "$count")
  sync
  "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet # writes the stamp
  noop=$(best_of_3 "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet)
  pnoop=$(best_of_3 python3 "$pool" "$pdir" 0 "$count")
  find_s=$(best_of_3 sh -c "find '$dir' -type f | wc -l")
  rerun="" prerun=""
  for _ in 1 2 3; do
    drop_tenth "$dir" folders; sync
    t=$(measure "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet | cut -d' ' -f1)
    drop_tenth "$pdir" outputs; sync
    u=$(measure python3 "$pool" "$pdir" 0 "$count" | cut -d' ' -f1)
    if [ -z "$rerun" ] || awk "BEGIN{exit !($t < $rerun)}"; then rerun=$t; fi
    if [ -z "$prerun" ] || awk "BEGIN{exit !($u < $prerun)}"; then prerun=$u; fi
  done
  read -r _ scan < <(measure "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet --dry-run)
  awk -v n="$count" -v f="$fresh" -v pf="$pfresh" -v o="$noop" -v po="$pnoop" -v d="$find_s" \
      -v r="$rerun" -v pr="$prerun" -v s="$scan" 'BEGIN {
    z = 0.001
    printf "%-8d %8.2f %8.2f %8.3f %8.3f %8.3f %8.3f %8.3f %9.2f %9.2f %11.2f %11.1f\n",
      n, f, pf, o, po, d, r, pr, o / (d > 0 ? d : z), o / (po > 0 ? po : z), r / (pr > 0 ? pr : z), s / 1024
  }'
  rm -rf "$dir" "$pdir"
done
fi

# ---------------------------------------------------------------- part 2
if part 2; then
n=${BENCH_BIG:-1000000}
cat > "$big/one.yaml" <<'YAML'
seed: 1
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 16}}
YAML
echo
echo "== part 2: $n samples on $(df --output=fstype "$big" | tail -n 1): statistics and analyze vs reading the records with cat"
read -r build _ < <(measure "$bin" run "$big/one.yaml" --out "$big/d" --num-samples "$n" --quiet)
rm -rf "$big/d/plots" "$big/d/statistics".* 
stats_s=$(best_of_3 "$bin" run "$big/one.yaml" --out "$big/d" --statistics-only --quiet)
analyze_s=$(best_of_3 sh -c "'$bin' analyze '$big/d' --json > /dev/null")
cat_s=$(best_of_3 sh -c "find '$big/d' -name .shardgen.json -print0 | xargs -0 cat > /dev/null")
read -r _ stats_rss < <(measure "$bin" run "$big/one.yaml" --out "$big/d" --statistics-only --quiet)
report_kb=$(( $(stat -c %s "$big/d/report.html") / 1000 ))
# report and analyze measured in turns (best of 3 each), so that a change in
# the machine's load hits both alike.
report_s="" paired_s=""
for _ in 1 2 3; do
  a=$(measure sh -c "'$bin' analyze '$big/d' --json > /dev/null" | cut -d' ' -f1)
  r=$(measure "$bin" report "$big/d" --out "$big/report.html" | cut -d' ' -f1)
  if [ -z "$paired_s" ] || awk "BEGIN{exit !($a < $paired_s)}"; then paired_s=$a; fi
  if [ -z "$report_s" ] || awk "BEGIN{exit !($r < $report_s)}"; then report_s=$r; fi
done
printf '%-10s %10s %14s %12s %14s %12s %16s %10s %10s %17s\n' samples build_s statistics_s analyze_s cat_records_s stats/cat stats_rss_MiB report_KB report_s report-analyze_s
awk -v n="$n" -v b="$build" -v s="$stats_s" -v a="$analyze_s" -v c="$cat_s" -v r="$stats_rss" \
    -v k="$report_kb" -v p="$report_s" -v q="$paired_s" 'BEGIN {
  printf "%-10d %10.1f %14.2f %12.2f %14.2f %12.2f %16.1f %10d %10.2f %17.2f\n", n, b, s, a, c, s / (c > 0 ? c : 0.001), r / 1024, k, p, p - q
}'
rm -rf "$big/d"
fi

# ---------------------------------------------------------------- part 3
if part 3; then
m=${BENCH_SHAPES:-300}
echo
echo "== part 3: shapes demo, $m samples of 256x256, fresh runs (minus the statistics pass every run ends with)"
printf '%-6s %10s %12s %12s\n' jobs run_s stats_s samples/s
for jobs in 1 2; do
  read -r secs _ < <(measure "$bin" run configs/shapes.yaml --out "$work/shapes$jobs" --num-samples "$m" --jobs "$jobs" --quiet)
  stats=$(best_of_3 "$bin" run configs/shapes.yaml --out "$work/shapes$jobs" --statistics-only --jobs "$jobs" --quiet)
  awk -v j="$jobs" -v s="$secs" -v t="$stats" -v m="$m" 'BEGIN { printf "%-6d %10.2f %12.2f %12.1f\n", j, s, t, m / (s - t) }'
done
fi

# ---------------------------------------------------------------- part 4
if part 4; then
echo
scripts/bench-export.sh "$bin"
scripts/bench-worker.sh "$bin"
fi

# ---------------------------------------------------------------- part 5
if part 5; then
echo
scripts/bench-e2e.sh "$bin"
fi
