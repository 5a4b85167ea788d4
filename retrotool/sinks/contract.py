"""The contract between the replay loop and its sinks: a leaf module (numpy only).

A sink never sees the emulator. The loop asks it what it needs (`Needs`),
opens it with facts about the run (`ReplayInfo`), hands it consecutive frames
in order (`FrameBatch`), and closes it once, getting its result back as the
value `close` returns (what it wrote, how many checkpoints matched, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

Picture = Literal["native", "obs"]  # as the core presented it (for people), or what stable-retro shows an agent
Values = Mapping[str, np.ndarray]  # RAM variable → int64 [n], one value per frame


class VariableLike(Protocol):
    """A RAM variable as the loop needs it: where it lives and how its bytes decode (variables.Variable)."""

    @property
    def address(self) -> int: ...

    @property
    def size(self) -> int: ...

    @property
    def msb_order(self) -> np.ndarray: ...

    def decode(self, raw: np.ndarray) -> np.ndarray: ...

    def decode_one(self, data: bytes) -> int: ...


@dataclass(frozen=True, slots=True)
class AvInfo:
    """Audio/video facts of a loaded game; rates are the core's exact values."""

    width: int
    height: int
    max_width: int
    max_height: int
    aspect_ratio: float
    fps: float
    sample_rate: float
    pixel_format: int

    @property
    def frame_bytes(self) -> int:
        """Bytes of the largest RGB24 picture the core may show (cores understate max sizes at times)."""
        return max(self.max_width * self.max_height, self.width * self.height) * 3


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
    variables: Mapping[str, VariableLike] = field(default_factory=dict)  # read after every frame
    rams: bool = False  # the RAM observation after every frame
    states: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # rows whose core state to take
    screen: bool = False  # the observation picture after every batch's last frame (an agent's step)


@dataclass(frozen=True, slots=True)
class ReplayInfo:
    """Facts about a run that sinks may record (never the emulator itself)."""

    system: str
    buttons: tuple[str, ...]  # the system's buttons, in the order of a row's columns
    frames: int
    players: int
    av: AvInfo
    core_name: str
    core_version: str
    content_sha1: str
    ram_size: int  # bytes of the RAM observation
    first_row: int = 0  # the run covers rows first_row .. frames - 1 (a stretch of a movie from a keyframe)
    values_before: Mapping[str, int] | None = None  # RAM variables just before first_row, when it is not 0


@dataclass(frozen=True, slots=True)
class FrameBatch:
    """Consecutive emulated frames `start .. start + n - 1` (movie rows).

    `video` holds every frame's picture when a sink asked for video (frames
    of one batch always share a size). `audio` is the stream produced while
    these frames ran. `ram`/`screen` (and `state`) are snapshots taken after
    the *last* frame of the batch, present only when a sink asked for that frame
    (`screen` also after every batch when a sink asked for `Needs.screen`).
    `values` holds the RAM variables sinks asked for, after *every* frame;
    `rams` the RAM observation after every frame (a view of a reused
    buffer: valid during `consume`).
    """

    start: int
    buttons: np.ndarray  # uint8 [n, players, n_buttons], canonical order
    masks: np.ndarray  # uint16 [n, ports], libretro joypad masks
    video: np.ndarray | None = None  # uint8 [n, h, w, 3]
    audio: np.ndarray | None = None  # int16 [samples, 2]
    ram: bytes | None = None
    screen: np.ndarray | None = None  # uint8 [h, w, 3]
    values: Values | None = None  # RAM variable → int64 [n] (readable variables only)
    rams: np.ndarray | None = None  # uint8 [n, ram_size]
    state: bytes | None = None  # the core's state after the last frame, when a sink asked for that row

    @property
    def n(self) -> int:
        return int(self.masks.shape[0])

    @property
    def last(self) -> int:
        """Row index of the last frame in the batch."""
        return self.start + self.n - 1

    def __repr__(self) -> str:
        video = None if self.video is None else tuple(self.video.shape)
        audio = None if self.audio is None else tuple(self.audio.shape)
        return (
            f"FrameBatch(start={self.start}, n={self.n}, video={video}, audio={audio}, "
            f"snapshot={self.ram is not None})"
        )


class Sink(Protocol):
    """A consumer of frames: open once, consume batches in order, close once."""

    def needs(self, frames: int) -> Needs: ...

    def open(self, info: ReplayInfo) -> None: ...

    def consume(self, batch: FrameBatch) -> None: ...

    def close(self, error: BaseException | None) -> object:
        """Finish (error is None) and return the result, or abandon the output (after a failure).

        Also called, with the error, when `open` itself failed or was
        interrupted halfway (SIGTERM, Ctrl-C): whatever it made must go.
        """
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
