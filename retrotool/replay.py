"""The replay loop: the only code that drives frames through the emulator.

Recording and replaying differ only in the input source; rendering,
tracing, verifying and dataset dumps differ only in the sinks. The loop asks
each sink what it needs (video, audio, snapshots of RAM and screen at given
rows, RAM variables after every frame), runs the emulator in C-side batches
cut at the snapshot rows, and hands the resulting `FrameBatch` values to
every sink in order. RAM variables are copied by the host after each frame,
so rewards of every frame cost no extra C calls. `replay` runs an input
source to its end; a `Run` is the same loop fed by its caller (an agent's
steps).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from retrotool.emulator import Emulator
from retrotool.errors import RetroToolError, StateError
from retrotool.frames import FrameBatch
from retrotool.movie import MAKE_FRAMES, Convention
from retrotool.native import AvInfo, Picture
from retrotool.systems import System
from retrotool.variables import Variable

HEADLESS_BATCH = 4096  # frames per C call without video: amortises Python's per-call cost
VIDEO_BATCH_BYTES = 32 << 20  # with video, a batch's frames fit in this many bytes
RAM_BATCH_BYTES = 32 << 20  # with every frame's RAM, a batch's copies fit in this many bytes


@dataclass(frozen=True, slots=True)
class Needs:
    """What a sink wants from the loop. `snapshots`: sorted row indexes.

    `video`: every frame's picture, "native" (as the core presented it: for
    people) or "obs" (what stable-retro shows an agent). Snapshots are always
    the observation: RAM as stable-retro's get_ram(), screen as its get_screen().
    """

    video: Picture | None = None
    audio: bool = False
    snapshots: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    variables: Mapping[str, Variable] = field(default_factory=dict)  # read after every frame
    rams: bool = False  # the RAM observation after every frame


@dataclass(frozen=True, slots=True)
class ReplayInfo:
    """Facts about a run that sinks may record (never the emulator itself)."""

    system: System
    frames: int
    players: int
    av: AvInfo
    core_name: str
    core_version: str
    content_sha1: str
    ram_size: int


class Sink(Protocol):
    """A consumer of frames: open once, consume batches in order, close once."""

    def needs(self, frames: int) -> Needs: ...

    def open(self, info: ReplayInfo) -> None: ...

    def consume(self, batch: FrameBatch) -> None: ...

    def close(self, error: BaseException | None) -> None:
        """Finish (error is None) or abandon the output (after a failure)."""
        ...


class InputSource(Protocol):
    """Where a frame's buttons come from: a movie, a script, a person.

    A person's input has no known length: `frames` is then an upper bound
    and `read` may return fewer rows than asked, which ends the run there
    (the person quit, or went back to a savestate).
    """

    frames: int
    players: int

    def read(self, start: int, n: int) -> np.ndarray:
        """uint8 [k, players, n_buttons] for rows start .. start+k-1; k < n ends the input."""
        ...


class ArraySource:
    """Buttons from an array: a movie's input log or a scripted sequence."""

    def __init__(self, buttons: np.ndarray) -> None:
        if buttons.ndim != 3:
            raise RetroToolError(f"buttons must be [frames, players, buttons], not {buttons.shape}")
        self.buttons = buttons
        self.frames, self.players = int(buttons.shape[0]), int(buttons.shape[1])

    def read(self, start: int, n: int) -> np.ndarray:
        return self.buttons[start : start + n]


def load_start(emulator: Emulator, state: bytes | None, convention: Convention = "stable-retro") -> None:
    """Put a freshly made emulator where row 0 of a movie begins (one that ran is powered on again first).

    BizHawk's convention: right after the game is loaded, or the state.
    stable-retro's: the frames its `make()` runs with no button held, then
    the state (for a core it reloads before a state, only the state).
    """
    if emulator.frames_run:
        emulator.power_on()
    if convention == "stable-retro" and not (state is not None and emulator.quirks.state_after_reload):
        emulator.run(np.zeros((MAKE_FRAMES, emulator.ports), np.uint16))
    if state is not None:
        emulator.set_state(state)


