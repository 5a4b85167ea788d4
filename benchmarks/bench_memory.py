"""Peak memory of replaying a long movie: it must not grow with the movie's length.

Builds a movie of N frames (default 1,000,000) in a temporary folder, then in
a fresh child process reads and replays it headless (`retrotool playback`'s
job) and reports the child's peak RSS. With the `cores` extra it uses a
Genesis movie on Airstriker; otherwise the test core.

    python benchmarks/bench_memory.py [--frames N] [--testcore]
"""

from __future__ import annotations

import argparse
import gzip
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_replay import airstriker

from retrotool import movie as bk2, systems
from retrotool.record.sources import random_buttons

HERE = Path(__file__).resolve().parent

CHILD = """
import resource, sys, time
from pathlib import Path
from retrotool import playback
t0 = time.perf_counter()
result = playback.run(Path(sys.argv[1]), core=sys.argv[2], rom=Path(sys.argv[3]))
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{result.frames} {time.perf_counter() - t0:.1f} {peak_mib:.1f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--testcore", action="store_true", help="use the test core even if Airstriker is installed")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="retrotool-mem-"))
    try:
        found = None if args.testcore else airstriker()
        if found is None:
            system, core, rom, state = "Test", "retrotool_testcore", HERE.parent / "examples" / "testgame.tst", None
        else:
            core_path, rom, state_path = found
            system, core, state = "Genesis", str(core_path), gzip.decompress(state_path.read_bytes())
        buttons = random_buttons(systems.get(system), args.frames, 1, seed=3)
        path = workdir / "long.bk2"
        bk2.write(bk2.Movie(system=system, buttons=buttons, state=state), path)
        del buttons
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), core, str(rom)],
                              capture_output=True, text=True, check=True)
        frames, seconds, peak = proc.stdout.split()
        print(f"{system}: replayed {int(frames):,} frames in {float(seconds):.1f} s "
              f"(child wall {time.perf_counter() - t0:.1f} s); peak RSS {float(peak):.1f} MiB")
        print(f"(this process, which built the movie: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
