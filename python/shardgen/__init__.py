"""shardgen for Python: read datasets made by the ``shardgen`` command.

    import shardgen
    ds = shardgen.Dataset("data/shapes")        # complete samples, id order
    for sample in ds:
        image = sample.read("image_aug.png")     # bytes
        labels = sample.json("labels.json")
        objects = sample.stats["render.objects"]

``shardgen.seed(master, block, sample)`` is the seed derivation of the
engine; ``shardgen.torch.SampleDataset`` adapts a dataset to PyTorch. Only
the standard library is imported here. The ``shardgen`` command itself is
installed beside this package by the same wheel.
"""

import importlib

from .dataset import (
    COMPLETE,
    FAILED,
    LAYOUT_VERSION,
    MANIFEST_FORMAT,
    MISSING,
    RECORD_FORMAT,
    REJECTED,
    STALE,
    Dataset,
    DatasetError,
    FormatError,
    LayoutError,
    Sample,
    sample_path,
)
from .seed import seed, seed_digest

try:
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("shardgen")
    except PackageNotFoundError:
        __version__ = "0+unknown"
except ImportError:  # pragma: no cover
    __version__ = "0+unknown"

__all__ = [
    "Dataset",
    "Sample",
    "DatasetError",
    "FormatError",
    "LayoutError",
    "RECORD_FORMAT",
    "MANIFEST_FORMAT",
    "LAYOUT_VERSION",
    "sample_path",
    "COMPLETE",
    "FAILED",
    "REJECTED",
    "STALE",
    "MISSING",
    "seed",
    "seed_digest",
]

# Submodules loaded on first use, so `import shardgen` stays light:
# `torch` (the PyTorch adapter) and `worker` (the runtime for Python blocks,
# where that module is installed).
_LAZY = ("torch", "worker")


def __getattr__(name):
    if name in _LAZY:
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"shardgen.{name} is not installed in this package") from None
    raise AttributeError(f"module 'shardgen' has no attribute {name!r}")
