"""The commands that make integrations, as a user meets them: --help with an example, and bad input in a line or two."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

SUBCOMMANDS = [("state", "save"), ("state", "info"), ("ram", "search", "start"), ("ram", "search", "narrow"),
               ("ram", "search", "show"), ("ram", "search", "undo"), ("ram", "watch"), ("integrate", "new"),
               ("integrate", "var"), ("integrate", "reward"), ("integrate", "done"), ("scenario", "check")]


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_help_has_an_example(cli, command: tuple[str, ...]) -> None:
    proc = cli(*command, "--help")
    assert proc.returncode == 0 and "Example:" in proc.stdout, proc.stdout + proc.stderr


def _short_error(proc, *needles: str) -> None:
    lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
    assert proc.returncode == 1 and 1 <= len(lines) <= 2 and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in " ".join(lines), proc.stderr


def test_bad_input(cli, tmp_path: Path, rom: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with zipfile.ZipFile(tmp_path / "x.State", "w") as z:
        z.writestr("Core.bin", b"")
    _short_error(cli("state", "info", "x.State", cwd=tmp_path), "savestate of BizHawk")
    _short_error(cli("ram", "search", "undo", cwd=tmp_path), "no RAM search in ram-search.json")
    _short_error(cli("integrate", "new", str(rom), "--name", "Bad", "--data", ".", cwd=tmp_path), "is not a game name")
    _short_error(cli("integrate", "var", "TestGame-Test", "x", "12", cwd=tmp_path), "give the ADDRESS and the TYPE")
    _short_error(cli("integrate", "done", "NoSuch-Test", "x", cwd=tmp_path), "no game integration named 'NoSuch-Test'")
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(tmp_path / "data"))
    assert cli("integrate", "new", str(rom), "--name", "Mine-Test", cwd=tmp_path).returncode == 0
    _short_error(cli("integrate", "new", str(rom), "--name", "Mine-Test", cwd=tmp_path), "Mine-Test already exists")
    _short_error(cli("integrate", "reward", "Mine-Test", "score", "--reward", "1", cwd=tmp_path),
                 "'score' is not a variable of Mine-Test")
