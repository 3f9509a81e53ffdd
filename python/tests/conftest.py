"""Fixtures: the `shardgen` command and datasets made by it.

The command is $SHARDGEN_BIN, else `shardgen` on PATH (the wheel installs
it), else the repository's target/release/shardgen. With
SHARDGEN_TEST_STRICT=1 (scripts/test-python.sh sets it) a missing command or
optional client (webdataset, datasets, Pillow) fails instead of skipping.
"""

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STRICT = os.environ.get("SHARDGEN_TEST_STRICT") == "1"

# Block c writes a file in a sub-folder and an optional debug file on even
# samples, records a number and a text, and fails on samples 4, 15, 26.
PIPELINE = """seed: 7
samples: 30
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: SIZE}}
  - name: c
    type: command
    command: [sh, -c, 'mkdir -p sub debug && echo $SHARDGEN_SAMPLE_ID > sub/n.txt && if [ $((SHARDGEN_SAMPLE_ID % 2)) = 0 ]; then echo even > debug/e.txt; fi && echo "{\\"n\\": $SHARDGEN_SAMPLE_ID, \\"parity\\": \\"p$((SHARDGEN_SAMPLE_ID % 2))\\"}" > "$SHARDGEN_STATS" && [ $((SHARDGEN_SAMPLE_ID % 11)) != 4 ]']
    outputs: [sub/n.txt]
    optional_outputs: [debug/*.txt]
"""


def sample_dir(dataset, sample_id):
    """The folder of a sample: DIR/<bucket>/<sample>/, written out here so
    the tests check the layout rather than trust the package's helper."""
    return Path(dataset) / f"{sample_id // 10000:06d}" / f"{sample_id:010d}"


def complete_ids(n):
    return [i for i in range(n) if i % 11 != 4]


def require(module):
    """Imports an optional client, or skips (fails when strict)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if STRICT:
            pytest.fail(f"{module} is not installed (SHARDGEN_TEST_STRICT=1)")
        pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="session")
def shardgen_bin():
    candidates = [os.environ.get("SHARDGEN_BIN"), shutil.which("shardgen"),
                  str(REPO / "target" / "release" / "shardgen")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "no shardgen command: set SHARDGEN_BIN or pip install ."
    if STRICT:
        pytest.fail(message)
    pytest.skip(message)


class Shardgen:
    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = Path(workdir)

    def __call__(self, *args, code=0):
        result = subprocess.run([self.binary, *map(str, args)], cwd=self.workdir,
                                capture_output=True, text=True)
        assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
        return result

    def config(self, name, text):
        path = self.workdir / name
        path.write_text(text)
        return path


@pytest.fixture
def sg(shardgen_bin, tmp_path):
    return Shardgen(shardgen_bin, tmp_path)


@pytest.fixture
def dataset_dir(sg):
    """30 samples of PIPELINE; samples 4, 15 and 26 failed."""
    config = sg.config("p.yaml", PIPELINE.replace("SIZE", "300"))
    sg("run", config, "--out", "data", "--quiet", code=3)
    return sg.workdir / "data"
