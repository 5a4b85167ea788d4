"""An agent's loop: one frame per call, recording a movie, against stable-retro's env.step.

Airstriker (Genesis, genesis_plus_gx, Level1), the same scripted buttons for
N steps, alternating rounds, each in a fresh child process; steps per second of:

- `retrotool.Recorder.step` (picture, reward, done and info after every step;
  the movie journaled and written at the end, not verified);
- stable-retro `env.step` with `record=` (it writes a .bk2 too; render_mode=None);
- both without recording: our `Emulator.step` + `screen()`, and stable-retro
  without `record=`.

    python benchmarks/bench_agent.py [--steps 3000] [--rounds 3] [--report]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

PRESSES = "[[(i // 7) % 2, 0, 0, 0, 0, 0, (i // 30) % 2, 1 - (i // 30) % 2, 0, 0, 0, 0] for i in range(steps)]"

OURS = f"""
import json, sys, time
from pathlib import Path
from retrotool import Recorder
steps, out = int(sys.argv[1]), Path(sys.argv[2])
presses = {PRESSES}
with Recorder(game="Airstriker-Genesis-v0", out=out / "ours.bk2", verify=False) as rec:
    t0 = time.perf_counter()
    for row in presses:
        rec.step(row)
        rec.reward, rec.done, rec.info
    seconds = time.perf_counter() - t0
print(json.dumps({{"steps": steps, "seconds": seconds}}))
"""

OURS_PLAIN = f"""
import json, sys, time
import numpy as np
from retrotool import cores, games, systems
from retrotool.emulator import Emulator
steps = int(sys.argv[1])
presses = {PRESSES}
game = games.find("Airstriker-Genesis-v0")
system = game.system
masks = system.masks(np.array(presses, np.uint8)[:, None, :])
with Emulator(cores.for_system(system).path, game.rom(), ports=1) as emu:
    emu.set_state(game.state(None))
    t0 = time.perf_counter()
    for mask in masks:
        emu.step(mask)
        emu.screen()
    seconds = time.perf_counter() - t0
print(json.dumps({{"steps": steps, "seconds": seconds}}))
"""

STABLE_RETRO = f"""
import json, sys, time
import numpy as np
import stable_retro as retro
steps, out, record = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
presses = np.array({PRESSES}, np.uint8)
env = retro.make("Airstriker-Genesis-v0", state="Level1", render_mode=None, use_restricted_actions=retro.Actions.ALL,
                 record=out if record else False)
env.reset(seed=0)
t0 = time.perf_counter()
for row in presses:
    env.step(row)
seconds = time.perf_counter() - t0
env.close()
print(json.dumps({{"steps": steps, "seconds": seconds}}))
"""


def child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=HERE)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    runs = {
        "retrotool Recorder.step (records)": lambda work: child(OURS, str(args.steps), work),
        "stable-retro env.step, record=": lambda work: child(STABLE_RETRO, str(args.steps), work, "1"),
        "retrotool Emulator.step + screen()": lambda work: child(OURS_PLAIN, str(args.steps)),
        "stable-retro env.step": lambda work: child(STABLE_RETRO, str(args.steps), work, "0"),
    }
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for label, run in runs.items():
            with tempfile.TemporaryDirectory(prefix="rt-agent-") as work:
                r = run(work)
            best[label] = max(best.get(label, 0.0), r["steps"] / r["seconds"])
    rows = [
        (label, rate, rate / best["stable-retro env.step, record=" if "record" in label else "stable-retro env.step"])
        for label, rate in best.items()
    ]
    for label, rate, ratio in rows:
        print(f"  {label:40s} {rate:8,.0f} steps/s   {ratio:.2f}x stable-retro")
    if args.report:
        lines = [
            f"\n## Agent stepping — {time.strftime('%Y-%m-%d %H:%M')} ({platform.machine()}, Python "
            f"{platform.python_version()})\n",
            f"`python benchmarks/bench_agent.py --steps {args.steps} --rounds {args.rounds} --report`\n",
            f"Airstriker, {args.steps:,} steps of one frame each, best of {args.rounds} alternating rounds, each run in "
            "a fresh process.\n",
            "| run | steps/s | vs stable-retro doing the same |", "| --- | ---: | ---: |",
            *[f"| {label} | {rate:,.0f} | {ratio:.2f}x |" for label, rate, ratio in rows], "",
        ]
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n".join(lines))


if __name__ == "__main__":
    main()
