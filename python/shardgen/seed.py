"""The seed derivation of shardgen (``src/seed.rs``), for checking what a
block was given.

Each (sample, block) pair gets a seed derived only from the master seed, the
block's name and the global sample index::

    digest = SHA-256( b"shardgen/seed/v1\\0"
                      || master as u64 little-endian
                      || len(block) as u64 little-endian || block (UTF-8)
                      || sample as u64 little-endian )
    seed   = int.from_bytes(digest[0:8], "little")    # SHARDGEN_SEED, {seed}

Rust blocks key a ChaCha20 stream with the whole digest; :func:`seed_digest`
returns it.
"""

import hashlib
import struct

__all__ = ["seed", "seed_digest"]

_DOMAIN = b"shardgen/seed/v1\0"
_U64_MAX = (1 << 64) - 1


def _u64(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= _U64_MAX:
        raise ValueError(f"{name} must be in 0..2**64-1, got {value}")
    return value


def seed_digest(master, block, sample):
    """The 32-byte digest that keys the ChaCha20 stream of ``block`` for
    ``sample`` under the master seed ``master``."""
    if not isinstance(block, str):
        raise TypeError(f"block must be a str, not {type(block).__name__}")
    name = block.encode("utf-8")
    return hashlib.sha256(
        _DOMAIN
        + struct.pack("<QQ", _u64("master", master), len(name))
        + name
        + struct.pack("<Q", _u64("sample", sample))
    ).digest()


def seed(master, block, sample):
    """The seed of ``block`` for the global sample index ``sample`` as an int
    in ``0..2**64-1``: the value of ``SHARDGEN_SEED`` and ``{seed}``.

    >>> seed(1234, "render", 41)
    1324290297353316428
    """
    return int.from_bytes(seed_digest(master, block, sample)[:8], "little")
