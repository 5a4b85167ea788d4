"""The dataset sink: one movie's replay → one episode file of (obs, action, reward, ...).

Alignment (Minari's convention, N+1 observations for N actions), with the
movie rows start .. end-1 and frame skip K:

- row `start` is the episode's reset frame. Its picture (or RAM) is the
  first observation and its buttons are *not* an action — as in
  stable-retro, whose `reset()` runs one frame with no input (row 0 of its
  movies), so o_0 here is the observation its `reset()` returns.
- step j (0-based) covers rows start+jK+1 .. start+(j+1)K: its action is
  those K rows' buttons combined (`Combine`), its reward the sum of their
  per-row rewards, `terminated` whether the scenario's done condition held
  at any of them, and o_{j+1} the picture after its last row.
- N = (end-1-start) // K steps; rows after the last full step are dropped.
  `truncated` is true at the last step unless it terminated (a movie just
  stops). A movie that plays on past a game over keeps going: terminated
  may then be true before the last step.
- infos (N+1, one per observation) are the game's RAM variables at the
  observation's row; an unreadable variable is -1.
- discrete_actions (N, only when the game's scenario restricts actions):
  each step's action as Gym Retro's DISCRETE index (`retrotool.actions`),
  -1 where no allowed combo expresses it.

Observations: the first observed picture's size is the native size (a
core that changes resolution mid-movie has other frames fitted to it by
nearest neighbour), then `crop` (x, y, w, h) → `resize` (w, h, nearest
neighbour) → `grayscale` (uint8 [h, w, 1], luma (77 R + 150 G + 29 B +
128) >> 8). RAM observations are system RAM bytes, uint8 [ram_size].
Actions are uint8 [players × buttons], player-major, each player's
buttons in the system's canonical order (a MultiBinary action).

Every array streams into its own deflated part (`npzip.Column`) in a work
folder beside the target; `close` assembles the `.npz` and moves it into
place, or removes everything after an error.

A sink given a `Stretch` writes only the part of the episode that one
segment of the movie replays (`dump-dataset --jobs N`): the observations at
its rows, the steps that end in them, each array as a piece that the
parent joins to the others in row order (`datasets.episode`). Segments are
cut where a step ends, so no step straddles two; the first one holds the
reset row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrotool import interrupts, outputs
from retrotool.datasets.actions import DiscreteActions
from retrotool.datasets.npzip import Column, Part, assemble
from retrotool.datasets.options import Combine, DatasetOptions, ObsKind, Pictures
from retrotool.errors import RetroToolError
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo
from retrotool.variables import Evaluator

FLUSH_ROWS = 4096  # small per-step values are written about this many (of all columns) at a time
MISSING = -1  # an info variable the address space cannot read


@dataclass(frozen=True, slots=True)
class Stretch:
    """Rows first .. end - 1 of a movie of `frames` rows: what a sink of one segment writes, as pieces in `folder`."""

    first: int
    end: int
    frames: int
    folder: Path


@dataclass(frozen=True, slots=True)
class Pieces:
    """What a sink of a `Stretch` wrote: its columns' pieces (in the order of the episode's), and its facts."""

    info: ReplayInfo
    summary: dict[str, Any]  # as an episode's, without what only the whole knows (observations, total_reward)
    columns: list[tuple[Part, np.dtype, tuple[int, ...], int]] = field(default_factory=list)  # piece, dtype, shape, rows
    rewards: np.ndarray = field(default_factory=lambda: np.empty(0))  # each step's
    native: tuple[int, int] | None = None
    pictures: tuple[Path, ...] = ()  # what its picture writers wrote, in the order of the factories


class PictureWriter(Protocol):
    """Another home for an episode's observation pictures (a video, images), fed what the npz column gets."""

    path: Path  # the file it writes

    def write(self, frames: np.ndarray) -> None:
        """Take frames uint8 [n, h, w, c], C-contiguous; nobody changes them afterwards, so they may be kept."""

    def finish(self) -> None: ...

    def abandon(self) -> None: ...


