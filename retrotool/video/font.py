"""A 3x5 pixel font drawn with numpy, for overlays on game frames.

Built in so that overlays need no imaging library and cost a few array
copies per frame: each string is rasterised once into a boolean mask
(cached) and then stamped into frames. Lower case prints as upper case;
characters the font lacks print as '?'.
"""

from __future__ import annotations

import functools

import numpy as np

GLYPH_W, GLYPH_H = 3, 5
ADVANCE = GLYPH_W + 1  # one blank column between glyphs

# Five rows of three pixels per glyph, '#' lit.
_GLYPHS = {
    "0": "### #.# #.# #.# ###", "1": ".#. ##. .#. .#. ###", "2": "### ..# ### #.. ###",
    "3": "### ..# .## ..# ###", "4": "#.# #.# ### ..# ..#", "5": "### #.. ### ..# ###",
    "6": "### #.. ### #.# ###", "7": "### ..# .#. .#. .#.", "8": "### #.# ### #.# ###",
    "9": "### #.# ### ..# ###", "A": ".#. #.# ### #.# #.#", "B": "##. #.# ##. #.# ##.",
    "C": ".## #.. #.. #.. .##", "D": "##. #.# #.# #.# ##.", "E": "### #.. ##. #.. ###",
    "F": "### #.. ##. #.. #..", "G": ".## #.. #.# #.# .##", "H": "#.# #.# ### #.# #.#",
    "I": "### .#. .#. .#. ###", "J": "..# ..# ..# #.# .#.", "K": "#.# #.# ##. #.# #.#",
    "L": "#.. #.. #.. #.. ###", "M": "#.# ### ### #.# #.#", "N": "##. #.# #.# #.# #.#",
    "O": ".#. #.# #.# #.# .#.", "P": "##. #.# ##. #.. #..", "Q": ".#. #.# #.# ##. .##",
    "R": "##. #.# ##. #.# #.#", "S": ".## #.. .#. ..# ##.", "T": "### .#. .#. .#. .#.",
    "U": "#.# #.# #.# #.# ###", "V": "#.# #.# #.# #.# .#.", "W": "#.# #.# ### ### #.#",
    "X": "#.# #.# .#. #.# #.#", "Y": "#.# #.# .#. .#. .#.", "Z": "### ..# .#. #.. ###",
    " ": "... ... ... ... ...", ":": "... .#. ... .#. ...", "-": "... ... ### ... ...",
    ".": "... ... ... ... .#.", "_": "... ... ... ... ###", "?": "### ..# .#. ... .#.",
    "+": "... .#. ### .#. ...", "=": "... ### ... ### ...", "/": "..# ..# .#. #.. #..",
    "↑": ".#. ### .#. .#. .#.", "↓": ".#. .#. .#. ### .#.",
    "←": "..# .## ### .## ..#", "→": "#.. ##. ### ##. #..",
}


@functools.cache
def _glyph(char: str) -> np.ndarray:
    rows = _GLYPHS.get(char.upper(), _GLYPHS["?"]).split()
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


def text_width(text: str) -> int:
    return max(len(text) * ADVANCE - 1, 0)


@functools.lru_cache(maxsize=4096)
def text_mask(text: str) -> np.ndarray:
    """bool [5, text_width(text)]: True where the text's pixels are lit (read-only)."""
    mask = np.zeros((GLYPH_H, text_width(text)), dtype=bool)
    for i, char in enumerate(text):
        mask[:, i * ADVANCE : i * ADVANCE + GLYPH_W] = _glyph(char)
    mask.flags.writeable = False
    return mask


def label(text: str, fg: tuple[int, int, int], bg: tuple[int, int, int], pad: int = 1) -> np.ndarray:
    """uint8 [5 + 2*pad, width + 2*pad, 3]: the text in fg on a solid bg box."""
    mask = text_mask(text)
    image = np.empty((mask.shape[0] + 2 * pad, mask.shape[1] + 2 * pad, 3), np.uint8)
    image[:] = bg
    image[pad : pad + mask.shape[0], pad : pad + mask.shape[1]][mask] = fg
    return image
