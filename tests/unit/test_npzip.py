"""Streaming .npz columns: what numpy reads back, in the foreground and in a background thread."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from retrotool.datasets import npzip


def _episode(tmp_path: Path, background: bool, rows: np.ndarray) -> Path:
    column = npzip.Column(tmp_path / "a.part", "a", np.dtype(np.uint8), len(rows), rows.shape[1:], background=background)
    buffer = np.empty_like(rows[:7])
    for i in range(0, len(rows), 7):  # the caller reuses its buffer, as the emulator does
        chunk = rows[i : i + 7]
        buffer[: len(chunk)] = chunk
        column.write(buffer[: len(chunk)])
        buffer[:] = 0
    part = column.finish()
    out = tmp_path / f"{background}.npz"
    with open(out, "wb") as f:
        npzip.assemble([part], f)
    return out


@pytest.mark.parametrize("background", [False, True])
def test_columns_read_back_as_written(tmp_path: Path, background: bool) -> None:
    rows = np.random.default_rng(1).integers(0, 4, (100, 24, 32, 3), dtype=np.uint8)
    with np.load(_episode(tmp_path, background, rows)) as z:
        assert np.array_equal(z["a"], rows)
    assert list(npzip.chunks(tmp_path / f"{background}.npz", "a", 30, first=31))[1].shape == (30, 24, 32, 3)


def test_a_background_failure_is_raised_in_the_writer_and_abandon_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: npzip.Column, data: bytes) -> None:
        raise OSError(28, os.strerror(28))

    column = npzip.Column(tmp_path / "a.part", "a", np.dtype(np.uint8), 4096, (64,), background=True)
    monkeypatch.setattr(npzip.Column, "_put", full)
    with pytest.raises(OSError, match="No space left"):
        for _ in range(4096):  # the failure surfaces at a later write (or at finish)
            column.write(np.ones((1, 64), np.uint8) * 7)
        column.finish()
    column.abandon()
    assert not (tmp_path / "a.part").exists()


@pytest.mark.parametrize("background", [False, True])
def test_abandon_never_raises_when_the_disk_is_still_full(tmp_path: Path, background: bool) -> None:
    """Closing flushes what the file buffers, which meets the full disk again: abandon goes on and removes the part."""
    column = npzip.Column(tmp_path / "a.part", "a", np.dtype(np.uint8), 10, (4,), background=background)

    class Full:
        def close(self) -> None:
            raise OSError(28, os.strerror(28))

    real, column._file = column._file, Full()  # type: ignore[assignment]
    assert real is not None
    real.close()
    column.abandon()
    assert not (tmp_path / "a.part").exists()


@pytest.mark.parametrize("deflate", ["isal", "zlib"])
def test_pieces_joined_read_back_as_the_whole_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    deflate: str) -> None:
    """A column made of pieces (one per segment of a replay), joined without inflating: numpy reads the whole,
    its CRC checked by zipfile; with the standard zlib (no crc32_combine) the CRC is measured instead."""
    if deflate == "zlib":
        import zlib

        monkeypatch.setattr(npzip, "_deflate", zlib)
    rows = np.random.default_rng(2).integers(0, 3, (61, 5, 3), dtype=np.int64)
    pieces = []
    for i, (a, b) in enumerate([(0, 0), (0, 20), (20, 21), (21, 61)]):  # an empty piece too
        piece = npzip.Column(tmp_path / f"{i}.part", "a", rows.dtype, b - a, (5, 3), background=i == 1, piece=True)
        piece.write(rows[a:b])
        pieces.append(piece.finish())
    whole = npzip.join(pieces, "a", rows.dtype, (5, 3), len(rows), tmp_path / "a.whole")
    out = tmp_path / "joined.npz"
    with open(out, "wb") as f:
        npzip.assemble([whole], f)
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None  # every entry's CRC
    with np.load(out) as z:
        assert z["a"].dtype == rows.dtype and np.array_equal(z["a"], rows)
