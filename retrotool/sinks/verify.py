"""`verify`: replay against the checkpoints a movie carries and name the first frame that differs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrotool.errors import DesyncError
from retrotool.movie import Checkpoint
from retrotool.sinks.checkpoints import ram_diff, ram_hash, screen_hash
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo


class VerifySink:
    """Replays against stored checkpoints; raises DesyncError at the first mismatch.

    A movie that starts from a savestate and already differs at frame 0 is
    said to have a bad state (`from_state`): the input has hardly played.

    `matched` counts the checkpoints whose RAM and screen both matched. A
    replay that ends before a checkpoint's frame (the input log is shorter
    than the checkpoints say) fails when closed: a checkpoint never checked
    is not a matched one.
    """

    def __init__(self, checkpoints: Sequence[Checkpoint], rams: Sequence[bytes] = (), *, from_state: bool = False) -> None:
        self.checkpoints: dict[int, list[Checkpoint]] = {}
        for c in checkpoints:
            self.checkpoints.setdefault(c.frame, []).append(c)
        self.rams = {c.frame: r for c, r in zip(checkpoints, rams)}
        self.stored = len(checkpoints)
        self.from_state = from_state  # the replay starts from the movie's savestate
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
        if self.from_state and self.last_good is None and expected.frame == 0:
            text += ("; the movie starts from a savestate and differs right after it: the savestate is the likely "
                     "cause (damaged, or made by another core or core version)")
        return text

    def close(self, error: BaseException | None) -> int:
        """The number of checkpoints matched; all of them, or DesyncError."""
        if error is None and self.matched < self.stored:
            unchecked = (f for f in self.checkpoints if self.last_good is None or f > self.last_good)
            first = min(unchecked, default=self._frames)
            raise DesyncError(
                f"only {self.matched} of {self.stored} checkpoints matched: the replay ended after {self._frames} "
                f"frames, before the checkpoint at frame {first} (is the movie's input cut short?)"
            )
        return self.matched
