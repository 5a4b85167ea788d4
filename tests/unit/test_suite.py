"""The test suite's own rules: it never sees the developer's settings, and under CI it cannot skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
# What the developer may have set that retrotool, stable-retro or Minari read: no test may see it.
SETTINGS = ("RETROTOOL_CORE_PATH", "RETROTOOL_DATA_PATH", "MINARI_DATASETS_PATH")
HOMES = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
SEEN = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"


def _pytest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A fresh pytest with the suite's conftest (hooks and fixtures) loaded as a plugin."""
    path = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "conftest", *args],
        cwd=TESTS.parent, env={**env, "PYTHONPATH": path}, capture_output=True, text=True, timeout=300,
    )


def test_a_test_and_its_subprocesses_see_no_developer_setting(tmp_path: Path, python_json) -> None:
    here = {k: os.environ.get(k) for k in (*SETTINGS, *HOMES)}
    child = python_json(SEEN, *SETTINGS, *HOMES)
    for seen in (here, child):
        assert all(seen[k] is None for k in SETTINGS), seen
        assert all(Path(seen[k]).is_relative_to(tmp_path) for k in HOMES), seen


def test_the_developers_settings_are_set_aside(tmp_path: Path) -> None:
    """The test above, in a pytest started with a developer's settings in its environment."""
    developer = {k: str(tmp_path / "developer" / k) for k in (*SETTINGS, *HOMES)}
    proc = _pytest(f"{__file__}::test_a_test_and_its_subprocesses_see_no_developer_setting",
                   env={**os.environ, **developer})
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:]


def test_under_ci_a_skip_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "def test_needs_a_tool():\n    pytest.skip('needs the frobnicator (apt-get install frob)')\n"
        "def test_needs_an_extra():\n    pytest.importorskip('no_such_module_for_retrotool_tests')\n"
        "@pytest.mark.may_skip_in_ci\n"
        "def test_needs_a_capability():\n    pytest.skip('cannot mount here')\n"
        "def test_runs():\n    pass\n"
    )
    (tmp_path / "test_y.py").write_text(
        "import pytest\npytest.skip('needs the gizmo toolchain', allow_module_level=True)\n"
        "def test_never_collected():\n    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    local = _pytest(str(tmp_path), env=env)
    assert local.returncode == 0 and "1 passed, 4 skipped" in local.stdout, local.stdout
    assert "needs the frobnicator" in local.stdout and "needs the gizmo toolchain" in local.stdout  # with reasons

    ci = _pytest("--continue-on-collection-errors", str(tmp_path), env={**env, "CI": "true"})
    assert ci.returncode == 1 and "2 failed, 1 passed, 1 skipped, 1 error" in ci.stdout, ci.stdout
    for reason in ("needs the frobnicator (apt-get install frob)", "needs the gizmo toolchain",
                   "could not import 'no_such_module_for_retrotool_tests'"):
        assert f"skipped under CI=true, where every tool, core and extra must be installed: {reason}" in ci.stdout


def test_the_ci_script_sets_ci_for_the_tests() -> None:
    lines = [line.strip() for line in (TESTS.parent / ".ci" / "run").read_text().splitlines()]
    exported = [i for i, line in enumerate(lines) if line.startswith("export ") and "CI=true" in line.split()]
    tests = [i for i, line in enumerate(lines) if line.startswith("python -m pytest")]
    assert exported and tests and exported[0] < tests[0]
