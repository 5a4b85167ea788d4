"""The replay loop: the only code that drives frames through the emulator.

Recording and replaying differ only in the input source; rendering,
tracing, verifying and dataset dumps differ only in the sinks. The loop asks
each sink what it needs (video, audio, snapshots of RAM and screen at given
rows, RAM variables after every frame), runs the emulator in C-side batches
cut at the snapshot rows, and hands the resulting `FrameBatch` values to
every sink in order. RAM variables are copied by the host after each frame,
so rewards of every frame cost no extra C calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from retrotool.emulator import Emulator, Watch
from retrotool.errors import RetroToolError, StateError
from retrotool.frames import FrameBatch
from retrotool.native import AvInfo
from retrotool.systems import System
from retrotool.variables import Variable

HEADLESS_BATCH = 4096  # frames per C call without video: amortises Python's per-call cost
VIDEO_BATCH_BYTES = 32 << 20  # with video, a batch's frames fit in this many bytes
RAM_BATCH_BYTES = 32 << 20  # with every frame's RAM, a batch's copies fit in this many bytes


@dataclass(frozen=True, slots=True)
class Needs:
    """What a sink wants from the loop. `snapshots`: sorted row indexes."""

    video: bool = False
    audio: bool = False
    snapshots: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    variables: Mapping[str, Variable] = field(default_factory=dict)  # read after every frame
    rams: bool = False  # system RAM after every frame


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


def load_start(emulator: Emulator, state: bytes | None) -> None:
    """Put the emulator at a movie's start: its state, or power-on."""
    if state is None:
        if emulator.frames_run:
            emulator.power_on()
        return
    emulator.set_state(state)


def replay(
    emulator: Emulator,
    system: System,
    source: InputSource,
    sinks: Sequence[Sink],
    *,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayInfo:
    """Run every row of `source` from the emulator's current state.

    The returned info counts the rows actually run (a live source may end
    early). `batch` caps the frames per C call (default: large without video, about
    32 MiB of frames with video, so memory stays flat). Calls
    `progress(done, total)` after each batch. On any error every sink
    is closed with that error (so it can remove partial output) and the
    error propagates.
    """
    if source.players > emulator.ports:
        raise StateError(f"the input has {source.players} players but the emulator has {emulator.ports} ports")
    info = ReplayInfo(
        system, source.frames, source.players, emulator.av_info, emulator.core_name,
        emulator.core_version, emulator.content_sha1, int(emulator.ram.size),
    )
    needs = [s.needs(source.frames) for s in sinks]
    video = any(n.video for n in needs)
    audio = any(n.audio for n in needs)
    variables = {name: v for n in needs for name, v in n.variables.items()}
    rams = any(n.rams for n in needs)
    stops = _snapshot_rows(needs)
    if batch is None:
        batch = max(1, VIDEO_BATCH_BYTES // emulator.av_info.frame_bytes) if video else HEADLESS_BATCH
        batch = min(batch, max(1, RAM_BATCH_BYTES // info.ram_size)) if rams else batch
    opened: list[Sink] = []
    watch = emulator.watch(system, variables, batch, ram=rams) if variables or rams else None
    try:
        for s in sinks:
            s.open(info)
            opened.append(s)
        rows = _loop(emulator, system, source, sinks, stops, (video, audio), watch, batch, progress)
    except BaseException as e:
        for s in opened:
            s.close(e)
        raise
    finally:
        if watch is not None:
            emulator.unwatch()
    for s in sinks:
        s.close(None)
    return info if rows == info.frames else dataclasses.replace(info, frames=rows)


def _snapshot_rows(needs: list[Needs]) -> np.ndarray:
    rows = [n.snapshots for n in needs if n.snapshots.size]
    return np.unique(np.concatenate(rows)) if rows else np.empty(0, np.int64)


def _loop(
    emulator: Emulator,
    system: System,
    source: InputSource,
    sinks: Sequence[Sink],
    stops: np.ndarray,
    wants: tuple[bool, bool],
    watch: Watch | None,
    batch: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    video, audio = wants
    total = source.frames
    row = 0
    while row < total:
        end = min(row + batch, total)
        k = int(np.searchsorted(stops, row))
        if k < stops.size and stops[k] < end:
            end = int(stops[k]) + 1
        buttons = source.read(row, end - row)
        if len(buttons) < end - row:  # the source ended early
            if not len(buttons):
                break
            end = row + len(buttons)
        masks = system.masks(buttons)
        segments = emulator.run(masks, video=video, audio=audio)
        sound = emulator.audio() if audio else None
        values = watch.values(end - row) if watch is not None else None
        every_ram = watch.rams(end - row) if watch is not None and watch.has_ram else None
        snap = k < stops.size and stops[k] == end - 1
        for i, (first, frames) in enumerate(segments):
            last_segment = i == len(segments) - 1
            stop = end if last_segment else row + segments[i + 1][0]
            batch_value = FrameBatch(
                start=row + first,
                buttons=buttons[first : stop - row],
                masks=masks[first : stop - row],
                video=frames,
                audio=sound if last_segment else None,
                ram=emulator.ram.tobytes() if snap and last_segment else None,
                screen=_screen(emulator, frames) if snap and last_segment else None,
                values={name: v[first : stop - row] for name, v in values.items()} if values is not None else None,
                rams=every_ram[first : stop - row] if every_ram is not None else None,
            )
            for s in sinks:
                s.consume(batch_value)
        row = end
        if progress is not None:
            progress(row, total)
    return row


def _screen(emulator: Emulator, frames: np.ndarray | None) -> np.ndarray:
    return frames[-1].copy() if frames is not None else emulator.screen()
