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
# Part 1, the engine. For each N it builds N samples x 3 `random-bytes`
# blocks (64 bytes each) and prints:
#   fresh      wall time and samples/s of the first run (--jobs = all cores)
#   no-op      wall time of a rerun where everything is complete
#   find       the floor: `find DIR -type f | wc -l` on the same tree
#   ratio      no-op / find
#   peak RSS   of the scan alone (--dry-run) and of the whole no-op rerun
#              (which ends with the statistics pass), and how each grew per
#              sample since the previous N
# Part 2, statistics and analyze: on BENCH_BIG samples x 1 block, the time of
# `run --statistics-only` and of `analyze --json`, each beside the floor of
# reading the same bookkeeping files with `cat`; the size of the report.html
# the statistics pass wrote, and the time of `shardgen report DIR` (which is
# analyze's read of every record plus the page: report - analyze bounds what
# the page adds to the statistics pass, which also reads statistics.csv back).
# Part 3, the shapes demo: samples/s at --jobs 1 and --jobs 2 (256x256).
# Part 4, export: `shardgen export --format webdataset` of the 1,000-sample
# demo beside `tar -cf` of the same files (scripts/bench-export.sh).
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

echo "== part 1: fresh run, no-op rerun, floor: find DIR -type f | wc -l ($(df --output=fstype "$work" | tail -n 1))"
printf '%-8s %9s %10s %9s %9s %7s %11s %11s %13s %13s\n' \
  N fresh_s samples/s noop_s find_s ratio scan_MiB noop_MiB scan_B/sample noop_B/sample
prev_n=0 prev_scan=0 prev_noop=0
for n in "${@:-10000 100000}"; do
  for count in $n; do
    dir="$work/d$count"
    read -r fresh _ < <(measure "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet)
    sync
    noop=$(best_of_3 "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet)
    find_s=$(best_of_3 sh -c "find '$dir' -type f | wc -l")
    read -r _ scan < <(measure "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet --dry-run)
    read -r _ full < <(measure "$bin" run "$work/bench.yaml" --out "$dir" --num-samples "$count" --quiet)
    awk -v n="$count" -v f="$fresh" -v o="$noop" -v d="$find_s" -v s="$scan" -v r="$full" \
        -v pn="$prev_n" -v ps="$prev_scan" -v pr="$prev_noop" 'BEGIN {
      grow_s = pn > 0 ? sprintf("%.1f", (s - ps) * 1024 / (n - pn)) : "-"
      grow_r = pn > 0 ? sprintf("%.1f", (r - pr) * 1024 / (n - pn)) : "-"
      printf "%-8d %9.2f %10.0f %9.3f %9.3f %7.2f %11.1f %11.1f %13s %13s\n",
        n, f, n / (f > 0 ? f : 0.001), o, d, o / (d > 0 ? d : 0.001), s / 1024, r / 1024, grow_s, grow_r
    }'
    prev_n=$count prev_scan=$scan prev_noop=$full
    rm -rf "$dir"
  done
done

# ---------------------------------------------------------------- part 2
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

# ---------------------------------------------------------------- part 3
m=${BENCH_SHAPES:-300}
echo
echo "== part 3: shapes demo, $m samples of 256x256, fresh runs (minus the statistics pass every run ends with)"
printf '%-6s %10s %12s %12s\n' jobs run_s stats_s samples/s
for jobs in 1 2; do
  read -r secs _ < <(measure "$bin" run configs/shapes.yaml --out "$work/shapes$jobs" --num-samples "$m" --jobs "$jobs" --quiet)
  stats=$(best_of_3 "$bin" run configs/shapes.yaml --out "$work/shapes$jobs" --statistics-only --jobs "$jobs" --quiet)
  awk -v j="$jobs" -v s="$secs" -v t="$stats" -v m="$m" 'BEGIN { printf "%-6d %10.2f %12.2f %12.1f\n", j, s, t, m / (s - t) }'
done

# ---------------------------------------------------------------- part 4
echo
scripts/bench-export.sh "$bin"
scripts/bench-worker.sh "$bin"
