#!/usr/bin/env bash
# End-to-end test of configs/blender.yaml on a real Blender (Debian's 3.4):
#
#   scripts/test-blender.sh [SHARDGEN_BINARY]     (default target/release/shardgen)
#
# Installs Blender with apt when it is missing and we are root; otherwise
# skips with a message. Checks, on a few samples:
#   1. worker mode (--jobs 1) completes every sample with image, mask, labels;
#   2. crash and resume: a worker that exits on its first sample fails that
#      sample only ("worker exited with code 3 on sample N"), the other
#      samples complete, and a rerun completes just that sample;
#   3. determinism: the crashed-and-resumed run (--jobs 2), a fresh worker
#      run and a one-shot run give byte-identical masks and labels and
#      images with identical decoded pixels (Blender writes dates into PNG
#      metadata, so image files differ); prints "Blender images: ...".
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/shardgen}
bin=$(realpath "$bin")

if ! command -v blender >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-blender.sh: skipped: Blender is not installed and installing it needs root"
    exit 0
  fi
  echo "test-blender.sh: installing Debian's blender (about a minute)"
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends blender >/dev/null
fi
blender --version | head -n 1

work=$(mktemp -d /tmp/shardgen-test-blender.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=4
fail() { echo "test-blender.sh: FAILED: $*" >&2; exit 1; }
sample_path() { printf '%06d/%010d' $(($1 / 10000)) "$1"; }  # DIR/<bucket>/<sample>
status_of() { # status_of DIR ID
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["blocks"][0]["status"], "|", r["blocks"][0].get("reason", ""))' \
    "$1/$(sample_path "$2")/.shardgen.json"
}

echo "1. worker mode, $n samples"
"$bin" run configs/blender.yaml --out "$work/fresh" --num-samples "$n" --jobs 1 --quiet
for id in $(seq 0 $((n - 1))); do
  dir="$work/fresh/$(sample_path "$id")"
  for f in image.png mask.png labels.json; do
    [ -s "$dir/$f" ] || fail "sample $id has no $f"
  done
done

echo "2. crash on the first sample of a worker, then resume"
# The crashed sample fails this run: it goes through and exits 3.
rc=0
SHARDGEN_EXAMPLE_CRASH_ONCE="$work/crashed" \
  "$bin" run configs/blender.yaml --out "$work/resumed" --num-samples "$n" --jobs 2 --quiet || rc=$?
[ "$rc" -eq 3 ] || fail "the run with a crash exited $rc, not 3 (some samples failed)"
failed=0
for id in $(seq 0 $((n - 1))); do
  status=$(status_of "$work/resumed" "$id")
  case "$status" in
    ok*) ;;
    "failed | worker exited with code 3 on sample $id: crashing on purpose"*) failed=$((failed + 1)) ;;
    *) fail "sample $id: $status" ;;
  esac
done
[ "$failed" = 1 ] || fail "expected exactly 1 crashed sample, got $failed"
plan=$("$bin" run configs/blender.yaml --out "$work/resumed" --num-samples "$n" --dry-run)
echo "$plan" | grep -q "render: 1 to run: failed before" || fail "the rerun plan is: $plan"
"$bin" run configs/blender.yaml --out "$work/resumed" --num-samples "$n" --jobs 2 --quiet
for id in $(seq 0 $((n - 1))); do
  case "$(status_of "$work/resumed" "$id")" in ok*) ;; *) fail "sample $id not complete after the rerun" ;; esac
done

echo "3. one-shot, 2 samples"
sed -e '/^    worker:/d' -e "s|{config_dir}|$PWD/configs|" configs/blender.yaml > "$work/oneshot.yaml"
"$bin" run "$work/oneshot.yaml" --out "$work/oneshot" --num-samples 2 --jobs 2 --quiet

python3 - "$work" "$n" <<'PY'
import os, sys
sys.path.insert(0, "scripts/examples")
import shapelib

work, n = sys.argv[1], int(sys.argv[2])
worst = 0
for other, count in (("resumed", n), ("oneshot", 2)):
    for i in range(count):
        a = os.path.join(work, "fresh", "%06d" % (i // 10000), "%010d" % i)
        b = os.path.join(work, other, "%06d" % (i // 10000), "%010d" % i)
        for name in ("mask.png", "labels.json"):
            with open(os.path.join(a, name), "rb") as f, open(os.path.join(b, name), "rb") as g:
                if f.read() != g.read():
                    sys.exit("test-blender.sh: FAILED: %s of sample %d differs (%s)" % (name, i, other))
        wa, ha, ca, pa = shapelib.read_png(os.path.join(a, "image.png"))
        wb, hb, cb, pb = shapelib.read_png(os.path.join(b, "image.png"))
        if (wa, ha, ca) != (wb, hb, cb):
            sys.exit("test-blender.sh: FAILED: image of sample %d has another shape" % i)
        worst = max(worst, max(abs(x - y) for x, y in zip(pa, pb)))
print("Blender images: identical pixels" if worst == 0 else "Blender images: within %d/255" % worst)
PY
echo "test-blender.sh: passed"
