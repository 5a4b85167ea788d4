"""``Input Log.txt`` → button arrays, read piece by piece as the entry inflates.

A long movie has a million frame lines (18-31 MB of text), so lines are never
handled one by one in the common case, and the text is never held whole. Logs as
both writers make them (every frame line in the layout's shape, one line ending) are
decoded by :func:`decode_stream` as ``uint8[rows, line length]`` matrices cut straight
from the inflated pieces. Everything else goes to :func:`decode_pieces`, which splits
the text into blocks of lines, indexes each block with numpy, decodes the lines that
have the layout's shape as matrices and rewrites the irregular ones into that shape.
Both share one decoder (logdecoder.py), so they agree on what a line means; only
:func:`decode_pieces` reports malformed lines, by number.

Analog axes (BizHawk GBA tilt and light sensor) are checked and then dropped: the
libretro cores retrotool drives take no analog input for these systems.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from retrotool.errors import MovieFormatError
from retrotool.movie.layout import Dialect, Layout
from retrotool.movie.logdecoder import (
    BOM,
    CR,
    LINE_LIMIT,
    NL,
    OTHER_LINES,
    PIPE,
    DecodedLog,
    Decoder,
    fail,
    find_layout,
    regularize,
    reshape_bizhawk,
    reshape_sr,
    shaped,
)
from retrotool.systems import System

__all__ = ["decode", "decode_pieces", "decode_stream"]

_BLOCK_BYTES = 1 << 18  # text per block of lines in decode_pieces: bounds its per-line index arrays
_HEAD_BYTES = 1 << 16  # decode_stream needs the first frame line to start within this many bytes
_HEAD_LINES = 16  # ... after at most this many lines
_TAIL_BYTES = 1 << 16  # ... and at most this much after the last regular one ("[/Input]", a final line)


@dataclass(frozen=True, slots=True)
class _Lines:
    """A block of whole lines: the text (each line ending in a newline), line offsets, the first line's number."""

    chars: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    first: int

    def line(self, i: int) -> bytes:
        return self.chars[self.starts[i] : self.ends[i]].tobytes()


def _blocks(pieces: Iterable[bytes]) -> Iterator[_Lines]:
    """Blocks of whole lines of at most ``_BLOCK_BYTES``, '\\r' removed and a leading BOM dropped.

    However the text is cut into pieces (one piece when it is held whole), the blocks
    are the same; a line longer than LINE_LIMIT is an error as soon as it is seen.
    """
    buffer, lineno, started = bytearray(), 1, False
    for piece in itertools.chain(pieces, (None,)):
        if piece is not None:
            buffer += piece.replace(b"\r", b"") if b"\r" in piece else piece
        if not started and (len(buffer) >= len(BOM) or piece is None):
            started = True
            if buffer.startswith(BOM):
                del buffer[: len(BOM)]
        while len(buffer) > _BLOCK_BYTES or (piece is None and buffer):
            cut = buffer.rfind(b"\n", 0, _BLOCK_BYTES) + 1
            if len(buffer) <= _BLOCK_BYTES:  # the end of the text
                if not buffer.endswith(b"\n"):
                    buffer += b"\n"
                cut = len(buffer)
            elif cut == 0:
                raise fail(lineno, f"longer than {LINE_LIMIT} bytes; no movie has such lines")
            block = _lines(bytes(memoryview(buffer)[:cut]), lineno)
            del buffer[:cut]
            lineno += block.starts.size
            yield block


def _lines(text: bytes, lineno: int) -> _Lines:
    """Index a block of whole lines starting at line ``lineno``."""
    chars = np.frombuffer(text, np.uint8)
    ends = np.flatnonzero(chars == NL)
    block = _Lines(chars, np.concatenate(([0], ends[:-1] + 1)), ends, lineno)
    too_long = np.flatnonzero(block.ends - block.starts > LINE_LIMIT)
    if too_long.size:
        raise fail(lineno + int(too_long[0]), f"longer than {LINE_LIMIT} bytes; no movie has such lines")
    return block


