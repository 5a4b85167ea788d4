"""Hashes of what every tool sees the same way, traces of them, and checks.

RAM is hashed exactly as the core exposes RETRO_MEMORY_SYSTEM_RAM; the
screen as packed RGB24 (H x W x 3, C order). The same definitions are used
by checkpoints stored in movies, by `--trace` and by `verify`, so any two
runs (here or in another tool) compare row by row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from retrotool import outputs
from retrotool.errors import DesyncError, RetroToolError
from retrotool.frames import FrameBatch
from retrotool.movie import Checkpoint
from retrotool.replay import Needs, ReplayInfo
from retrotool.variables import Evaluator


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


class TraceSink:
    """Writes one JSON line {"frame", "ram", "screen"} per traced row.

    With a game integration (`evaluator`) each line also has "reward" (summed
    over the rows since the previous line), "done" and "info" (the RAM
    variables, null where unreadable), from the variables of every row.
    """

    def __init__(
        self, path: str | Path, *, every_n: int = 1, force: bool = False, evaluator: Evaluator | None = None
    ) -> None:
        self.target = outputs.check_target(path, force)
        self.force = force
        self.every_n = every_n
        self.evaluator = evaluator
        self._rows = np.empty(0, np.int64)
        self._reward = 0.0
        self._tmp: Path | None = None
        self._file: IO[str] | None = None

    def needs(self, frames: int) -> Needs:
        self._rows = every(self.every_n, frames)
        variables = self.evaluator.variables if self.evaluator is not None else {}
        return Needs(snapshots=self._rows, variables=variables)

    def open(self, info: ReplayInfo) -> None:
        self._tmp = outputs.temp_name(self.target)
        self._file = open(self._tmp, "w", encoding="utf-8")

    def consume(self, batch: FrameBatch) -> None:
        if self._file is None:
            return
        done = False
        if self.evaluator is not None and batch.values is not None:
            rewards, dones = self.evaluator.steps(batch.values, batch.n)
            for reward in rewards.tolist():  # in order, as one frame at a time would add them
                self._reward += reward
            done = bool(dones[-1])
        idx = int(np.searchsorted(self._rows, batch.last))
        if batch.ram is None or batch.screen is None or idx == self._rows.size or self._rows[idx] != batch.last:
            return
        row: dict[str, object] = {"frame": batch.last}
        if self.evaluator is not None and batch.values is not None:
            row.update(reward=self._reward, done=done, info=self.evaluator.info_after(batch.values))
        row.update(ram=ram_hash(batch.ram), screen=screen_hash(batch.screen))
        self._file.write(json.dumps(row) + "\n")
        self._reward = 0.0

    def close(self, error: BaseException | None) -> None:
        if self._file is None or self._tmp is None:
            return
        try:
            self._file.close()
            if error is None:
                outputs.commit(self._tmp, self.target, self.force)
        except OSError as e:
            raise RetroToolError(f"cannot write {self.target}: {e.strerror}") from None
        finally:
            outputs.discard(self._tmp)  # gone already once committed; else whatever went wrong, it goes


class VerifySink:
    """Replays against stored checkpoints; raises DesyncError at the first mismatch.

    `matched` counts the checkpoints whose RAM and screen both matched. A
    replay that ends before a checkpoint's frame (the input log is shorter
    than the checkpoints say) fails when closed: a checkpoint never checked
    is not a matched one.
    """

    def __init__(self, checkpoints: Sequence[Checkpoint], rams: Sequence[bytes] = ()) -> None:
        self.checkpoints: dict[int, list[Checkpoint]] = {}
        for c in checkpoints:
            self.checkpoints.setdefault(c.frame, []).append(c)
        self.rams = {c.frame: r for c, r in zip(checkpoints, rams)}
        self.stored = len(checkpoints)
        self.matched = 0
        self.last_good: int | None = None
        self._frames = 0

    def needs(self, frames: int) -> Needs:
        self._frames = frames
        return Needs(snapshots=np.array(sorted(f for f in self.checkpoints if f < frames), dtype=np.int64))

    def open(self, info: ReplayInfo) -> None:
        self.matched = 0
        self.last_good = None

    def consume(self, batch: FrameBatch) -> None:
        if batch.ram is None or batch.screen is None:
            return
        for expected in self.checkpoints.get(batch.last, ()):
            ram_ok = ram_hash(batch.ram) == expected.ram_sha256
            screen_ok = screen_hash(batch.screen) == expected.screen_sha256
            if not (ram_ok and screen_ok):
                raise DesyncError(self._describe(batch, expected, ram_ok, screen_ok))
            self.matched += 1
            self.last_good = batch.last

    def _describe(self, batch: FrameBatch, expected: Checkpoint, ram_ok: bool, screen_ok: bool) -> str:
        since = "the start" if self.last_good is None else f"frame {self.last_good}"
        what = [] if ram_ok else ["RAM"]
        what += [] if screen_ok else ["screen"]
        text = f"desync at frame {batch.last}: {' and '.join(what)} differ (matched up to {since})"
        expected_ram = self.rams.get(expected.frame)
        if not ram_ok and expected_ram is not None and batch.ram is not None:
            text += "; " + ram_diff(expected_ram, batch.ram)
        return text

    def close(self, error: BaseException | None) -> None:
        if error is None and self.matched < self.stored:
            unchecked = (f for f in self.checkpoints if self.last_good is None or f > self.last_good)
            first = min(unchecked, default=self._frames)
            raise DesyncError(
                f"only {self.matched} of {self.stored} checkpoints matched: the replay ended after {self._frames} "
                f"frames, before the checkpoint at frame {first} (is the movie's input cut short?)"
            )


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
