"""Read-only access to a shardgen dataset folder.

A sample is *complete* when every block of the dataset's current pipeline
(``DIR/.shardgen/pipeline.json``) succeeded on it with its current
fingerprint and its required outputs exist: the rule of ``src/dataset/state.rs``,
the one ``shardgen run``, ``analyze`` and ``statistics.csv`` use. Samples
made by an older version of the pipeline (a param changed since) are
*stale*, failed and rejected samples are not complete, and a record that is
torn, corrupt or of another sample is *damaged*: such samples are skipped,
never trusted. A record or manifest of a format version this package does
not know is refused with :class:`FormatError`, and a dataset of the flat
layout of earlier shardgen versions with :class:`LayoutError`. The formats
are documented in ``docs/formats.md``.

Sample ``i`` lives in ``DIR/<bucket>/<sample>/``: the bucket is ``i // 10000``,
6 digits, the sample folder the id, 10 digits, both zero-padded
(``DIR/000000/0000000042/``); :func:`sample_path` gives it.

Only the standard library is imported. The folder is never written to, and
it may be read while a run is writing (records are replaced atomically).
"""

import json
import os
import re
import stat
from pathlib import Path

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
]

#: Format version of the per-sample record ``.shardgen.json`` this reads.
RECORD_FORMAT = 1
#: Format version of ``.shardgen/pipeline.json`` this reads.
MANIFEST_FORMAT = 2
#: The layout of the sample folders this reads (``"layout"`` in the manifest).
LAYOUT_VERSION = 2
#: The manifest format of the flat layout (no ``"layout"``).
FLAT_MANIFEST_FORMAT = 1
RECORD_FILE = ".shardgen.json"
META_DIR = ".shardgen"
MANIFEST_FILE = "pipeline.json"
SAMPLE_DIGITS = 10
BUCKET_DIGITS = 6
BUCKET_SIZE = 10_000

#: Block states (``Sample.state`` values).
COMPLETE = "complete"
FAILED = "failed"
REJECTED = "rejected"
STALE = "stale"
MISSING = "missing"

_STATUSES = {"ok", "failed", "rejected"}
_INCLUDE = ("complete", "all")


class DatasetError(Exception):
    """The folder is not a readable shardgen dataset."""


class FormatError(DatasetError):
    """A record or manifest of a format version this package does not know
    (made by a newer shardgen): upgrade the ``shardgen`` package."""


class LayoutError(DatasetError):
    """A dataset of the flat layout of earlier shardgen versions (sample
    folders directly in DIR): convert it with ``shardgen upgrade DIR``."""


def sample_dir_name(sample_id):
    """The folder name of a sample: its id, 10 digits, zero-padded."""
    return f"{sample_id:0{SAMPLE_DIGITS}d}"


def sample_path(sample_id):
    """A sample folder relative to its dataset: ``000000/0000000042``."""
    return f"{sample_id // BUCKET_SIZE:0{BUCKET_DIGITS}d}/{sample_dir_name(sample_id)}"


def _digits(name, width):
    if len(name) == width and name.isascii() and name.isdigit():
        return int(name)
    return None


def _sample_id(name):
    return _digits(name, SAMPLE_DIGITS)


def _layout_error(root, why):
    return LayoutError(
        f"{root} is a dataset of the flat layout of earlier shardgen versions ({why}); "
        f"convert it in place with `shardgen upgrade {root}`"
    )


def _reject_constant(token):
    # serde_json refuses NaN and Infinity; a record holding them is corrupt.
    raise ValueError(f"invalid JSON constant {token}")


