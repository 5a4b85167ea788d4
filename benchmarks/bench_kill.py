"""Kill every writing command at random moments, many times, and report what was left.

The scenarios and the checks are those of `tests/e2e/killing.py` (the test
suite runs a few kills of each): record --random, playback --mp4, playback
--trace, dump-dataset (3 movies, 2 workers) and import, on the test core.
Each command is stopped `--kills` times (SIGKILL and SIGTERM in turn, at a
moment drawn uniformly from start-up to the end of a whole run); after each
kill nothing may be under the final name unless complete, and after SIGTERM
nothing under a temporary name either; one last whole run in the same folder
must leave no temporary.

    python benchmarks/bench_kill.py [--kills 40] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from killing import hunt, scenarios  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=40, help="signals per command (half SIGKILL, half SIGTERM)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} ({platform.machine()}, Python {platform.python_version()})")
    print("| command | whole run (s) | SIGKILL | SIGTERM | ended first | complete output after | "
          "SIGKILL runs leaving temporaries | tracebacks after SIGKILL | problems |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-kill-") as tmp:
        for scenario in scenarios(Path(tmp)):
            folder = Path(tmp) / ("import" if scenario.name == "import" else scenario.name.replace(" ", "_"))
            t = hunt(scenario, folder, args.kills, args.seed)
            problems = "; ".join(t.problems)[:300] or "none"
            failed |= bool(t.problems)
            print(f"| `{scenario.name}` | {t.whole_run:.2f} | {t.kills['SIGKILL']} | {t.kills['SIGTERM']} | "
                  f"{t.finished_first} | {t.complete_outputs} | {t.left_after_kill} | {t.sigkill_tracebacks} | {problems} |", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
