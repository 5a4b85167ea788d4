"""`retrotool games NAME` shows one game; a misspelled game name gets the names it may have meant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _retrotool(*args: str, data_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RETROTOOL_DATA_PATH"}
    env["COLUMNS"] = "200"
    if data_path is not None:
        env["RETROTOOL_DATA_PATH"] = str(data_path)
    return subprocess.run([sys.executable, "-m", "retrotool", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_games_name_shows_rom_states_variables_and_scenario() -> None:
    proc = _retrotool("games", "TestGame-Test")
    assert proc.returncode == 0, proc.stderr
    for shown in ("TestGame-Test: Test", "ROM: imported", "states: Start (default)", "score", "16 (0x10)", "<u4",
                  "score (delta) x 1", "frame (absolute) greater-or-equal 36000"):
        assert shown in proc.stdout, (shown, proc.stdout)


def test_games_name_of_a_bare_integration(tmp_path: Path) -> None:
    game = tmp_path / "Bare-Test"
    game.mkdir()
    (game / "rom.sha").write_text("ab" * 20 + "\n")
    (game / "scenario.json").write_text(json.dumps({"done": {"variables": {"lives": {"op": "zero"}}}}))
    proc = _retrotool("games", "Bare-Test", data_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for shown in ("ROM: not imported", "ab" * 20, "states: none", "RAM variables: none", "lives (absolute) zero"):
        assert shown in proc.stdout, (shown, proc.stdout)
    assert "zero 0" not in proc.stdout


def test_a_misspelled_game_gets_did_you_mean(tmp_path: Path) -> None:
    for args in (("games", "TestGam-Test"), ("games", "testgame-test"),
                 ("record", "--game", "TestGame-Tset", "--random", "--frames", "5", "-o", str(tmp_path / "m.bk2")),
                 ("record", "testgame", "-o", str(tmp_path / "m.bk2"))):
        proc = _retrotool(*args)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "did you mean TestGame-Test" in proc.stderr, (args, proc.stderr)
    unknown = _retrotool("games", "Qwertyuiop")
    assert unknown.returncode == 1 and "did you mean" not in unknown.stderr and "retrotool games" in unknown.stderr
    assert not list(tmp_path.iterdir())
