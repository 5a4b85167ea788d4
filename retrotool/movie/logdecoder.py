"""Frame lines → button arrays: the decoder both input-log readers share, and its limits.

Lines that have exactly the layout's shape are decoded as ``uint8[rows, line length]``
character matrices, a block at a time; irregular ones (old BizHawk ``||`` groups, axes
wider than ``%5d``) are first rewritten into that shape one at a time. The output
arrays grow in place as rows arrive, so their size follows the frames actually read,
never a size an entry merely declares.

A log is untrusted input, so everything that costs memory or time is bounded by what
a movie can hold: a line's length, the number of columns and console controls in a
key line, and the lines that are not frames.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from retrotool.errors import MovieFormatError
from retrotool.movie.layout import Column, Dialect, Layout, bizhawk_layout, parse_key_line, sr_layout
from retrotool.systems import System

__all__ = [
    "LINE_LIMIT",
    "OTHER_LINES",
    "DecodedLog",
    "Decoder",
    "fail",
    "find_layout",
    "regularize",
    "reshape_bizhawk",
    "reshape_sr",
    "shaped",
]

DOT, PIPE, NL, CR = ord("."), ord("|"), ord("\n"), ord("\r")
BOM = b"\xef\xbb\xbf"
LINE_LIMIT = 8 << 10  # bytes in any line: a key line of 5 players' buttons is under 1 KiB, a frame line less
OTHER_LINES = 4096  # lines that are not frames ([Input], blank, ...), allowed beyond one per frame
_AXIS_CHARS = np.frombuffer(b" -0123456789", np.uint8)
_SR_KEY = re.compile(rb"P\d+ ")
_NUMBER = re.compile(rb" *-?\d{1,12}")
_FIRST_ROWS = 1 << 12  # output rows allocated before the first block; they grow by half as rows arrive
_Rows = np.ndarray | slice  # which output frames a block fills


@dataclass(frozen=True, slots=True)
class DecodedLog:
    """What an input log holds, in the system's canonical button order."""

    layout: Layout
    buttons: np.ndarray  # uint8[frames, players, n_buttons]
    console: np.ndarray  # uint8[frames, len(layout.console_names)]


def fail(lineno: int, message: str, column: int | None = None) -> MovieFormatError:
    """The error for line ``lineno`` (1-based) of the log."""
    where = f"line {lineno}" if column is None else f"line {lineno}, column {column}"
    return MovieFormatError(f"Input Log.txt {where}: {message}")


def _show(byte: int) -> str:
    return repr(chr(byte)) if 32 <= byte < 127 else f"'\\x{byte:02x}'"


def _find_key_line(lines: Iterable[bytes]) -> tuple[str, int] | None:
    """The key line among the lines before the first frame, with its 1-based number."""
    for lineno, line in enumerate(lines, 1):
        if line in (b"", b"[Input]", b"[/Input]"):
            continue
        if not (line.startswith(b"LogKey:") or _SR_KEY.match(line)):
            expected = "expected a key line ('LogKey:#…' or 'P1 <button>|…') or a frame"
            raise fail(lineno, f"{expected}, found {line[:60]!r}")
        try:
            return line.decode("utf-8"), lineno
        except UnicodeDecodeError as exc:
            raise fail(lineno, f"the key line is not valid UTF-8 ({exc.reason})") from exc
    return None


def find_layout(system: System, dialect: Dialect, head: Iterable[bytes], first_frame: bytes | None) -> Layout:
    """The layout from the key line among ``head`` (the lines before the first frame), else the default."""
    key = _find_key_line(head)
    if key is not None:
        return parse_key_line(system, *key)
    return _default_layout(system, dialect, first_frame)


def _default_layout(system: System, dialect: Dialect, first_frame: bytes | None) -> Layout:
    """The platform's layout for a file without a key line; players are counted from the first frame."""
    groups = first_frame.split(b"|")[1:-1] if first_frame else []
    while groups and not groups[-1]:
        groups.pop()
    has_console = dialect == "stable-retro" or bool(system.bizhawk.console and system.bizhawk.player_prefix)
    players = len(groups) - has_console if system.bizhawk.player_prefix or dialect == "stable-retro" else 1
    players = min(max(players, 1), system.max_players)
    if dialect == "stable-retro":
        return sr_layout(system, players)
    return bizhawk_layout(system, players)