class _Reader:
    """The state of :func:`decode_pieces` between blocks: the layout once known, frames and other lines so far."""

    def __init__(self, system: System, dialect: Dialect) -> None:
        self.system, self.dialect = system, dialect
        self.head: list[bytes] = []  # lines before the first frame, kept up to the key line
        self.key_seen = False
        self.decoder: Decoder | None = None
        self.template = b""
        self.frames = self.others = 0

    def feed(self, block: _Lines) -> None:
        firsts = block.chars[block.starts]
        is_frame = (firsts == PIPE) & (block.ends > block.starts)
        frame_lines = np.flatnonzero(is_frame)
        self._count_others(block, is_frame)
        if self.decoder is None:
            stop = int(frame_lines[0]) if frame_lines.size else block.starts.size
            self._keep_head(block, stop)
            if not frame_lines.size:
                return
            self._start(block.line(stop))
        self._frames(block, frame_lines)

    def _count_others(self, block: _Lines, is_frame: np.ndarray) -> None:
        """Lines that are not frames cost time but hold nothing: beyond OTHER_LINES, one per frame at most."""
        others = np.cumsum(~is_frame)
        excess = self.others + others - self.frames - (np.arange(1, is_frame.size + 1) - others) > OTHER_LINES
        if excess.any():
            at = int(np.argmax(excess))
            raise fail(block.first + at, f"{self.others + int(others[at])} lines so far are not frames, more than "
                       f"{OTHER_LINES} beyond one per frame; is this a movie's input log?")
        self.others += int(others[-1])

    def _keep_head(self, block: _Lines, stop: int) -> None:
        """Lines before the first frame up to the key line (later ones are ignored, as before)."""
        for i in range(stop):
            if self.key_seen:
                return
            line = block.line(i)
            self.head.append(line)
            self.key_seen = line not in (b"", b"[Input]", b"[/Input]")

    def _start(self, first_frame: bytes | None) -> None:
        layout = find_layout(self.system, self.dialect, self.head, first_frame)
        self.decoder = Decoder(layout, self.system)
        self.template = layout.template()

    def _frames(self, block: _Lines, frame_lines: np.ndarray) -> None:
        """Decode a block's frame lines: a matrix per common line length, the rest one line at a time."""
        assert self.decoder is not None
        starts = block.starts[frame_lines]
        lengths = block.ends[frame_lines] - starts
        numbers = np.arange(self.frames, self.frames + frame_lines.size)
        linenos = block.first + frame_lines
        pending = np.arange(frame_lines.size)
        for length in _common(lengths, len(self.template)):
            group = pending[lengths[pending] == length]
            ok, rows = regularize(block.chars[starts[group, np.newaxis] + np.arange(length)], self.decoder.layout)
            self.decoder.block(rows, numbers[group[ok]], linenos[group[ok]])
            pending = np.setdiff1d(pending, group[ok], assume_unique=True)
        if pending.size:
            reshape = reshape_sr if self.decoder.layout.dialect == "stable-retro" else reshape_bizhawk
            fixed = [
                reshape(block.line(int(frame_lines[i])), self.decoder.layout, self.template, int(linenos[i]))
                for i in pending
            ]
            rows = np.frombuffer(b"".join(fixed), np.uint8).reshape(len(fixed), len(self.template))
            self.decoder.block(rows, numbers[pending], linenos[pending])
        self.frames += frame_lines.size

    def result(self) -> DecodedLog:
        if self.decoder is None:
            self._start(None)
        assert self.decoder is not None
        return self.decoder.result(self.frames)


def _common(lengths: np.ndarray, width: int, most: int = 4) -> list[int]:
    """The template's width, then the ``most`` commonest other line lengths (decoded as matrices)."""
    values, counts = np.unique(lengths, return_counts=True)
    others = [int(v) for v in values[np.argsort(-counts, kind="stable")] if v != width]
    return [width, *others[:most]]


