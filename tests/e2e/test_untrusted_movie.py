"""A movie (or a game folder) shared by someone else names games, states, ROMs and cores, never paths.

Each test plants what an attacker would (a GameName climbing out of the data
folders, a ROM name reaching beside the movie's folder, a core given as a path
to a library whose constructor leaves a mark, a default state outside its game)
and checks that retrotool reads or runs none of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from retrotool import games, movie as bk2, session, systems
from retrotool.emulator import Rom
from retrotool.errors import ContentError, StateError
from retrotool.record import scripted
from retrotool.record.sources import random_buttons

ROOT = Path(__file__).resolve().parents[2]


def _retrotool(*args: str, cwd: Path, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    """retrotool in a fresh process; its stderr with the console's line wrapping undone."""
    env = {**os.environ, "RETROTOOL_DATA_PATH": str(data)} if data is not None else dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "retrotool", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    proc.stderr = " ".join(proc.stderr.split())
    return proc


@pytest.fixture
def movie(tmp_path: Path, rom: Path) -> Path:
    """movies/m.bk2 of TestGame-Test (recorded from its ROM, 60 frames), no ROM beside it."""
    folder = tmp_path / "movies"
    folder.mkdir()
    out = folder / "m.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=rom, buttons=random_buttons(systems.get("Test"), 60, 1, 0),
                    out=out, game="TestGame-Test")
    return out


def _tamper(path: Path, *, header: dict[str, str] | None = None, meta: dict[str, object] | None = None) -> None:
    """Change the movie's header or meta the way a hand with a zip tool would (our writer refuses bad meta)."""
    if header:
        movie = bk2.read(path)
        fields = dict(movie.header) | header
        bk2.write(dataclasses.replace(movie, header=tuple(fields.items())), path, force=True)
    if meta:
        with zipfile.ZipFile(path) as z:
            entries = {info.filename: z.read(info) for info in z.infolist()}
        doc = json.loads(entries["retrotool.json"])
        doc["meta"].update(meta)
        entries["retrotool.json"] = json.dumps(doc).encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries.items():
                z.writestr(name, data)


def _evil_game(folder: Path, rom: Path) -> Path:
    """A game folder outside every data folder, with the test ROM and a data.json that shows when it is read."""
    folder.mkdir(parents=True)
    shutil.copy(rom, folder / "rom.tst")
    (folder / "rom.sha").write_text(hashlib.sha1(rom.read_bytes()).hexdigest() + "\n")
    (folder / "data.json").write_text(json.dumps({"info": {"evil": {"address": 4, "type": "<u4"}}}))
    return folder


def test_a_gamename_that_climbs_out_of_the_data_folders_names_no_game(tmp_path: Path, movie: Path, rom: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _evil_game(tmp_path / "elsewhere" / "Evil-Test", rom)
    _tamper(movie, header={"GameName": "../elsewhere/Evil-Test"})
    assert session.integration(bk2.read(movie)) is None  # before: the folder outside, with its data.json
    proc = _retrotool("playback", str(movie), "--trace", "t.jsonl", cwd=tmp_path, data=data)
    assert proc.returncode == 0, proc.stderr
    assert "a movie may name a game, not a path" in proc.stderr
    assert "evil" not in (tmp_path / "t.jsonl").read_text()

    proc = _retrotool("record", "--game", "../elsewhere/Evil-Test", "--random", "--frames", "10", "-o", "r.bk2",
                      cwd=tmp_path, data=data)
    assert proc.returncode == 1 and "is not a game name" in proc.stderr, proc.stderr
    assert not (tmp_path / "r.bk2").exists()


def test_a_game_folder_symlinked_out_of_its_data_folder_is_ignored(
    tmp_path: Path, rom: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "Evil-Test").symlink_to(_evil_game(tmp_path / "elsewhere" / "Evil-Test", rom))
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(data))
    assert games.lookup("Evil-Test") is None
    assert "Evil-Test" not in {g.name for g in games.all_games()}


def test_a_rom_name_is_a_file_beside_the_movie_never_a_path(tmp_path: Path, movie: Path) -> None:
    secret = tmp_path / "secret" / "hostname.tst"
    secret.parent.mkdir()
    secret.write_bytes(b"not for the movie's eyes\n")
    leaked = hashlib.sha1(secret.read_bytes()).hexdigest()
    for name in ("../secret/hostname.tst", str(secret), "link.tst"):
        (movie.parent / "link.tst").unlink(missing_ok=True)
        (movie.parent / "link.tst").symlink_to(secret)  # a symlink beside the movie leads out of its folder too
        _tamper(movie, meta={"rom_name": name})
        proc = _retrotool("playback", str(movie), cwd=tmp_path)
        assert leaked not in proc.stdout + proc.stderr, name  # before: "wrong ROM ..., this is <its SHA-1>"
        assert "Traceback" not in proc.stderr
        if name == "link.tst":  # a plain name the reader takes: the lookup beside the movie refuses the way out
            assert proc.returncode == 0, proc.stderr  # the ROM is found by its SHA-1 instead
            assert "ignoring the ROM name" in proc.stderr and "it leads out of the movie's folder" in proc.stderr
        else:  # a path is refused by the reader's schema before anything looks for it
            assert proc.returncode == 1 and "meta.rom_name" in proc.stderr and "not a plain file name" in proc.stderr