def _shape_error(lineno: int, template: bytes, line: bytes) -> MovieFormatError:
    if len(line) != len(template):
        return fail(lineno, f"expected {len(template)} characters, found {len(line)}")
    return fail(lineno, f"expected a line shaped like {template.decode()!r}, found {line[:80]!r}")


def reshape_sr(line: bytes, layout: Layout, template: bytes, lineno: int) -> bytes:
    """An irregular stable-retro line in the layout's shape; trailing empty groups are tolerated."""
    groups = line.split(b"|")[1:]
    while len(groups) > len(layout.groups) and not groups[-1]:
        groups.pop()
    widths = [len(g) for g in layout.groups]
    if [len(g) for g in groups] != widths:
        raise _shape_error(lineno, template, line)
    return b"|" + b"|".join(groups) + b"|"


def reshape_bizhawk(line: bytes, layout: Layout, template: bytes, lineno: int) -> bytes:
    """An irregular BizHawk line in the layout's shape, read positionally as BizHawk does."""
    content = line.replace(b"|", b"")
    out = bytearray(template)
    pos = 0
    for column, offset in layout.offsets():
        if column.kind == "axis":
            comma = content.find(b",", pos)
            if comma < 0 or not _NUMBER.fullmatch(content[pos:comma]):
                raise fail(lineno, f"axis {column.name!r} needs a number followed by ',' at {content[pos : pos + 8]!r}")
            pos = comma + 1
            continue
        if pos >= len(content):
            raise _shape_error(lineno, template, line)
        out[offset] = content[pos]
        pos += 1
    if pos != len(content):
        raise _shape_error(lineno, template, line)
    return bytes(out)


