"""Dataset formats and the streaming loader: dump rates of --format npz / hf / lerobot, frames/s fed by iterate().

Dump: examples/airstriker.bk2 (10,800 frames, Genesis, RGB 320x224) to a
fresh folder, each run in a fresh process, rounds alternating, best round
kept; the rate is steps written over the wall time of `dump_dataset`
(building the hf / lerobot folder at the end included).

Loader: a dataset of the same movie at 84x84 grayscale (`--grayscale
--resize 84x84`), copied `--copies` times (so it is read from several
episodes, from disk), streamed by `retrotool.datasets.iterate` in shuffled
batches of 256, plain and with 4 stacked frames; frames per second.

    python benchmarks/bench_formats.py [--rounds 3] [--copies 10] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MOVIE = HERE.parent / "examples" / "airstriker.bk2"

DUMP = """
import json, sys, time
from pathlib import Path
from retrotool.datasets import dump
t = time.perf_counter()
result = dump.dump_dataset([Path(sys.argv[1])], Path(sys.argv[2]), fmt=sys.argv[3])
seconds = time.perf_counter() - t
assert not result.failed, result.failed[0].error
print(json.dumps({"steps": result.steps, "seconds": seconds}))
"""

LOAD = """
import json, sys, time
from retrotool import datasets
frames, t = 0, time.perf_counter()
for batch in datasets.iterate(sys.argv[1], batch=256, stack=int(sys.argv[2]), seed=0):
    frames += len(batch["action"])
print(json.dumps({"frames": frames, "seconds": time.perf_counter() - t}))
"""


def child(code: str, *args: object) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def small_dataset(work: Path, copies: int) -> Path:
    """The movie at 84x84 grayscale, its episode copied `copies` times into one dataset."""
    from retrotool.datasets import dump
    from retrotool.datasets.sink import DatasetOptions

    one = work / "one"
    dump.dump_dataset([MOVIE], one, options=DatasetOptions(grayscale=True, resize=(84, 84)))
    manifest = json.loads((one / "manifest.json").read_text())
    record = manifest["episodes"][0]
    for i in range(1, copies):
        shutil.copyfile(one / record["file"], one / f"copy{i}.npz")
        manifest["episodes"].append({**record, "file": f"copy{i}.npz", "movie_sha1": f"{i}"})
    (one / "manifest.json").write_text(json.dumps(manifest))
    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--report", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rt-formats-") as tmp:
        work = Path(tmp)
        for r in range(args.rounds):
            for fmt in ("npz", "hf", "lerobot"):
                out = work / f"{fmt}-{r}"
                res = child(DUMP, MOVIE, out, fmt)
                shutil.rmtree(out)
                best[f"dump --format {fmt}"] = max(best.get(f"dump --format {fmt}", 0), res["steps"] / res["seconds"])
        small = small_dataset(work, args.copies)
        for _ in range(args.rounds):
            for stack in (1, 4):
                res = child(LOAD, small, stack)
                label = f"iterate(batch=256{', stack=4' if stack == 4 else ''}), 84x84 gray, shuffled"
                best[label] = max(best.get(label, 0), res["frames"] / res["seconds"])
    npz = best["dump --format npz"]
    lines = ["| run | steps or frames / s | vs npz dump | target |", "| --- | ---: | ---: | --- |"]
    for label, rate in best.items():
        if label.startswith("dump"):
            target = "" if label.endswith("npz") else ("0.8x: met" if rate / npz >= 0.8 else "0.8x: not met")
            lines.append(f"| {label} | {rate:,.0f} | {rate / npz:.2f}x | {target} |")
        else:
            lines.append(f"| {label} | {rate:,.0f} | | 20,000: {'met' if rate >= 20000 else 'not met'} |")
    text = "\n".join(lines)
    print(text)
    if args.report:
        head = (f"\n## Dataset formats and the loader — {time.strftime('%Y-%m-%d %H:%M')} ({platform.machine()}, "
                f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load:.1f} at the start)\n\n"
                f"`python benchmarks/bench_formats.py --rounds {args.rounds} --copies {args.copies} --report` "
                f"(best of {args.rounds} alternating rounds, each in a fresh process; the loader reads "
                f"{args.copies} episodes of 10,799 steps from disk)\n\n")
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(head + text + "\n")


if __name__ == "__main__":
    main()
