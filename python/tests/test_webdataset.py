"""Shards written by `shardgen export --format webdataset`, read by the real
clients: the `webdataset` package and, when installed, Hugging Face
`datasets` with its webdataset loader."""

import json
import os

import pytest

from conftest import complete_ids, require

import shardgen


def export(sg, dataset_dir, per_shard):
    out = sg.workdir / f"shards{per_shard}"
    result = sg("export", dataset_dir, "--format", "webdataset", "--out", out,
                "--samples-per-shard", per_shard, "--json")
    report = json.loads(result.stdout)
    index = json.loads((out / "index.json").read_text())
    assert index["format"] == 1
    assert report["shards"] == len(index["shards"])
    urls = [str(out / shard["file"]) for shard in index["shards"]]
    return index, urls


def expected_samples(dataset_dir):
    """What each exported sample must hold: {key: {ext: bytes}}."""
    expected = {}
    for sample in shardgen.Dataset(dataset_dir):
        members = {name.replace("/", "."): sample.read(name) for name in sample.files}
        members["stats.json"] = sample.stats
        expected[f"{sample.id:010d}"] = members
    return expected


def check(loaded, expected):
    assert list(loaded) == list(expected), "same keys, in id order"
    for key, members in expected.items():
        got = loaded[key]
        assert set(got) == set(members), key
        for ext, data in members.items():
            if ext == "stats.json":
                assert json.loads(got[ext]) == data
            else:
                assert got[ext] == data, (key, ext)


def test_webdataset_reads_every_sample_and_byte(sg, dataset_dir):
    wds = require("webdataset")
    index, urls = export(sg, dataset_dir, 7)
    assert [len(range(*r)) for s in index["shards"] for r in s["ids"]]
    assert [i for s in index["shards"] for r in s["ids"] for i in range(*r)] == complete_ids(30)
    loaded = {}
    for item in wds.WebDataset(urls, shardshuffle=False):
        key = item["__key__"]
        loaded[key] = {k: v for k, v in item.items() if not k.startswith("__")}
    assert len(loaded) == 27
    check(loaded, expected_samples(dataset_dir))


def test_hugging_face_datasets_loads_the_shards(sg):
    skip = os.environ.get("SHARDGEN_SKIP_HF")
    if skip:  # scripts/test-python.sh says why (e.g. the install was too slow)
        pytest.skip(f"Hugging Face datasets: {skip}")
    datasets = require("datasets")
    # HF infers one schema from the first samples: every sample must hold the
    # same members, so no optional outputs here.
    config = sg.config("hf.yaml", """seed: 3
samples: 12
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 100}}
  - {name: b, type: random-bytes, outputs: [b.bin], params: {size: 50}}
""")
    sg("run", config, "--out", "hf", "--quiet")
    dataset_dir = sg.workdir / "hf"
    _, urls = export(sg, dataset_dir, 5)
    loaded = datasets.load_dataset("webdataset", data_files={"train": urls}, split="train")
    assert len(loaded) == 12
    assert [row["__key__"] for row in loaded] == [f"{i:010d}" for i in range(12)]
    for sample, row in zip(shardgen.Dataset(dataset_dir), loaded):
        assert row["a.bin"] == sample.read("a.bin")
        assert row["b.bin"] == sample.read("b.bin")
        stats = row["stats.json"]
        assert (json.loads(stats) if isinstance(stats, (str, bytes)) else stats) == sample.stats
