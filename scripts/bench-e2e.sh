#!/usr/bin/env bash
# A whole dataset's life at scale, each step beside a floor measured on the
# same tree in the same run (issue 10, item 5):
#
#   scripts/bench-e2e.sh [BIN]      (BENCH_E2E_N samples, default 1000000)
#
# Steps, on N samples x 3 `random-bytes` blocks of 64 bytes, in BENCH_E2E_DIR
# (default /tmp: 4 small files per sample do not fit twice in this machine's
# /dev/shm, which holds each in a 4 KiB page):
#   fresh run        vs  examples/floor_tree.rs: creates the same folders and
#                        files with the same sizes with plain writes, from as
#                        many threads as cores (no staging, rename, claim or
#                        digest)
#   no-op rerun      vs  `find DIR -type f | wc -l`
#   --statistics-only, analyze --json
#                    vs  `cat` of every record (find -print0 | xargs -0 cat)
#   merge of two shards of N/2 (made with --shard 0/2, 1/2)
#                    vs  `cp -a` of both shards into one folder
#   merge --move of the same shards (renames on one filesystem)
#                    vs  `mv` of every sample folder into its bucket
# Each with wall time and peak RSS (/usr/bin/time). Not a test. At most two
# copies of the tree exist at once (each step removes what it no longer needs).
#
# 10^6 samples do not fit twice on this machine's tmpfs (a 4 KiB page per
# small file, about 20 KB per sample with inodes); they do on ext4 in memory,
# a loop device over a file in /dev/shm, with 1 KiB blocks and inline data
# (about 1.5 KB per sample):
#   truncate -s 16G /dev/shm/e2e.img
#   mkfs.ext4 -q -F -b 1024 -I 256 -i 1536 -O inline_data /dev/shm/e2e.img
#   mkdir -p /mnt/e2e && mount -o loop /dev/shm/e2e.img /mnt/e2e
#   BENCH_E2E_DIR=/mnt/e2e scripts/bench-e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-$PWD/target/release/shardgen}
n=${BENCH_E2E_N:-1000000}
work=$(mktemp -d "${BENCH_E2E_DIR:-/tmp}/shardgen-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/b.yaml" <<'YAML'
seed: 1
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 64}}
  - {name: b, type: random-bytes, outputs: [b.bin], params: {size: 64}}
  - {name: c, type: random-bytes, outputs: [c.bin], params: {size: 64}}
YAML
# "<seconds> <peak KiB>"
measure() {
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>&1 || true
  tail -n 1 "$work/time.txt"
}
row() { # step seconds kib floor_name floor_seconds
  awk -v s="$1" -v t="$2" -v k="$3" -v f="$4" -v g="$5" -v n="$n" 'BEGIN {
    printf "%-20s %9.2f %10.0f %9.1f   %-22s %9.2f %7.2f\n", s, t, n / (t > 0 ? t : 0.001), k / 1024, f, g, t / (g > 0 ? g : 0.001)
  }'
}
fs=$(df --output=fstype "$work" | tail -n 1)
echo "== $n samples x 3 random-bytes blocks on $fs, $(nproc) cores ($("$bin" --version))"
printf '%-20s %9s %10s %9s   %-22s %9s %7s\n' step seconds samples/s RSS_MiB floor floor_s ratio
cargo build --release --quiet --example floor_tree
floor=$PWD/target/release/examples/floor_tree
read -r t k < <(measure "$bin" run "$work/b.yaml" --out "$work/d" --num-samples "$n" --quiet)
sync
record_bytes=$(stat -c %s "$work/d/000000/0000000000/.shardgen.json")
fresh_t=$t fresh_k=$k
# Warm caches for every step below, floors included: after 10^6 fresh
# samples the kernel has evicted much of what it wrote, and the first walk
# that stats every file (and reads every record) pays for reading it back,
# 3-5x the warm time on ext4 (measured: 33 s vs 7-10 s). That cold walk is
# what a rerun days later costs; it is measured warm here, like its floors.
find "$work/d" -type f -ls > /dev/null
find "$work/d" -name .shardgen.json -print0 | xargs -0 cat > /dev/null
read -r f _ < <(measure sh -c "find '$work/d' -type f | wc -l")
read -r t k < <(measure "$bin" run "$work/b.yaml" --out "$work/d" --num-samples "$n" --quiet)
row "no-op rerun" "$t" "$k" "find | wc -l" "$f"
read -r c _ < <(measure sh -c "find '$work/d' -name .shardgen.json -print0 | xargs -0 cat > /dev/null")
read -r t k < <(measure "$bin" run "$work/b.yaml" --out "$work/d" --statistics-only --quiet)
row "--statistics-only" "$t" "$k" "cat of the records" "$c"
read -r t k < <(measure sh -c "'$bin' analyze '$work/d' --json > /dev/null")
row "analyze --json" "$t" "$k" "cat of the records" "$c"
rm -rf "$work/d"
sync
# The floor of the fresh run writes the same tree, once the run's is gone.
read -r f _ < <(measure "$floor" "$work/x" "$n" "$record_bytes" "$(nproc)")
rm -rf "$work/x"
row "fresh run" "$fresh_t" "$fresh_k" "floor_tree (same files)" "$f"
"$bin" run "$work/b.yaml" --out "$work/s0" --num-samples "$n" --shard 0/2 --quiet
"$bin" run "$work/b.yaml" --out "$work/s1" --num-samples "$n" --shard 1/2 --quiet
sync
read -r t k < <(measure "$bin" merge "$work/s0" "$work/s1" --into "$work/m" --quiet)
rm -rf "$work/m"
sync
read -r f _ < <(measure sh -c "mkdir '$work/c' && cp -a '$work/s0/.' '$work/c/' && cp -a '$work/s1/.' '$work/c/'")
rm -rf "$work/c"
row "merge 2 x N/2" "$t" "$k" "cp -a of both shards" "$f"
sync
read -r t k < <(measure "$bin" merge "$work/s0" "$work/s1" --into "$work/m" --move --quiet)
# The floor renames as many sample folders: those of the merged dataset,
# each into its bucket of a new folder.
read -r f _ < <(measure sh -c "cd '$work/m' && for b in [0-9]*; do mkdir -p '$work/v/'\$b && find \$b -mindepth 1 -maxdepth 1 -print0 | xargs -0 -r mv -t '$work/v/'\$b/; done")
row "merge --move 2 x N/2" "$t" "$k" "mv of each sample folder" "$f"
test "$(find "$work/v" -mindepth 2 -maxdepth 2 | wc -l)" -eq "$n" || echo "warning: the mv floor moved $(find "$work/v" -mindepth 2 -maxdepth 2 | wc -l) folders, not $n"
