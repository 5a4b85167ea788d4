"""The movie-building sink shared by every recorder (scripted, a person, an agent).

It keeps the buttons of each frame and the checkpoints (RAM and screen
hashes) a later `verify` replays against. A scripted recording feeds it one
replay; a person or an agent feeds it one stretch of play after another, so
each replay continues the movie where the previous one stopped, and loading
a savestate cuts the movie back to that frame (`truncate`, a re-record).
The last frame's checkpoint is added by `finish`, because only the recorder
knows which frame is the last. A journal, when given, receives every row,
checkpoint and cut as it happens, so a crash loses nothing it has written.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from retrotool import __version__
from retrotool.movie import Checkpoint, Movie, keyframes
from retrotool.movie.keyframes import KeyframeWriter
from retrotool.movie.model import RAM_ENTRY
from retrotool.sinks.checkpoints import pack_rams, ram_hash, screen_hash
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo

DEFAULT_CHECKPOINT_EVERY = 600


class JournalWriter(Protocol):
    """Where a builder mirrors what it records (see record/journal.py)."""

    def rows(self, masks: np.ndarray) -> None: ...

    def checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def truncate(self, frames: int) -> None: ...


class MovieBuilder:
    """Collects a recording; call `finish` and then `movie()` when it is over."""

    def __init__(
        self, state: bytes | None, game: str, rom_name: str, checkpoint_every: int,
        *, journal: JournalWriter | None = None, rerecords: int = 0, keyframe_every: int | None = None,
    ) -> None:
        if checkpoint_every < 1 or (keyframe_every is not None and keyframe_every < 1):
            raise ValueError(f"checkpoint_every and keyframe_every must be at least 1, not {checkpoint_every}, "
                             f"{keyframe_every}")
        self.state = state
        self.game = game
        self.rom_name = rom_name
        self.every_n = checkpoint_every
        self.journal = journal
        self.rerecords = rerecords
        self.checkpoints: list[Checkpoint] = []
        self.rams: list[bytes] = []
        self.frames = 0
        self.keyframe_every = keyframe_every or checkpoint_every
        self._buttons = np.zeros((0, 1, 0), np.uint8)
        self._info: ReplayInfo | None = None
        self._keyframes: KeyframeWriter | None = None

    def needs(self, frames: int) -> Needs:
        """Checkpoints every N-th frame of the movie, counted from its first frame; keyframes after rows K-1, 2K-1, ...

        A replay from a keyframe runs the row after it first and compares it with its checkpoint (rows K, 2K, ...).
        """
        checkpoints = np.arange(-self.frames % self.every_n, frames, self.every_n, dtype=np.int64)
        first = (self.keyframe_every - 1 - self.frames) % self.keyframe_every
        return Needs(snapshots=checkpoints, states=np.arange(first, frames, self.keyframe_every, dtype=np.int64))

    def open(self, info: ReplayInfo) -> None:
        if self._info is None:
            self._buttons = np.zeros((1024, info.players, len(info.buttons)), np.uint8)
            self._keyframes = KeyframeWriter(info.core_name, info.core_version)
        elif info.players != self._info.players:
            raise ValueError(f"a movie of {self._info.players} players cannot go on with {info.players}")
        self._info = info

    def consume(self, batch: FrameBatch) -> None:
        end = self.frames + batch.n
        if end > len(self._buttons):
            grown = np.zeros((max(end, 2 * len(self._buttons)), *self._buttons.shape[1:]), np.uint8)
            grown[: self.frames] = self._buttons[: self.frames]
            self._buttons = grown
        self._buttons[self.frames : end] = batch.buttons
        self.frames = end
        if self.journal is not None:
            self.journal.rows(batch.masks)
        if batch.ram is not None and batch.screen is not None:
            self._checkpoint(batch.ram, batch.screen)
        if batch.state is not None and self._keyframes is not None:
            self._keyframes.add(self.frames - 1, batch.state)

    def close(self, error: BaseException | None) -> None:
        """Nothing to release: the recording stays usable after a failed stretch."""

    def truncate(self, frames: int) -> None:
        """Go back to `frames` rows (a savestate taken there was loaded): a re-record."""
        if not 0 <= frames <= self.frames:
            raise ValueError(f"cannot cut a movie of {self.frames} frames back to {frames}")
        keep = sum(c.frame < frames for c in self.checkpoints)
        del self.checkpoints[keep:], self.rams[keep:]
        self.frames = frames
        if self._keyframes is not None:
            self._keyframes.cut(frames)
        self.rerecords += 1
        if self.journal is not None:
            self.journal.truncate(frames)

    def finish(self, ram: bytes, screen: np.ndarray) -> None:
        """Add the checkpoint of the last frame (RAM and screen after it ran)."""
        if self.frames and not (self.checkpoints and self.checkpoints[-1].frame == self.frames - 1):
            self._checkpoint(ram, screen)

    def _checkpoint(self, ram: bytes, screen: np.ndarray) -> None:
        checkpoint = Checkpoint(self.frames - 1, ram_hash(ram), screen_hash(screen))
        self.checkpoints.append(checkpoint)
        self.rams.append(bytes(ram))
        if self.journal is not None:
            self.journal.checkpoint(checkpoint)

    @property
    def buttons(self) -> np.ndarray:
        """The rows recorded so far, uint8 [frames, players, n_buttons] (a view)."""
        return self._buttons[: self.frames]

    def movie(self, options: dict[str, str] | None = None) -> Movie:
        info = self._info
        if info is None:
            raise RuntimeError("MovieBuilder.movie() called before recording")
        meta: dict[str, Any] = {
            "recorder": f"retrotool {__version__}",
            "system": info.system,
            "core_library": info.core_name,
            "core_version": info.core_version,
            "content_sha1": info.content_sha1,
            "rom_name": self.rom_name,
            "options": options or {},
            "checkpoint_every": self.every_n,
            "keyframe_every": self.keyframe_every,
        }
        movie = Movie(
            system=info.system,
            buttons=self.buttons,
            header=(("GameName", self.game), ("SHA1", info.content_sha1 or "?"), ("Core", info.core_name or "?"),
                    ("rerecordCount", str(self.rerecords))),
            state=self.state,
            extras=((RAM_ENTRY, pack_rams(self.rams)),),
            meta=meta,
        )
        movie = movie.with_checkpoints(tuple(self.checkpoints))
        return keyframes.with_keyframes(movie, self._keyframes.keyframes() if self._keyframes is not None else None)
