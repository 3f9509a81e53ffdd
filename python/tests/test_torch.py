"""The PyTorch adapter, against a stand-in `torch` module (the real one is
too large for CI): it needs only len() and indexing."""

import sys
import types

import pytest

from conftest import complete_ids, sample_dir


@pytest.fixture
def fake_torch(monkeypatch):
    torch = types.ModuleType("torch")
    torch.utils = types.ModuleType("torch.utils")
    torch.utils.data = types.ModuleType("torch.utils.data")
    for name, module in [("torch", torch), ("torch.utils", torch.utils),
                         ("torch.utils.data", torch.utils.data)]:
        monkeypatch.setitem(sys.modules, name, module)
    return torch


def test_sample_dataset_indexes_complete_samples(fake_torch, dataset_dir):
    from shardgen.torch import SampleDataset

    ds = SampleDataset(dataset_dir, transform=lambda s: (s.id, s.read("a.bin")))
    assert len(ds) == 27
    ids = [ds[i][0] for i in range(len(ds))]
    assert ids == complete_ids(30)
    assert ds[-1][0] == 29
    assert ds[0][1] == (sample_dir(dataset_dir, 0) / "a.bin").read_bytes()
    with pytest.raises(IndexError):
        ds[27]
    plain = SampleDataset(dataset_dir)
    assert plain[1].id == 1


def test_without_torch_the_error_says_what_to_install(monkeypatch, dataset_dir):
    monkeypatch.setitem(sys.modules, "torch", None)
    from shardgen.torch import SampleDataset

    with pytest.raises(ImportError, match="pip install torch"):
        SampleDataset(dataset_dir)
