"""Gymnasium envs: `retrotool.make` / `make_vec` against stable-retro's `retro.make`, steps per second.

Airstriker (Genesis, genesis_plus_gx, Level1), the same scripted actions
(MultiBinary, stable-retro's default FILTERED mode), an episode reset when
one ends; every run in a fresh child process, the runs of a round one after
another, rounds alternating, best round kept. Single envs are timed in
process CPU time (the machine is shared: wall time would count other jobs),
vector envs (many processes) in wall time.

- single: `env.step` (one frame, RGB observation, reward and info), ours and stable-retro's;
- skip4: ours with `frameskip=4` against stable-retro under a 4-frame-skip wrapper (rewards summed);
- vec: `make_vec(8, mode="async")` against 8 stable-retro envs in `gymnasium.vector.AsyncVectorEnv`
  (a process each, as SubprocVecEnv; ours: a worker process per CPU), ours again pinned to one core (there one
  worker of eight envs, as make_vec picks one worker per CPU it may use), and
  `make_vec(8, mode="sync")` against 8 of our single envs stepped in a loop.

    python benchmarks/bench_env.py [--steps 3000] [--rounds 3] [--only single,skip4,vec] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GAME = "Airstriker-Genesis-v0"

ACTIONS = """
import numpy as np
def actions(steps):
    a = np.zeros((steps, 12), np.uint8)
    i = np.arange(steps)
    a[:, 0] = (i // 7) % 2          # B: fire
    a[:, 6] = (i // 30) % 2         # LEFT
    a[:, 7] = 1 - (i // 30) % 2     # RIGHT
    return a
"""

SINGLE = ACTIONS + """
import json, sys, time
which, steps, skip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if which == "retrotool":
    import retrotool
    env = retrotool.make("%(game)s", frameskip=skip)
else:
    import gymnasium, stable_retro
    env = stable_retro.make("%(game)s", render_mode=None)
    if skip > 1:
        class FrameSkip(gymnasium.Wrapper):
            def step(self, action):
                total = 0.0
                for _ in range(skip):
                    obs, reward, terminated, truncated, info = self.env.step(action)
                    total += reward
                    if terminated or truncated:
                        break
                return obs, total, terminated, truncated, info
        env = FrameSkip(env)
env.reset(seed=0)
acts = actions(steps)
cpu, wall = time.process_time(), time.perf_counter()
for a in acts:
    obs, reward, terminated, truncated, info = env.step(a)
    if terminated or truncated:
        env.reset()
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
env.close()
print(json.dumps({"steps": steps, "cpu": cpu, "wall": wall}))
""" % {"game": GAME}

VECTOR = ACTIONS + """
import json, os, sys, time
which, steps, n, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if sys.argv[5] == "1":
    os.sched_setaffinity(0, {0})  # this process and every process it starts: one core
if which == "retrotool" and mode == "loop":
    import retrotool
    envs = [retrotool.make("%(game)s") for _ in range(n)]
    for e in envs:
        e.reset(seed=0)
    def step(batch):
        for e, a in zip(envs, batch):
            _, _, terminated, truncated, _ = e.step(a)
            if terminated or truncated:
                e.reset()
    close = lambda: [e.close() for e in envs]
else:
    if which == "retrotool":
        import retrotool
        vec = retrotool.make_vec("%(game)s", n, mode=mode)
    else:
        import gymnasium, stable_retro
        vec = gymnasium.vector.AsyncVectorEnv([lambda: stable_retro.make("%(game)s", render_mode=None)] * n,
                                              autoreset_mode=gymnasium.vector.AutoresetMode.NEXT_STEP)
    vec.reset(seed=0)
    step, close = vec.step, vec.close
acts = actions(steps)
batch = np.repeat(acts[:, None, :], n, axis=1)
wall = time.perf_counter()
for b in batch:
    step(b)
wall = time.perf_counter() - wall
close()
print(json.dumps({"steps": steps * n, "wall": wall}))
""" % {"game": GAME}


def child(code: str, *args: object) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=HERE,
                          timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def runs(steps: int, only: set[str]) -> dict[str, tuple[str, object]]:
    """label -> (clock, thunk returning the result)."""
    table: dict[str, tuple[str, object]] = {}
    if "single" in only:
        table["retrotool env.step"] = ("cpu", lambda: child(SINGLE, "retrotool", steps, 1))
        table["stable-retro env.step"] = ("cpu", lambda: child(SINGLE, "stable-retro", steps, 1))
    if "skip4" in only:
        table["retrotool frameskip=4"] = ("cpu", lambda: child(SINGLE, "retrotool", steps // 4, 4))
        table["stable-retro 4-frame-skip wrapper"] = ("cpu", lambda: child(SINGLE, "stable-retro", steps // 4, 4))
    if "vec" in only:
        per_env = max(steps // 8, 50)
        table["retrotool make_vec(8, async)"] = ("wall", lambda: child(VECTOR, "retrotool", per_env, 8, "async", 0))
        table["stable-retro 8 envs, AsyncVectorEnv"] = ("wall", lambda: child(VECTOR, "stable-retro", per_env, 8,
                                                                             "async", 0))
        table["retrotool make_vec(8, async), one core"] = ("wall", lambda: child(VECTOR, "retrotool", per_env, 8,
                                                                                "async", 1))
        table["retrotool make_vec(8, sync)"] = ("wall", lambda: child(VECTOR, "retrotool", per_env, 8, "sync", 0))
        table["retrotool 8 envs in a loop"] = ("wall", lambda: child(VECTOR, "retrotool", per_env, 8, "loop", 0))
    return table


RATIOS = [  # (label, against, target)
    ("retrotool env.step", "stable-retro env.step", 1.0),
    ("retrotool frameskip=4", "stable-retro 4-frame-skip wrapper", 1.1),
    ("retrotool make_vec(8, async)", "stable-retro 8 envs, AsyncVectorEnv", 1.0),
    ("retrotool make_vec(8, async)", "retrotool make_vec(8, async), one core", 1.8),
    ("retrotool make_vec(8, sync)", "retrotool 8 envs in a loop", 0.95),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="frames of the single env (vector: steps // 8 per env)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="single,skip4,vec")
    parser.add_argument("--report", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    table = runs(args.steps, set(args.only.split(",")))
    best: dict[str, float] = {}
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        for label, (clock, thunk) in table.items():
            r = thunk()  # type: ignore[operator]
            best[label] = max(best.get(label, 0.0), r["steps"] / r[clock])
    lines = [f"| {label} | {rate:,.0f} | {table[label][0]} |" for label, rate in best.items()]
    ratios = [f"| {a} / {b} | {best[a] / best[b]:.2f}x | {t}x | {'met' if best[a] / best[b] >= t else 'not met'} |"
              for a, b, t in RATIOS if a in best and b in best]
    text = "\n".join(["| run | steps/s | clock |", "| --- | ---: | --- |", *lines, "",
                      "| ratio | measured | target | |", "| --- | ---: | ---: | --- |", *ratios])
    print(text)
    if args.report:
        head = (f"\n## Gymnasium envs — {time.strftime('%Y-%m-%d %H:%M')} ({platform.machine()}, {os.cpu_count()} CPUs, "
                f"Python {platform.python_version()}, load average {load:.1f} at the start)\n\n"
                f"`python benchmarks/bench_env.py --steps {args.steps} --rounds {args.rounds} --only {args.only} "
                f"--report` (best of {args.rounds} alternating rounds, each run in a fresh process)\n\n")
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(head + text + "\n")


if __name__ == "__main__":
    main()