# (run facts, picture shape, the episode's index of the first picture it gets) -> writer
WriterFactory = Callable[[ReplayInfo, tuple[int, int, int], int], PictureWriter]


class DatasetSink:
    """Writes one episode as an `.npz` at `target` (see the module docstring for the alignment).

    `writers` make more homes for the pictures (`--format lerobot`'s video,
    `--format hf`'s images), made at the first picture; they finish before
    the `.npz` is moved into place, and are abandoned with it.
    """

    def __init__(self, target: Path, options: DatasetOptions, evaluator: Evaluator | None = None,
                 writers: Sequence[WriterFactory] = (), stretch: Stretch | None = None) -> None:
        self.target, self.options, self.evaluator, self.stretch = target, options, evaluator, stretch
        self._factories, self._writers = list(writers), list[PictureWriter]()
        self._info: ReplayInfo | None = None
        self.obs_rows = np.empty(0, np.int64)  # the episode's
        self._span = (0, 0)  # the rows this sink takes: the steps' rows (and the reset row, when it holds it)
        self._obs = np.empty(0, np.int64)  # the observation rows it writes
        self._reset = True  # whether it holds the episode's reset row
        self.summary: dict[str, Any] = {}
        self._work: Path | None = None
        self._columns: dict[str, Column] = {}
        self._pending: dict[str, list[np.ndarray]] = {}
        self._pending_rows = 0  # in all pending lists
        self._pictures: Pictures | None = None
        self._discrete: DiscreteActions | None = None
        # rows of the step in progress: buttons, rewards, done flags
        self._held = (np.empty((0, 0), np.uint8), np.empty(0), np.empty(0, np.bool_))
        self._rewards: list[np.ndarray] = []  # each step's, batch by batch
        self._steps, self._last_done = 0, False
        self._pieces: Pieces | None = None  # a Stretch's result

    # -- the Sink protocol ---------------------------------------------------
    def needs(self, frames: int) -> Needs:
        rows = self.obs_rows = self.options.check(self.stretch.frames if self.stretch is not None else frames)
        first, last = int(rows[0]), int(rows[-1])
        if self.stretch is not None:
            first, last = self.stretch.first, min(last, self.stretch.end - 1)
        self._span, self._reset = (first, last), first == int(rows[0])
        self._obs = rows[(rows >= first) & (rows <= last)]
        variables = self.evaluator.variables if self.evaluator is not None else {}
        return Needs(video="obs" if self.options.obs != ObsKind.RAM else None, variables=variables, rams=self.options.obs != ObsKind.RGB)

    def open(self, info: ReplayInfo) -> None:
        self._info = info
        if self.evaluator is not None and info.values_before is not None:  # a segment's: deltas from the row before
            self.evaluator.seed(info.values_before)
        stretch = self.stretch
        self._work = outputs.temp_name(self.target) if stretch is None else stretch.folder / f"{stretch.first:012d}"
        n, steps = int(self._obs.size), int(self._obs.size) - self._reset
        self._steps = (int(self._obs[0] - self.obs_rows[0]) // self.options.frame_skip) - (not self._reset)
        width = info.players * len(info.buttons)
        self._held = (np.empty((0, width), np.uint8), np.empty(0), np.empty(0, np.bool_))
        self.summary = {"steps": int(self.obs_rows.size) - 1, "buttons": list(info.buttons), "players": info.players}
        scenario = self.evaluator.scenario if self.evaluator is not None else None
        if scenario is not None and scenario.actions is not None:
            self._discrete = DiscreteActions(scenario.actions, info.buttons, info.players, scenario.source)
            self.summary["discrete_actions"] = self._discrete.n
        try:
            self._work.mkdir()
            self._add("actions", np.uint8, steps, (width,))
            if self._discrete is not None:
                self._add("discrete_actions", np.int64, steps, ())
            for name, dtype in (("rewards", np.float64), ("terminations", np.bool_), ("truncations", np.bool_)):
                self._add(name, dtype, steps, ())
            if self.options.obs != ObsKind.RGB:
                self._add(self._obs_name("ram"), np.uint8, n, (info.ram_size,))
            for var in self.evaluator.variables if self.evaluator is not None else ():
                self._add(f"infos.{var}", np.int64, n, ())
        except OSError as e:
            raise self._disk_error(e) from None

    def consume(self, batch: FrameBatch) -> None:
        try:
            self._consume(batch)
        except OSError as e:
            raise self._disk_error(e) from None

    def close(self, error: BaseException | None) -> dict[str, Any] | Pieces:
        """Assemble and move the episode into place (returning its summary), or remove every trace of it.

        A sink of a `Stretch` leaves its pieces in their folder and returns them.
        """
        try:
            if error is None:
                self._finish()
        except OSError as e:
            error = e
            raise self._disk_error(e) from None
        except BaseException as e:
            error = e
            raise
        finally:
            with interrupts.deferred():  # a signal now would leave the half-removed episode behind
                if error is not None:
                    for column in self._columns.values():
                        column.abandon()
                    for writer in self._writers:
                        writer.abandon()
                if self._work is not None and (error is not None or self.stretch is None):
                    outputs.discard_tree(self._work)
                    self._work = None
        return self._pieces or self.summary

    # -- per batch -------------------------------------------------------------
    def _consume(self, batch: FrameBatch) -> None:
        first, last = self._span
        if batch.last < first or batch.start > last:
            return
        k, seen = self.options.frame_skip, int(self._obs[0])  # observation rows are seen + k*j: no search needed
        j0, j1 = max(-((seen - batch.start) // k), 0), (min(batch.last, last) - seen) // k
        here = seen + k * np.arange(j0, j1 + 1, dtype=np.int64) - batch.start  # observed rows, in the batch
        if self.options.obs != ObsKind.RAM and batch.video is not None and here.size:
            target = self._pictures_column(batch.video)
            pictures = self._pictures_of(batch.video[here[0] :: k][: here.size])
            if np.may_share_memory(pictures, batch.video) or not pictures.flags.c_contiguous:
                pictures = np.array(pictures, order="C")  # the one copy, shared: the batch's buffer is reused
            target.write(pictures, owned=True)
            for writer in self._writers:
                writer.write(pictures)
        if self.options.obs != ObsKind.RGB and batch.rams is not None and here.size:
            self._columns[self._obs_name("ram")].write(batch.rams[here])  # large: no pending
        a, b = max(batch.start, first) - batch.start, min(batch.last, last) - batch.start + 1  # the episode's rows
        rewards, dones = np.zeros(b - a), np.zeros(b - a, np.bool_)
        if self.evaluator is not None and batch.values is not None:
            values = {name: v[a:b] for name, v in batch.values.items()}
            rewards, dones = self.evaluator.steps(values, b - a)
            for name in self.evaluator.variables:
                column = batch.values.get(name)
                self._push(f"infos.{name}", column[here] if column is not None else np.full(here.size, MISSING))
        skip = 1 if self._reset and batch.start <= first else 0  # the reset row is no step's
        buttons = batch.buttons[a + skip : b]
        self._rows(buttons.reshape(buttons.shape[0], self._held[0].shape[1]), rewards[skip:], dones[skip:])

    def _rows(self, buttons: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None:
        """Per-row buttons, rewards and done flags → the completed steps; a partial step waits."""
        held = tuple(np.concatenate([h, x]) for h, x in zip(self._held, (buttons, rewards, dones)))
        k = self.options.frame_skip
        count = held[0].shape[0] // k
        self._held = tuple(h[count * k :].copy() for h in held)  # type: ignore[assignment]
        if not count:
            return
        groups, step_rewards, step_dones = (h[: count * k].reshape(count, k, *h.shape[1:]) for h in held)
        rule = self.options.combine
        action = groups.max(axis=1) if rule == Combine.ANY else groups[:, 0] if rule == Combine.FIRST else groups[:, -1]
        reward = np.zeros(count)
        for j in range(k):  # row by row, as one frame at a time would add them
            reward += step_rewards[:, j]
        terminated = np.asarray(step_dones.any(axis=1))
        number = self._steps + np.arange(1, count + 1)
        self._push("actions", action)
        if self._discrete is not None:
            self._push("discrete_actions", self._discrete.index(action))
        self._push("rewards", reward)
        self._push("terminations", terminated)
        self._push("truncations", (number == self.summary["steps"]) & ~terminated)
        self._rewards.append(reward)
        self._steps += count
        self._last_done = bool(terminated[-1])

    # -- columns -----------------------------------------------------------------
    def _obs_name(self, kind: str) -> str:
        return f"observations.{kind}" if self.options.obs == ObsKind.BOTH else "observations"

    def _add(self, name: str, dtype: type | np.dtype, rows: int, shape: tuple[int, ...], background: bool = False) -> Column:
        assert self._work is not None, "open() comes first"
        column = Column(self._work / f"{name}.part", name, np.dtype(dtype), rows, shape, background=background,
                        piece=self.stretch is not None)
        self._columns[name] = column
        self._pending[name] = []
        return column

    def _pictures_column(self, video: np.ndarray) -> Column:
        """Created at the first picture (with the writers): only then is the native size known."""
        name = self._obs_name("rgb")
        if name not in self._columns:
            self._pictures = Pictures(self.options, (int(video.shape[1]), int(video.shape[2])))
            self._add(name, np.uint8, int(self._obs.size), self._pictures.shape, background=True)  # the bulk
            assert self._info is not None, "open() comes first"
            first = int(np.searchsorted(self.obs_rows, self._obs[0]))  # > 0 in a later segment
            self._writers = [make(self._info, self._pictures.shape, first) for make in self._factories]
        return self._columns[name]

    def _pictures_of(self, frames: np.ndarray) -> np.ndarray:
        assert self._pictures is not None
        return self._pictures(frames)

    def _push(self, name: str, rows: np.ndarray) -> None:
        self._pending[name].append(rows)
        self._pending_rows += len(rows)
        if self._pending_rows >= FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        for name, rows in self._pending.items():
            if rows:
                column = self._columns[name]
                column.write(np.concatenate(rows).astype(column.dtype).reshape(-1, *column.row_shape))
                rows.clear()
        self._pending_rows = 0

    def _finish(self) -> None:
        self._flush()
        if self._work is None or self._info is None:
            raise RetroToolError(f"no replay reached {self.target}")
        parts: list[Part] = [c.finish() for c in self._columns.values()]
        for writer in self._writers:
            writer.finish()
        native = self._pictures.native if self._pictures else None
        rewards = np.concatenate(self._rewards) if self._rewards else np.empty(0)
        if self.stretch is not None:
            columns = [(p, c.dtype, c.row_shape, c.rows) for p, c in zip(parts, self._columns.values())]
            self._pieces = Pieces(self._info, {**self.summary, "terminated": self._last_done}, columns, rewards, native,
                                  tuple(w.path for w in self._writers))
            return
        assembled = self._work / "episode.npz"
        with open(assembled, "xb") as f:
            assemble(parts, f)
        outputs.commit(assembled, self.target)
        obs = {n: [c.rows, *c.row_shape] for n, c in self._columns.items() if n.startswith("observations")}
        self.summary.update(observations=obs, native=list(native) if native else None, total_reward=total(rewards),
                            terminated=self._last_done)

    def _disk_error(self, e: OSError) -> RetroToolError:
        return outputs.write_error(self.target, e)


def total(rewards: np.ndarray) -> float:
    """The sum of the steps' rewards, added in order one at a time (so any cut of the steps gives the same float)."""
    result = 0.0
    for r in rewards.tolist():
        result += r
    return result
