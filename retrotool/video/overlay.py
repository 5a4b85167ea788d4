"""Overlays drawn into rendered frames: the held buttons and the game's RAM variables.

Both are drawn at the picture's native resolution (after cropping, before
scaling), so they scale with the game's pixels. Every label is rasterised
once; per frame an overlay only copies small precomputed boxes, chosen per
frame with numpy, so it costs little next to the encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from retrotool.sinks.contract import Values
from retrotool.variables import Variable
from retrotool.video.font import label

ON = ((0, 0, 0), (255, 255, 255))  # held: black text on white
OFF = ((136, 136, 136), (40, 40, 40))  # released: grey text on dark grey
TAG = ((255, 216, 0), (0, 0, 0))  # player tags and info lines
ROW = 8  # pixels per line of boxes: 5-pixel glyphs, 1-pixel padding, 1-pixel gap

_SHORT = {
    "UP": "↑", "DOWN": "↓", "LEFT": "←", "RIGHT": "→", "START": "ST", "SELECT": "SE",
    "MODE": "MO", "PAUSE": "PA", "RESET": "RS", "BUTTON": "FI", "RUN": "RU",
}
_DPAD = ("UP", "DOWN", "LEFT", "RIGHT")


def short_name(button: str) -> str:
    """A button's label in the input display: an arrow, a 2-letter code or the name."""
    return _SHORT.get(button, button if len(button) <= 3 else button[:2])


def _stamp(frames: np.ndarray, image: np.ndarray, y: int, x: int) -> None:
    """Copy image (h, w, 3) or per-frame images (n, h, w, 3) at (y, x), clipped to the frame."""
    h, w = frames.shape[1:3]
    ih, iw = image.shape[-3:-1]
    if y >= h or x >= w:
        return
    ch, cw = min(ih, h - y), min(iw, w - x)
    frames[:, y : y + ch, x : x + cw] = image[..., :ch, :cw, :]


@dataclass(frozen=True, slots=True)
class _Cell:
    """One box of the input display; a player tag has no `off` look and no button."""

    on: np.ndarray
    off: np.ndarray | None
    player: int
    button: int

    @property
    def width(self) -> int:
        return int(self.on.shape[1])


class ButtonsOverlay:
    """An input display: one line of labelled boxes per player at the bottom, lit while held.

    A line that does not fit the picture's width wraps; the D-pad comes first.
    """

    def __init__(self, buttons: tuple[str, ...], players: int, width: int, height: int) -> None:
        order = [buttons.index(b) for b in _DPAD if b in buttons]
        order += [i for i, b in enumerate(buttons) if b not in _DPAD]
        lines: list[list[_Cell]] = []
        for p in range(players):
            lines.append([_Cell(label(f"P{p + 1}", *TAG), None, p, -1)])
            for b in order:
                name = short_name(buttons[b])
                cell = _Cell(label(name, *ON), label(name, *OFF), p, b)
                if sum(c.width + 1 for c in lines[-1]) + cell.width + 1 > width:
                    lines.append([])
                lines[-1].append(cell)
        top = max(height - len(lines) * ROW, 0)
        self._placed = [
            (cell, top + i * ROW, 1 + sum(c.width + 1 for c in line[:j]))
            for i, line in enumerate(lines)
            for j, cell in enumerate(line)
        ]

    def draw(self, frames: np.ndarray, buttons: np.ndarray) -> None:
        """Draw into frames (uint8 [n, h, w, 3], writable) the buttons [n, players, n_buttons]."""
        for cell, y, x in self._placed:
            if cell.off is None:
                _stamp(frames, cell.on, y, x)
            else:
                held = buttons[:, cell.player, cell.button] != 0
                _stamp(frames, np.where(held[:, None, None, None], cell.on, cell.off), y, x)


class InfoOverlay:
    """The game's RAM variables as `NAME VALUE` lines at the top left, each frame its own values.

    Lines are rasterised again only when a value changes; an unreadable
    variable shows `-`.
    """

    def __init__(self, variables: Mapping[str, Variable]) -> None:
        self.variables = dict(variables)
        self.names = list(variables)
        self._shown: tuple[int | None, ...] | None = None
        self._images: list[np.ndarray] = []

    def draw(self, frames: np.ndarray, values: Values) -> None:
        """Draw into frames uint8 [n, h, w, 3]; values: int64 [n] per readable variable."""
        n = frames.shape[0]
        readable = [name for name in self.names if name in values]
        table = np.stack([values[name] for name in readable], axis=1) if readable else np.zeros((n, 0), np.int64)
        runs = [0, *(np.flatnonzero(np.any(table[1:] != table[:-1], axis=1)) + 1).tolist(), n]
        for a, b in zip(runs, runs[1:]):
            row = dict(zip(readable, table[a].tolist()))
            shown = tuple(row.get(name) for name in self.names)
            if shown != self._shown:
                self._shown = shown
                self._images = [label(f"{name} {'-' if v is None else v}", *TAG) for name, v in zip(self.names, shown)]
            for i, image in enumerate(self._images):
                _stamp(frames[a:b], image, 1 + i * ROW, 1)