def _glob_regex(pattern):
    """A regex matching the relative paths a declared output glob matches,
    as the Rust ``glob`` crate does with shardgen's options: ``*`` and ``?``
    never cross ``/``, wildcards never match a leading ``.`` of a path
    component, ``**`` as a whole component matches any folders."""
    out = []
    i, n = 0, len(pattern)
    at_start = True  # at the start of a path component
    while i < n:
        c = pattern[i]
        if c == "*" and pattern.startswith("**", i) and at_start and (
            i + 2 == n or pattern[i + 2] == "/"
        ):
            if i + 2 == n:
                out.append(r"(?:[^/.][^/]*(?:/[^/.][^/]*)*)?")
                i += 2
            else:
                out.append(r"(?:[^/.][^/]*/)*")
                i += 3
            at_start = True
            continue
        if c == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append(r"(?:[^/.][^/]*)?" if at_start else r"[^/]*")
        elif c == "?":
            out.append(r"[^/.]" if at_start else r"[^/]")
            i += 1
        elif c == "[":
            j = i + 1
            negate = j < n and pattern[j] == "!"
            if negate:
                j += 1
            k = j + 1 if j < n and pattern[j] == "]" else j
            while k < n and pattern[k] != "]":
                k += 1
            if k >= n:  # not a class: the Rust crate refuses it at load
                raise ValueError(f"invalid glob pattern {pattern!r}")
            body = pattern[j:k].replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
            body = body.replace("]", "\\]")
            cls = f"[^/{body}]" if negate else f"(?!/)[{body}]"
            out.append(f"(?![.]){cls}" if at_start else cls)
            i = k + 1
        else:
            out.append(re.escape(c))
            i += 1
        at_start = c == "/"
    return re.compile("".join(out) + r"\Z")


class _Output:
    """One declared output: a plain relative name or a glob pattern."""

    __slots__ = ("text", "regex")

    def __init__(self, text):
        self.text = text
        self.regex = _glob_regex(text) if any(ch in text for ch in "*?[") else None

    def matches(self, relative):
        if self.regex is None:
            return relative == self.text
        return self.regex.match(relative) is not None

    def present(self, sample_dir, entries):
        if self.regex is None:
            return os.path.lexists(os.path.join(sample_dir, self.text))
        return any(self.regex.match(relative) for relative in entries)


class Block:
    """One block of the dataset's pipeline, as its manifest records it."""

    def __init__(self, raw):
        self.name = raw["name"]
        self.type = raw["type"]
        self.version = raw["version"]
        self.params = raw["params"]
        self.command = raw.get("command")
        self.inputs = list(raw["inputs"])
        self.outputs = list(raw["outputs"])
        self.optional_outputs = list(raw["optional_outputs"])
        self.fingerprint = raw["fingerprint"]
        self._required = [_Output(t) for t in self.outputs]
        self._all = self._required + [_Output(t) for t in self.optional_outputs]

    @property
    def has_outputs(self):
        return bool(self.outputs or self.optional_outputs)

    def __repr__(self):
        return f"Block({self.name!r}, type={self.type!r}, fingerprint={self.fingerprint!r})"


def _read_manifest(root):
    path = root / META_DIR / MANIFEST_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not root.is_dir():
            raise DatasetError(f"{root}: no such folder") from None
        raise DatasetError(
            f"{root}: no {META_DIR}/{MANIFEST_FILE}, so not a shardgen dataset"
        ) from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e}") from None
    try:
        manifest = json.loads(data, parse_constant=_reject_constant)
    except ValueError as e:
        raise DatasetError(f"{path}: unreadable manifest ({e})") from None
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if fmt == FLAT_MANIFEST_FORMAT and not isinstance(fmt, bool):
        raise _layout_error(root, f"{path} has no layout version")
    if fmt == MANIFEST_FORMAT and manifest.get("layout") != LAYOUT_VERSION:
        raise FormatError(
            f"{path}: layout {manifest.get('layout')!r} is not supported by this shardgen "
            f"package (it reads layout {LAYOUT_VERSION}); use the shardgen version that made "
            "the dataset"
        )
    if fmt != MANIFEST_FORMAT:
        raise FormatError(
            f"{path}: manifest format {fmt!r} is not supported by this shardgen package "
            f"(it reads format {MANIFEST_FORMAT}); use the shardgen version that made the dataset"
        )
    try:
        seed = manifest["seed"]
        blocks = [Block(b) for b in manifest["blocks"]]
        if not isinstance(seed, int) or not all(isinstance(b.name, str) for b in blocks):
            raise TypeError("bad field types")
    except (KeyError, TypeError) as e:
        raise DatasetError(f"{path}: unreadable manifest ({e!r})") from None
    return seed, blocks


