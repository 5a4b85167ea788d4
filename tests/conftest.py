"""Shared fixtures: the test core, the demo ROM, and an isolated environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "may_skip_in_ci: the test may skip even under CI=true (a capability a CI machine may lack, not a tool)"
    )


def _ci_failure(longrepr: object) -> str:
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return f"skipped under CI=true, where every tool, core and extra must be installed: {reason.removeprefix('Skipped: ')}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Under CI=true a skipped test fails: a missing toolchain, core, Xvfb or extra must not pass unseen.

    Locally the skip stays a skip with its reason (`pytest -rs` lists them).
    """
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and _ci() and not item.get_closest_marker("may_skip_in_ci"):
        report.outcome, report.longrepr = "failed", _ci_failure(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """The same for a whole module skipped while it is collected (a module-level skip or importorskip)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _ci():
        report.outcome, report.longrepr = "failed", _ci_failure(report.longrepr)


# The developer's settings that retrotool (or a library it drives) reads; no test may see them.
DEVELOPER_SETTINGS = ("RETROTOOL_CORE_PATH", "RETROTOOL_DATA_PATH", "MINARI_DATASETS_PATH")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's cores, data, key bindings or home folder.

    The environment itself is changed (not a copy), so every process a test
    starts inherits the clean one.
    """
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for name in DEVELOPER_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def rom() -> Path:
    return EXAMPLES / "testgame.tst"


@pytest.fixture
def testcore() -> Path:
    from retrotool import native

    return native.native_library_path("_testcore")


@pytest.fixture
def test_system():
    from retrotool import systems

    return systems.get("Test")


def _ffmpeg_processes(parent: int | None) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if "ffmpeg" in name and (parent is None or int(rest[1]) == parent):
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def ffmpeg_processes():
    """ffmpeg_processes(parent): live or unreaped ffmpeg processes whose parent is `parent` (None: any parent)."""
    return _ffmpeg_processes


def _random_buttons(frames: int, players: int = 1, seed: int = 0) -> np.ndarray:
    from retrotool import systems
    from retrotool.record.sources import random_buttons

    return random_buttons(systems.get("Test"), frames, players, seed)


def _run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retrotool", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture
def buttons():
    """buttons(frames, players=1, seed=0): reproducible random Test-system input."""
    return _random_buttons


def _python_json(code: str, *args: str):
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def python_json():
    """python_json(code, *args): run code in a fresh interpreter; its last stdout line, as JSON.

    Real-core tests run stable-retro this way: it loads the same core files,
    and cores keep globals, so it must not share our process.
    """
    return _python_json


_SR_PLAY = r"""
import hashlib, json, sys
import numpy as np
import stable_retro as retro
m = retro.Movie(sys.argv[1])
m.step()
env = retro.make(game=m.get_game(), state=retro.State.NONE, use_restricted_actions=retro.Actions.ALL,
                 players=m.players, render_mode=None)
env.initial_state = m.get_state()
env.reset()
def seen():
    screen = np.ascontiguousarray(env.get_screen(), dtype=np.uint8).tobytes()
    return [hashlib.sha256(env.get_ram().tobytes()).hexdigest(), hashlib.sha256(screen).hexdigest()]
rows, info = [seen()], {}
while m.step():
    keys = [m.get_key(i, p) for p in range(m.players) for i in range(env.num_buttons)]
    _, _, _, _, info = env.step(keys)
    rows.append(seen())
print(json.dumps({"rows": rows, "info": {k: int(v) for k, v in info.items()}}))
"""


@pytest.fixture
def stable_retro_replay():
    """stable_retro_replay(movie_path): stable-retro's own replay of a movie, in a fresh process.

    Returns {"rows": [[RAM sha256, screen sha256] after its reset frame and each env.step],
    "info": the last step's info}. Needs the `cores` extra.
    """
    pytest.importorskip("stable_retro")
    return lambda movie: _python_json(_SR_PLAY, str(movie))


@pytest.fixture
def cli():
    """cli(*args, cwd=None): run `retrotool ARGS` in a fresh process, as a user would."""
    return _run_cli
