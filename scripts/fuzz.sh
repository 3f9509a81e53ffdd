#!/usr/bin/env bash
# Fuzzes the config loader and the record reader for a bounded time each.
# Not part of CI: needs a nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [SECONDS]      (default 600 per target)
#
# Crashes land in fuzz/artifacts/<target>/; the grown corpus in a temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
corpus=$(mktemp -d "${TMPDIR:-/tmp}/shardgen-fuzz.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
cargo +nightly fuzz build --release
for target in config record; do
  mkdir -p "$corpus/$target"
  cp fuzz/seeds/"$target"/* "$corpus/$target/"
done
pids=()
for target in config record; do
  cargo +nightly fuzz run --release "$target" "$corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
    > "$corpus/$target.log" 2>&1 &
  pids+=($!)
done
status=0
for i in 0 1; do
  wait "${pids[$i]}" || status=1
done
for target in config record; do
  echo "== $target"
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs|panicked|SUMMARY|ERROR" "$corpus/$target.log" || true
done
exit $status
