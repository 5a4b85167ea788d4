"""Time the .bk2 codec on a 1,000,000-frame one-player Genesis movie with random buttons.

Not a test: run ``python benchmarks/bench_movie.py`` and read the table. Targets on a
developer machine: each step under one second.
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from retrotool import movie

FRAMES = 1_000_000
T = TypeVar("T")


def _timed(label: str, rows: list[tuple[str, float]], step: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = step()
    rows.append((label, time.perf_counter() - start))
    return result


def main() -> None:
    """Build the movie, run every step once, print seconds per step."""
    rng = np.random.default_rng(0)
    buttons = rng.integers(0, 2, size=(FRAMES, 1, 12), dtype=np.uint8)
    original = movie.Movie(system="Genesis", buttons=buttons, state=bytes(1_036_288))
    rows: list[tuple[str, float]] = []
    for dialect in ("stable-retro", "bizhawk"):
        subject = original if dialect == "stable-retro" else original.replace(state=None)
        data = _timed(f"to_bytes ({dialect})", rows, functools.partial(movie.to_bytes, subject, dialect))
        back = _timed(f"from_bytes ({dialect})", rows, functools.partial(movie.from_bytes, data))
        if back.replace(header=subject.header) != subject:
            raise SystemExit(f"round trip failed in the {dialect} dialect")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.bk2"
        _timed("write (file, stable-retro)", rows, lambda: movie.write(original, path))
        _timed("read (file)", rows, lambda: movie.read(path))
        size = path.stat().st_size
    print(f"{FRAMES:,} frames, 1 player, Genesis; file {size / 1e6:.1f} MB")
    print(f"{'step':<30} {'seconds':>8}")
    for label, seconds in rows:
        print(f"{label:<30} {seconds:>8.3f}")


if __name__ == "__main__":
    main()
