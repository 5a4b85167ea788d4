"""States made on the fly: one process replays a movie without keyframes ahead of the others.

A movie without keyframes can still be rendered in segments: a process runs
through it headless (several times faster than a render) and drops the core's
state at each segment's start into a private folder; the segment's worker
waits for its state there, loads it into a fresh core and renders from it.
The states are the same a keyframe would hold, from the same core, so the
output is the same as a render in one piece.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrotool import movie as bk2, session
from retrotool.errors import KeyframeError
from retrotool.replay import ArraySource, replay
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo

FAILED = "failed"  # the marker the caller drops when the process replaying ahead ended without its states
_POLL = 0.02  # seconds between looks for a state


@dataclass(frozen=True, slots=True)
class AheadJob:
    """Replay `path` up to the last of `rows`, dropping the state after each of them into `folder`."""

    path: Path
    rows: tuple[int, ...]
    folder: Path
    core: str | None = None
    rom: Path | None = None


class _StateDrop:
    """A sink that writes the state after each of its rows to `folder/<row>.state` (renamed into place whole)."""

    def __init__(self, rows: tuple[int, ...], folder: Path) -> None:
        self.rows, self.folder = rows, folder

    def needs(self, frames: int) -> Needs:
        return Needs(states=np.array([r for r in self.rows if r < frames], np.int64))

    def open(self, info: ReplayInfo) -> None:
        """Nothing to prepare: the folder is the caller's."""

    def consume(self, batch: FrameBatch) -> None:
        if batch.state is not None:
            target = self.folder / f"{batch.start + batch.n - 1}.state"
            part = target.with_suffix(".part")
            part.write_bytes(batch.state)
            os.replace(part, target)

    def close(self, error: BaseException | None) -> None:
        """The states written stay: segments are reading them."""


def run_ahead(job: AheadJob) -> int:
    """Replay the movie's rows up to the last state wanted; the number of states dropped."""
    movie = bk2.read(job.path)
    content = session.movie_content(movie, job.path, job.rom)
    with session.open_session(content, job.core, players=movie.players) as emulator:
        replay(emulator, ArraySource(movie.buttons[: max(job.rows) + 1]), [_StateDrop(job.rows, job.folder)],
               reset_row=movie.convention == "stable-retro")
    return len(job.rows)


def wait_for(folder: Path, row: int) -> bytes:
    """The state after `row`, once the process replaying ahead has dropped it; KeyframeError if it never will."""
    target = folder / f"{row}.state"
    while not target.exists():
        if (folder / FAILED).exists():
            raise KeyframeError(f"the replay ahead stopped before row {row}, so its state was never made")
        time.sleep(_POLL)
    return target.read_bytes()
