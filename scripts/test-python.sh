#!/usr/bin/env bash
# The Python package and the WebDataset export, with real clients:
#   1. builds the wheel (`pip wheel .`, maturin from PyPI; the cargo build
#      reuses $CARGO_TARGET_DIR, else target/) and installs it into a fresh
#      `python3 -m venv` under target/python-test/
#   2. runs the installed `shardgen` command: the shapes demo (20 samples),
#      read back with the installed `shardgen` package, exported to shards
#   3. the pytest suite python/tests/ against the installed command and
#      package, with `webdataset` (and Pillow) from PyPI, and Hugging Face
#      `datasets` if it installs within HF_INSTALL_TIMEOUT seconds
#      (default 120; otherwise its test is skipped, saying so)
# Needs python3 with venv and pip, the Rust toolchain, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
target=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_TARGET_DIR=$target
work=$target/python-test
rm -rf "$work"
mkdir -p "$work"
seconds() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

if ! python3 -m venv "$work/venv" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y python3-venv python3-pip >/dev/null
    rm -rf "$work/venv"
    python3 -m venv "$work/venv"
  else
    echo "test-python.sh: python3 -m venv failed; install python3-venv" >&2
    exit 1
  fi
fi
py=$work/venv/bin/python
pip() { "$py" -m pip --disable-pip-version-check -q "$@"; }

t=$(seconds)
pip wheel --no-deps -w "$work/wheels" .
pip install "$work"/wheels/shardgen-*.whl
echo "test-python.sh: wheel built and installed in $(since "$t") s ($(ls "$work"/wheels))"
test -x "$work/venv/bin/shardgen"
"$py" - "$work"/wheels/shardgen-*.whl <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert "shardgen/dataset.py" in names and "shardgen/torch.py" in names, names
assert not any("tests/" in n for n in names), "the wheel must not hold the tests"
assert any(n.endswith(".data/scripts/shardgen") for n in names), names
PY

# The installed command and package, as a user runs them.
cd "$work"
venv/bin/shardgen run "$repo/configs/shapes.yaml" --out data/shapes --num-samples 20 --quiet
venv/bin/shardgen export data/shapes --format webdataset --out shards --samples-per-shard 8
"$py" - <<'PY'
import csv, shardgen
ds = shardgen.Dataset("data/shapes")
rows = list(csv.DictReader(open("data/shapes/statistics.csv")))
assert [s.id for s in ds] == [int(r["sample"]) for r in rows], "reader and statistics.csv agree"
assert all(s.read("image_aug.png")[:8] == b"\x89PNG\r\n\x1a\n" for s in ds)
print(f"test-python.sh: installed package read {len(ds)} complete samples of {len(ds.present())}")
PY
cd "$repo"

t=$(seconds)
pip install pytest webdataset==1.0.2 pillow
echo "test-python.sh: pytest, webdataset, Pillow installed in $(since "$t") s"
t=$(seconds)
if timeout "${HF_INSTALL_TIMEOUT:-120}" "$py" -m pip --disable-pip-version-check -q install datasets; then
  echo "test-python.sh: Hugging Face datasets installed in $(since "$t") s"
else
  export SHARDGEN_SKIP_HF="it did not install within ${HF_INSTALL_TIMEOUT:-120} s"
  echo "test-python.sh: Hugging Face datasets skipped: $SHARDGEN_SKIP_HF"
fi

# From python/tests, so `import shardgen` is the installed package.
cd python/tests
t=$(seconds)
SHARDGEN_BIN=$work/venv/bin/shardgen SHARDGEN_TEST_STRICT=1 \
  "$py" -m pytest -q -rs -p no:cacheprovider .
echo "test-python.sh: pytest took $(since "$t") s"
