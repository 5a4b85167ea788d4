"""Core lookup: search order, names and paths, and the messages when nothing is found."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrotool import cores, systems
from retrotool.errors import CoreError


def test_search_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RETROTOOL_CORE_PATH", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    origins = [origin for origin, _ in cores.search_path()]
    assert origins[:2] == ["env", "env"]
    assert origins[-2:] == ["debian", "retroarch"]
    if "stable-retro" in origins:
        assert origins.index("stable-retro") == 2


def test_env_folder_wins_and_retroarch_folder_is_searched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, testcore: Path) -> None:
    home = tmp_path / "home"
    retroarch = home / ".config" / "retroarch" / "cores"
    retroarch.mkdir(parents=True)
    shutil.copy(testcore, retroarch / "mycore_libretro.so")
    monkeypatch.setenv("HOME", str(home))
    assert cores.find("mycore").origin == "retroarch"
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(testcore, mine / "mycore_libretro.so")
    monkeypatch.setenv("RETROTOOL_CORE_PATH", str(mine))
    found = cores.find("mycore")
    assert (found.origin, found.path) == ("env", mine / "mycore_libretro.so")


def test_missing_core_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "search_path", list)
    with pytest.raises(CoreError, match=r"retrotool\[cores\].*apt-get install libretro-fceumm"):
        cores.find("fceumm")
    with pytest.raises(CoreError, match="no core for Nes is installed"):
        cores.for_system(systems.get("Nes"))


def test_resolve_by_path_and_name(testcore: Path, tmp_path: Path) -> None:
    assert cores.resolve(str(testcore), systems.get("Test")).path == testcore
    assert cores.resolve(None, systems.get("Test")).name == cores.TEST_CORE
    with pytest.raises(CoreError, match="core file not found"):
        cores.resolve(str(tmp_path / "nope_libretro.so"), systems.get("Test"))


def test_quirks_come_from_data() -> None:
    gpgx = cores.quirks(Path("/x/genesis_plus_gx_libretro.so"))
    assert dict(gpgx.options)["genesis_plus_gx_render"] == "single field" and gpgx.stable_retro
    assert gpgx.obs_size("Genesis") == (320, 224) and gpgx.obs_size("Nes") == (None, None)
    assert cores.quirks(Path("/x/stella_libretro.so")).state_after_reload
    assert cores.quirks(Path("/x/unknown_libretro.so")) == cores.Quirks()
