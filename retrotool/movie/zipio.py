"""The zip container of a .bk2, read defensively and written atomically.

Movies come from strangers, so reading must fail with a MovieFormatError, never
with whatever zipfile, zlib or zstandard raise, and never by running out of
memory: every entry is read against a size cap on the bytes actually inflated.
"""

from __future__ import annotations

import io
import lzma
import os
import struct
import zipfile
import zlib
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from retrotool.errors import MovieFormatError

__all__ = [
    "Archive",
    "Pieces",
    "ZipEntry",
    "open_archive",
    "write_zip",
    "zstd_compress",
    "zstd_decompress",
]

MiB = 1 << 20
MAX_ENTRIES = 4096
# Exceptions zipfile and the decompressors raise on damaged archives.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    IndexError,
    KeyError,
    OverflowError,
)
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_PIECE = 1024  # compressed bytes per step: bounds the output of one step to ~32 MiB
PIECE = MiB // 4  # inflated bytes per step when an entry is read piece by piece
_EPOCH = (1980, 1, 1, 0, 0, 0)
# deflate level: 3 costs a third of the default 6 on a million-line log, for ~25% more bytes
DEFLATE_LEVEL = 3


class Pieces(Protocol):
    """Entry data made piece by piece (a long input log), its total length known before the first piece."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[bytes]: ...


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One entry to write: stored (for zstd lumps, as BizHawk does) or deflated."""

    name: str
    data: bytes | Pieces
    stored: bool = False


class Archive:
    """An open zip whose entries are read with size caps; names are as in the file."""

    def __init__(self, zf: zipfile.ZipFile, label: str) -> None:
        self._zf = zf
        self.label = label
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise MovieFormatError(f"{label}: {len(infos)} zip entries is too many for a movie")
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            self._infos.setdefault(info.filename, info)  # first occurrence wins

    @property
    def names(self) -> tuple[str, ...]:
        """Entry names in archive order, duplicates removed."""
        return tuple(self._infos)

    def size(self, name: str) -> int:
        """The inflated size ``name`` declares; zipfile never yields more than that."""
        return self._infos[name].file_size

    def read(self, name: str, limit: int) -> bytes:
        """The inflated bytes of ``name``, refusing more than ``limit`` bytes.

        Pieces are gathered in a BytesIO, whose ``getvalue`` hands over its buffer
        without a copy: a large entry costs its size once, not twice (as a join would).
        """
        buffer = io.BytesIO()
        for piece in self.pieces(name, limit):
            buffer.write(piece)
        return buffer.getvalue()

    def pieces(self, name: str, limit: int) -> Generator[bytes, None, None]:
        """The inflated bytes of ``name`` in pieces of at most ``PIECE`` bytes, refusing more than ``limit``.

        Inflating piece by piece lets a long input log be decoded without ever holding its whole text.
        """
        info = self._infos[name]
        where = f"{self.label}: entry {name!r}"
        if info.file_size > limit:
            raise MovieFormatError(f"{where} inflates to {info.file_size} bytes, over the {limit} byte limit")
        total = 0
        try:
            with self._zf.open(info) as stream:
                while piece := stream.read(PIECE):
                    total += len(piece)
                    if total > limit:
                        raise MovieFormatError(f"{where} inflates to more than the {limit} byte limit")
                    yield piece
        except _ZIP_ERRORS as exc:
            raise MovieFormatError(f"{where} is damaged: {exc}") from exc


@contextmanager
def open_archive(source: str | os.PathLike[str] | bytes, label: str) -> Iterator[Archive]:
    """Open a path or bytes as a zip; anything that is not a readable zip is a MovieFormatError."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
    except FileNotFoundError as exc:
        raise MovieFormatError(f"{label}: no such file") from exc
    except _ZIP_ERRORS as exc:
        raise MovieFormatError(f"{label} is not a .bk2 movie (not a readable zip archive: {exc})") from exc
    with zf:
        yield Archive(zf, label)


def _zstandard(purpose: str):  # type: ignore[no-untyped-def]  # the module, imported lazily
    try:
        import zstandard
    except ImportError as exc:
        raise MovieFormatError(f"{purpose} needs the 'zstandard' package: pip install zstandard") from exc
    return zstandard


def zstd_decompress(data: bytes, limit: int, where: str) -> bytes:
    """Decode a BizHawk zstd lump (one frame), refusing more than ``limit`` bytes of output.

    Input is fed in small pieces so that even a maximally compressed bomb cannot
    produce more than a few MiB past the limit before it is noticed.
    """
    if not data.startswith(_ZSTD_MAGIC):
        raise MovieFormatError(f"{where} should be zstd-compressed but does not start with a zstd frame")
    zstd = _zstandard(f"reading {where}")
    decoder = zstd.ZstdDecompressor().decompressobj()
    chunks: list[bytes] = []
    total = 0
    try:
        for pos in range(0, len(data), _ZSTD_PIECE):
            chunk = decoder.decompress(data[pos : pos + _ZSTD_PIECE])
            total += len(chunk)
            if total > limit:
                raise MovieFormatError(f"{where} decompresses to more than the {limit} byte limit")
            chunks.append(chunk)
            if decoder.eof:
                break
    except zstd.ZstdError as exc:
        raise MovieFormatError(f"{where} is not valid zstd data: {exc}") from exc
    if not decoder.eof:
        raise MovieFormatError(f"{where} is not valid zstd data: the frame is truncated")
    return b"".join(chunks)


def zstd_compress(data: bytes) -> bytes:
    """Wrap a binary lump in zstd, as BizHawk's zip version 1.0.2 expects."""
    zstd = _zstandard("writing a BizHawk binary lump")
    result: bytes = zstd.ZstdCompressor(level=3).compress(data)
    return result


def write_zip(entries: list[ZipEntry], into: BinaryIO) -> None:
    """Write a zip of ``entries``, in order, to the seekable ``into``.

    Timestamps are fixed so equal movies give equal bytes. The zip goes straight to
    ``into`` (the temp file, when a movie is written), so it is never held whole in memory.
    """
    with zipfile.ZipFile(into, "w") as zf:
        for entry in entries:
            _write_entry(zf, entry)


def _write_entry(zf: zipfile.ZipFile, entry: ZipEntry) -> None:
    """What ``writestr`` does, but fed piece by piece, so the bytes are the same either way."""
    info = zipfile.ZipInfo(entry.name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_STORED if entry.stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.file_size = len(entry.data)  # known up front, so zip64 is chosen exactly as writestr would
    # writestr's compresslevel argument sets only this attribute (public as compress_level from 3.13 on)
    info._compresslevel = None if entry.stored else DEFLATE_LEVEL  # type: ignore[attr-defined]
    with zf.open(info, "w") as dest:
        for piece in (entry.data,) if isinstance(entry.data, bytes) else entry.data:
            dest.write(piece)