def regularize(lines: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Which of these lines of one length are read as the layout's template, and those lines in its shape.

    What :func:`reshape_sr` and :func:`reshape_bizhawk` do one line at a time, for the
    common cases at once: lines of the template's shape; stable-retro lines with trailing
    empty groups; BizHawk lines (without axes) whose ``|`` sit elsewhere. Lines not
    taken here go through those functions, which name what is wrong.
    """
    template = np.frombuffer(layout.template(), np.uint8)
    width = template.size
    if lines.shape[1] == width:
        ok = shaped(lines, template)
        return ok, lines[ok]
    if layout.dialect == "stable-retro" and lines.shape[1] > width:
        ok = shaped(lines[:, :width], template) & (lines[:, width:] == PIPE).all(axis=1)
        return ok, lines[ok, :width]
    slots = np.flatnonzero(template != PIPE)
    if layout.dialect == "bizhawk" and all(c.kind != "axis" for g in layout.groups for c in g):
        content = lines != PIPE
        ok = content.sum(axis=1) == slots.size
        rows = np.tile(template, (int(ok.sum()), 1))
        rows[:, slots] = lines[ok][content[ok]].reshape(-1, slots.size)
        return ok, rows
    return np.zeros(lines.shape[0], bool), np.zeros((0, width), np.uint8)


def shaped(block: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Rows whose ``|`` characters sit exactly where the template has them."""
    result: np.ndarray = ((block == PIPE) == (template == PIPE)).all(axis=1)
    return result


class Decoder:
    """Decodes character matrices shaped like the layout's template into output arrays that grow in place.

    The arrays are private until :meth:`result`: growing them reallocates in place
    (no copy of a long movie's buttons at the peak), which is only safe while no view
    of them is alive.
    """

    def __init__(self, layout: Layout, system: System, expected: int | None = None) -> None:
        self.layout = layout
        self.system = system
        self.expected = expected  # the most rows the text can hold, if known: growth stops there
        rows = _FIRST_ROWS if expected is None else min(expected, _FIRST_ROWS)
        self._buttons = np.zeros((rows, layout.players, len(system.buttons)), np.uint8)
        self._console = np.zeros((rows, len(layout.console_names)), np.uint8)
        self.lut = np.full(256, -2, np.int8)
        self.lut[DOT] = -1
        for i, info in enumerate(system.button_info):
            self.lut[ord(info.sr_char)] = i

    def reserve(self, rows: int) -> None:
        """Room for ``rows`` frames, growing by half (up to the expected rows) so that growth stays rare."""
        have = self._buttons.shape[0]
        if rows > have:
            grown = have + have // 2
            new = max(rows, grown if self.expected is None else min(grown, self.expected))
            self._buttons.resize((new, *self._buttons.shape[1:]), refcheck=False)
            self._console.resize((new, self._console.shape[1]), refcheck=False)

    def result(self, frames: int) -> DecodedLog:
        """The first ``frames`` rows, the arrays shrunk in place; the decoder is done."""
        self._buttons.resize((frames, *self._buttons.shape[1:]), refcheck=False)
        self._console.resize((frames, self._console.shape[1]), refcheck=False)
        return DecodedLog(self.layout, self._buttons, self._console)

    def block(self, block: np.ndarray, frames: np.ndarray, linenos: np.ndarray) -> None:
        """Decode ``block[k]``, which is line ``linenos[k]`` and frame ``frames[k]``."""
        if block.shape[0] == 0:
            return
        self.reserve(int(frames.max()) + 1)
        rows: _Rows = frames
        if frames[-1] - frames[0] == frames.size - 1:  # consecutive: basic slicing, no fancy-index copies
            rows = slice(int(frames[0]), int(frames[-1]) + 1)
        sr_groups: dict[int, list[tuple[Column, int]]] = {}
        for column, offset in self.layout.offsets():
            if column.kind == "axis":
                self._axis(block[:, offset : offset + column.width], column, offset, linenos)
            elif self.layout.dialect == "stable-retro" and column.kind == "button":
                sr_groups.setdefault(column.player, []).append((column, offset))
            else:
                self._positional(block[:, offset], column, offset, rows, linenos)
        for player, columns in sr_groups.items():
            self._by_character(block, player, columns, rows, linenos)

    def _positional(self, values: np.ndarray, column: Column, offset: int, rows: _Rows, linenos: np.ndarray) -> None:
        if column.strict:
            bad = (values != DOT) & (values != ord(column.char))
            if bad.any():
                k = int(np.argmax(bad))
                raise fail(
                    int(linenos[k]),
                    f"{_show(int(values[k]))} is not a mnemonic of {column.name} (expected {column.char!r} or '.')",
                    offset + 1,
                )
        pressed = values != DOT
        if not pressed.any():  # stable-retro's Reset and Power columns
            return
        if column.kind == "button":
            self._buttons[rows, column.player, column.index] |= pressed
        else:
            self._console[rows, column.index] |= pressed

    def _by_character(
        self, block: np.ndarray, player: int, columns: list[tuple[Column, int]], rows: _Rows, linenos: np.ndarray
    ) -> None:
        """stable-retro decodes a player group by character, whatever the column order."""
        offsets = [offset for _, offset in columns]
        found = self.lut[block[:, offsets]]
        bad = found == -2
        if bad.any():
            k, j = np.unravel_index(int(np.argmax(bad)), bad.shape)
            chars = "".join(b.sr_char for b in self.system.button_info)
            raise fail(
                int(linenos[k]),
                f"{_show(int(block[k, offsets[j]]))} is not a mnemonic of {columns[j][0].name} "
                f"(stable-retro decodes by character; {self.system.name} characters are {chars!r} and '.')",
                offsets[j] + 1,
            )
        expected = [column.index for column, _ in columns]
        if not ((found >= 0) & (found != expected)).any():  # the usual case: each column has its own character
            for position, index in enumerate(expected):
                self._buttons[rows, player, index] |= found[:, position] >= 0
            return
        for index in range(len(self.system.buttons)):
            self._buttons[rows, player, index] |= (found == index).any(axis=1).astype(np.uint8)

    def _axis(self, field: np.ndarray, column: Column, offset: int, linenos: np.ndarray) -> None:
        bad = ~np.isin(field[:, :-1], _AXIS_CHARS).all(axis=1) | (field[:, -1] != ord(","))
        if bad.any():
            k = int(np.argmax(bad))
            raise fail(int(linenos[k]), f"axis {column.name!r} value {field[k].tobytes()!r} is not '%5d,'", offset + 1)
