"""A take: one recording in progress, whoever plays it (a person at a window, or an agent).

It runs the replay loop over stretches of input from its source, with the
movie builder always among the sinks, and handles what lies between two
stretches: saving a savestate slot, and loading one, which sends the movie
back to that slot's frame (a re-record, counted in the movie's header).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrotool.emulator import Emulator
from retrotool.errors import CoreError, RetroToolError
from retrotool.movie import Movie
from retrotool.record.builder import MovieBuilder
from retrotool.replay import Run, replay
from retrotool.sinks.contract import InputSource, ReplayInfo, Sink
from retrotool.systems import System


@dataclass(frozen=True, slots=True, eq=False)
class Slot:
    """A savestate taken between frames: the movie had `frame` rows then."""

    frame: int
    state: bytes
    screen: np.ndarray | None  # the picture then (None before the first frame): shown again on loading


class Take:
    """An emulator, at the end of the movie its builder holds."""

    def __init__(self, emulator: Emulator, builder: MovieBuilder) -> None:
        self.emulator = emulator
        self.builder = builder
        self._screen: np.ndarray | None = None  # after a load: the slot's picture, until a frame runs

    @property
    def system(self) -> System:
        """The system the take's emulator runs."""
        if self.emulator.system is None:
            raise RetroToolError("a take needs an emulator that knows its system; a retrotool bug")
        return self.emulator.system

    @property
    def frames(self) -> int:
        return self.builder.frames

    def play(self, source: InputSource, sinks: Sequence[Sink] = (), batch: int | None = None) -> ReplayInfo:
        """Run the source's rows (until it ends) after the movie so far.

        Movies are recorded in stable-retro's convention: the movie's row 0 is
        the frame its reset() runs, with no button held.
        """
        info = replay(self.emulator, source, [self.builder, *sinks], batch=batch, reset_row=self.frames == 0).info
        if info.frames:
            self._screen = None
        return info

    def run(self, players: int, sinks: Sequence[Sink] = (), frames: int = 1 << 20) -> Run:
        """The loop for rows fed one call at a time (an agent's steps), after the movie so far.

        Close it before `save`'s slots are loaded or the movie is finished.
        """
        self._screen = None  # the caller feeds it at once
        return Run(self.emulator, [self.builder, *sinks], players=players, frames=frames, reset_row=self.frames == 0)

    def save(self) -> Slot:
        return Slot(self.frames, self.emulator.get_state(), self.screen())

    def screen(self) -> np.ndarray | None:
        """The picture after the movie's last frame (a copy); None before the core drew one."""
        if self._screen is not None:
            return self._screen
        try:
            return self.emulator.screen().copy()
        except CoreError:
            return None

    def load(self, slot: Slot) -> None:
        """Go back to a slot: the movie loses the rows after it, and counts a re-record."""
        self.emulator.set_state(slot.state)
        self.builder.truncate(slot.frame)
        self._screen = slot.screen

    def finish(self, options: dict[str, str] | None = None) -> Movie:
        """The movie, with the checkpoint of its last frame added (over the observation, as every checkpoint)."""
        if self.frames:
            self.builder.finish(self.emulator.obs_ram().tobytes(), self.emulator.obs_screen())
        return self.builder.movie(options)
