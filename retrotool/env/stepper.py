"""An env's steps through the one replay loop: a `Run` fed K rows per step, and the episode's movie.

The env never runs frames itself. Each episode is a `replay.Run` (set up
once, fed by the caller) with a `StepSink` that keeps what `env.step`
returns; when the env records, the movie builder (`record.take.Take`) is one
more sink of the same run, so the movie holds exactly the rows played. Row 0
of every episode is the frame stable-retro's `reset()` runs, with no button
held; a step of frame skip K is K more rows in one C call, with the
observation taken once, after the last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrotool import movie as bk2, playback
from retrotool.emulator import Emulator
from retrotool.errors import CoreError
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, MovieBuilder
from retrotool.record.take import Take
from retrotool.replay import Run
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo, Sink
from retrotool.variables import Evaluator

log = logging.getLogger(__name__)

HORIZON = 1 << 20  # rows one Run is set up for; a longer episode goes on in a new one


class StepSink:
    """Keeps what one step returns: the observation after its last row, its reward, done flag and info.

    Rewards and done flags are summed / or-ed over every row of the step
    (a frame skip, or a step the loop cut at a checkpoint row); the info
    is the RAM variables after the last row, without the unreadable ones
    (stable-retro's `lookup_all` leaves them out).
    """

    def __init__(self, evaluator: Evaluator | None, ram: bool) -> None:
        self.evaluator, self.ram = evaluator, ram
        self.observation: np.ndarray | None = None
        self.reward, self.done = 0.0, False
        self.info: dict[str, int] = {}

    def begin(self) -> None:
        self.reward, self.done = 0.0, False

    def needs(self, frames: int) -> Needs:
        variables = self.evaluator.variables if self.evaluator is not None else {}
        return Needs(variables=variables, rams=self.ram, screen=not self.ram)

    def open(self, info: ReplayInfo) -> None:
        pass

    def consume(self, batch: FrameBatch) -> None:
        if self.ram and batch.rams is not None:
            self.observation = batch.rams[-1].copy()  # the batch's buffer is reused by the next frame
        elif batch.screen is not None:
            self.observation = batch.screen
        if self.evaluator is not None and batch.values is not None:
            if batch.n == 1:  # the usual step
                reward, done = self.evaluator.step(batch.values)
                self.reward += reward
                self.done = self.done or done
            else:
                rewards, dones = self.evaluator.steps(batch.values, batch.n)
                self.reward += float(rewards.sum())
                self.done = self.done or bool(dones.any())
            variables = self.evaluator.variables
            self.info = {k: int(v[-1]) for k, v in batch.values.items() if k in variables}  # readable ones only

    def close(self, error: BaseException | None) -> None:
        pass


@dataclass(frozen=True, slots=True)
class MovieTarget:
    """Where and how an env records its episodes (`record=DIR`)."""

    folder: Path
    game: str
    state_name: str  # in the file name, as stable-retro names its movies
    rom: Path | None
    verify: bool = True
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY

    def path(self, episode: int) -> Path:
        return self.folder / f"{self.game}-{self.state_name}-{episode:06d}.bk2"


class Stepper:
    """The loop of one env: episodes of rows fed K at a time, each optionally recorded as a movie."""

    def __init__(
        self, emulator: Emulator, sink: StepSink, *, players: int, frameskip: int, state: bytes | None, game: str,
        target: MovieTarget | None = None,
    ) -> None:
        self.emulator, self.sink, self.players, self.frameskip = emulator, sink, players, frameskip
        self.state, self.game, self.target = state, game, target
        self.episodes = 0  # episodes begun
        self.movies: list[Path] = []  # written so far
        self._take: Take | None = None
        self._run: Run | None = None
        self._rows = 0  # rows of the current episode

    def begin(self) -> np.ndarray:
        """Start an episode at the emulator's current state: run its reset row; returns the observation."""
        self.end()
        if self.target is not None:
            rom_name = self.target.rom.name if self.target.rom is not None else self.game
            self._take = Take(self.emulator, MovieBuilder(self.state, self.game, rom_name, self.target.checkpoint_every))
        self.episodes += 1
        self._rows = 0
        self.sink.begin()
        self._feed(np.zeros((1, self.players, len(self._buttons())), np.uint8))
        return self._observation()

    def step(self, row: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Run one step: K rows of the same buttons (uint8 [players, buttons], joypad masks uint16 [players])."""
        self.sink.begin()
        if self.frameskip == 1:
            self._feed(row[np.newaxis], masks[np.newaxis])
        else:
            k = self.frameskip
            self._feed(np.repeat(row[np.newaxis], k, axis=0), np.repeat(masks[np.newaxis], k, axis=0))
        return self._observation()

    def _feed(self, rows: np.ndarray, masks: np.ndarray | None = None) -> None:
        run = self._run
        if run is not None and run.next_rows() >= len(rows):  # the usual step: all of it in one call
            try:
                run.feed(rows, masks)
            except BaseException:
                self._run = None  # it closed its sinks with the error
                raise
            self._rows += len(rows)
            return
        done = 0
        while done < len(rows):
            run = self._current_run()
            k = min(len(rows) - done, run.next_rows())
            try:
                run.feed(rows[done : done + k], masks[done : done + k] if masks is not None else None)
            except BaseException:
                self._run = None  # it closed its sinks with the error
                raise
            done += k
        self._rows += len(rows)

    def _current_run(self) -> Run:
        if self._run is not None and self._run.next_rows() == 0:  # its horizon reached: go on in a new one
            self._run.close()
            self._run = None
        if self._run is None:
            sinks: list[Sink] = [self._take.builder, self.sink] if self._take is not None else [self.sink]
            self._run = Run(self.emulator, sinks, players=self.players, frames=HORIZON, batch=self.frameskip,
                            reset_row=self._rows == 0)
        return self._run

    def _observation(self) -> np.ndarray:
        if self.sink.observation is None:
            raise CoreError(f"core {self.emulator.core_name} ran a frame without a picture")
        return self.sink.observation

    def _buttons(self) -> tuple[str, ...]:
        assert self.emulator.system is not None, "an env's emulator knows its system"
        return self.emulator.system.buttons

    def end(self) -> Path | None:
        """End the episode: close its run and, when recording, write (and verify) its movie."""
        run, self._run = self._run, None
        if run is not None:
            run.close()
        take, self._take = self._take, None
        if take is None or self.target is None or not take.frames:
            return None
        path = self.target.path(self.episodes - 1)
        movie = take.finish().with_meta(core=self.emulator.core.name)
        bk2.write(movie, path, force=False)
        if self.target.verify:
            playback.verify(path, core=self.emulator.core.path, rom=self.target.rom)
        self.movies.append(path)
        log.debug("recorded %s (%d rows)", path, movie.frames)
        return path
