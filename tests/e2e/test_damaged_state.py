"""A movie's savestate that crashes the core, or already differs at frame 0, is named as the likely cause.

Before, a damaged `Core.bin` (4 KiB of 0xFF in an Airstriker state) crashed
genesis_plus_gx with "a bug in the core, not in the movie".
"""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, session
from retrotool.record import scripted

ROOT = Path(__file__).resolve().parents[2]
BLAMED = "the savestate is the likely cause (damaged, or made by another core or core version)"


def _retrotool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "retrotool", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    proc.stderr = " ".join(proc.stderr.split())
    return proc


def _airstriker(tmp_path: Path, damage_at: int) -> Path:
    """examples/airstriker.bk2, its first 120 rows, with 4 KiB of its state overwritten by 0xFF."""
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("stable-retro (the 'cores' extra) is not installed")
    movie = bk2.read(ROOT / "examples" / "airstriker.bk2")
    assert movie.state is not None
    state = bytearray(movie.state)
    state[damage_at : damage_at + 4096] = b"\xff" * 4096
    checkpoints = [c.to_json() for c in movie.checkpoints if c.frame < 120]
    damaged = dataclasses.replace(movie, buttons=movie.buttons[:120], state=bytes(state), extras=(),
                                  meta={**movie.meta, "checkpoints": checkpoints})
    out = tmp_path / "damaged.bk2"
    bk2.write(damaged, out)
    return out


@pytest.mark.realcore
def test_a_savestate_that_crashes_the_core_is_blamed(tmp_path: Path) -> None:
    movie = _airstriker(tmp_path, 139264)  # the CPU state: genesis_plus_gx segfaults in the next frame
    proc = _retrotool("playback", str(movie), cwd=tmp_path)
    assert proc.returncode == -11, proc.stderr
    assert f"crashed (SIGSEGV) in frame 1 after loading a savestate; {BLAMED}" in proc.stderr
    assert "not in the movie" not in proc.stderr
    proc = _retrotool("playback", "--isolate", str(movie), cwd=tmp_path)  # the parent process reports it
    assert proc.returncode == 1 and "crashed (SIGSEGV) in frame 0" in proc.stderr, proc.stderr
    assert "the movie starts from a savestate, which is the likely cause" in proc.stderr


@pytest.mark.realcore
def test_a_savestate_that_differs_at_frame_0_is_blamed_by_verify(tmp_path: Path) -> None:
    movie = _airstriker(tmp_path, 65536)  # the core takes it, and plays on from another RAM
    assert _retrotool("playback", str(movie), cwd=tmp_path).returncode == 0
    proc = _retrotool("verify", str(movie), cwd=tmp_path)
    assert proc.returncode == 1 and "desync at frame 0" in proc.stderr and BLAMED in proc.stderr, proc.stderr


def _crashing(tmp_path: Path, buttons: np.ndarray, *, after_start: int, power_on: bool = False) -> Path:
    """A TestGame-Test movie whose core segfaults `after_start` frames into its rows (`testcore_crash_at`)."""
    what = session.game_content(game="TestGame-Test", power_on=power_on)
    out = tmp_path / "crash.bk2"
    scripted.record(system=what.system, core=None, rom=what.rom, buttons=buttons, out=out, start=what.state,
                    game=what.name)
    first = int.from_bytes((what.state or bytes(16))[12:16], "little")  # the state's frame counter (RAM 0x004)
    at = (first if not power_on else 2) + after_start
    bk2.write(bk2.read(out).with_meta(options={"testcore_crash_at": str(at)}), out, force=True)
    return out


@pytest.mark.parametrize(("after_start", "blamed"), [(1, True), (500, False)])
def test_only_a_crash_soon_after_a_state_is_blamed_on_it(tmp_path: Path, buttons, after_start: int, blamed: bool) -> None:
    movie = _crashing(tmp_path, buttons(600, 1, seed=1), after_start=after_start)
    proc = _retrotool("playback", str(movie), cwd=tmp_path)
    assert proc.returncode == -11, proc.stderr
    assert (BLAMED in proc.stderr) == blamed, proc.stderr
    assert blamed or "a bug in the core, or a damaged savestate" in proc.stderr


def test_a_power_on_movie_that_crashes_blames_the_core(tmp_path: Path, buttons) -> None:
    movie = _crashing(tmp_path, buttons(120, 1, seed=1), after_start=1, power_on=True)
    proc = _retrotool("playback", str(movie), cwd=tmp_path)
    assert proc.returncode == -11 and "a bug in the core, not in the movie" in proc.stderr, proc.stderr
    proc = _retrotool("playback", "--isolate", str(movie), cwd=tmp_path)
    assert proc.returncode == 1 and "a bug in the core, not in the movie" in proc.stderr, proc.stderr
