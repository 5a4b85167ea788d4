"""``Input Log.txt`` ↔ button arrays, vectorised with numpy.

A long movie has a million frame lines (18-31 MB of text), so lines are never
handled one by one in the common case, and the text is not held whole when it
need not be. Logs as both writers make them (every frame line in the layout's
shape, one line ending) are decoded by :func:`decode_stream` while they are
inflated, block by block of ``uint8[rows, line length]`` character matrices
written straight into the output arrays. Everything else goes to :func:`decode`,
which indexes the whole text with numpy, decodes the lines that have exactly the
layout's shape as such matrices a block at a time, and first rewrites irregular
lines (old BizHawk ``||`` groups, axes wider than ``%5d``) into that shape one at
a time. Both share one decoder, so they agree on what a line means; only
:func:`decode` reports malformed lines, by number. :class:`EncodedLog` makes a
log piece by piece, so writing never holds the whole text either.

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
_GATHER_ROWS = 1 << 16  # lines per block when decode works through a whole text
_ENCODE_ROWS = 1 << 14  # frame lines per piece of an encoded log (a quarter to half a MiB of text)
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
    if text.startswith(_BOM):
        text = text[3:]
    if b"\r" in text:
        text = text.replace(b"\r", b"")
    if not text.endswith(b"\n"):
        text += b"\n"
    chars = np.frombuffer(text, np.uint8)
    ends = np.flatnonzero(chars == _NL)
    starts = np.concatenate(([0], ends[:-1] + 1))
    return chars, starts, ends


def _find_key_line(lines: Iterable[bytes]) -> tuple[str, int] | None:
    """The key line among the lines before the first frame, with its 1-based number."""
    for lineno, line in enumerate(lines, 1):
        if line in (b"", b"[Input]", b"[/Input]"):
            continue
        if not (line.startswith(b"LogKey:") or _SR_KEY.match(line)):
            expected = "expected a key line ('LogKey:#…' or 'P1 <button>|…') or a frame"
            raise _fail(lineno, f"{expected}, found {line[:60]!r}")
        try:
            return line.decode("utf-8"), lineno
        except UnicodeDecodeError as exc:
            raise _fail(lineno, f"the key line is not valid UTF-8 ({exc.reason})") from exc
    return None


def _layout(system: System, dialect: Dialect, head: Iterable[bytes], first_frame: bytes | None) -> Layout:
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


def _gather(chars: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Lines of equal ``width`` starting at ``starts`` as a ``[n, width]`` matrix (a view when contiguous)."""
    n = starts.size
    if n == 0:
        return np.zeros((0, width), np.uint8)
    if starts[-1] - starts[0] == (n - 1) * (width + 1) and np.all(np.diff(starts) == width + 1):
        return chars[starts[0] : starts[0] + n * (width + 1)].reshape(n, width + 1)[:, :width]
    gathered: np.ndarray = chars[starts[:, np.newaxis] + np.arange(width)]
    return gathered


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
    """Decodes character matrices shaped like the layout's template into the output arrays.

    ``capacity`` may be an upper bound on the frame count: np.zeros leaves pages the
    decoder never writes unallocated, so a loose bound costs address space, not memory.
    """

    def __init__(self, layout: Layout, system: System, capacity: int) -> None:
        self.layout = layout
        self.system = system
        self.buttons = np.zeros((capacity, layout.players, len(system.buttons)), np.uint8)
        self.console = np.zeros((capacity, len(layout.console_names)), np.uint8)
        self.lut = np.full(256, -2, np.int8)
        self.lut[_DOT] = -1
        for i, info in enumerate(system.button_info):
            self.lut[ord(info.sr_char)] = i

    def result(self, frames: int) -> DecodedLog:
        """The first ``frames`` rows; copied out only when most of a loose capacity went unused."""
        buttons, console = self.buttons[:frames], self.console[:frames]
        if 2 * frames < self.buttons.shape[0]:
            buttons, console = buttons.copy(), console.copy()
        return DecodedLog(self.layout, buttons, console)

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
        pressed = values != _DOT
        if not pressed.any():  # stable-retro's Reset and Power columns: leave those pages unwritten
            return
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
    head = (chars[starts[i] : ends[i]].tobytes() for i in range(stop))
    first = chars[starts[stop] : ends[stop]].tobytes() if frame_lines.size else None
    layout = _layout(system, default_dialect, head, first)
    template = layout.template()
    decoder = _Decoder(layout, system, frame_lines.size)
    line_starts = starts[frame_lines]
    same = np.flatnonzero(ends[frame_lines] - line_starts == len(template))
    shaped = np.zeros(same.size, bool)
    for lo in range(0, same.size, _GATHER_ROWS):  # a block at a time keeps the decoder's temporaries small
        rows = same[lo : lo + _GATHER_ROWS]
        block = _gather(chars, line_starts[rows], len(template))
        ok = shaped[lo : lo + rows.size] = _shaped(block, np.frombuffer(template, np.uint8))
        if not ok.all():
            block, rows = block[ok], rows[ok]
        decoder.block(block, rows, frame_lines[rows] + 1)
    irregular = np.setdiff1d(np.arange(frame_lines.size), same[shaped], assume_unique=True)
    if irregular.size:
        reshape = _reshape_sr if layout.dialect == "stable-retro" else _reshape_bizhawk
        fixed = [
            reshape(chars[starts[i] : ends[i]].tobytes(), layout, template, int(i) + 1) for i in frame_lines[irregular]
        ]
        matrix = np.frombuffer(b"".join(fixed), np.uint8).reshape(len(fixed), len(template))
        decoder.block(matrix, irregular, frame_lines[irregular] + 1)
    return decoder.result(frame_lines.size)


