"""Streaming .npz columns: what numpy reads back, in the foreground and in a background thread."""

from __future__ import annotations

import os
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
