"""How movies become episodes: `DatasetOptions` (plain values that travel to worker processes) and the picture pipeline.

Observations: the first observed picture's size is the native size (a
core that changes resolution mid-movie has other frames fitted to it by
nearest neighbour), then `crop` (x, y, w, h) → `resize` (w, h, nearest
neighbour) → `grayscale` (uint8 [h, w, 1], luma (77 R + 150 G + 29 B +
128) >> 8).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from retrotool.errors import RetroToolError
from retrotool.pictures import fit, grayscale


class ObsKind(StrEnum):
    """What an observation is: the picture, the system RAM, or both (a dict)."""

    RGB = "rgb"
    RAM = "ram"
    BOTH = "both"


class Combine(StrEnum):
    """How the K rows of a frame-skip step become one action.

    any: a button is pressed if held in any of the K rows (no press is lost);
    first: the buttons of the step's first row (what was pressed right after
    the observation); last: those of its last row.
    """

    ANY = "any"
    FIRST = "first"
    LAST = "last"


@dataclass(frozen=True, slots=True)
class DatasetOptions:
    """How movies become episodes (plain values: they travel to worker processes)."""

    obs: ObsKind = ObsKind.RGB
    grayscale: bool = False
    resize: tuple[int, int] | None = None  # (w, h)
    crop: tuple[int, int, int, int] | None = None  # (x, y, w, h) of the native picture
    frame_skip: int = 1
    combine: Combine = Combine.ANY
    start: int = 0
    end: int | None = None  # rows before `end`; None: to the movie's end

    def check(self, frames: int) -> np.ndarray:
        """Validate against a movie of `frames` rows; returns the observation rows."""
        self.validate()
        end = frames if self.end is None else self.end
        steps = (end - 1 - self.start) // self.frame_skip
        if not 0 <= self.start < end <= frames or steps < 1:
            raise RetroToolError(
                f"--start {self.start} --end {end} --frame-skip {self.frame_skip} leaves no step in a movie of "
                f"{frames} rows: an episode needs start < start + K < end <= {frames}"
            )
        return self.start + self.frame_skip * np.arange(steps + 1, dtype=np.int64)

    def validate(self) -> None:
        """The checks that need no movie."""
        check_choice(ObsKind, self.obs, "--obs")
        check_choice(Combine, self.combine, "--combine")
        if self.frame_skip < 1:
            raise RetroToolError(f"--frame-skip must be at least 1, not {self.frame_skip}")
        if self.resize is not None and min(self.resize) < 1:
            raise RetroToolError(f"--resize {self.resize[0]}x{self.resize[1]}: both sides must be at least 1")
        if self.crop is not None and (min(self.crop[:2]) < 0 or min(self.crop[2:]) < 1):
            raise RetroToolError(f"--crop {','.join(map(str, self.crop))}: x and y must be >= 0, w and h >= 1")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, StrEnum) else list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def check_choice(kind: type[StrEnum], value: object, option: str) -> None:
    """An unknown value of a closed set is an error that lists the valid ones."""
    if value not in {m.value for m in kind}:
        valid = ", ".join(m.value for m in kind)
        raise RetroToolError(f"{option} {value!r} is not one of: {valid}")


class Pictures:
    """The picture pipeline: fit to the native size, crop, resize, grayscale."""

    def __init__(self, options: DatasetOptions, native: tuple[int, int]) -> None:
        self.options, self.native = options, native
        height, width = native
        crop = options.crop or (0, 0, width, height)
        if crop[0] + crop[2] > width or crop[1] + crop[3] > height:
            raise RetroToolError(
                f"--crop {','.join(map(str, crop))} does not fit the {width}x{height} picture "
                "(x + w and y + h must stay inside it)"
            )
        self.crop = crop
        w, h = options.resize or crop[2:]
        self._rows = np.arange(h) * crop[3] // h
        self._cols = np.arange(w) * crop[2] // w
        self.shape = (h, w, 1 if options.grayscale else 3)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """The observations of frames uint8 [n, h, w, 3]; a view when nothing changes them."""
        if frames.shape[1:3] != self.native:
            frames = fit(frames, *self.native)
        x, y, w, h = self.crop
        frames = frames[:, y : y + h, x : x + w]
        if self.options.resize is not None:
            frames = frames[:, self._rows][:, :, self._cols]
        return grayscale(frames) if self.options.grayscale else frames
