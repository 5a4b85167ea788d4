"""Hashes of what every tool sees the same way, and the RAM kept beside checkpoints.

RAM is hashed as stable-retro's get_ram() gives it, the screen as its
get_screen() (packed RGB24, H x W x 3, C order): the observation the replay
loop snapshots. Checkpoints stored in movies, `--trace` and `verify` use the
same definitions, so any two runs (here or in stable-retro) compare row by row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from retrotool.errors import RetroToolError


def ram_hash(ram: bytes) -> str:
    return hashlib.sha256(ram).hexdigest()


def screen_hash(screen: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(screen, dtype=np.uint8).tobytes()).hexdigest()


def every(n: int, frames: int) -> np.ndarray:
    """Rows 0, n, 2n, ... and the last row."""
    if n < 1:
        raise RetroToolError(f"an interval must be at least 1 frame, not {n}")
    rows = np.arange(0, frames, n, dtype=np.int64)
    return np.unique(np.append(rows, frames - 1)) if frames else rows


def ram_diff(expected: bytes, actual: bytes, limit: int = 8) -> str:
    """'N RAM bytes differ: 0x0010 expected 0x12 got 0x34, ...'."""
    if len(expected) != len(actual):
        return f"RAM size differs: expected {len(expected)} bytes, got {len(actual)}"
    a = np.frombuffer(expected, np.uint8)
    b = np.frombuffer(actual, np.uint8)
    where = np.flatnonzero(a != b)
    shown = ", ".join(f"0x{i:04x} expected 0x{a[i]:02x} got 0x{b[i]:02x}" for i in where[:limit])
    more = f" (+{where.size - limit} more)" if where.size > limit else ""
    return f"{where.size} RAM bytes differ: {shown}{more}"


def pack_rams(rams: Sequence[bytes]) -> bytes:
    """Checkpoint RAMs as XOR deltas against the previous one (they zip small)."""
    out: list[bytes] = []
    previous: np.ndarray | None = None
    for ram in rams:
        cur = np.frombuffer(ram, np.uint8)
        out.append((cur ^ previous).tobytes() if previous is not None and previous.size == cur.size else ram)
        previous = cur
    return b"".join(out)


def unpack_rams(data: bytes, count: int) -> list[bytes]:
    """Inverse of pack_rams for `count` equal-sized RAMs; [] if the data does not fit."""
    if count == 0 or len(data) % count:
        return []
    rows = np.frombuffer(data, np.uint8).reshape(count, -1)
    return [r.tobytes() for r in np.bitwise_xor.accumulate(rows, axis=0)]
