"""SIGTERM (kill, timeout, a scheduler) stops a render like Ctrl-C; what a killed process left is swept later."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrotool import systems
from retrotool.record import scripted

TEMPORARY = ".o.mp4.tmp-"


@pytest.fixture
def long_movie(tmp_path: Path, rom: Path, buttons) -> Path:
    (tmp_path / rom.name).write_bytes(rom.read_bytes())
    out = tmp_path / "long.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=tmp_path / rom.name, buttons=buttons(6000), out=out)
    return out


def _session(sid: int) -> list[int]:
    """Live processes of a session: the render and everything it started (ffmpeg has a process group of its own)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.getsid(int(proc.name)) == sid and "Z" not in (proc / "stat").read_text().rsplit(")", 1)[1][:3]:
                found.append(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
    return found


def _render(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "retrotool", "playback", "long.bk2", "--mp4", "o.mp4"], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _terminate(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)  # to the process only, as `kill PID` does
    _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert not _session(proc.pid), "a process of the render outlived it"
    return stderr


def test_sigterm_mid_render_cleans_up_like_ctrl_c(long_movie: Path, tmp_path: Path) -> None:
    proc = _render(tmp_path)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(TEMPORARY) for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the render ended before it could be stopped"
    stderr = _terminate(proc)
    assert proc.returncode == 128 + signal.SIGTERM and "terminated" in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.bk2", "testgame.tst"]


@pytest.mark.parametrize("seed", range(4))
def test_sigterm_at_any_moment_leaves_no_temporary(long_movie: Path, tmp_path: Path, seed: int) -> None:
    proc = _render(tmp_path)
    time.sleep(random.Random(seed).uniform(0.0, 2.5))  # from interpreter start-up to the final rename
    _terminate(proc)
    left = sorted(p.name for p in tmp_path.iterdir())
    if proc.returncode == 0:  # finished before the signal
        assert left == ["long.bk2", "o.mp4", "testgame.tst"]
    else:  # before the handler is installed Python's default ends it (-15); after, it cleans up (143)
        assert proc.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM), proc.returncode
        assert left in (["long.bk2", "testgame.tst"], ["long.bk2", "o.mp4", "testgame.tst"]), left


def _temporary_of(tmp_path: Path, target: Path, *, live: bool) -> tuple[Path, subprocess.Popen[str] | None]:
    """A temporary folder for target made by another process: one that has exited, or one still running."""
    code = ("import sys, time; from pathlib import Path; from retrotool import outputs; "
            "p = outputs.temp_name(Path(sys.argv[1])); p.mkdir(); print(p, flush=True); time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target), "600" if live else "0"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    made = Path(proc.stdout.readline().strip())
    if not live:
        proc.wait(timeout=60)
    return made, proc if live else None


def test_a_later_run_sweeps_temporaries_of_dead_processes_only(long_movie: Path, tmp_path: Path, cli) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    dead, _ = _temporary_of(tmp_path, videos / "old.mp4", live=False)
    alive, writer = _temporary_of(tmp_path, videos / "other.mp4", live=True)
    legacy = videos / ".older.mp4.tmp-0123abcd"  # an earlier version's name: whose it was is unknown, so it stays
    legacy.mkdir()
    assert writer is not None
    try:
        proc = cli("playback", "long.bk2", "--mp4", "videos/new.mp4", "--end", "60", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert not dead.exists() and alive.is_dir() and legacy.is_dir()
        assert (videos / "new.mp4").is_file()
    finally:
        writer.kill()
        writer.wait()
