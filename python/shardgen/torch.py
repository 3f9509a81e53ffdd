"""A map-style PyTorch dataset over the complete samples of a shardgen
dataset. PyTorch is imported when a :class:`SampleDataset` is made, not when
this module or ``shardgen`` is imported.

    from shardgen.torch import SampleDataset
    ds = SampleDataset("data/shapes", transform=to_tensors)
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True)

``ds[i]`` is the ``i``-th complete sample in id order (``0 <= i < len(ds)``),
passed through ``transform`` when one is given; without one it is the
:class:`shardgen.Sample` itself (give ``DataLoader`` a ``collate_fn`` then).
"""

from .dataset import Dataset

__all__ = ["SampleDataset"]


class SampleDataset:
    """``torch.utils.data.Dataset``-compatible view of a shardgen dataset.

    Args:
        path: the dataset folder.
        transform: called with each :class:`shardgen.Sample`; returns what
            the loader yields (e.g. a tuple of tensors).
        include: ``"complete"`` (default) or ``"all"``, as in
            :class:`shardgen.Dataset`.
    """

    def __init__(self, path, transform=None, include="complete"):
        try:
            import torch.utils.data  # noqa: F401  (fails early and clearly)
        except ImportError as e:
            raise ImportError(
                "shardgen.torch.SampleDataset needs PyTorch: pip install torch"
            ) from e
        self.dataset = Dataset(path, include=include)
        self.ids = self.dataset.ids
        self.transform = transform

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"indices are ints, not {type(index).__name__}")
        if index < 0:
            index += len(self.ids)
        if not 0 <= index < len(self.ids):
            raise IndexError(f"index {index} out of range for {len(self.ids)} samples")
        sample = self.dataset[self.ids[index]]
        return self.transform(sample) if self.transform is not None else sample
