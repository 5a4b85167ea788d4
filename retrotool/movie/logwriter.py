"""Button arrays → ``Input Log.txt``, made piece by piece so a long log is never one bytes object."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from retrotool.movie.layout import Layout

__all__ = ["EncodedLog"]

_DOT = ord(".")
_ENCODE_ROWS = 1 << 14  # frame lines per piece of an encoded log (a quarter to half a MiB of text)
_FOOTER = b"[/Input]"


@dataclass(frozen=True, slots=True, eq=False)
class EncodedLog:
    """The whole ``Input Log.txt`` for some buttons, in the layout's dialect; LF, no final newline.

    Iterating yields it in pieces of at most ``_ENCODE_ROWS`` lines, so a long log is
    compressed as it is made and never exists as one bytes object; ``len`` is known up
    front, as a zip writer needs. ``lead`` released lines come first, and with
    ``release_first`` the buttons of the first row are written released (a change of
    convention, see convention.py, without copying the arrays).
    """

    layout: Layout
    buttons: np.ndarray
    console: np.ndarray
    console_names: tuple[str, ...]
    lead: int = 0
    release_first: bool = False

    def _head(self) -> bytes:
        return b"[Input]\n" + self.layout.key_line().encode("utf-8") + b"\n"

    def __len__(self) -> int:
        lines = (self.lead + int(self.buttons.shape[0])) * (len(self.layout.template()) + 1)
        return len(self._head()) + lines + len(_FOOTER)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head()
        row = np.frombuffer(self.layout.template() + b"\n", np.uint8)
        if self.lead:
            yield np.tile(row, (self.lead, 1)).tobytes()
        columns = self._columns()
        for lo in range(0, self.buttons.shape[0], _ENCODE_ROWS):
            lines = np.tile(row, (min(_ENCODE_ROWS, self.buttons.shape[0] - lo), 1))
            for offset, pressed, char, button in columns:
                lines[:, offset] = np.where(pressed[lo : lo + _ENCODE_ROWS] != 0, np.uint8(char), np.uint8(_DOT))
                if lo == 0 and button and self.release_first:
                    lines[0, offset] = _DOT
            yield lines.tobytes()
        yield _FOOTER

    def _columns(self) -> list[tuple[int, np.ndarray, int, bool]]:
        """Offset, per-frame source, mnemonic and whether it is a pad button, for every column with data to write."""
        result = []
        for column, offset in self.layout.offsets():
            if column.kind == "button":
                result.append((offset, self.buttons[:, column.player, column.index], ord(column.char), True))
            elif column.kind == "console" and self.layout.console_names[column.index] in self.console_names:
                source = self.console[:, self.console_names.index(self.layout.console_names[column.index])]
                result.append((offset, source, ord(column.char), False))
        return result
