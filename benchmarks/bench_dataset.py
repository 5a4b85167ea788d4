"""dump-dataset speed and memory, side by side with a plain C loop and stable-retro.

On the Airstriker movie (examples/airstriker.bk2, or a recorded random one),
alternating rounds, each run in a fresh child process, frames per second of:

- the plain C loop with frame capture (`c_loop --video`: RGB24 of every frame, no output);
- `dump.dump_dataset` (what `retrotool dump-dataset` runs) writing the npz episode, with
  the game's rewards and RAM variables for every frame, and without (the movie's GameName
  removed, so no integration is looked up);
- stable-retro producing the same arrays: `retro.Movie` + `env.step`, appending each
  observation and reward (render_mode=None). Its observations are checked to equal ours.

Then the peak RSS (VmHWM) of dumping a 100,000-frame movie, and 4 movies with `--workers 1` vs 2
(alternating rounds, best of each).

    python benchmarks/bench_dataset.py [--rounds 2] [--long 100000] [--report]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_replay import airstriker, build_c_loop

from retrotool import movie as bk2, systems
from retrotool.record.sources import random_buttons

HERE = Path(__file__).resolve().parent

DUMP = """
import json, sys, time
from pathlib import Path
from retrotool.datasets import dump
movies, out, workers, rom = json.loads(sys.argv[1])
t0 = time.perf_counter()
r = dump.dump_dataset([Path(m) for m in movies], Path(out), workers=workers, rom=Path(rom) if rom else None)
seconds = time.perf_counter() - t0
assert not r.failed, r.failed[0].error
frames = sum(o.record["steps"] + 1 for o in r.outcomes)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"frames": frames, "seconds": seconds, "rss_mib": int(hwm.split()[1]) / 1024}))
"""

STABLE_RETRO = """
import hashlib, json, sys, time
import numpy as np
import stable_retro as retro
m = retro.Movie(sys.argv[1])
m.step()
env = retro.make(game=m.get_game(), state=retro.State.NONE, use_restricted_actions=retro.Actions.ALL,
                 players=m.players, render_mode=None)
env.initial_state = m.get_state()
t0 = time.perf_counter()
obs, _ = env.reset()  # runs row 0 with no input: our first observation
observations, actions, rewards = [obs], [], []
while m.step():
    keys = [m.get_key(i, p) for p in range(m.players) for i in range(env.num_buttons)]
    obs, reward, terminated, truncated, info = env.step(keys)
    observations.append(obs); actions.append(keys); rewards.append(reward)
seconds = time.perf_counter() - t0
stacked = np.stack(observations)
print(json.dumps({"frames": len(observations), "seconds": seconds, "obs_sha256": hashlib.sha256(stacked.tobytes()).hexdigest(),
                  "return": float(sum(rewards))}))
