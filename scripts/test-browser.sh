#!/usr/bin/env bash
# The report in a real browser: builds a small demo dataset with rejections
# (the shapes demo) and failures (a command block that fails on some
# samples), and checks its report.html in headless Chromium through
# playwright-core (scripts/browser/check-report.js): no console error, no
# uncaught exception, no failed or outside request, every image decodes,
# the counts in the page equal `shardgen analyze --json`, with and without
# JavaScript. Saves target/report-screenshot.png (1280 px wide, full page).
#
#   scripts/test-browser.sh [path/to/shardgen]     (default target/release/shardgen)
#
# As root it installs what is missing: Debian's chromium (and nodejs/npm)
# with apt-get, playwright-core from npm into target/browser/ (not
# committed). Without root and without them, it is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/shardgen}
modules=$PWD/target/browser

need_install() { ! command -v chromium >/dev/null || ! command -v node >/dev/null || ! command -v npm >/dev/null; }
if need_install; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-browser.sh: skipped: chromium, node or npm is missing and installing them needs root"
    exit 0
  fi
  apt-get update
  apt-get -o DPkg::Lock::Timeout=600 install -y chromium nodejs npm
fi
if [ ! -d "$modules/node_modules/playwright-core" ]; then
  mkdir -p "$modules"
  npm install --prefix "$modules" --no-audit --no-fund --silent playwright-core@1
fi
[ -x "$bin" ] || cargo build --release --quiet

work=$(mktemp -d "${TMPDIR:-/tmp}/shardgen-browser.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The shapes demo plus a `check` block that fails on every 7th sample.
awk '
  /^plots:/ {
    print "  - name: check"
    print "    type: command"
    print "    command: [sh, -c, \"if [ $((SHARDGEN_SAMPLE_ID % 7)) = 3 ]; then echo \\\"disk quota exceeded writing sample $SHARDGEN_SAMPLE_ID\\\" >&2; exit 3; fi; echo ok > check.txt\"]"
    print "    inputs: [labels.json]"
    print "    outputs: [check.txt]"
  }
  { print }
' configs/shapes.yaml > "$work/demo.yaml"
# Some samples fail on purpose: the run goes through and exits 3.
status=0
"$bin" run "$work/demo.yaml" --out "$work/demo" --num-samples 40 --quiet || status=$?
[ "$status" -eq 3 ] || { echo "test-browser.sh: the demo run exited $status, not 3" >&2; exit 1; }
"$bin" analyze "$work/demo" --json > "$work/analysis.json"
NODE_PATH="$modules/node_modules" node scripts/browser/check-report.js \
  "$work/demo/report.html" "$work/analysis.json" target/report-screenshot.png
# The same page written afterwards from disk by `shardgen report`.
"$bin" report "$work/demo" --out "$work/standalone.html"
NODE_PATH="$modules/node_modules" node scripts/browser/check-report.js \
  "$work/standalone.html" "$work/analysis.json" "$work/standalone.png"
echo "test-browser.sh: ok; screenshot in target/report-screenshot.png"
