"""Hand-made files shaped like stable-retro's and BizHawk's output (see tests/data/movies/make_golden.py)."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie, systems
from retrotool.errors import MovieFormatError
from retrotool.movie import Movie

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "movies"


def _pressed(m: Movie, frame: int, player: int = 0) -> list[str]:
    names = systems.get(m.system).buttons
    return [names[i] for i in np.flatnonzero(m.buttons[frame, player])]


def _maker():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_the_script() -> None:
    for name, data in _maker().golden_files().items():
        assert (GOLDEN / name).read_bytes() == data, f"{name} is stale: run make_golden.py"


def test_stable_retro_genesis() -> None:
    m = movie.read(GOLDEN / "sr_genesis.bk2")
    assert (m.system, m.frames, m.players) == ("Genesis", 4, 1)
    assert _pressed(m, 0) == []
    assert _pressed(m, 1) == ["DOWN", "C"]
    assert len(_pressed(m, 2)) == 12
    assert _pressed(m, 3) == ["B", "UP"]
    assert (m.state, m.state_format) == (_maker().CORE_LIBRETRO, "libretro")
    assert m.header_value("GameName") == "Airstriker-Genesis-v0"
    assert m.console_names == () and m.extras == ()


def test_stable_retro_genesis_is_rewritten_byte_for_byte() -> None:
    with zipfile.ZipFile(GOLDEN / "sr_genesis.bk2") as zf:
        golden = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(io.BytesIO(movie.to_bytes(movie.read(GOLDEN / "sr_genesis.bk2")))) as zf:
        ours = {n: zf.read(n) for n in zf.namelist()}
    assert list(ours) == [*golden, "retrotool.json"]
    for name in golden:
        assert ours[name] == golden[name], name


def test_bizhawk_windows_file() -> None:
    m = movie.read(GOLDEN / "bizhawk_windows_genesis.bk2")
    assert (m.system, m.frames, m.players) == ("Genesis", 3, 1)
    assert _pressed(m, 1) == ["B", "UP", "RIGHT"]
    assert _pressed(m, 2) == ["MODE"]
    assert m.console_names == ("Reset",) and m.console[:, 0].tolist() == [0, 1, 0]
    assert (m.state, m.state_format) == (_maker().CORE_BIZHAWK, "bizhawk")
    # first occurrence wins and a blank line does not end the header
    assert m.header_value("Platform") == "GEN"
    assert m.header_value("SHA1") == "69E102855D4389C3FD1A8F3DC7D193F8EEE5FE5B"
    assert [n for n, _ in m.extras] == ["BizVersion.txt", "Comments.txt", "Subtitles.txt", "SyncSettings.json"]


def test_bizhawk_windows_file_round_trips_in_bizhawk_dialect() -> None:
    m = movie.read(GOLDEN / "bizhawk_windows_genesis.bk2")
    back = movie.from_bytes(movie.to_bytes(m, "bizhawk"))
    assert back.replace(header=m.header) == m


def test_old_bizhawk_gameboy_with_trailing_empty_group() -> None:
    m = movie.read(GOLDEN / "bizhawk_old_gb.bk2")
    assert (m.system, m.frames, m.players) == ("GameBoy", 4, 1)
    assert len(_pressed(m, 1)) == 8
    assert _pressed(m, 2) == ["START"]
    assert m.console_names == ("Power",) and m.console[:, 0].tolist() == [0, 0, 0, 1]
    assert m.state is None


def test_gba_axes_are_parsed_and_dropped() -> None:
    m = movie.read(GOLDEN / "bizhawk_gba_axes.bk2")
    assert (m.system, m.frames) == ("GbAdvance", 3)
    assert _pressed(m, 1) == ["UP"]
    assert _pressed(m, 2) == ["B", "A", "L", "R"]
    assert m.console[:, 0].tolist() == [0, 1, 0]


def test_two_players() -> None:
    m = movie.read(GOLDEN / "sr_snes_two_players.bk2")
    assert (m.system, m.players) == ("Snes", 2)
    assert _pressed(m, 1, 0) == ["B", "Y", "R"]
    assert _pressed(m, 1, 1) == ["A", "L"]
    assert len(_pressed(m, 2, 1)) == 12


def test_no_key_line_uses_platform_default() -> None:
    m = movie.read(GOLDEN / "bizhawk_no_keyline_nes.bk2")
    assert (m.system, m.frames, m.players) == ("Nes", 3, 1)
    assert len(_pressed(m, 1)) == 8
    assert _pressed(m, 2) == ["SELECT"]
    assert m.console_names == ("Power", "Reset")
    assert m.console.tolist() == [[0, 0], [1, 0], [0, 1]]


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.bk2")))
def test_every_golden_file_survives_the_stable_retro_writer(name: str) -> None:
    m = movie.read(GOLDEN / name).replace(state_format="libretro")
    try:
        expected = movie.convert(m, "stable-retro")
    except MovieFormatError as refused:  # BizHawk movies that press buttons before stable-retro gives input
        assert m.convention == "bizhawk" and "presses buttons in frame" in str(refused)
        with pytest.raises(MovieFormatError, match="presses buttons in frame"):
            movie.to_bytes(m)
        return
    back = movie.from_bytes(movie.to_bytes(m))
    assert np.array_equal(back.buttons, expected.buttons)