def _shaped(block: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Rows whose ``|`` characters sit exactly where the template has them."""
    shaped: np.ndarray = ((block == _PIPE) == (template == _PIPE)).all(axis=1)
    return shaped


def decode_stream(pieces: Iterable[bytes], size: int, system: System, default_dialect: Dialect) -> DecodedLog | None:
    """Decode a regular input log piece by piece as it is inflated; None when it is not regular.

    Regular is what both writers make: header lines, then frame lines that all have the
    layout's shape and one line ending (LF or CRLF), then at most a short tail such as
    ``[/Input]``. Anything else, every malformed log included, gives None without an
    error: the caller then hands the whole text to :func:`decode`, which reads every
    shape and names the offending line. ``size`` bounds the text's length (a zip
    entry's declared size) and sizes the output arrays, which are filled in place.
    """
    stream = iter(pieces)
    head = _take(stream, _HEAD_BYTES)
    found = _head_lines(head)
    if found is None:
        return None
    lines, start = found
    first = head[start : head.index(b"\n", start)]
    try:
        layout = _layout(system, default_dialect, lines, first.replace(b"\r", b""))
    except MovieFormatError:
        return None
    ending = b"\r\n" if first.endswith(b"\r") else b"\n"
    rows = _RegularRows(layout, ending)
    if len(first) + 1 != rows.stride:
        return None
    decoder = _Decoder(layout, system, (size - start + 1) // (rows.width + 1))
    lineno = len(lines) + 1
    frames, tail = rows.decode(decoder, head[start:], stream, lineno)
    if frames is None or len(tail) > _TAIL_BYTES:
        return None
    tail += _take(stream, _TAIL_BYTES + 1 - len(tail))
    if len(tail) > _TAIL_BYTES:
        return None
    extra = _tail_frames(tail, layout, decoder, frames, lineno + frames)
    return None if extra is None else decoder.result(frames + extra)


def _take(stream: Iterator[bytes], at_least: int) -> bytes:
    """Pieces joined until there are ``at_least`` bytes or the stream ends."""
    parts: list[bytes] = []
    total = 0
    for piece in stream:
        parts.append(piece)
        total += len(piece)
        if total >= at_least:
            break
    return b"".join(parts)


def _head_lines(head: bytes) -> tuple[list[bytes], int] | None:
    """The lines before the first frame line, '\\r' removed as :func:`decode` does, and where that line starts."""
    lines: list[bytes] = []
    pos = len(_BOM) if head.startswith(_BOM) else 0
    while (end := head.find(b"\n", pos, _HEAD_BYTES)) >= 0:
        line = head[pos:end]
        clean = line.replace(b"\r", b"")
        if clean.startswith(b"|"):
            return (lines, pos) if line.startswith(b"|") else None
        lines.append(clean)
        pos = end + 1
    return None


class _RegularRows:
    """Frame lines of one length and ending, checked and decoded a block of rows at a time."""

    def __init__(self, layout: Layout, ending: bytes) -> None:
        self.template = np.frombuffer(layout.template(), np.uint8)
        self.width = self.template.size
        self.stride = self.width + len(ending)
        self.ending = np.frombuffer(ending, np.uint8)
        # the decoder validates every column but loose console ones, which must not hide a line break
        self.loose = [o for c, o in layout.offsets() if c.kind == "console" and not c.strict]

    def decode(
        self, decoder: _Decoder, first: bytes, stream: Iterator[bytes], lineno: int
    ) -> tuple[int | None, bytes]:
        """Decode rows from ``first`` and then ``stream`` until one is not regular.

        Returns the frame count (None if the decoder refused a row) and the bytes from
        the first irregular row, or the incomplete last one, up to where reading stopped.
        """
        frames, carry = 0, b""
        for piece in itertools.chain((first,), stream):
            data = carry + piece
            n = len(data) // self.stride
            block = np.frombuffer(data, np.uint8, n * self.stride).reshape(n, self.stride)
            k = self._count(block)
            if frames + k > decoder.buttons.shape[0]:
                return None, b""
            try:
                span = np.arange(frames, frames + k)
                decoder.block(block[:k, : self.width], span, span + lineno)
            except MovieFormatError:
                return None, b""
            frames += k
            carry = data[k * self.stride :]
            if k < n:
                break
        return frames, carry

    def _count(self, block: np.ndarray) -> int:
        """How many leading rows of ``block`` are regular frame lines."""
        good = (block[:, self.width :] == self.ending).all(axis=1) & _shaped(block[:, : self.width], self.template)
        if self.loose:
            loose = block[:, self.loose]
            good &= ((loose != _NL) & (loose != _CR)).all(axis=1)
        return block.shape[0] if good.all() else int(np.argmin(good))


def _tail_frames(tail: bytes, layout: Layout, decoder: _Decoder, frames: int, lineno: int) -> int | None:
    """Decode the frame lines in the short tail after the regular rows (from line ``lineno`` on).

    The tail is read as :func:`decode` reads every line ('\\r' removed); None if one is not regular.
    """
    template = np.frombuffer(layout.template(), np.uint8)
    numbered = [(i, line) for i, line in enumerate(tail.replace(b"\r", b"").split(b"\n")) if line.startswith(b"|")]
    if not numbered:
        return 0
    if any(len(line) != template.size for _, line in numbered) or len(numbered) > decoder.buttons.shape[0] - frames:
        return None
    block = np.frombuffer(b"".join(line for _, line in numbered), np.uint8).reshape(len(numbered), template.size)
    if not _shaped(block, template).all():
        return None
    try:
        decoder.block(block, np.arange(frames, frames + len(numbered)), np.array([lineno + i for i, _ in numbered]))
    except MovieFormatError:
        return None
    return len(numbered)


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


_FOOTER = b"[/Input]"