def _read_record(sample_dir, sample_id):
    """``(record, None)`` for a trusted record, ``(None, None)`` when absent,
    ``(None, reason)`` when damaged; raises FormatError for a newer format."""
    path = os.path.join(sample_dir, RECORD_FILE)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None, None
    except OSError as e:
        return None, f"unreadable record: {e}"
    try:
        record = json.loads(data, parse_constant=_reject_constant)
    except ValueError as e:
        return None, f"corrupt record: {e}"
    if not isinstance(record, dict):
        return None, "corrupt record: not an object"
    fmt = record.get("format")
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > RECORD_FORMAT:
        raise FormatError(
            f"{path}: record format {fmt} is not supported by this shardgen package "
            f"(it reads format {RECORD_FORMAT}); upgrade the shardgen package"
        )
    if fmt != RECORD_FORMAT or isinstance(fmt, bool):
        return None, f"record format {fmt!r} (this package reads {RECORD_FORMAT})"
    if record.get("sample") != sample_id or isinstance(record.get("sample"), bool):
        return None, (
            f"record of sample {record.get('sample')!r} found in the folder of sample {sample_id}"
        )
    blocks = record.get("blocks")
    if not isinstance(blocks, list):
        return None, "corrupt record: no block list"
    for entry in blocks:
        if not _valid_entry(entry):
            return None, "corrupt record: malformed block entry"
    return record, None


def _valid_entry(entry):
    if not isinstance(entry, dict):
        return False
    if not isinstance(entry.get("name"), str) or not isinstance(entry.get("fingerprint"), str):
        return False
    if entry.get("status") not in _STATUSES:
        return False
    reason = entry.get("reason")
    if reason is not None and not isinstance(reason, str):
        return False
    stats = entry.get("stats", {})
    if not isinstance(stats, dict):
        return False
    return all(
        isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool))
        for v in stats.values()
    )


def _walk(sample_dir):
    """Every entry below a sample folder: ``{relative path: is regular file}``,
    without following symlinks."""
    entries = {}
    pending = [""]
    while pending:
        relative_dir = pending.pop()
        try:
            with os.scandir(os.path.join(sample_dir, relative_dir)) as it:
                items = list(it)
        except OSError:
            continue
        for entry in items:
            relative = f"{relative_dir}/{entry.name}" if relative_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            entries[relative] = is_file
            if is_dir:
                pending.append(relative)
    return entries


def _intact(sample_dir, recorded):
    """Whether every recorded output is a regular file of its recorded size."""
    for output in recorded:
        try:
            info = os.lstat(os.path.join(sample_dir, output["path"]))
        except OSError:
            return False
        if not stat.S_ISREG(info.st_mode) or info.st_size != output["size"]:
            return False
    return True


class _Judged:
    __slots__ = ("record", "damaged", "states", "reasons", "entries")

    def __init__(self, record, damaged, states, reasons, entries):
        self.record = record
        self.damaged = damaged
        self.states = states
        self.reasons = reasons
        self.entries = entries

    @property
    def complete(self):
        return all(state == COMPLETE for state in self.states.values())


def _judge(blocks, sample_dir, sample_id):
    record, damaged = _read_record(sample_dir, sample_id)
    entries = _walk(sample_dir)
    by_name = {}
    for entry in (record or {}).get("blocks", []):
        by_name.setdefault(entry["name"], entry)
    states, reasons = {}, {}
    chain_broken = False
    for block in blocks:
        entry = by_name.get(block.name)
        if entry is None:
            state = MISSING
        elif entry["fingerprint"] != block.fingerprint:
            state = STALE
        elif entry["status"] == "failed":
            state = FAILED
        elif entry["status"] == "rejected":
            state = REJECTED
        elif entry.get("outputs"):
            # The outputs the record vouches for, each at its recorded size,
            # covering the required patterns (docs/formats.md, rule 4).
            recorded = entry["outputs"]
            covered = all(any(o.matches(f["path"]) for f in recorded) for o in block._required)
            state = COMPLETE if covered and _intact(sample_dir, recorded) else MISSING
        elif all(o.present(sample_dir, entries) for o in block._required):
            state = COMPLETE
        else:
            state = MISSING
        if block.has_outputs:
            if chain_broken and state == COMPLETE:
                state = MISSING
            chain_broken = chain_broken or state != COMPLETE
        states[block.name] = state
        if state in (FAILED, REJECTED):
            reasons[block.name] = entry.get("reason") or ""
    return _Judged(record, damaged, states, reasons, entries)


