"""`Recorder`: record a movie from Python, one step at a time (an agent's loop).

It replaces stable-retro's ``record=``: the same movies as every other
recorder here (MovieBuilder, checkpoints, verified on close), from a
game's state or from power-on, with savestates an agent may go back to
(a re-record, as for a person).

>>> from retrotool import Recorder
>>> with Recorder(game="Airstriker-Genesis-v0", out="run.bk2") as rec:
...     for _ in range(600):
...         obs = rec.step(["RIGHT", "B"])       # uint8 [h, w, 3]: the picture after this frame
...         if rec.done:                         # like env.step: rec.reward, rec.done, rec.info
...             break

Making a Recorder runs the frame stable-retro's ``env.reset()`` runs (row 0
of the movie, no button held; its picture is `observation`); each step is
one more row, as each ``env.step`` is there.

With a game (an integration), `reward`, `done` and `info` follow its
scenario.json and data.json after every step, as stable-retro's env.step
reports them.

Every step is also journaled beside the movie (`run.bk2.journal`, as
`retrotool record` does), so an agent process that is killed loses nothing:
`retrotool record --recover run.bk2.journal` writes the movie. The journal
goes once the movie is written (and verified).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from retrotool import movie as bk2, outputs, playback, session, systems
from retrotool.errors import CoreError, RetroToolError
from retrotool.record import journal as journals
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, MovieBuilder
from retrotool.record.take import Slot, Take
from retrotool.replay import ArraySource, Run
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo
from retrotool.variables import Evaluator

Buttons = Iterable[str] | Sequence[int] | np.ndarray


class _Observer:
    """The sink that keeps what the agent sees after a step: picture, reward, done, RAM variables."""

    def __init__(self, evaluator: Evaluator | None) -> None:
        self.evaluator = evaluator
        self.frame: np.ndarray | None = None
        self.reward, self.done = 0.0, False
        self.info: dict[str, int | None] = {}

    def needs(self, frames: int) -> Needs:
        return Needs(video="obs", variables=self.evaluator.variables if self.evaluator is not None else {})

    def open(self, info: ReplayInfo) -> None:
        pass

    def consume(self, batch: FrameBatch) -> None:
        if batch.video is not None:
            self.frame = batch.video[-1].copy()  # the batch's buffer is reused by the next frame
        if self.evaluator is not None and batch.values is not None:
            rewards, dones = self.evaluator.steps(batch.values, batch.n)
            self.reward, self.done = float(rewards.sum()), bool(dones[-1])
            self.info = self.evaluator.info_after(batch.values)

    def close(self, error: BaseException | None) -> None:
        pass


class Recorder:
    """Steps a game frame by frame and records every step into `out` (written by `close`).

    The game comes as in `retrotool record`: `game` (an integration, with its
    default state unless `state` names another or `power_on`), or `rom`
    (with `system` when the extension does not tell). `verify` replays the
    finished movie once to check it. `journal=False` skips the journal.
    """

    def __init__(
        self, game: str | None = None, out: str | os.PathLike[str] = "movie.bk2", *,
        rom: str | os.PathLike[str] | None = None, system: str | None = None, state: str | None = None,
        power_on: bool = False, core: str | os.PathLike[str] | None = None, players: int = 1,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY, options: dict[str, str] | None = None,
        force: bool = False, verify: bool = True, journal: bool = True,
    ) -> None:
        what = session.game_content(
            game=game, rom=Path(rom) if rom is not None else None, system=systems.get(system) if system else None,
            state=state, power_on=power_on,
        )
        self.system = what.system
        self.players = players
        self.out = outputs.check_target(out, force)
        self.movie: Path | None = None  # set by close()
        self._closed = False
        self._rom, self._force, self._verify, self._options = what.rom.path, force, verify, options or {}
        self.emulator = session.open_session(what, core, players=players, options=options)
        self._journal: journals.Journal | None = None
        try:
            if journal:
                header = journals.header(self.emulator, game=what.name, options=self._options, players=players,
                                         checkpoint_every=checkpoint_every, rerecords=0)
                self._journal = journals.Journal(journals.journal_path(self.out), header, what.state, force=force)
        except BaseException:
            self.emulator.close()
            raise
        rom_name = what.rom.path.name if what.rom.path is not None else what.name
        builder = MovieBuilder(what.state, what.name, rom_name, checkpoint_every, journal=self._journal)
        self._take = Take(self.emulator, builder)
        self._run: Run | None = None  # the loop being fed, one row per step
        self._observer = _Observer(what.evaluator())
        # row 0: the frame stable-retro's reset() runs, with no button held (env.reset())
        self._take.play(ArraySource(np.zeros((1, players, len(self.system.buttons)), np.uint8)), [self._observer])

    # -- playing --------------------------------------------------------------
    def step(self, *buttons: Buttons) -> np.ndarray:
        """Run one frame with each player's buttons; returns the picture after it (uint8 [h, w, 3]).

        A player's buttons are names (``["RIGHT", "B"]``) or 0/1 flags in the
        system's order (`buttons`); players left out press nothing.
        """
        row = self._row(buttons)
        if self._run is not None and self._run.next_rows() == 0:  # its horizon reached: a new one
            self._end_run()
        if self._run is None:
            self._run = self._take.run(self.players, [self._observer])
        try:
            self._run.feed(row[np.newaxis])
        except BaseException:
            self._run = None  # it closed its sinks with the error; the next step starts a new one
            raise
        if self._observer.frame is None:
            raise CoreError(f"core {self.emulator.core_name} ran a frame without a picture")
        return self._observer.frame

    def _row(self, buttons: tuple[Buttons, ...]) -> np.ndarray:
        if len(buttons) > self.players:
            raise RetroToolError(f"step() got buttons for {len(buttons)} players; this recorder has {self.players}")
        row = np.zeros((self.players, len(self.system.buttons)), np.uint8)
        for player, pressed in enumerate(buttons):
            items = [pressed] if isinstance(pressed, str) else list(pressed)
            if all(isinstance(b, str) for b in items):
                try:
                    row[player, [self.system.index(str(b)) for b in items]] = 1
                except KeyError as e:
                    raise RetroToolError(str(e.args[0])) from None
            elif len(items) == len(self.system.buttons):
                row[player] = np.asarray(items) != 0
            else:
                raise RetroToolError(
                    f"player {player + 1}'s buttons must be names or {len(self.system.buttons)} flags in the "
                    f"order {' '.join(self.system.buttons)}, not {pressed!r}"
                )
        return row

    @property
    def observation(self) -> np.ndarray | None:
        """The picture after the last frame: after the reset frame, before the first step."""
        return self._observer.frame

    @property
    def buttons(self) -> tuple[str, ...]:
        """The system's button names, in the order of a flags row."""
        return self.system.buttons

    @property
    def frames(self) -> int:
        """Frames recorded so far."""
        return self._take.frames

    @property
    def reward(self) -> float:
        """The game's reward for the last step (0 without an integration or scenario)."""
        return self._observer.reward

    @property
    def done(self) -> bool:
        """Whether the game's done condition held after the last step (the game is over)."""
        return self._observer.done

    @property
    def info(self) -> dict[str, int | None]:
        """The game's RAM variables (data.json) after the last step; None where unreadable."""
        return dict(self._observer.info)

    @property
    def ram(self) -> np.ndarray:
        """The RAM after the last frame as stable-retro's get_ram() gives it (a copy)."""
        return self.emulator.obs_ram()

    def save_state(self) -> Slot:
        """A savestate of this moment, to come back to with `load_state`."""
        return self._take.save()

    def load_state(self, slot: Slot) -> None:
        """Go back to a savestate: the frames recorded after it are dropped (a re-record).

        The next step's reward measures deltas from the loaded moment, not from before the jump.
        """
        self._end_run()
        self._take.load(slot)
        if self._observer.evaluator is not None:
            self._observer.evaluator.start_from(self.emulator.address_space())

    # -- finishing --------------------------------------------------------------
    def close(self) -> Path | None:
        """Write (and verify) the movie; returns its path. Closing twice does nothing."""
        if self._closed:
            return self.movie
        self._closed = True
        try:
            self._end_run()
            if self._take.frames:
                movie = self._take.finish(self._options).with_meta(core=self.emulator.core.name)
                bk2.write(movie, self.out, force=self._force)
                self.movie = self.out
        finally:
            self.emulator.close()
            if self._journal is not None:
                self._journal.close()
        if self.movie is not None and self._verify:
            playback.verify(self.movie, rom=self._rom)
        if self._journal is not None and (self.movie is not None or not self._take.frames):
            self._journal.path.unlink(missing_ok=True)  # the movie is safe (or there was nothing to keep)
        return self.movie

    def _end_run(self) -> None:
        run, self._run = self._run, None
        if run is not None:
            run.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        """The movie is written even when the agent's loop fails: what was played is kept."""
        self.close()
