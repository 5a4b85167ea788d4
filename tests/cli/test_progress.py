"""The progress bar a user sees on a terminal (stderr is a pseudo-terminal here)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testgame.bk2"


def _terminal_stderr(*args: str, cwd: Path) -> str:
    """What `retrotool ARGS` writes to a terminal on its stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "retrotool", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env={**os.environ, "COLUMNS": "120"})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_shows_whole_frames_per_second(tmp_path: Path) -> None:
    shown = _terminal_stderr("playback", str(EXAMPLE), "--mp4", "o.mp4", cwd=tmp_path)
    speeds = re.findall(r"(\S+) fps", shown)
    assert speeds, shown
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", s) for s in speeds), speeds
