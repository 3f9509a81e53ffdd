"""The bucketed layout as the reader sees it: samples across a bucket
boundary in id order, the flat layout of earlier versions refused with the
command that converts it, and read again once `shardgen upgrade` ran."""

import json
import os

import pytest

import shardgen
from conftest import sample_dir

PIPELINE = """seed: 4
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 32}}
"""


@pytest.fixture
def across(sg):
    config = sg.config("p.yaml", PIPELINE)
    sg("run", config, "--out", "data", "--start-sample", "9997", "--num-samples", "6", "--quiet")
    return sg.workdir / "data"


def test_samples_across_a_bucket_boundary_read_in_id_order(across):
    ds = shardgen.Dataset(across)
    assert ds.ids == list(range(9997, 10003))
    assert sorted(os.listdir(across / "000001")) == ["0000010000", "0000010001", "0000010002"]
    for sample in ds:
        assert sample.path == sample_dir(across, sample.id)
        assert sample.files == {"a.bin": (sample.path / "a.bin").absolute()}
    assert shardgen.sample_path(42) == "000000/0000000042"
    assert shardgen.sample_path(9_999_999_999) == "999999/9999999999"
    assert shardgen.LAYOUT_VERSION == 2 and shardgen.MANIFEST_FORMAT == 2


def make_flat(root):
    """The dataset as earlier versions wrote it."""
    for bucket in [n for n in os.listdir(root) if len(n) == 6 and n.isdigit()]:
        for name in os.listdir(root / bucket):
            os.rename(root / bucket / name, root / name)
        os.rmdir(root / bucket)
    manifest = root / ".shardgen" / "pipeline.json"
    data = json.loads(manifest.read_text())
    data["format"] = 1
    del data["layout"]
    manifest.write_text(json.dumps(data))


def test_a_flat_dataset_is_refused_until_upgraded(sg, across):
    make_flat(across)
    with pytest.raises(shardgen.LayoutError, match="shardgen upgrade"):
        shardgen.Dataset(across)
    sg("upgrade", "data", "--quiet")
    assert shardgen.Dataset(across).ids == list(range(9997, 10003))
    # A flat sample folder copied into a converted dataset.
    os.rename(sample_dir(across, 9999), across / "0000009999")
    with pytest.raises(shardgen.LayoutError, match="directly in it"):
        shardgen.Dataset(across)
    assert issubclass(shardgen.LayoutError, shardgen.DatasetError)
