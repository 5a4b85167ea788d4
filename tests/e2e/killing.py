"""Kill a writing command at a random moment, many times, and check what it leaves.

Shared by `test_kill_writers.py` (a few kills per command) and
`benchmarks/bench_kill.py` (many, with a report). Each `Scenario` prepares a
folder (test core and test game only), runs one retrotool command there,
and says whether its output is complete. `hunt` runs it once whole (to time
it), then again and again, each time stopped by SIGKILL or SIGTERM at a
moment drawn uniformly from start-up to the end of a whole run, and checks
after each:

- nothing exists under the final name unless it is complete;
- after SIGTERM (handled like Ctrl-C) no temporary is left at all;
- no process of the command outlives it for long.

Then one last run, not stopped, in the same folder: afterwards no temporary
may be left (a run sweeps what killed runs left).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ROM = ROOT / "examples" / "testgame.tst"


@dataclass
class Scenario:
    name: str
    args: list[str]  # retrotool's arguments, run in the folder
    prepare: Callable[[Path], None]
    complete: Callable[[Path], str | None]  # None when what is under the final names is complete, else why not
    outputs: list[str]  # the final names (removed before every other run, so a new one is seen)
    leftovers: Callable[[Path], list[str]] = lambda folder: temporaries(folder)  # what a killed run may leave
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Tally:
    """What the kills of one scenario found."""

    scenario: str
    kills: dict[str, int] = field(default_factory=lambda: {"SIGKILL": 0, "SIGTERM": 0})
    finished_first: int = 0  # the run ended before the signal came
    complete_outputs: int = 0  # kills after which the final output existed (and was complete)
    left_after_kill: int = 0  # SIGKILL runs that left temporaries (the next run sweeps them)
    sigkill_tracebacks: int = 0  # SIGKILL runs after which a process it had started printed a traceback
    problems: list[str] = field(default_factory=list)  # every broken promise, described
    whole_run: float = 0.0  # seconds of a run not stopped


def temporaries(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*.tmp-*"))


def _session(sid: int) -> list[int]:
    """Live processes of a session (the command and what it started)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.getsid(int(proc.name)) == sid and "Z" not in (proc / "stat").read_text().rsplit(")", 1)[1][:3]:
                found.append(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
    return found


def _start(scenario: Scenario, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **scenario.env}
    return subprocess.Popen([sys.executable, "-m", "retrotool", *scenario.args], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _end(proc: subprocess.Popen[bytes], tally: Tally, what: str) -> bytes:
    """Wait for the command and everything it started."""
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        tally.problems.append(f"{what}: still running 120 s later")
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
    deadline = time.monotonic() + 30
    while _session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = _session(proc.pid)
    if left:
        tally.problems.append(f"{what}: processes {left} outlived the command by 30 s")
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    return stderr


def hunt(scenario: Scenario, folder: Path, kills: int, seed: int = 0) -> Tally:
    """`kills` runs stopped at random moments (SIGKILL and SIGTERM in turn), then one whole run."""
    tally = Tally(scenario.name)
    folder.mkdir(parents=True, exist_ok=True)
    scenario.prepare(folder)
    for _ in range(2):  # the shorter of two: the first may pay for cold caches
        t0 = time.monotonic()
        stderr = _end(_start(scenario, folder), tally, "a whole run")
        tally.whole_run = min(tally.whole_run or float("inf"), time.monotonic() - t0)
    if scenario.complete(folder) is not None or scenario.leftovers(folder):
        tally.problems.append(f"a whole run failed: {stderr.decode()[-500:]} {scenario.complete(folder)}")
        return tally
    rng = random.Random(seed)
    for k in range(3 * kills):  # until `kills` signals reached a running command (some runs finish first)
        if sum(tally.kills.values()) >= kills:
            break
        sig = (signal.SIGKILL, signal.SIGTERM)[sum(tally.kills.values()) % 2]
        _kill_once(scenario, folder, tally, sig, rng.uniform(0, tally.whole_run * 1.05), k)
    stderr = _end(_start(scenario, folder), tally, "the last run")
    if scenario.complete(folder) is not None:
        tally.problems.append(f"the last run: {scenario.complete(folder)} {stderr.decode()[-300:]}")
    if scenario.leftovers(folder):
        tally.problems.append(f"left after the next run: {scenario.leftovers(folder)}")
    return tally


def _kill_once(scenario: Scenario, folder: Path, tally: Tally, sig: signal.Signals, delay: float, k: int) -> None:
    if k % 4 < 2:  # half the runs write anew, half replace a complete output (--force)
        for name in scenario.outputs:
            path = folder / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    before = set(scenario.leftovers(folder))  # what earlier killed runs left: this run may not get to sweep it
    proc = _start(scenario, folder)
    time.sleep(delay)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(sig)  # to the command only, as `kill PID` (or a scheduler) does
        tally.kills[sig.name] += 1
    else:
        tally.finished_first += 1
    what = f"run {k} ({sig.name} after {delay:.2f} s)"
    t0 = time.monotonic()
    stderr = _end(proc, tally, what).decode()
    what += f", ended {time.monotonic() - t0:.2f} s later"
    if "Traceback" in stderr and (sig == signal.SIGTERM or finished):
        tally.problems.append(f"{what}: a traceback: {stderr[-400:]}")
    elif "Traceback" in stderr:  # a worker starting up when its parent vanished: nothing is promised after kill -9
        tally.sigkill_tracebacks += 1
    why = scenario.complete(folder)
    if why is not None:
        tally.problems.append(f"{what}: {why}")
    elif any((folder / name).exists() for name in scenario.outputs):
        tally.complete_outputs += 1
    left = sorted(set(scenario.leftovers(folder)) - before)
    if left and (sig == signal.SIGTERM or finished):
        tally.problems.append(f"{what}: temporaries left after {'a whole run' if finished else 'SIGTERM'}: {left} "
                              f"(it said: {stderr[-300:]!r})")
    elif left:
        tally.left_after_kill += 1


# -- the scenarios ----------------------------------------------------------------------------------------------


def _retrotool(folder: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "retrotool", *args], cwd=folder, check=True, capture_output=True,
                   timeout=300)


def _with_rom(folder: Path) -> None:
    shutil.copy(ROM, folder / ROM.name)


def _with_movies(frames: int, count: int) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        _with_rom(folder)
        for i in range(count):
            _retrotool(folder, "record", "--rom", ROM.name, "--random", "--seed", str(i), "--frames", str(frames),
                       "-o", f"m{i}.bk2")
    return prepare


def _movie_complete(frames: int) -> Callable[[Path], str | None]:
    def complete(folder: Path) -> str | None:
        from retrotool import movie as bk2
        from retrotool.errors import RetroToolError

        path = folder / "x.bk2"
        if not path.exists():
            return None
        try:
            got = bk2.read(path).frames
        except RetroToolError as e:
            return f"x.bk2 is not a movie: {e}"
        return None if got == frames else f"x.bk2 has {got} frames, not {frames}"
    return complete


def _mp4_complete(frames: int) -> Callable[[Path], str | None]:
    def complete(folder: Path) -> str | None:
        path = folder / "o.mp4"
        if not path.exists():
            return None
        from retrotool.video import ffmpeg

        probe = subprocess.run([ffmpeg.exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f",
                                "framemd5", "-"], capture_output=True, text=True)
        got = sum(1 for line in probe.stdout.splitlines() if line and not line.startswith("#"))
        return None if probe.returncode == 0 and got == frames else f"o.mp4 is cut short ({got} frames)"
    return complete


def _trace_complete(frames: int) -> Callable[[Path], str | None]:
    def complete(folder: Path) -> str | None:
        path = folder / "t.jsonl"
        if not path.exists():
            return None
        lines = path.read_text().splitlines()
        ok = len(lines) == frames and all(json.loads(line)["frame"] == i for i, line in enumerate(lines))
        return None if ok else f"t.jsonl has {len(lines)} lines, not {frames}"
    return complete


def _dataset_complete(movies: int, steps: int) -> Callable[[Path], str | None]:
    def complete(folder: Path) -> str | None:
        from retrotool import datasets

        out = folder / "ds"
        if not out.exists():
            return None
        manifest = datasets.read_manifest(out)
        if manifest is None:
            return f"ds has no manifest: {sorted(p.name for p in out.iterdir())}"
        listed = {e["file"] for e in manifest["episodes"]}
        for name in listed:
            with np.load(out / name) as z:
                if len(z["actions"]) != steps:
                    return f"episode {name} has {len(z['actions'])} steps, not {steps}"
        if manifest["state"] == "complete" and len(listed) != movies:
            return f"a complete manifest lists {len(listed)} of {movies} episodes"
        return None
    return complete


def _dataset_leftovers(folder: Path) -> list[str]:
    """Temporaries, and episodes finished by a killed run that did not list them yet (the next run removes them)."""
    from retrotool import datasets

    out = folder / "ds"
    manifest = datasets.read_manifest(out) if out.is_dir() else None
    listed = {e["file"] for e in manifest["episodes"]} if manifest else set()
    return temporaries(folder) + sorted(f"ds/{p.name}" for p in out.glob("*.npz") if p.name not in listed)


IMPORT_ROMS, IMPORT_BYTES = 6, 32 << 20


def _import_prepare(folder: Path) -> None:
    rng = np.random.default_rng(0)
    (folder / "roms").mkdir()
    for i in range(IMPORT_ROMS):
        data = rng.integers(0, 256, IMPORT_BYTES, dtype=np.uint8).tobytes()
        (folder / "roms" / f"game{i}.tst").write_bytes(data)
        game = folder / "data" / f"Big{i}-Test"
        game.mkdir(parents=True)
        (game / "rom.sha").write_text(hashlib.sha1(data).hexdigest() + "\n")


def _import_complete(folder: Path) -> str | None:
    for i in range(IMPORT_ROMS):
        rom = folder / "data" / f"Big{i}-Test" / "rom.tst"
        if rom.exists() and rom.read_bytes() != (folder / "roms" / f"game{i}.tst").read_bytes():
            return f"{rom.relative_to(folder)} is not the whole ROM ({rom.stat().st_size} bytes)"
    return None


def scenarios(root: Path) -> list[Scenario]:
    """One scenario per writing command."""
    return [
        Scenario("record --random", ["record", "--rom", ROM.name, "--random", "--frames", "100000", "-o", "x.bk2",
                                     "--force"], _with_rom, _movie_complete(100_000), ["x.bk2"]),
        Scenario("playback --mp4", ["playback", "m0.bk2", "--mp4", "o.mp4", "--force"], _with_movies(3000, 1),
                 _mp4_complete(3000), ["o.mp4"]),
        Scenario("playback --trace", ["playback", "m0.bk2", "--trace", "t.jsonl", "--force"],
                 _with_movies(20_000, 1), _trace_complete(20_000), ["t.jsonl"]),
        Scenario("dump-dataset", ["dump-dataset", "m0.bk2", "m1.bk2", "m2.bk2", "-o", "ds", "--workers", "2",
                                  "--force"], _with_movies(10_000, 3), _dataset_complete(3, 9999), ["ds"],
                 _dataset_leftovers),
        Scenario("import", ["import", "roms"], _import_prepare, _import_complete,
                 [f"data/Big{i}-Test/rom.tst" for i in range(IMPORT_ROMS)],
                 env={"RETROTOOL_DATA_PATH": str(root / "import" / "data")}),
    ]
