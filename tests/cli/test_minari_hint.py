"""`dump-dataset --format minari` as its help shows it: a relative OUT, and the printed way to load the dataset."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testgame.bk2"


def _load(hint: str) -> int:
    """Run a printed hint in a fresh interpreter, with the environment its comment names; the steps it sees."""
    code, _, comment = hint.partition("#")
    env = dict(os.environ)
    env.update(re.findall(r"(\w+)=(\S+)", comment))
    program = f"import minari; print({code.strip()}.total_steps)"
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, f"{hint}: {proc.stderr[-1500:]}"
    return int(proc.stdout.split()[-1])


@pytest.mark.parametrize(("folder", "by_id"), [("testgame-v0", True), ("plain", False)])
def test_relative_output_and_printed_hints_load(cli, tmp_path: Path, folder: str, by_id: bool) -> None:
    pytest.importorskip("minari")
    proc = cli("dump-dataset", str(EXAMPLE), "-o", folder, "--format", "minari", "--resize", "8x8", "--grayscale",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    steps = json.loads((tmp_path / folder / "manifest.json").read_text())["episodes"][0]["steps"]
    hints = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("minari.")]
    assert any(h.startswith("minari.load_dataset(") for h in hints) == by_id, proc.stdout
    assert hints and all(_load(h) == steps for h in hints), proc.stdout
    assert not list((tmp_path / folder).glob(".*tmp*"))
