"""Streaming `.npz` files: arrays written row by row, never whole in memory.

`numpy.savez_compressed` needs every array complete in memory and deflates
with zlib at ~0.8 GB/s; a long Genesis movie has gigabytes of frames. Here
each array is a `Column`: its `.npy` header (the row count is known up
front) and then its rows go through a raw-deflate stream into a part file
of its own, so any number of columns fill at once. `assemble` then writes
the `.npz` (a plain zip, ZIP64 so entries may pass 4 GiB) by copying the
already-compressed parts, and `numpy.load` reads it as usual.

A column made with `piece=True` is one stretch of an array (a segment of a
movie replayed in a process of its own): no header, and its stream ends
with a sync flush (byte-aligned, not final), so `join` makes the column of
the whole array from a header and the pieces, in order, by copying their
bytes and combining their CRCs, without inflating anything.

A column made with `background=True` deflates in a thread of its own
(ISA-L and zlib release the GIL), so the emulator and the compressor use
two cores; at most `BACKLOG` copies of written rows wait for it.

Deflate comes from ISA-L (the `isal` package, ~6 GB/s on game frames at a
better ratio than zlib level 1) and falls back to the standard zlib when
that package is missing: same bytes format, only slower.
"""

from __future__ import annotations

import contextlib
import io
import queue
import shutil
import struct
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from retrotool.errors import RetroToolError

try:
    from isal import isal_zlib as _deflate
except ImportError:  # no ISA-L wheel for this platform: zlib writes the same format
    import zlib as _deflate  # type: ignore[no-redef]

_LEVEL = 1  # the fastest level of either; game frames still shrink ~50-85x
BACKLOG = 2  # writes a background column may hold before `write` waits

_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01: fixed, so equal episodes give equal files
_MAX32 = 0xFFFFFFFF
_ZIP64 = 45  # "version needed": ZIP64 extensions


@dataclass(frozen=True, slots=True)
class Part:
    """A finished column: its entry name and where its compressed bytes are."""

    name: str
    path: Path
    crc: int
    compressed: int
    size: int


class Column:
    """One array of `rows` rows of shape `row_shape`, deflated into `path` as it comes."""

    def __init__(
        self, path: Path, name: str, dtype: np.dtype, rows: int, row_shape: tuple[int, ...], *,
        background: bool = False, piece: bool = False,
    ) -> None:
        self.name, self.path, self.dtype, self.piece = name, path, np.dtype(dtype), piece
        self.rows, self.row_shape = rows, tuple(row_shape)
        self.written = 0
        self._crc = 0
        self._size = 0
        self._compressed = 0
        self._deflate = _deflate.compressobj(_LEVEL, _deflate.DEFLATED, -15)
        self._file: IO[bytes] | None = open(path, "xb")  # noqa: SIM115 - closed by finish/abandon
        self._queue: queue.Queue[memoryview | bytes | None] | None = None
        self._failure: BaseException | None = None  # what the background writer met
        if background:
            self._queue = queue.Queue(maxsize=BACKLOG)
            self._thread = threading.Thread(target=self._drain, args=(self._queue,), name=f"npzip-{name}", daemon=True)
            self._thread.start()
        if not piece:
            self._send(npy_header(self.dtype, rows, self.row_shape))

    def write(self, rows: np.ndarray, *, owned: bool = False) -> None:
        """Append rows (shape [k, *row_shape]); more rows than declared is a bug upstream.

        The rows may be reused by the caller as soon as this returns, unless
        `owned`: C-contiguous rows of the column's type that nobody changes
        afterwards, queued as they are (no copy).
        """
        if rows.shape[1:] != self.row_shape or self.written + rows.shape[0] > self.rows:
            raise RetroToolError(
                f"column {self.name}: got rows {rows.shape} after {self.written} of "
                f"{self.rows} x {self.row_shape}; this is a retrotool bug, please report it"
            )
        background = self._queue is not None
        if owned and rows.dtype == self.dtype and rows.flags.c_contiguous:
            data = rows
        elif background:
            data = np.array(rows, self.dtype, order="C", copy=True)
        else:
            data = np.ascontiguousarray(rows, self.dtype)
        self._send(data.data)
        self.written += int(rows.shape[0])

    def _send(self, data: bytes | memoryview) -> None:
        if self._queue is None:
            self._feed(data)
            return
        self._raise_failure()
        self._queue.put(data)

    def _drain(self, queued: queue.Queue[memoryview | bytes | None]) -> None:
        """The background writer: feeds what `write` queued until told to stop (None).

        It keeps its own reference to the queue: after a `join` interrupted
        by a signal (SIGTERM in the middle of `_stop`), the next one was seen
        to return while this thread still ran, and `_stop` then drops
        `_queue` while this thread still takes the last items.
        """
        while (data := queued.get()) is not None:
            if self._failure is None:  # after a failure: keep taking, so `write` never blocks
                try:
                    self._feed(data)
                except BaseException as e:  # noqa: BLE001 - raised again in the writing thread
                    self._failure = e

    def _stop(self) -> None:
        """Wait for the background writer to finish what was queued."""
        if self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _feed(self, data: bytes | memoryview) -> None:
        assert self._file is not None, "write after finish"
        self._crc = _deflate.crc32(data, self._crc)
        self._size += len(data) if isinstance(data, bytes) else data.nbytes
        self._put(self._deflate.compress(data))

    def _put(self, out: bytes) -> None:
        if out and self._file is not None:
            self._file.write(out)
            self._compressed += len(out)

    def finish(self) -> Part:
        """Close the stream; every declared row must have come."""
        self._stop()
        self._raise_failure()
        if self.written != self.rows:
            raise RetroToolError(f"column {self.name}: {self.written} of {self.rows} rows written; a retrotool bug")
        self._put(self._deflate.flush(_deflate.Z_SYNC_FLUSH if self.piece else _deflate.Z_FINISH))
        assert self._file is not None
        self._file.close()
        self._file = None
        return Part(f"{self.name}.npy", self.path, self._crc & _MAX32, self._compressed, self._size)

    def abandon(self) -> None:
        """Stop and remove the column; never raises (it runs while an error, often a full disk, is on its way)."""
        self._stop()
        self._failure = None
        if self._file is not None:
            with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk: the bytes go anyway
                self._file.close()
            self._file = None
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


