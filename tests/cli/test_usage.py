"""Usage errors and help as a fresh install meets them (`.ci/smoke-no-extras.sh` runs the same on a real one)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Typer no longer installs click, so a fresh `pip install .` has none: the CLI must not need it.
_WITHOUT_CLICK = "import sys; sys.modules['click'] = None; sys.argv[0] = 'retrotool'; from retrotool.cli import main; main()"


def _run_without_click(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _WITHOUT_CLICK, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args", [("playback",), ("playback", "--no-such-option", "x.bk2"), ("--install-completion",), ("no-such-command",)]
)
def test_usage_errors_need_no_click(args: tuple[str, ...]) -> None:
    proc = _run_without_click(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Error" in proc.stderr
    assert len([x for x in proc.stderr.splitlines() if x.strip()]) <= 4, proc.stderr


@pytest.mark.parametrize("args", [("-h",), ("--help",), ("playback", "-h"), ("dump-dataset", "-h"), ("--version",)])
def test_help_and_version_need_no_click(args: tuple[str, ...]) -> None:
    proc = _run_without_click(*args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert ("Usage" in proc.stdout) != (args == ("--version",)), proc.stdout
