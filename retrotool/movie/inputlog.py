"""``Input Log.txt`` ↔ button arrays, vectorised with numpy.

A long movie has a million frame lines, so lines are never handled one by one in
the common case. Logs as both writers make them, where every frame line has the
layout's shape and the same line ending, are decoded by :func:`decode_stream`
while they are inflated: block by block of ``uint8[rows, line length]``
character matrices straight into the output arrays, never holding the whole text
(a million-frame log is 18-31 MB of text). Everything else goes to
:func:`decode`, which indexes the whole text with numpy, views every line that
has exactly the layout's shape as one character matrix, and first rewrites
irregular lines (old BizHawk ``||`` groups, axes wider than ``%5d``) into that
shape one at a time. Both share one decoder, so they agree on what a line means;
only :func:`decode` reports malformed lines, by number.

Analog axes (BizHawk GBA tilt and light sensor) are checked and then dropped: the
libretro cores retrotool drives take no analog input for these systems.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from retrotool.errors import MovieFormatError
from retrotool.movie.layout import Column, Dialect, Layout, bizhawk_layout, parse_key_line, sr_layout
from retrotool.systems import System

__all__ = ["DecodedLog", "EncodedLog", "decode", "decode_stream"]

_DOT, _PIPE, _NL, _CR = ord("."), ord("|"), ord("\n"), ord("\r")
_BOM = b"\xef\xbb\xbf"
_AXIS_CHARS = np.frombuffer(b" -0123456789", np.uint8)
_SR_KEY = re.compile(rb"P\d+ ")
_NUMBER = re.compile(rb" *-?\d+")
_GATHER_ROWS = 1 << 16
_ENCODE_ROWS = 1 << 16  # frame lines per piece of an encoded log (about 1 MiB of text)
_HEAD_BYTES = 1 << 16  # decode_stream needs the first frame line to start within this many bytes
_TAIL_BYTES = 1 << 16  # ... and at most this much after the last regular one ("[/Input]", a final line)
_Rows = np.ndarray | slice  # which output frames a block fills


@dataclass(frozen=True, slots=True)
class DecodedLog:
    """What an input log holds, in the system's canonical button order."""

    layout: Layout
    buttons: np.ndarray  # uint8[frames, players, n_buttons]
    console: np.ndarray  # uint8[frames, len(layout.console_names)]


def _fail(lineno: int, message: str, column: int | None = None) -> MovieFormatError:
    where = f"line {lineno}" if column is None else f"line {lineno}, column {column}"
    return MovieFormatError(f"Input Log.txt {where}: {message}")


def _show(byte: int) -> str:
    return repr(chr(byte)) if 32 <= byte < 127 else f"'\\x{byte:02x}'"


