"""Headless replay speed: retrotool against a plain C loop over the same core and movie.

Both run in this one process run, alternately, several rounds, so machine
noise hits both alike; the ratio is what counts. When the `cores` extra is
installed, Airstriker (Genesis, genesis_plus_gx, Level1 state) is measured
too, along with stable-retro replaying the same movie (`retro.Movie` +
`env.step`, the way its playback script does).

    python benchmarks/bench_replay.py [--frames N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from retrotool import movie as bk2, native, systems
from retrotool.emulator import Emulator
from retrotool.record.sources import random_buttons
from retrotool.replay import ArraySource, replay
from retrotool.session import load_start

HERE = Path(__file__).resolve().parent


def build_c_loop(workdir: Path) -> Path:
    exe = workdir / "c_loop"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / "c_loop.c"), "-ldl"], check=True)
    return exe


def c_loop(exe: Path, core: Path, rom: Path, state: Path | None, masks: np.ndarray, workdir: Path) -> float:
    """Frames per second of the plain C loop (its own timer, loop only)."""
    buttons = workdir / "buttons.u16"
    np.ascontiguousarray(masks, np.uint16).tofile(buttons)
    args = [str(exe), str(core), str(rom), str(state) if state else "-", str(buttons), str(masks.shape[1])]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["fps"])


def retrotool_replay(core: Path, rom: Path, state: bytes | None, movie: bk2.Movie) -> float:
    """Frames per second of retrotool's replay loop (emulator already loaded, loop only)."""
    with Emulator(core, rom, system=systems.get(movie.system), ports=movie.players) as emu:
        load_start(emu, state)
        t0 = time.perf_counter()
        replay(emu, ArraySource(movie.buttons), [], reset_row=True)
        return movie.frames / (time.perf_counter() - t0)


def stable_retro_replay(movie_path: Path, frames: int) -> float:
    """stable-retro replaying the movie through retro.Movie + env.step (in a child process)."""
    code = f"""
import time, stable_retro as retro
m = retro.Movie({str(movie_path)!r})
m.step()
env = retro.make(game=m.get_game(), state=retro.State.NONE, use_restricted_actions=retro.Actions.ALL, players=m.players, render_mode=None)
env.initial_state = m.get_state()
env.reset()
n = 0
t0 = time.perf_counter()
while m.step():
    keys = [m.get_key(i, p) for p in range(m.players) for i in range(env.num_buttons)]
    env.step(keys)
    n += 1
print(n / (time.perf_counter() - t0))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def airstriker() -> tuple[Path, Path, Path] | None:
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    game = root / "data" / "stable" / "Airstriker-Genesis-v0"
    core = root / "cores" / "genesis_plus_gx_libretro.so"
    if not (game / "rom.md").is_file() or not core.is_file():
        return None
    return core, game / "rom.md", game / "Level1.state"


def measure(name: str, rounds: int, runs: dict[str, callable]) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(rounds):
        for label, fn in runs.items():
            best[label] = max(best.get(label, 0.0), fn())
    base = best["C loop"]
    print(f"\n{name}")
    for label, fps in best.items():
        print(f"  {label:<28} {fps:>12,.0f} fps   {fps / base:5.2f}x the C loop")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="retrotool-bench-"))
    try:
        exe = build_c_loop(workdir)
        test = systems.get("Test")
        rom = HERE.parent / "examples" / "testgame.tst"
        core = native.native_library_path("_testcore")
        frames = args.frames * 10  # the test core is ~100x faster than a real core
        movie = bk2.Movie(system="Test", buttons=random_buttons(test, frames, 2, seed=1))
        measure(f"test core, {frames} frames, 2 players", args.rounds, {
            "C loop": lambda: c_loop(exe, core, rom, None, movie.masks(), workdir),
            "retrotool replay": lambda: retrotool_replay(core, rom, None, movie),
        })
        found = airstriker()
        if found is None:
            print("\nAirstriker: skipped (pip install 'retrotool[cores]')")
            return
        gcore, grom, gstate = found
        state = gzip.decompress(gstate.read_bytes())
        raw_state = workdir / "level1.raw"
        raw_state.write_bytes(state)
        genesis = systems.get("Genesis")
        buttons = random_buttons(genesis, args.frames, 1, seed=2)
        buttons[0] = 0  # stable-retro's row 0 is its reset frame
        gmovie = bk2.Movie(system="Genesis", buttons=buttons, state=state,
                           header=(("GameName", "Airstriker-Genesis-v0"),))
        movie_path = workdir / "air.bk2"
        bk2.write(gmovie, movie_path)
        measure(f"Airstriker (genesis_plus_gx), {args.frames} frames", args.rounds, {
            "C loop": lambda: c_loop(exe, gcore, grom, raw_state, gmovie.masks(), workdir),
            "retrotool replay": lambda: retrotool_replay(gcore, grom, state, gmovie),
            "stable-retro Movie+env.step": lambda: stable_retro_replay(movie_path, args.frames),
        })
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