def decode_pieces(pieces: Iterable[bytes], system: System, default_dialect: Dialect) -> DecodedLog:
    """Parse an input log of any shape given in pieces; ``default_dialect`` applies only without a key line."""
    reader = _Reader(system, default_dialect)
    for block in _blocks(pieces):
        reader.feed(block)
    return reader.result()


def decode(text: bytes, system: System, default_dialect: Dialect) -> DecodedLog:
    """Parse a whole input log held in memory (see :func:`decode_pieces`)."""
    return decode_pieces((text,), system, default_dialect)


def decode_stream(pieces: Iterable[bytes], size: int, system: System, default_dialect: Dialect) -> DecodedLog | None:
    """Decode a regular input log piece by piece as it is inflated; None when it is not regular.

    Regular is what both writers make: header lines, then frame lines that all have the
    layout's shape and one line ending (LF or CRLF), then at most a short tail such as
    ``[/Input]``. Anything else, every malformed log included, gives None without an
    error: the caller then hands the text to :func:`decode_pieces`, which reads every
    shape and names the offending line. ``size`` bounds the text's length (a zip
    entry's declared size, which may lie, but only upwards).
    """
    stream = iter(pieces)
    head = _take(stream, _HEAD_BYTES)
    found = _head_lines(head)
    if found is None:
        return None
    lines, start = found
    first = head[start : head.index(b"\n", start)]
    try:
        layout = find_layout(system, default_dialect, lines, first.replace(b"\r", b""))
    except MovieFormatError:
        return None
    ending = b"\r\n" if first.endswith(b"\r") else b"\n"
    rows = _RegularRows(layout, ending)
    if len(first) + 1 != rows.stride:
        return None
    decoder = Decoder(layout, system, (size - start + 1) // rows.stride + 1)  # exact unless the size lies
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
    """The lines before the first frame line, '\\r' removed as :func:`decode` does, and where that line starts.

    The writers put two lines there; a log with more than ``_HEAD_LINES`` is not regular.
    """
    lines: list[bytes] = []
    pos = len(BOM) if head.startswith(BOM) else 0
    while len(lines) <= _HEAD_LINES and (end := head.find(b"\n", pos, _HEAD_BYTES)) >= 0:
        line = head[pos:end]
        if len(line) > LINE_LIMIT:
            return None
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

    def decode(self, decoder: Decoder, first: bytes, stream: Iterator[bytes], lineno: int) -> tuple[int | None, bytes]:
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
        good = (block[:, self.width :] == self.ending).all(axis=1) & shaped(block[:, : self.width], self.template)
        if self.loose:
            loose = block[:, self.loose]
            good &= ((loose != NL) & (loose != CR)).all(axis=1)
        return block.shape[0] if good.all() else int(np.argmin(good))


def _tail_frames(tail: bytes, layout: Layout, decoder: Decoder, frames: int, lineno: int) -> int | None:
    """Decode the frame lines in the short tail after the regular rows (from line ``lineno`` on).

    The tail is read as :func:`decode` reads every line ('\\r' removed); None if one is not regular.
    """
    template = np.frombuffer(layout.template(), np.uint8)
    numbered = [(i, line) for i, line in enumerate(tail.replace(b"\r", b"").split(b"\n")) if line.startswith(b"|")]
    if not numbered:
        return 0
    if any(len(line) != template.size for _, line in numbered):
        return None
    block = np.frombuffer(b"".join(line for _, line in numbered), np.uint8).reshape(len(numbered), template.size)
    if not shaped(block, template).all():
        return None
    try:
        decoder.block(block, np.arange(frames, frames + len(numbered)), np.array([lineno + i for i, _ in numbered]))
    except MovieFormatError:
        return None
    return len(numbered)
