"""The movie-building sink shared by every recorder (scripted or interactive).

It keeps the buttons of each frame and, through a CheckpointSink, the
checkpoints a later `verify` replays against; `movie()` then makes the
immutable Movie value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from retrotool import __version__
from retrotool.frames import FrameBatch
from retrotool.movie import Movie
from retrotool.replay import Needs, ReplayInfo
from retrotool.sinks.verify import CheckpointSink, pack_rams

RAM_ENTRY = "retrotool-ram.bin"
DEFAULT_CHECKPOINT_EVERY = 600


class MovieBuilder:
    """Collects a recording; call `movie()` after the replay loop closed it."""

    def __init__(self, state: bytes | None, game: str, rom_name: str, checkpoint_every: int) -> None:
        self.state = state
        self.game = game
        self.rom_name = rom_name
        self.checkpoints = CheckpointSink(checkpoint_every)
        self._chunks: list[np.ndarray] = []
        self._info: ReplayInfo | None = None

    def needs(self, frames: int) -> Needs:
        return self.checkpoints.needs(frames)

    def open(self, info: ReplayInfo) -> None:
        self._info = info
        self._chunks = []
        self.checkpoints.open(info)

    def consume(self, batch: FrameBatch) -> None:
        self._chunks.append(np.array(batch.buttons, copy=True))
        self.checkpoints.consume(batch)

    def close(self, error: BaseException | None) -> None:
        self.checkpoints.close(error)

    def movie(self, options: dict[str, str] | None = None) -> Movie:
        info = self._info
        if info is None:
            raise RuntimeError("MovieBuilder.movie() called before recording")
        buttons = (
            np.concatenate(self._chunks)
            if self._chunks
            else np.zeros((0, info.players, len(info.system.buttons)), np.uint8)
        )
        meta: dict[str, Any] = {
            "recorder": f"retrotool {__version__}",
            "system": info.system.name,
            "core_library": info.core_name,
            "core_version": info.core_version,
            "content_sha1": info.content_sha1,
            "rom_name": self.rom_name,
            "options": options or {},
            "checkpoint_every": self.checkpoints.every_n,
        }
        movie = Movie(
            system=info.system.name,
            buttons=buttons,
            header=(("GameName", self.game),),
            state=self.state,
            extras=((RAM_ENTRY, pack_rams(self.checkpoints.rams)),),
            meta=meta,
        )
        return movie.with_checkpoints(tuple(self.checkpoints.checkpoints))