class Run:
    """The replay loop, fed its input rows by the caller: set up once, fed many times, closed once.

    `replay` feeds it from an input source; an agent feeds it one row per
    step, so a step costs no set-up (sinks asked and opened, RAM watched).
    `frames` bounds the rows: sinks are asked what they need for that many.
    `reset_row`: row 0 is the frame stable-retro's `reset()` runs, which
    applies no buttons; it runs released and every sink sees it released.
    On any error every sink is closed with it (so it can remove partial
    output) and the error propagates.
    """

    def __init__(
        self, emulator: Emulator, system: System, sinks: Sequence[Sink], *, players: int, frames: int,
        batch: int | None = None, reset_row: bool = False,
    ) -> None:
        if players > emulator.ports:
            raise StateError(f"the input has {players} players but the emulator has {emulator.ports} ports")
        self.emulator, self.system, self.sinks = emulator, system, list(sinks)
        self.info = ReplayInfo(
            system, frames, players, emulator.av_info, emulator.core_name,
            emulator.core_version, emulator.content_sha1, int(emulator.obs_ram().size),
        )
        needs = [s.needs(frames) for s in self.sinks]
        kinds = {n.video for n in needs if n.video}
        if len(kinds) > 1:
            raise RetroToolError(f"sinks asked for pictures of kinds {sorted(kinds)} in one run; a retrotool bug")
        self._video: Picture | None = kinds.pop() if kinds else None
        self._audio = any(n.audio for n in needs)
        variables = {name: v for n in needs for name, v in n.variables.items()}
        rams = any(n.rams for n in needs)
        self._stops = _snapshot_rows(needs)
        if batch is None:
            batch = max(1, VIDEO_BATCH_BYTES // emulator.frame_bytes) if self._video else HEADLESS_BATCH
            batch = min(batch, max(1, RAM_BATCH_BYTES // max(1, self.info.ram_size))) if rams else batch
        self.batch = batch
        self.reset_row = reset_row
        self.row = 0  # rows run so far
        self._opened: list[Sink] = []
        self._closed = False
        self._watch = emulator.watch(variables, batch, ram=rams) if variables or rams else None
        try:
            for s in self.sinks:
                s.open(self.info)
                self._opened.append(s)
        except BaseException as e:
            self.close(e)
            raise

    def next_rows(self) -> int:
        """Rows the next C call takes: up to the batch size, the next snapshot row and `frames`."""
        end = min(self.row + self.batch, self.info.frames)
        k = int(np.searchsorted(self._stops, self.row))
        if k < self._stops.size and self._stops[k] < end:
            end = int(self._stops[k]) + 1
        return end - self.row

    def feed(self, buttons: np.ndarray) -> None:
        """Run rows uint8 [k, players, n_buttons] after the rows fed before; k <= next_rows()."""
        if not 0 < len(buttons) <= self.next_rows():
            raise RetroToolError(f"fed {len(buttons)} rows where the loop takes 1 to {self.next_rows()}; a retrotool bug")
        if self.row == 0 and self.reset_row and buttons[0].any():
            buttons = buttons.copy()
            buttons[0] = 0
        try:
            self._run(buttons)
        except BaseException as e:
            self.close(e)
            raise

    def close(self, error: BaseException | None = None) -> None:
        """Close every sink (with the error that ended the run, if one did); closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._watch is not None:
            self.emulator.unwatch()
        for s in self._opened:
            s.close(error)

    def _screen(self, frames: np.ndarray | None) -> np.ndarray:
        """The observation after the batch's last frame."""
        return frames[-1].copy() if frames is not None and self._video == "obs" else self.emulator.obs_screen()

    def _run(self, buttons: np.ndarray) -> None:
        emulator, row = self.emulator, self.row
        end = row + len(buttons)
        k = int(np.searchsorted(self._stops, row))
        snap = k < self._stops.size and self._stops[k] == end - 1
        masks = self.system.masks(buttons)
        segments = emulator.run(masks, video=self._video, audio=self._audio)
        sound = emulator.audio() if self._audio else None
        watch = self._watch
        values = watch.values(end - row) if watch is not None else None
        every_ram = watch.rams(end - row) if watch is not None and watch.has_ram else None
        for i, (first, frames) in enumerate(segments):
            last_segment = i == len(segments) - 1
            stop = end if last_segment else row + segments[i + 1][0]
            batch_value = FrameBatch(
                start=row + first,
                buttons=buttons[first : stop - row],
                masks=masks[first : stop - row],
                video=frames,
                audio=sound if last_segment else None,
                ram=emulator.obs_ram().tobytes() if snap and last_segment else None,
                screen=self._screen(frames) if snap and last_segment else None,
                values={name: v[first : stop - row] for name, v in values.items()} if values is not None else None,
                rams=every_ram[first : stop - row] if every_ram is not None else None,
            )
            for s in self.sinks:
                s.consume(batch_value)
        self.row = end


def replay(
    emulator: Emulator,
    system: System,
    source: InputSource,
    sinks: Sequence[Sink],
    *,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    reset_row: bool = False,
) -> ReplayInfo:
    """Run every row of `source` from the emulator's current state (`reset_row`: see `Run`).

    The returned info counts the rows actually run (a live source may end
    early). `batch` caps the frames per C call (default: large without video, about
    32 MiB of frames with video, so memory stays flat). Calls
    `progress(done, total)` after each batch. On any error every sink
    is closed with that error (so it can remove partial output) and the
    error propagates.
    """
    run = Run(emulator, system, sinks, players=source.players, frames=source.frames, batch=batch, reset_row=reset_row)
    try:
        while run.row < source.frames:
            buttons = source.read(run.row, run.next_rows())
            if not len(buttons):  # the source ended early
                break
            run.feed(buttons)
            if progress is not None:
                progress(run.row, source.frames)
    except BaseException as e:
        run.close(e)
        raise
    run.close()
    return run.info if run.row == run.info.frames else dataclasses.replace(run.info, frames=run.row)


def _snapshot_rows(needs: list[Needs]) -> np.ndarray:
    rows = [n.snapshots for n in needs if n.snapshots.size]
    return np.unique(np.concatenate(rows)) if rows else np.empty(0, np.int64)