class Sample:
    """One sample folder, as read when it was looked up.

    Attributes:
        id: the global sample index.
        path: the sample folder (a ``Path``).
        files: ``{relative name: absolute Path}`` of its published outputs
            (regular files matching a declared output of a block), sorted.
        stats: ``{"block.stat": value}``, the statistics of its blocks that
            ran with their current fingerprint, as the columns of
            ``statistics.csv`` (numbers as ``float``).
        state: ``{block: "complete" | "failed" | "rejected" | "stale" |
            "missing"}`` in chain order.
        reasons: ``{block: reason}`` for failed and rejected blocks.
        complete: every block complete.
        damaged: why the record cannot be trusted, or ``None``.
        record: the parsed ``.shardgen.json`` (``None`` if absent or damaged).
    """

    def __init__(self, dataset_blocks, sample_id, path, judged):
        self.id = sample_id
        self.path = Path(path)
        self.state = judged.states
        self.reasons = judged.reasons
        self.complete = judged.complete
        self.damaged = judged.damaged
        self.record = judged.record
        outputs = [o for b in dataset_blocks for o in b._all]
        names = sorted(
            relative
            for relative, is_file in judged.entries.items()
            if is_file and relative != RECORD_FILE and any(o.matches(relative) for o in outputs)
        )
        self.files = {name: (self.path / name).absolute() for name in names}
        current = {b.name: b.fingerprint for b in dataset_blocks}
        stats = {}
        for entry in (judged.record or {}).get("blocks", []):
            if current.get(entry["name"]) != entry["fingerprint"]:
                continue
            for key, value in entry.get("stats", {}).items():
                stats[f"{entry['name']}.{key}"] = value if isinstance(value, str) else float(value)
        self.stats = dict(sorted(stats.items()))

    @property
    def stale(self):
        """Whether a block ran under another version of the pipeline."""
        return STALE in self.state.values()

    def read(self, name):
        """The bytes of output ``name`` (a key of :attr:`files`)."""
        try:
            path = self.files[name]
        except KeyError:
            raise KeyError(f"sample {self.id} has no output {name!r}; it has {list(self.files)}") from None
        return path.read_bytes()

    def json(self, name):
        """Output ``name`` parsed as JSON."""
        return json.loads(self.read(name))

    def image(self, name):
        """Output ``name`` opened with Pillow (imported only here)."""
        import io

        from PIL import Image

        return Image.open(io.BytesIO(self.read(name)))

    def __repr__(self):
        status = "complete" if self.complete else ", ".join(
            f"{b}: {s}" for b, s in self.state.items() if s != COMPLETE
        )
        return f"Sample({self.id}, {status})"


