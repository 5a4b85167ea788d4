"""FrameBatch: what the replay loop hands to every sink.

A leaf module (numpy only) so that sinks depend on this value and nothing
else: a sink never sees the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrotool.variables import Values


@dataclass(frozen=True, slots=True)
class FrameBatch:
    """Consecutive emulated frames `start .. start + n - 1` (movie rows).

    `video` holds every frame's picture when a sink asked for video (frames
    of one batch always share a size). `audio` is the stream produced while
    these frames ran. `ram`/`screen` are snapshots taken after the *last*
    frame of the batch, present only when a sink asked for that frame.
    `values` holds the RAM variables sinks asked for, after *every* frame;
    `rams` the system RAM after every frame (a view of a reused buffer:
    valid during `consume`).
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