def test_a_file_larger_than_any_rom_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.tst"
    with open(huge, "wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GB that take no disk
    with pytest.raises(ContentError, match="huge.tst is 3,221,225,472 bytes; retrotool reads at most 67,108,864"):
        Rom.read(huge)
    with pytest.raises(ContentError, match="larger than any ROM"):
        games.file_sha1s(huge)
    assert not games._has_sha(huge, {"0" * 40})
    fifo = tmp_path / "pipe.tst"
    os.mkfifo(fifo)
    with pytest.raises(ContentError, match="not a regular file"):
        Rom.read(fifo)  # before: blocked for ever, waiting for a writer


@pytest.fixture
def game(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> games.Game:
    """A copy of TestGame-Test named Mine-Test, in a data folder of its own."""
    folder = tmp_path / "data" / "Mine-Test"
    shutil.copytree(ROOT / "data" / "TestGame-Test", folder)
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(folder.parent))
    game = games.find("Mine-Test")
    assert game.folder == folder
    return game


def test_state_names_from_metadata_and_the_user_stay_in_the_game_folder(tmp_path: Path, game: games.Game) -> None:
    outside = tmp_path / "outside.state"
    shutil.copy(game.folder / "Start.state", outside)
    (game.folder / "metadata.json").write_text(json.dumps({"default_state": "../../outside"}))
    with pytest.raises(ContentError, match=r"metadata.json: default_state: .*\.\./\.\./outside"):
        game.state()
    for name in ("../../outside", "../../outside.state", str(outside), ".hidden"):
        with pytest.raises(StateError, match="is not a state name"):
            game.state(name)
    (game.folder / "metadata.json").write_text(json.dumps({"default_state": "Start"}))
    assert game.state() == game.state("Start.state")


def test_a_game_files_symlinked_out_of_its_folder_are_refused(tmp_path: Path, game: games.Game) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("rom.tst", "Start.state", "data.json", "metadata.json"):
        target = outside / name
        shutil.copy(game.folder / name, target)
        (game.folder / name).unlink()
        (game.folder / name).symlink_to(target)
    with pytest.raises(ContentError, match="rom.tst leads out of the game folder"):
        game.rom()
    with pytest.raises(ContentError, match="metadata.json leads out of the game folder"):
        game.state()
    with pytest.raises(ContentError, match="Start.state leads out of the game folder"):
        game.state("Start")
    with pytest.raises(ContentError, match="data.json leads out of the game folder"):
        game.evaluator()
    (game.folder / "inner").mkdir()  # a symlink that stays inside is fine
    shutil.copy(outside / "data.json", game.folder / "inner" / "data.json")
    (game.folder / "data.json").unlink()
    (game.folder / "data.json").symlink_to(Path("inner") / "data.json")
    assert game.evaluator() is not None


@pytest.fixture
def evil_core(tmp_path: Path) -> tuple[Path, Path]:
    """A shared library whose constructor writes a marker file: (the library, the marker)."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    marker = tmp_path / "constructor-ran"
    source = tmp_path / "evil.c"
    source.write_text('#include <stdio.h>\n__attribute__((constructor)) static void ran(void) {\n'
                      f'  FILE *f = fopen("{marker}", "w"); if (f) fclose(f);\n}}\n')
    library = tmp_path / "evil_libretro.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True, timeout=120)
    return library, marker


def test_a_movie_names_a_core_never_a_path_so_no_library_it_names_is_loaded(
    tmp_path: Path, movie: Path, evil_core: tuple[Path, Path],
) -> None:
    library, marker = evil_core
    shutil.copy(library, movie.parent / library.name)
    for named in (str(library), f"./{library.name}", library.name, "../evil"):
        _tamper(movie, meta={"core": named})
        proc = _retrotool("playback", str(movie), cwd=movie.parent)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "retrotool.json meta.core" in proc.stderr, named  # the reader's schema: a name, not a path
        assert not marker.exists(), f"the library's constructor ran for core {named!r}"


def test_recover_never_loads_a_core_its_journal_gives_as_a_path(
    tmp_path: Path, rom: Path, evil_core: tuple[Path, Path],
) -> None:
    library, marker = evil_core
    header = {"system": "Test", "core": str(library), "core_version": "", "content_sha1": Rom.read(rom).sha1,
              "rom_name": rom.name, "rom_path": str(rom), "game": "?", "options": {}, "players": 1,
              "checkpoint_every": 600, "fps": 60.0, "rerecords": 0, "state": None}
    journal = tmp_path / "run.bk2.journal"
    journal.write_text("retrotool journal 1\n" + json.dumps(header) + "\n" + "0000\n" * 30)
    proc = _retrotool("record", "--recover", str(journal), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "may name a core, not a path" in proc.stderr and not marker.exists()
    assert bk2.read(tmp_path / "run.bk2").frames == 30