class Dataset:
    """A shardgen dataset folder, opened read-only.

    ``Dataset(path)`` reads the manifest and scans the sample folders once
    (:meth:`refresh` scans again). ``len()``, iteration (in sample-id order)
    and ``ds[sample_id]`` cover the selected samples: the complete ones by
    default, every sample folder present with ``include="all"``. Samples are
    read from disk when they are yielded or looked up; one that a concurrent
    run changed so that it no longer qualifies is skipped by iteration (and
    ``ds[id]`` raises ``KeyError``).
    """

    def __init__(self, path, include="complete"):
        if include not in _INCLUDE:
            raise ValueError(f"include must be one of {_INCLUDE}, not {include!r}")
        self.path = Path(path)
        self.include = include
        self.seed, self.blocks = _read_manifest(self.path)
        self.refresh()

    def refresh(self):
        """Scans the sample folders again."""
        self._present = self._present_ids()
        self._selected = []
        self._stale = []
        self._damaged = {}
        self._states = {}
        for sample_id in self._present:
            judged = _judge(self.blocks, self._dir(sample_id), sample_id)
            if judged.damaged is not None:
                self._damaged[sample_id] = judged.damaged
            if STALE in judged.states.values():
                self._stale.append(sample_id)
            self._states[sample_id] = judged.states
            if self.include == "all" or judged.complete:
                self._selected.append(sample_id)
        self._selected_set = frozenset(self._selected)

    def _present_ids(self):
        """The root lists the buckets, each bucket its sample folders (a
        folder in another sample's bucket is not one of this layout)."""
        try:
            with os.scandir(self.path) as it:
                entries = list(it)
        except OSError as e:
            raise DatasetError(f"{self.path}: cannot read: {e}") from None
        buckets = []
        for entry in entries:
            if _sample_id(entry.name) is not None:
                raise _layout_error(
                    self.path, f"{self.path / entry.name} is a sample folder directly in it")
            bucket = _digits(entry.name, BUCKET_DIGITS)
            if bucket is None:
                continue
            if not entry.is_dir(follow_symlinks=False):
                raise DatasetError(
                    f"{self.path / entry.name}: named like a bucket of sample folders but not a "
                    "real folder (a symlink or a file); move it away")
            buckets.append((bucket, entry.path))
        ids = []
        for bucket, path in buckets:
            try:
                with os.scandir(path) as it:
                    ids.extend(
                        sample_id for entry in it
                        if (sample_id := _sample_id(entry.name)) is not None
                        and sample_id // BUCKET_SIZE == bucket
                    )
            except FileNotFoundError:
                continue
            except OSError as e:
                raise DatasetError(f"{path}: cannot read: {e}") from None
        return sorted(ids)

    def _dir(self, sample_id):
        return os.path.join(self.path, sample_path(sample_id))

    def _load(self, sample_id):
        judged = _judge(self.blocks, self._dir(sample_id), sample_id)
        if self.include == "complete" and not judged.complete:
            return None
        return Sample(self.blocks, sample_id, self._dir(sample_id), judged)

    @property
    def ids(self):
        """The selected sample ids, sorted."""
        return list(self._selected)

    def present(self):
        """The ids of every sample folder present, sorted."""
        return list(self._present)

    def stale(self):
        """The ids of samples with a block made by another version of the
        pipeline (they are not complete), sorted."""
        return list(self._stale)

    def damaged(self):
        """``{sample id: reason}`` for samples whose record is unreadable."""
        return dict(self._damaged)

    def states(self):
        """``{sample id: {block: state}}`` for every sample present."""
        return {k: dict(v) for k, v in self._states.items()}

    def sample(self, sample_id):
        """Sample ``sample_id`` whatever its state (``KeyError`` if absent)."""
        if not os.path.isdir(self._dir(sample_id)):
            raise KeyError(f"no sample {sample_id} in {self.path}")
        judged = _judge(self.blocks, self._dir(sample_id), sample_id)
        return Sample(self.blocks, sample_id, self._dir(sample_id), judged)

    def __len__(self):
        return len(self._selected)

    def __iter__(self):
        for sample_id in self._selected:
            sample = self._load(sample_id)
            if sample is not None:
                yield sample

    def __contains__(self, sample_id):
        return sample_id in self._selected_set

    def __getitem__(self, sample_id):
        if isinstance(sample_id, bool) or not isinstance(sample_id, int):
            raise TypeError(f"sample ids are ints, not {type(sample_id).__name__}")
        if sample_id not in self._selected_set:
            raise KeyError(self._why_not(sample_id))
        sample = self._load(sample_id)
        if sample is None:
            raise KeyError(f"sample {sample_id} is no longer complete (changed since the scan)")
        return sample

    def _why_not(self, sample_id):
        states = self._states.get(sample_id)
        if states is None:
            return f"no sample {sample_id} in {self.path}"
        bad = ", ".join(f"{b}: {s}" for b, s in states.items() if s != COMPLETE)
        return f"sample {sample_id} is not complete ({bad}); Dataset(..., include='all') has it"

    def __repr__(self):
        return f"Dataset({str(self.path)!r}, {len(self)} samples, include={self.include!r})"
