#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. cargo test --release   unit tests + integration tests driving the binary
#   2. scripts/test-slurm.sh  end-to-end on a real one-node Slurm (needs root:
#                             it installs Debian's slurm packages and starts
#                             daemons, and stops them again). Without root it
#                             is skipped with a message; SHARDGEN_SKIP_SLURM=1
#                             skips it on purpose.
#   3. scripts/test-python.sh the wheel, the Python package and the WebDataset
#                             export with real PyPI clients (as root, like the
#                             Slurm test; SHARDGEN_SKIP_PYTHON=1 skips it)
#   4. scripts/test-blender.sh a real Blender pipeline in worker mode (as
#                             root it installs Debian's blender; otherwise it
#                             is skipped with a message; SHARDGEN_SKIP_BLENDER=1)
#   5. scripts/test-browser.sh report.html of a demo dataset in headless
#                             Chromium (as root it installs chromium and
#                             playwright-core; without root and without them
#                             it is skipped with a message);
#                             SHARDGEN_SKIP_BROWSER=1 skips it on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release

if [ -n "${SHARDGEN_SKIP_SLURM:-}" ]; then
  echo "test.sh: Slurm end-to-end test skipped (SHARDGEN_SKIP_SLURM is set)"
elif [ "$(id -u)" != 0 ]; then
  echo "test.sh: Slurm end-to-end test skipped: it needs root (apt-get, daemons)"
else
  TEST_SLURM_REQUIRE_STATISTICS=1 scripts/test-slurm.sh target/release/shardgen
fi

if [ -n "${SHARDGEN_SKIP_PYTHON:-}" ]; then
  echo "test.sh: Python tests skipped (SHARDGEN_SKIP_PYTHON is set)"
elif [ "$(id -u)" != 0 ]; then
  echo "test.sh: Python tests skipped: they need root (they may apt-get python3-venv) and PyPI"
else
  scripts/test-python.sh
fi

if [ -n "${SHARDGEN_SKIP_BLENDER:-}" ]; then
  echo "test.sh: Blender end-to-end test skipped (SHARDGEN_SKIP_BLENDER is set)"
else
  scripts/test-blender.sh target/release/shardgen
fi

if [ -n "${SHARDGEN_SKIP_BROWSER:-}" ]; then
  echo "test.sh: browser test of report.html skipped (SHARDGEN_SKIP_BROWSER is set)"
else
  scripts/test-browser.sh target/release/shardgen
fi
