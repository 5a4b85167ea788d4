"""examples/imitation_loop.py at a small scale: demonstrations -> dataset -> policy -> evaluation -> movie -> MP4."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "imitation_loop.py"


@pytest.mark.parametrize("game", ["testgame", pytest.param("airstriker", marks=pytest.mark.realcore)])
def test_the_loop_runs_from_demonstrations_to_a_video(tmp_path: Path, game: str) -> None:
    pytest.importorskip("torch")
    if game == "airstriker" and importlib.util.find_spec("stable_retro") is None:
        pytest.skip("Airstriker's ROM comes with the 'cores' extra")
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--game", game, "--episodes", "2", "--max-steps", "120",
                           "--train-steps", "60", "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for policy in ("behaviour cloning", "random"):
        assert re.search(rf"{policy}\s+mean return\s+-?\d", proc.stdout)
        assert len(list((tmp_path / policy).glob("*.bk2"))) == 2  # every episode recorded (and verified)
    assert (tmp_path / "best.mp4").stat().st_size > 1000
    assert "best episode:" in proc.stdout
