"""Time the RAM search on 10,000 frames x 64 KiB of RAM, under every type code at every address.

Not a test: run ``python benchmarks/bench_ram_search.py`` and read the table. Target: under 2 s for
the search's own work (the replay that hands it the frames is the core's time, measured apart with
``--movie``).

The frames come to the search's `RamRecorder` in batches, as the replay loop hands them (512 frames
of 64 KiB each: its 32 MiB batches), so nothing holds all 655 MB at once. Two kinds of RAM:

- game-like: a fixed random RAM in which 1 byte in 20 moves (counters that count, positions that
  drift, a few bytes of noise), the rest holds still;
- worst case: every byte random in every frame.

Timed: one pass over all the frames looking for changes (what `--changed` / `--unchanged` over the
whole movie read), then one step of each kind over the whole candidate set (every address under every
type: the 36 default codes and 8 mixed-endian / native ones): `--unchanged` over frames 0-9999,
`--increased` between frames 0 and 9999, `--equals` at frame 9999, and `show` of 50 candidates.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from retrotool.ram import codes, hunt
from retrotool.ram.layout import Layout, Region
from retrotool.ram.recorder import RamRecorder
from retrotool.ram.search import Condition, Evidence, Search, Source
from retrotool.sinks.contract import AvInfo, FrameBatch, ReplayInfo

FRAMES = 10_000
RAM = 64 * 1024
BATCH = 512
TYPES = codes.DEFAULT_TYPES + ("><u4", "<>u4", "><d4", "<>d4", "><i4", "=u2", ">=u4", "<=u4")


def _frames(kind: str, seed: int = 0) -> Iterator[np.ndarray]:
    """uint8 [<= BATCH, RAM] batches of consecutive frames."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, RAM, dtype=np.uint8)
    moving = np.flatnonzero(rng.random(RAM) < 0.05)
    step = rng.integers(1, 4, moving.size, dtype=np.uint8)
    for start in range(0, FRAMES, BATCH):
        n = min(BATCH, FRAMES - start)
        if kind == "worst":
            yield rng.integers(0, 256, (n, RAM), dtype=np.uint8)
            continue
        rows = np.broadcast_to(base, (n, RAM)).copy()
        t = np.arange(start, start + n, dtype=np.uint32)[:, None]
        rows[:, moving] = (base[moving] + (t * step // 7).astype(np.uint8))  # counters of several speeds
        yield rows


def _info() -> ReplayInfo:
    return ReplayInfo("Genesis", ("B",), FRAMES, 1, AvInfo(320, 224, 320, 224, 4 / 3, 60.0, 44100.0, 0),
                      "bench", "0", "0" * 40, RAM)


def run(kind: str) -> list[tuple[str, float]]:
    layout = Layout([Region(0xFF0000, RAM, True)])  # Genesis: words byte-swapped, as on x86
    times: list[tuple[str, float]] = []
    recorder = RamRecorder([0, FRAMES - 1], (0, FRAMES - 1), layout.order())
    recorder.open(_info())
    fed = 0.0
    start = 0
    for rows in _frames(kind):
        t = time.perf_counter()
        last = start + len(rows) - 1
        recorder.consume(FrameBatch(start=start, buttons=np.zeros((len(rows), 1, 1), np.uint8),
                                    masks=np.zeros((len(rows), 1), np.uint16),
                                    ram=rows[-1].tobytes() if last in (0, FRAMES - 1) else None, rams=rows))
        fed += time.perf_counter() - t
        start += len(rows)
    # frame 0's snapshot: the loop cuts a batch at a snapshot row; here the first batch's row 0 stands in for it
    recorded = recorder.close(None)
    recorded.rows[0] = next(_frames(kind))[0][layout.order()]
    times.append((f"{FRAMES:,} frames x 64 KiB through the recorder (changes over the span)", fed))
    evidence = Evidence(recorded.rows, recorded.changed)
    for condition in (Condition("unchanged", FRAMES - 1, since=0), Condition("increased", FRAMES - 1, since=0),
                      Condition("equals", FRAMES - 1, value=3)):
        search = Search.start(Source("bench", "0", FRAMES), layout, TYPES)
        t = time.perf_counter()
        try:
            search.narrow(condition, evidence)
        except Exception:  # noqa: BLE001 - an empty result is still a timed step
            pass
        times.append((f"{condition.describe()}, {len(TYPES)} types x 64 KiB", time.perf_counter() - t))
    t = time.perf_counter()
    search.candidates(recorded.rows, 50)
    times.append(("show: 50 candidates at 2 frames", time.perf_counter() - t))
    return times


def _movie(path: Path) -> None:
    """End to end on a real movie: start, then --unchanged over the whole movie (replay included)."""
    file = Path("/tmp/bench-ram-search.json")
    t = time.perf_counter()
    search = hunt.start(path, file=file, types=TYPES, force=True)
    started = time.perf_counter() - t
    t = time.perf_counter()
    done = hunt.narrow(file, {"unchanged": True}, since=0)
    print(f"{path.name}: {search.source.frames:,} frames, {search.layout.size:,} bytes of RAM, {len(TYPES)} types: "
          f"start {started:.2f} s, --unchanged over the whole movie {time.perf_counter() - t:.2f} s "
          f"(replay included), {done.before:,} -> {done.step.count:,} candidates")
    file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--movie", type=Path, help="also time a real movie end to end (e.g. examples/airstriker.bk2)")
    args = parser.parse_args()
    for kind in ("game-like", "worst"):
        times = run(kind)
        print(f"\n{kind} RAM")
        for label, seconds in times:
            print(f"  {label:<75} {seconds:6.3f} s")
        print(f"  {'total':<75} {sum(s for _, s in times):6.3f} s")
    if args.movie is not None:
        _movie(args.movie)


if __name__ == "__main__":
    main()
