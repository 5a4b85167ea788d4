"""Keyframes: one long Airstriker movie replayed on 1 and 2 processes, seeking, and what keyframes cost.

The movie is scripted (random input from the Level1 state, stable-retro's
convention) and recorded by `retrotool record`, so it carries keyframes and
checkpoints every 600 rows. Each command runs as a user runs it, in a fresh
process, `--jobs 1` and `--jobs 2` alternately for `--rounds` rounds; the
best wall time of each counts and the ratio is what matters: `verify`,
`playback --trace`, `dump-dataset` (84x84 grayscale, 4-frame skip), an MP4
render, and the same render of a copy without keyframes (indexed on the fly
by a replay running ahead). `--ray` also runs `verify --executor ray` on a
local Ray cluster started with 1 and then 2 worker CPUs. The recording cost
of keyframes is measured in this process: the same replay feeding a movie
builder that takes a state every 600 rows, and one that takes none.

    python benchmarks/bench_keyframes.py [--minutes 60] [--rounds 2] [--mp4-minutes 60] [--ray]
        [--only verify,trace,dump,mp4,ray,seek,cost] [--movie long.bk2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from retrotool import movie as bk2, segments, session
from retrotool.movie import keyframes
from retrotool.record.builder import MovieBuilder
from retrotool.replay import ArraySource, replay

GAME = "Airstriker-Genesis-v0"
PARTS = ("verify", "trace", "dump", "mp4", "ray", "seek", "cost")


def run(*args: str, cwd: Path) -> float:
    """Wall seconds of `retrotool ARGS` in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "retrotool", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"retrotool {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def ray_workers(work: Path, rounds: int) -> dict[str, float]:
    """`verify --executor ray --jobs 2` (6 segments) on a local cluster of 1 worker CPU, then 2."""
    ray = shutil.which("ray") or str(Path(sys.executable).parent / "ray")
    best: dict[str, float] = {}
    for cpus in (1, 2):
        subprocess.run([ray, "start", "--head", "--num-cpus", str(cpus), "--include-dashboard", "false"],
                       check=True, capture_output=True)
        try:
            for _ in range(rounds):
                seconds = run("verify", "long.bk2", "--jobs", "2", "--executor", "ray", "--address", "auto", cwd=work)
                best[f"{cpus} worker(s)"] = min(best.get(f"{cpus} worker(s)", float("inf")), seconds)
        finally:
            subprocess.run([ray, "stop", "--force"], check=True, capture_output=True)
    return best


