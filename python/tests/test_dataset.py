import csv
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import shardgen
from shardgen.dataset import _glob_regex
from conftest import PIPELINE, complete_ids, require, sample_dir


def folder_files(sample_dir):
    """Every regular file below a sample folder but the record."""
    found = {}
    for root, _dirs, files in os.walk(sample_dir):
        for name in files:
            path = Path(root) / name
            relative = path.relative_to(sample_dir).as_posix()
            if relative != ".shardgen.json":
                found[relative] = path.read_bytes()
    return found


def csv_rows(dataset_dir):
    with open(dataset_dir / "statistics.csv", newline="") as f:
        return {int(row["sample"]): row for row in csv.DictReader(f)}


def test_every_file_of_every_sample_equals_the_folder(dataset_dir):
    ds = shardgen.Dataset(dataset_dir)
    assert len(ds) == 27
    assert [s.id for s in ds] == complete_ids(30) == ds.ids
    rows = csv_rows(dataset_dir)
    assert sorted(rows) == ds.ids, "statistics.csv and the reader agree on the samples"
    for sample in ds:
        assert sample.complete and not sample.stale
        assert sample.path == sample_dir(dataset_dir, sample.id)
        on_disk = folder_files(sample.path)
        assert sorted(sample.files) == sorted(on_disk)
        for name, data in on_disk.items():
            assert sample.files[name].is_absolute()
            assert sample.read(name) == data
        expected = {"a.bin", "sub/n.txt"} | ({"debug/e.txt"} if sample.id % 2 == 0 else set())
        assert set(sample.files) == expected
        assert sample.state == {"a": "complete", "c": "complete"}
        assert sample.stats == {"a.bytes": 300.0, "c.n": float(sample.id),
                                "c.parity": f"p{sample.id % 2}"}
        row = rows[sample.id]
        for key, value in sample.stats.items():
            assert (row[key] if isinstance(value, str) else float(row[key])) == value
        assert set(row) - {"sample"} == set(sample.stats)
    assert ds[3].read("sub/n.txt") == b"3\n"
    assert json.loads(json.dumps(ds[2].record))["sample"] == 2


def test_failed_samples_are_not_complete(dataset_dir):
    ds = shardgen.Dataset(dataset_dir)
    assert 4 not in ds
    with pytest.raises(KeyError, match="not complete"):
        ds[4]
    everything = shardgen.Dataset(dataset_dir, include="all")
    assert everything.ids == list(range(30)) == everything.present()
    failed = everything[4]
    assert not failed.complete
    assert failed.state == {"a": "complete", "c": "failed"}
    assert "exit" in failed.reasons["c"]
    assert sorted(failed.files) == ["a.bin"]
    with pytest.raises(KeyError):
        failed.read("sub/n.txt")
    with pytest.raises(KeyError):
        failed.read("../0000000003/a.bin")


def test_stale_samples_after_a_param_change_are_excluded(sg, dataset_dir):
    changed = sg.config("q.yaml", PIPELINE.replace("SIZE", "200"))
    sg("run", changed, "--out", dataset_dir, "--num-samples", "10", "--quiet", code=3)
    ds = shardgen.Dataset(dataset_dir)
    assert ds.ids == complete_ids(10)
    assert all(len(s.read("a.bin")) == 200 for s in ds)
    assert ds.stale() == list(range(10, 30))
    assert sorted(csv_rows(dataset_dir)) == ds.ids
    # A naive glob sees both sizes; the reader does not.
    sizes = {os.path.getsize(p) for p in dataset_dir.glob("*/*/a.bin")}
    assert sizes == {200, 300}
    old = shardgen.Dataset(dataset_dir, include="all")[12]
    assert old.stale and old.state == {"a": "stale", "c": "stale"}
    assert old.stats == {}, "statistics of another pipeline are not this sample's"


def test_rejected_samples_are_not_complete(sg):
    config = sg.config("shapes.yaml", """seed: 5
samples: 24
blocks:
  - {name: scene, type: scene, params: {width: 48, height: 48, min_objects: 3, max_objects: 6}}
  - {name: render, type: render}
  - {name: augment, type: augment}
  - {name: annotate, type: annotate, params: {min_visible_fraction: 0.8}}
""")
    sg("run", config, "--out", "shapes", "--quiet")
    everything = shardgen.Dataset(sg.workdir / "shapes", include="all")
    rejected = [s.id for s in everything if s.state["annotate"] == "rejected"]
    assert 0 < len(rejected) < 24
    ds = shardgen.Dataset(sg.workdir / "shapes")
    assert ds.ids == [i for i in range(24) if i not in rejected]
    rows = csv_rows(sg.workdir / "shapes")
    assert sorted(rows) == ds.ids
    # Every float survives the trip record -> statistics.csv exactly.
    for s in ds:
        for key, value in s.stats.items():
            assert (rows[s.id][key] if isinstance(value, str) else float(rows[s.id][key])) == value, (s.id, key)
    # ... and into the stats member of the exported shards.
    sg("export", "shapes", "--format", "webdataset", "--out", "shards")
    with tarfile.open(sg.workdir / "shards" / "shard-000000.tar") as tar:
        exported = {m.name[:10]: json.load(tar.extractfile(m))
                    for m in tar if m.name.endswith(".stats.json")}
    assert exported == {f"{s.id:010d}": s.stats for s in ds}
    sample = next(iter(ds))
    assert sample.json("labels.json")
    if require("PIL"):
        assert sample.image("image_aug.png").size == (48, 48)