def _index_lines(text: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The text as uint8 (ending in a newline) with start and end offsets of every line."""
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    if b"\r" in text:
        text = text.replace(b"\r", b"")
    if not text.endswith(b"\n"):
        text += b"\n"
    chars = np.frombuffer(text, np.uint8)
    ends = np.flatnonzero(chars == _NL)
    starts = np.concatenate(([0], ends[:-1] + 1))
    return chars, starts, ends


def _find_key_line(chars: np.ndarray, starts: np.ndarray, ends: np.ndarray, stop: int) -> tuple[str, int] | None:
    """The key line among the lines before the first frame, with its 1-based number."""
    for i in range(stop):
        line = chars[starts[i] : ends[i]].tobytes()
        if line in (b"", b"[Input]", b"[/Input]"):
            continue
        if not (line.startswith(b"LogKey:") or _SR_KEY.match(line)):
            raise _fail(i + 1, f"expected a key line ('LogKey:#…' or 'P1 <button>|…') or a frame, found {line[:60]!r}")
        try:
            return line.decode("utf-8"), i + 1
        except UnicodeDecodeError as exc:
            raise _fail(i + 1, f"the key line is not valid UTF-8 ({exc.reason})") from exc
    return None


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


def _gather(chars: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Lines of equal ``width`` starting at ``starts`` as a ``[n, width]`` matrix (a view when contiguous)."""
    n = starts.size
    if n == 0:
        return np.zeros((0, width), np.uint8)
    if starts[-1] - starts[0] == (n - 1) * (width + 1) and np.all(np.diff(starts) == width + 1):
        return chars[starts[0] : starts[0] + n * (width + 1)].reshape(n, width + 1)[:, :width]
    out = np.empty((n, width), np.uint8)
    span = np.arange(width)
    for lo in range(0, n, _GATHER_ROWS):
        out[lo : lo + _GATHER_ROWS] = chars[starts[lo : lo + _GATHER_ROWS, np.newaxis] + span]
    return out


def _shape_error(lineno: int, template: bytes, line: bytes) -> MovieFormatError:
    if len(line) != len(template):
        return _fail(lineno, f"expected {len(template)} characters, found {len(line)}")
    return _fail(lineno, f"expected a line shaped like {template.decode()!r}, found {line[:80]!r}")


def _reshape_sr(line: bytes, layout: Layout, template: bytes, lineno: int) -> bytes:
    """An irregular stable-retro line in the layout's shape; trailing empty groups are tolerated."""
    groups = line.split(b"|")[1:]
    while len(groups) > len(layout.groups) and not groups[-1]:
        groups.pop()
    widths = [len(g) for g in layout.groups]
    if [len(g) for g in groups] != widths:
        raise _shape_error(lineno, template, line)
    return b"|" + b"|".join(groups) + b"|"


def _reshape_bizhawk(line: bytes, layout: Layout, template: bytes, lineno: int) -> bytes:
    """An irregular BizHawk line in the layout's shape, read positionally as BizHawk does."""
    content = line.replace(b"|", b"")
    out = bytearray(template)
    pos = 0
    for column, offset in layout.offsets():
        if column.kind == "axis":
            comma = content.find(b",", pos)
            if comma < 0 or not _NUMBER.fullmatch(content[pos:comma]):
                raise _fail(
                    lineno, f"axis {column.name!r} needs a number followed by ',' at {content[pos : pos + 8]!r}"
                )
            pos = comma + 1
            continue
        if pos >= len(content):
            raise _shape_error(lineno, template, line)
        out[offset] = content[pos]
        pos += 1
    if pos != len(content):
        raise _shape_error(lineno, template, line)
    return bytes(out)


class _Decoder:
    """Decodes character matrices shaped like the layout's template into the output arrays."""

    def __init__(self, layout: Layout, system: System, frames: int) -> None:
        self.layout = layout
        self.system = system
        self.buttons = np.zeros((frames, layout.players, len(system.buttons)), np.uint8)
        self.console = np.zeros((frames, len(layout.console_names)), np.uint8)
        self.lut = np.full(256, -2, np.int16)
        self.lut[_DOT] = -1
        for i, info in enumerate(system.button_info):
            self.lut[ord(info.sr_char)] = i

    def block(self, block: np.ndarray, frames: np.ndarray, linenos: np.ndarray) -> None:
        """Decode ``block[k]``, which is line ``linenos[k]`` and frame ``frames[k]``."""
        if block.shape[0] == 0:
            return
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
            bad = (values != _DOT) & (values != ord(column.char))
            if bad.any():
                k = int(np.argmax(bad))
                raise _fail(
                    int(linenos[k]),
                    f"{_show(int(values[k]))} is not a mnemonic of {column.name} (expected {column.char!r} or '.')",
                    offset + 1,
                )
        pressed = (values != _DOT).astype(np.uint8)
        if column.kind == "button":
            self.buttons[rows, column.player, column.index] |= pressed
        else:
            self.console[rows, column.index] |= pressed

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
            raise _fail(
                int(linenos[k]),
                f"{_show(int(block[k, offsets[j]]))} is not a mnemonic of {columns[j][0].name} "
                f"(stable-retro decodes by character; {self.system.name} characters are {chars!r} and '.')",
                offsets[j] + 1,
            )
        expected = [column.index for column, _ in columns]
        if not ((found >= 0) & (found != expected)).any():  # the usual case: each column has its own character
            for position, index in enumerate(expected):
                self.buttons[rows, player, index] |= found[:, position] >= 0
            return
        for index in range(len(self.system.buttons)):
            self.buttons[rows, player, index] |= (found == index).any(axis=1).astype(np.uint8)

    def _axis(self, field: np.ndarray, column: Column, offset: int, linenos: np.ndarray) -> None:
        bad = ~np.isin(field[:, :-1], _AXIS_CHARS).all(axis=1) | (field[:, -1] != ord(","))
        if bad.any():
            k = int(np.argmax(bad))
            raise _fail(int(linenos[k]), f"axis {column.name!r} value {field[k].tobytes()!r} is not '%5d,'", offset + 1)


def decode(text: bytes, system: System, default_dialect: Dialect) -> DecodedLog:
    """Parse a whole input log; ``default_dialect`` applies only when there is no key line."""
    chars, starts, ends = _index_lines(text)
    firsts = chars[np.minimum(starts, chars.size - 1)]
    frame_lines = np.flatnonzero((firsts == _PIPE) & (ends > starts))
    stop = int(frame_lines[0]) if frame_lines.size else starts.size
    key = _find_key_line(chars, starts, ends, stop)
    if key is not None:
        layout = parse_key_line(system, *key)
    else:
        first = chars[starts[stop] : ends[stop]].tobytes() if frame_lines.size else None
        layout = _default_layout(system, default_dialect, first)
    template = layout.template()
    decoder = _Decoder(layout, system, frame_lines.size)
    line_starts = starts[frame_lines]
    lengths = ends[frame_lines] - line_starts
    same = np.flatnonzero(lengths == len(template))
    block = _gather(chars, line_starts[same], len(template))
    shaped = _shaped(block, np.frombuffer(template, np.uint8))
    if not shaped.all():
        block = block[shaped]
    decoder.block(block, same[shaped], frame_lines[same[shaped]] + 1)
    irregular = np.setdiff1d(np.arange(frame_lines.size), same[shaped], assume_unique=True)
    if irregular.size:
        reshape = _reshape_sr if layout.dialect == "stable-retro" else _reshape_bizhawk
        fixed = [
            reshape(chars[starts[i] : ends[i]].tobytes(), layout, template, int(i) + 1) for i in frame_lines[irregular]
        ]
        matrix = np.frombuffer(b"".join(fixed), np.uint8).reshape(len(fixed), len(template))
        decoder.block(matrix, irregular, frame_lines[irregular] + 1)
    return DecodedLog(layout, decoder.buttons, decoder.console)


def _shaped(block: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Rows whose ``|`` characters sit exactly where the template has them."""
    pipes = template == _PIPE
    shaped: np.ndarray = (block[:, pipes] == _PIPE).all(axis=1) & (block[:, ~pipes] != _PIPE).all(axis=1)
    return shaped


def encode(layout: Layout, buttons: np.ndarray, console: np.ndarray, console_names: tuple[str, ...]) -> bytes:
    """The whole ``Input Log.txt`` for ``buttons`` (and console controls) in ``layout``; LF, no final newline."""
    lines = np.tile(np.frombuffer(layout.template() + b"\n", np.uint8), (buttons.shape[0], 1))
    for column, offset in layout.offsets():
        if column.kind == "button":
            pressed = buttons[:, column.player, column.index]
        elif column.kind == "console" and layout.console_names[column.index] in console_names:
            pressed = console[:, console_names.index(layout.console_names[column.index])]
        else:
            continue
        lines[:, offset] = np.where(pressed != 0, np.uint8(ord(column.char)), np.uint8(_DOT))
    key = layout.key_line().encode("utf-8")
    return b"[Input]\n" + key + b"\n" + lines.tobytes() + b"[/Input]"