def best_of(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(rounds):
        for label, fn in runs.items():
            best[label] = min(best.get(label, float("inf")), fn())
    return best


def report(title: str, best: dict[str, float]) -> None:
    base = next(iter(best.values()))
    print(f"\n{title}")
    for label, seconds in best.items():
        print(f"  {label:<22} {seconds:8.2f} s   {base / seconds:5.2f}x")


def recording_cost(movie: bk2.Movie, path: Path, rounds: int) -> dict[str, float]:
    """Frames per second of a replay feeding a movie builder, with keyframes every 600 rows and without."""
    content = session.movie_content(movie, path)

    def once(every: int) -> float:
        builder = MovieBuilder(movie.state, content.name, "", 600, keyframe_every=every)
        with session.open_session(content, players=movie.players) as emulator:
            t0 = time.perf_counter()
            replay(emulator, ArraySource(movie.buttons), [builder], reset_row=True)
            return movie.frames / (time.perf_counter() - t0)

    fps: dict[str, float] = {}
    for _ in range(rounds):
        for label, every in (("no keyframes", movie.frames + 1), ("keyframes every 600", 600)):
            fps[label] = max(fps.get(label, 0.0), once(every))
    return fps


def seek_seconds(movie: bk2.Movie, path: Path, row: int) -> float:
    """Seconds until an emulator stands before `row` (the keyframe's state loaded, the rows after it run)."""
    content = session.movie_content(movie, path)
    t0 = time.perf_counter()
    with segments.open_at(content, movie, row, segments.plan(movie, 1, start=row)[0].keyframe):
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="Length of the movie in game minutes.")
    parser.add_argument("--mp4-minutes", type=float, default=60.0, help="Length of the MP4 render (0: none).")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="Also verify on a local Ray cluster of 1 and 2 CPUs.")
    parser.add_argument("--only", default=",".join(PARTS), help=f"Comma-separated parts to run, of: {','.join(PARTS)}.")
    parser.add_argument("--movie", type=Path, help="Use this movie (made by an earlier run) instead of recording one.")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not args.ray:
        only.discard("ray")
    work = Path(tempfile.mkdtemp(prefix="retrotool-bench-kf-"))
    path = work / "long.bk2"
    if args.movie is not None:
        shutil.copyfile(args.movie, path)
        t = float("nan")
    else:
        t = run("record", "--game", GAME, "--random", "--seed", "1", "--frames", str(int(args.minutes * 3600)),
                "-o", "long.bk2", cwd=work)
    movie = bk2.read(path)
    frames = movie.frames
    kf = keyframes.of(movie)
    assert kf is not None, "retrotool record writes keyframes"
    print(f"movie: {frames:,} frames ({frames / 3600:g} min), recorded in {t:.1f} s; {len(kf)} keyframes, "
          f"{len(kf.blob) / 1e6:.2f} MB ({len(kf.blob) / len(kf) / 1e3:.2f} KB each; states of {kf.state_size:,} B); "
          f"movie file {path.stat().st_size / 1e6:.2f} MB")
    for part, command, extra in (("verify", "verify", ()), ("trace", "playback", ("--trace", "t.jsonl", "--force"))):
        if part not in only:
            continue
        report(f"{command} {' '.join(extra)}", best_of(args.rounds, {
            f"--jobs {j}": (lambda j=j: run(command, "long.bk2", *extra, "--jobs", str(j), cwd=work)) for j in (1, 2)
        }))
    if "dump" in only:
        report("dump-dataset --resize 84x84 --grayscale --frame-skip 4", best_of(args.rounds, {
            f"--jobs {j}": (lambda j=j: run("dump-dataset", "long.bk2", "-o", "ds", "--resize", "84x84", "--grayscale",
                                            "--frame-skip", "4", "--force", "--jobs", str(j), cwd=work)) for j in (1, 2)
        }))
    if args.mp4_minutes and "mp4" in only:
        end = str(int(args.mp4_minutes * 3600))
        bk2.write(keyframes.with_keyframes(movie, None), work / "bare.bk2")
        report(f"playback --mp4 ({args.mp4_minutes:g} min)", best_of(args.rounds, {
            f"{name} --jobs {j}": (lambda j=j, name=name: run("playback", name, "--mp4", "o.mp4", "--end", end,
                                                               "--force", "--jobs", str(j), cwd=work))
            for name, j in (("long.bk2", 1), ("long.bk2", 2), ("bare.bk2", 2))
        }))
    if "ray" in only:
        report("verify --jobs 2 --executor ray (6 segments as Ray tasks)", ray_workers(work, args.rounds))
    row = min(200_000, frames - 1)
    if "seek" in only:
        print(f"\nseek to row {row:,}: {seek_seconds(movie, path, row):.3f} s in process; "
              f"`playback --png-dir --start {row} --end {row + 1}`: "
              f"{run('playback', 'long.bk2', '--png-dir', 'one', '--start', str(row), '--end', str(row + 1), '--no-audio', '--force', cwd=work):.2f} s wall")
    if "cost" in only:
        fps = recording_cost(movie, path, args.rounds)
        base = fps["no keyframes"]
        print("\nrecording (replay + movie builder), best of rounds:")
        for label, value in fps.items():
            print(f"  {label:<22} {value:10,.0f} fps   {value / base:5.3f}x")


if __name__ == "__main__":
    main()