def test_damaged_records_are_skipped(dataset_dir):
    record = sample_dir(dataset_dir, 5) / ".shardgen.json"
    record.write_bytes(record.read_bytes()[:20])
    (sample_dir(dataset_dir, 6) / ".shardgen.json").write_text(
        (sample_dir(dataset_dir, 7) / ".shardgen.json").read_text())
    ds = shardgen.Dataset(dataset_dir)
    assert 5 not in ds and 6 not in ds and 7 in ds
    damaged = ds.damaged()
    assert sorted(damaged) == [5, 6]
    assert "corrupt" in damaged[5] and "sample 7" in damaged[6]


def test_outputs_of_another_size_than_recorded_are_not_complete(sg, dataset_dir):
    # The engine's rule: a truncated output (or an optional one removed) is
    # missing, and a plain run redoes it.
    with open(sample_dir(dataset_dir, 3) / "a.bin", "r+b") as f:
        f.truncate(10)
    (sample_dir(dataset_dir, 8) / "debug" / "e.txt").unlink()
    ds = shardgen.Dataset(dataset_dir)
    assert 3 not in ds and 8 not in ds and 5 in ds
    # Samples 4, 15 and 26 fail again: the run exits 3.
    sg("run", "p.yaml", "--out", dataset_dir, "--quiet", code=3)
    assert 3 in shardgen.Dataset(dataset_dir) and 8 in shardgen.Dataset(dataset_dir)


def test_unknown_formats_are_refused(dataset_dir):
    record = sample_dir(dataset_dir, 2) / ".shardgen.json"
    data = json.loads(record.read_text())
    data["format"] = 2
    record.write_text(json.dumps(data))
    with pytest.raises(shardgen.FormatError, match="record format 2"):
        shardgen.Dataset(dataset_dir)
    manifest = dataset_dir / ".shardgen" / "pipeline.json"
    data = json.loads(manifest.read_text())
    data["format"] = 9
    manifest.write_text(json.dumps(data))
    with pytest.raises(shardgen.FormatError, match="manifest format 9"):
        shardgen.Dataset(dataset_dir)


def test_a_folder_that_is_no_dataset_is_refused(tmp_path):
    with pytest.raises(shardgen.DatasetError, match="not a shardgen dataset"):
        shardgen.Dataset(tmp_path)
    with pytest.raises(shardgen.DatasetError, match="no such folder"):
        shardgen.Dataset(tmp_path / "missing")
    with pytest.raises(ValueError):
        shardgen.Dataset(tmp_path, include="some")


def test_the_reader_never_writes(dataset_dir):
    def snapshot():
        return sorted((str(p), p.stat().st_mtime_ns) for p in dataset_dir.rglob("*"))
    before = snapshot()
    for sample in shardgen.Dataset(dataset_dir, include="all"):
        sample.files
    assert snapshot() == before


@pytest.mark.parametrize("pattern,path,matches", [
    ("*.png", "a.png", True),
    ("*.png", ".a.png", False),
    ("*.png", "d/a.png", False),
    ("debug/*.txt", "debug/e.txt", True),
    ("debug/*.txt", "debug/x/e.txt", False),
    ("**/*.txt", "a/b/c.txt", True),
    ("**/*.txt", "c.txt", True),
    ("**/*.txt", ".h/c.txt", False),
    ("img_?.png", "img_1.png", True),
    ("img_?.png", "img_10.png", False),
    ("[ab].bin", "a.bin", True),
    ("[!ab].bin", "a.bin", False),
    ("[!ab].bin", "c.bin", True),
    ("a[0-9]", "a5", True),
])
def test_globs_match_as_the_engine_does(pattern, path, matches):
    assert (_glob_regex(pattern).match(path) is not None) == matches


def test_import_needs_only_the_standard_library():
    code = ("import sys, shardgen, shardgen.torch; "
            "bad = [m for m in ('numpy', 'torch', 'PIL') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_submodules_load_on_use():
    code = ("import sys, shardgen; assert 'shardgen.torch' not in sys.modules; "
            "shardgen.torch.SampleDataset; "
            "import os; has = os.path.exists(os.path.join(os.path.dirname(shardgen.__file__), 'worker.py')); "
            "assert hasattr(shardgen, 'worker') == has; "
            "assert not hasattr(shardgen, 'nothing')")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reading_while_a_run_writes(sg):
    config = sg.config("slow.yaml", """seed: 2
samples: 80
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 5000}}
  - name: b
    type: command
    command: [sh, -c, 'head -c 100 {sample_dir}/a.bin > b.bin']
    outputs: [b.bin]
""")
    run = subprocess.Popen([sg.binary, "run", str(config), "--out", "data", "--quiet", "--jobs", "2"],
                           cwd=sg.workdir)
    manifest = sg.workdir / "data" / ".shardgen" / "pipeline.json"
    seen, sizes = set(), []
    try:
        while run.poll() is None:
            if not manifest.exists():
                continue
            for sample in shardgen.Dataset(sg.workdir / "data"):
                assert sample.complete
                assert sample.read("b.bin") == sample.read("a.bin")[:100]
                seen.add(sample.id)
            sizes.append(len(seen))
    finally:
        assert run.wait() == 0
    final = shardgen.Dataset(sg.workdir / "data")
    assert final.ids == list(range(80))
    assert seen <= set(final.ids)
    assert any(0 < n < 80 for n in sizes), "some scan saw the dataset half made"
