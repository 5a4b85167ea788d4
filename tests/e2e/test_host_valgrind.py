"""The native host under valgrind: every rh_* call on the test core, with no memory error or leak.

tests/native/host_check.c drives the host directly (no Python in between, so
valgrind sees only the host and the core); the host and the test core are
compiled here from their sources with debug information.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "libretro_cores" / "host"


def test_every_host_call_is_clean_under_valgrind(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None or shutil.which("cc") is None:
        pytest.skip("needs valgrind and a C compiler (Debian: apt-get install valgrind gcc)")
    core, check = tmp_path / "testcore.so", tmp_path / "host_check"
    build = [
        ["cc", "-g", "-O1", "-shared", "-fPIC", f"-I{HOST}", str(ROOT / "libretro_cores/testcore/testcore.c"), "-o", str(core)],
        ["cc", "-g", "-O1", "-Wall", "-Werror", f"-I{HOST}", str(ROOT / "tests/native/host_check.c"), str(HOST / "host.c"),
         "-ldl", "-o", str(check)],
    ]
    for command in build:
        subprocess.run(command, check=True, capture_output=True)
    proc = subprocess.run(
        ["valgrind", "--error-exitcode=9", "--leak-check=full", "--errors-for-leak-kinds=definite", "-q",
         str(check), str(core), str(ROOT / "examples" / "testgame.tst")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0 and "0 failures" in proc.stdout, proc.stdout + proc.stderr