def npy_header(dtype: np.dtype, rows: int, row_shape: tuple[int, ...]) -> bytes:
    """The `.npy` header of an array of `rows` rows of `row_shape`."""
    header = io.BytesIO()
    spec = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (rows, *row_shape)}
    np.lib.format.write_array_header_1_0(header, spec)
    return header.getvalue()


_FINAL_BLOCK = b"\x03\x00"  # an empty, final, fixed-Huffman deflate block: ends a stream of sync-flushed pieces


def join(pieces: Sequence[Part], name: str, dtype: np.dtype, row_shape: tuple[int, ...], rows: int, path: Path) -> Part:
    """The column `name` (rows x row_shape of dtype) at `path`, from its pieces (`piece=True` columns) in order."""
    head = Column(path.with_name(path.name + ".head"), name, dtype, 0, (), piece=True)
    head._send(npy_header(np.dtype(dtype), rows, row_shape))
    first = head.finish()
    crc, size = first.crc, first.size
    with open(path, "xb") as out:
        for part in (first, *pieces):
            with open(part.path, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
        out.write(_FINAL_BLOCK)
    first.path.unlink()
    combine = getattr(_deflate, "crc32_combine", None)  # ISA-L has it; the standard zlib module does not
    for part in pieces:
        crc = combine(crc, part.crc, part.size) if combine is not None else 0
        size += part.size
    return Part(f"{name}.npy", path, (crc if combine is not None else _crc_of(path)) & _MAX32, path.stat().st_size,
                size)


def _crc_of(path: Path) -> int:
    """The CRC-32 of what a raw deflate file inflates to (streamed)."""
    inflate, crc = _deflate.decompressobj(-15), 0
    with open(path, "rb") as f:
        while block := f.read(1 << 16):  # deflate inflates at most ~1000x: memory stays bounded
            crc = _deflate.crc32(inflate.decompress(block), crc)
    return crc


def assemble(parts: Sequence[Part], out: IO[bytes]) -> None:
    """Write a zip (ZIP64, deflated entries) of the parts to `out`, copying their bytes."""
    central = []
    offset = 0
    for p in parts:
        name = p.name.encode()
        local_extra = struct.pack("<HHQQ", 1, 16, p.size, p.compressed)
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, _ZIP64, 0, 8, 0, _DOS_DATE, p.crc, _MAX32, _MAX32,
                              len(name), len(local_extra)) + name + local_extra)
        with open(p.path, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)
        extra = struct.pack("<HHQQQ", 1, 24, p.size, p.compressed, offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _ZIP64, _ZIP64, 0, 8, 0, _DOS_DATE, p.crc,
                                   _MAX32, _MAX32, len(name), len(extra), 0, 0, 0, 0o644 << 16, _MAX32)
                       + name + extra)
        offset += 30 + len(name) + len(local_extra) + p.compressed
    directory = b"".join(central)
    out.write(directory)
    n = len(parts)
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _ZIP64, _ZIP64, 0, 0, n, n, len(directory), offset))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, offset + len(directory), 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF), _MAX32, _MAX32, 0))


def header(npz: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one array of an .npz, without reading its data."""
    with zipfile.ZipFile(npz) as z, z.open(f"{name}.npy") as f:
        return _read_header(f)


def _read_header(f: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f)
    if fortran:
        raise RetroToolError("Fortran-ordered arrays are not read in chunks; this file was not written by retrotool")
    return tuple(shape), dtype


def chunks(npz: Path | zipfile.ZipFile, name: str, rows: int, first: int | None = None) -> Iterator[np.ndarray]:
    """The rows of one array of an .npz, `rows` at a time (`first` in the first chunk); memory stays flat.

    `npz` may be an open ZipFile (a reader of many columns opens the file once).
    """
    with contextlib.ExitStack() as stack:
        z = npz if isinstance(npz, zipfile.ZipFile) else stack.enter_context(zipfile.ZipFile(npz))
        f = stack.enter_context(z.open(f"{name}.npy"))
        shape, dtype = _read_header(f)
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        left = shape[0] if shape else 0
        size = first or rows
        while left > 0:
            k, size = min(size, left), rows
            data = f.read(k * row_bytes)
            yield np.frombuffer(data, dtype).reshape(k, *shape[1:])
            left -= k
