"""The static checks (pyproject's [tool.mypy] and [tool.ruff]) pass: type errors and unused code fail CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_mypy() -> None:
    proc = _run("mypy", "--no-error-summary")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff() -> None:
    proc = _run("ruff", "check", "retrotool", "tests", "examples", "benchmarks")
    assert proc.returncode == 0, proc.stdout + proc.stderr
