"""The replay loop: the only code that drives frames through the emulator.

Recording and replaying differ only in the input source; rendering,
tracing, verifying and dataset dumps differ only in the sinks. The loop asks
each sink what it needs (video, audio, snapshots of RAM and screen at given
rows, RAM variables after every frame), runs the emulator in C-side batches
cut at the snapshot rows, and hands the resulting `FrameBatch` values to
every sink in order. RAM variables are copied by the host after each frame,
so rewards of every frame cost no extra C calls. `replay` runs an input
source to its end; a `Run` is the same loop fed by its caller (an agent's
steps). The sink contract lives in `retrotool.sinks.contract`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrotool.emulator import Emulator
from retrotool.errors import RetroToolError, StateError
from retrotool.sinks.contract import FrameBatch, InputSource, Needs, Picture, ReplayInfo, Sink

HEADLESS_BATCH = 4096  # frames per C call without video: amortises Python's per-call cost
VIDEO_BATCH_BYTES = 32 << 20  # with video, a batch's frames fit in this many bytes
RAM_BATCH_BYTES = 32 << 20  # with every frame's RAM, a batch's copies fit in this many bytes


class ArraySource:
    """Buttons from an array: a movie's input log or a scripted sequence."""

    def __init__(self, buttons: np.ndarray) -> None:
        if buttons.ndim != 3:
            raise RetroToolError(f"buttons must be [frames, players, buttons], not {buttons.shape}")
        self.buttons = buttons
        self.frames, self.players = int(buttons.shape[0]), int(buttons.shape[1])

    def read(self, start: int, n: int) -> np.ndarray:
        return self.buttons[start : start + n]


@dataclass(frozen=True, slots=True)
class Replayed:
    """A finished run: its facts (frames: the rows actually run) and each sink's result, in the sinks' order."""

    info: ReplayInfo
    results: tuple[object, ...]