"""


def child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=HERE)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def dump_run(movies: list[Path], out: Path, workers: int = 1, rom: Path | None = None) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    return child(DUMP, json.dumps([[str(m) for m in movies], str(out), workers, str(rom) if rom else None]))


def c_loop_video(exe: Path, core: Path, rom: Path, state: Path, masks: np.ndarray, workdir: Path) -> dict:
    buttons = workdir / "buttons.u16"
    np.ascontiguousarray(masks, np.uint16).tofile(buttons)
    args = [str(exe), str(core), str(rom), str(state), str(buttons), str(masks.shape[1]), "--video"]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def genesis_movie(path: Path, frames: int, seed: int, state: bytes, game: str = "Airstriker-Genesis-v0") -> Path:
    buttons = random_buttons(systems.get("Genesis"), frames, 1, seed=seed)
    buttons[0] = 0  # stable-retro's row 0 is its reset frame
    bk2.write(bk2.Movie(system="Genesis", buttons=buttons, state=state, header=(("GameName", game),)), path)
    return path


def without_game(movie: Path, out: Path) -> Path:
    """The same movie naming no game: no integration, so no rewards or infos to evaluate."""
    m = bk2.read(movie)
    header = tuple((k, "?" if k == "GameName" else v) for k, v in m.header)
    bk2.write(bk2.Movie(system=m.system, buttons=m.buttons, state=m.state, header=header), out)
    return out


def ours_matches(out: Path, reference: dict) -> bool:
    from retrotool import datasets

    (ep,) = datasets.load(out)
    same_obs = hashlib.sha256(np.ascontiguousarray(ep.observations).tobytes()).hexdigest() == reference["obs_sha256"]
    return same_obs and float(ep.rewards.sum()) == reference["return"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--long", type=int, default=100_000, help="frames of the memory run")
    parser.add_argument("--report", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    found = airstriker()
    if found is None:
        raise SystemExit("needs Airstriker: pip install '.[cores]'")
    core, rom, state_path = found
    state = gzip.decompress(state_path.read_bytes())
    work = Path(tempfile.mkdtemp(prefix="retrotool-bench-dataset-"))
    try:
        exe = build_c_loop(work)
        (work / "level1.raw").write_bytes(state)
        example = HERE.parent / "examples" / "airstriker.bk2"
        movie = example if example.is_file() else genesis_movie(work / "air.bk2", 10_800, 1, state)
        parsed = bk2.read(movie)
        raw_state = work / "start.raw"
        raw_state.write_bytes(parsed.state or state)
        plain = without_game(movie, work / "air-nogame.bk2")
        best: dict[str, float] = {}
        reference: dict = {}
        for _ in range(args.rounds):
            runs = {
                "C loop --video": lambda: c_loop_video(exe, core, rom, raw_state, parsed.masks(), work),
                "dump-dataset (rewards + infos)": lambda: dump_run([movie], work / "ds"),
                "dump-dataset (no integration)": lambda: dump_run([plain], work / "ds-plain", rom=rom),
                "stable-retro Movie + env.step": lambda: child(STABLE_RETRO, str(movie)),
            }
            for label, fn in runs.items():
                got = fn()
                if label.startswith("stable-retro"):
                    reference = got
                best[label] = max(best.get(label, 0.0), got["frames"] / got["seconds"])
        same = ours_matches(work / "ds", reference)
        base, peer = best["C loop --video"], best["stable-retro Movie + env.step"]
        rows = [(k, v, v / base, v / peer) for k, v in best.items()]
        print(f"\nAirstriker, {parsed.frames} frames, best of {args.rounds} rounds; same arrays as stable-retro: {same}")
        for label, fps, vs_c, vs_peer in rows:
            print(f"  {label:<34} {fps:>8,.0f} fps  {vs_c:5.2f}x C loop  {vs_peer:5.2f}x stable-retro")
        long_movie = genesis_movie(work / "long.bk2", args.long, 3, state)
        long_run = dump_run([long_movie], work / "ds-long")
        print(f"\n{args.long:,}-frame movie: {long_run['frames'] / long_run['seconds']:,.0f} fps, peak RSS {long_run['rss_mib']:.0f} MiB")
        many = [genesis_movie(work / f"w{i}.bk2", 10_000, 10 + i, state) for i in range(4)]
        ones, twos = [], []
        for _ in range(args.rounds):  # alternating, best of each: one busy moment of the machine skews a single pair
            ones.append(dump_run(many, work / "ds-w1", workers=1))
            twos.append(dump_run(many, work / "ds-w2", workers=2))
        one, two = min(ones, key=lambda r: r["seconds"]), min(twos, key=lambda r: r["seconds"])
        scale = one["seconds"] / two["seconds"]
        print(f"\n4 movies x 10,000 frames: --workers 1 {one['seconds']:.1f} s, --workers 2 {two['seconds']:.1f} s: "
              f"{scale:.2f}x (best of {args.rounds})")
        if args.report:
            report(args, parsed.frames, rows, same, long_run, one, two)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(args: argparse.Namespace, frames: int, rows: list, same: bool, long_run: dict, one: dict, two: dict) -> None:
    when = time.strftime("%Y-%m-%d %H:%M")
    cpus = os.cpu_count()
    lines = [
        f"\n## Dataset dump — {when} ({platform.machine()}, {cpus} CPUs, Python {platform.python_version()})\n",
        f"`python benchmarks/bench_dataset.py --rounds {args.rounds} --long {args.long} --report`\n",
        f"Airstriker (Genesis, genesis_plus_gx), {frames:,}-frame movie to an npz episode (RGB observations), "
        f"best of {args.rounds} rounds, each in a fresh process; loop time without interpreter start-up. "
        f"Observations and return identical to stable-retro's: {'yes' if same else 'NO'}.\n",
        "| run | fps | vs C loop --video | vs stable-retro |", "| --- | ---: | ---: | ---: |",
        *[f"| {label} | {fps:,.0f} | {vs_c:.2f}x | {vs_peer:.2f}x |" for label, fps, vs_c, vs_peer in rows],
        "",
        f"Memory: a {args.long:,}-frame movie dumped at {long_run['frames'] / long_run['seconds']:,.0f} fps "
        f"with peak RSS {long_run['rss_mib']:.0f} MiB.",
        f"Workers: 4 movies x 10,000 frames, `--workers 1` {one['seconds']:.1f} s, `--workers 2` {two['seconds']:.1f} s "
        f"({one['seconds'] / two['seconds']:.2f}x) on {cpus} CPUs, best of {args.rounds}.\n",
    ]
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
