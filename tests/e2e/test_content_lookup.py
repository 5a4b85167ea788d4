"""A movie finds its ROM by the SHA-1 it records, wherever the user keeps it; the header carries SHA-1 and core."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrotool import games, movie as bk2, playback, systems
from retrotool.record import scripted
from retrotool.record.sources import random_buttons


def _retrotool(*args: str, cwd: Path, data_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RETROTOOL_DATA_PATH"}
    if data_path is not None:
        env["RETROTOOL_DATA_PATH"] = str(data_path)
    return subprocess.run([sys.executable, "-m", "retrotool", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def recorded(tmp_path: Path, rom: Path) -> tuple[Path, Path]:
    """movies/m.bk2 recorded with --rom roms/mine.tst: a ROM no integration lists, in another folder."""
    (tmp_path / "roms").mkdir()
    (tmp_path / "movies").mkdir()
    mine = tmp_path / "roms" / "mine.tst"
    mine.write_bytes(rom.read_bytes() + b"\nmy own build\n")
    proc = _retrotool("record", "--rom", "roms/mine.tst", "--random", "--frames", "120", "-o", "movies/m.bk2",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "movies" / "m.bk2", mine


def _plays(movie: Path, cwd: Path, data_path: Path | None = None) -> None:
    for command in ("playback", "verify"):
        proc = _retrotool(command, str(movie), cwd=cwd, data_path=data_path)
        assert proc.returncode == 0, f"{command}: {proc.stderr}"


def test_rom_is_found_by_sha1_where_the_user_keeps_it(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    movie, mine = recorded
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = _retrotool("playback", str(movie), cwd=elsewhere)
    sha = hashlib.sha1(mine.read_bytes()).hexdigest()
    assert missing.returncode == 1 and sha in missing.stderr and "--rom" in missing.stderr, missing.stderr

    (movie.parent / "decoy.tst").write_bytes(b"another game")  # a file of the system that is not it
    (movie.parent / "renamed.tst").write_bytes(mine.read_bytes())
    _plays(movie, elsewhere)  # in the movie's folder, under another name
    (movie.parent / "renamed.tst").unlink()

    _plays(movie, elsewhere, data_path=mine.parent)  # a loose ROM in a $RETROTOOL_DATA_PATH folder

    game = tmp_path / "data" / "Mine-Test"  # an integration that lists it, with the ROM imported
    game.mkdir(parents=True)
    (game / "rom.sha").write_text(sha + "\n")
    (game / "rom.tst").write_bytes(mine.read_bytes())
    mine.unlink()
    _plays(movie, elsewhere, data_path=tmp_path / "data")


def test_header_names_the_content_and_core(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    movie, mine = recorded
    header = dict(bk2.read(movie).header)
    assert header["SHA1"] == hashlib.sha1(mine.read_bytes()).hexdigest()
    assert header["Core"] == "retrotool-testcore"
    info = _retrotool("info", str(movie), cwd=tmp_path)
    assert info.returncode == 0 and header["SHA1"] in info.stdout and "retrotool-testcore" in info.stdout


_SR_READS = r"""
import json, sys
import stable_retro as retro
m = retro.Movie(sys.argv[1])
print(json.dumps({"game": m.get_game(), "players": m.players}))
"""


@pytest.mark.realcore
def test_stable_retro_reads_and_replays_a_movie_with_sha1_and_core(
    tmp_path: Path, python_json, stable_retro_replay
) -> None:
    """stable-retro's header reader skips SHA1 and Core: the movie still names its game and replays identically."""
    game = games.find("Airstriker-Genesis-v0")
    rom = game.rom()
    if rom is None:
        pytest.skip("stable-retro's Airstriker ROM is not installed")
    buttons = random_buttons(systems.get("Genesis"), 300, 1, seed=3)
    buttons[0] = 0  # stable-retro spends row 0 on its reset frame, without input
    out = tmp_path / "air.bk2"
    scripted.record(system=game.system, core=None, rom=rom, buttons=buttons, out=out, start=game.state("Level1"),
                game=game.name)
    header = dict(bk2.read(out).header)
    assert header["SHA1"] == hashlib.sha1(rom.read_bytes()).hexdigest() and header["Core"] == "Genesis Plus GX"
    assert python_json(_SR_READS, str(out)) == {"game": "Airstriker-Genesis-v0", "players": 1}
    trace = tmp_path / "here.jsonl"
    playback.run(out, trace=trace)
    here = [[r["ram"], r["screen"]] for r in map(json.loads, trace.read_text().splitlines())]
    assert stable_retro_replay(out)["rows"] == here