class Run:
    """The replay loop, fed its input rows by the caller: set up once, fed many times, closed once.

    `replay` feeds it from an input source; an agent feeds it one row per
    step, so a step costs no set-up (sinks asked and opened, RAM watched).
    `frames` bounds the rows: sinks are asked what they need for that many.
    `reset_row`: row 0 is the frame stable-retro's `reset()` runs, which
    applies no buttons; it runs released and every sink sees it released.
    `first_row`: the emulator stands before that row (a keyframe's state was
    loaded): the run covers rows first_row .. frames - 1.
    On any error every sink is closed with it (so it can remove partial
    output) and the error propagates; `close()` without one collects each
    sink's result into `results`.
    """

    def __init__(
        self, emulator: Emulator, sinks: Sequence[Sink], *, players: int, frames: int, batch: int | None = None,
        reset_row: bool = False, first_row: int = 0,
    ) -> None:
        if emulator.system is None:
            raise RetroToolError("the replay loop needs an emulator that knows its system; a retrotool bug")
        if players > emulator.ports:
            raise StateError(f"the input has {players} players but the emulator has {emulator.ports} ports")
        if not 0 <= first_row < max(frames, 1):
            raise RetroToolError(f"a run of rows {first_row} .. {frames - 1} is empty; a retrotool bug")
        self.emulator, self.system, self.sinks = emulator, emulator.system, list(sinks)
        info = ReplayInfo(
            self.system.name, self.system.buttons, frames, players, emulator.av_info, emulator.core_name,
            emulator.core_version, emulator.content_sha1, int(emulator.obs_ram().size), first_row,
        )
        needs = [s.needs(frames) for s in self.sinks]
        self._video = _picture_kind(needs)
        self._audio = any(n.audio for n in needs)
        variables = {name: v for n in needs for name, v in n.variables.items()}
        rams = any(n.rams for n in needs)
        self._stops = _rows(needs, "snapshots", "states")
        self._snapshots = _rows(needs, "snapshots")
        self._states = _rows(needs, "states")
        self.info = info
        self._every_screen = any(n.screen for n in needs)
        self.batch = batch or self._batch_size(rams)
        self.reset_row = reset_row and first_row == 0
        self.row = first_row  # the next row to run
        self.results: tuple[object, ...] = ()
        self._opened: list[Sink] = []
        self._closed = False
        self._watch = emulator.watch(variables, self.batch, ram=rams) if variables or rams else None
        if first_row and self._watch is not None and variables:
            self.info = dataclasses.replace(info, values_before=self._watch.now())
        try:
            for s in self.sinks:
                self._opened.append(s)  # closed even if its open() fails halfway: it may have made a temporary
                s.open(self.info)
        except BaseException as e:
            self.close(e)
            raise

    def _batch_size(self, rams: bool) -> int:
        """Large without video; about 32 MiB of pictures (and of per-frame RAM) with them, so memory stays flat."""
        batch = max(1, VIDEO_BATCH_BYTES // self.emulator.frame_bytes) if self._video else HEADLESS_BATCH
        return min(batch, max(1, RAM_BATCH_BYTES // max(1, self.info.ram_size))) if rams else batch

    def next_rows(self) -> int:
        """Rows the next C call takes: up to the batch size, the next snapshot row and `frames`."""
        end = min(self.row + self.batch, self.info.frames)
        if not self._stops.size:  # no snapshot row (an agent's run without a recording): no search
            return end - self.row
        k = int(np.searchsorted(self._stops, self.row))
        if k < self._stops.size and self._stops[k] < end:
            end = int(self._stops[k]) + 1
        return end - self.row

    def feed(self, buttons: np.ndarray, masks: np.ndarray | None = None) -> None:
        """Run rows uint8 [k, players, n_buttons] after the rows fed before; k <= next_rows().

        `masks` (uint16 [k, players]): the rows' joypad masks, when the caller
        has them already (an agent's step); they must be `system.masks(buttons)`.
        """
        if not 0 < len(buttons) <= self.next_rows():
            raise RetroToolError(f"fed {len(buttons)} rows where the loop takes 1 to {self.next_rows()}; a retrotool bug")
        if self.row == 0 and self.reset_row and buttons[0].any():
            buttons = buttons.copy()
            buttons[0] = 0
            masks = None
        try:
            self._run(buttons, masks)
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
        results = [s.close(error) for s in self._opened]
        if error is None:
            self.results = tuple(results)

    def _screen(self, frames: np.ndarray | None) -> np.ndarray:
        """The observation after the batch's last frame."""
        return frames[-1].copy() if frames is not None and self._video == "obs" else self.emulator.obs_screen()

    def _run(self, buttons: np.ndarray, masks: np.ndarray | None) -> None:
        emulator, row = self.emulator, self.row
        end = row + len(buttons)
        snap = _holds(self._snapshots, end - 1)
        masks = self.system.masks(buttons) if masks is None else masks
        segments = emulator.run(masks, video=self._video, audio=self._audio)
        state = emulator.get_state() if _holds(self._states, end - 1) else None
        sound = emulator.audio() if self._audio else None
        watch = self._watch
        values = watch.values(end - row) if watch is not None else None
        every_ram = watch.rams(end - row) if watch is not None and watch.has_ram else None
        whole = len(segments) == 1  # the batch is one segment: nothing to cut (an agent's step)
        for i, (first, frames) in enumerate(segments):
            last_segment = i == len(segments) - 1
            stop = end if last_segment else row + segments[i + 1][0]
            cut = slice(first, stop - row)
            batch_value = FrameBatch(
                start=row + first,
                buttons=buttons if whole else buttons[cut],
                masks=masks if whole else masks[cut],
                video=frames,
                audio=sound if last_segment else None,
                ram=emulator.obs_ram().tobytes() if snap and last_segment else None,
                screen=self._screen(frames) if (snap or self._every_screen) and last_segment else None,
                values=values if whole or values is None else {name: v[cut] for name, v in values.items()},
                rams=every_ram if whole or every_ram is None else every_ram[cut],
                state=state if last_segment else None,
            )
            for s in self.sinks:
                s.consume(batch_value)
        self.row = end


def replay(
    emulator: Emulator,
    source: InputSource,
    sinks: Sequence[Sink],
    *,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    reset_row: bool = False,
    first_row: int = 0,
) -> Replayed:
    """Run the rows of `source` from `first_row` on, from the emulator's current state (see `Run`).

    The result counts the rows actually run (a live source may end early)
    and holds each sink's result. `batch` caps the frames per C call.
    Calls `progress(done, total)` after each batch.
    """
    run = Run(emulator, sinks, players=source.players, frames=source.frames, batch=batch, reset_row=reset_row,
              first_row=first_row)
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
    info = run.info if run.row == run.info.frames else dataclasses.replace(run.info, frames=run.row)
    return Replayed(info, run.results)


def _picture_kind(needs: list[Needs]) -> Picture | None:
    kinds = {n.video for n in needs if n.video}
    if len(kinds) > 1:
        raise RetroToolError(f"sinks asked for pictures of kinds {sorted(kinds)} in one run; a retrotool bug")
    return kinds.pop() if kinds else None


def _holds(rows: np.ndarray, row: int) -> bool:
    if not rows.size:  # no snapshot rows at all (an agent's steps): skip numpy's call
        return False
    k = int(np.searchsorted(rows, row))
    return k < rows.size and rows[k] == row


def _rows(needs: list[Needs], *kinds: str) -> np.ndarray:
    """The sorted rows sinks asked for under `kinds` (snapshots, states)."""
    rows = [getattr(n, kind) for n in needs for kind in kinds if getattr(n, kind).size]
    return np.unique(np.concatenate(rows)) if rows else np.empty(0, np.int64)

