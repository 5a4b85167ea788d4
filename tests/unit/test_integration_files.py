"""Writing integrations without a core: state files, game folders and their JSON, where retrotool may write, charts."""

from __future__ import annotations

import gzip
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from retrotool import charts, games, systems
from retrotool.errors import ContentError, OutputExistsError, RetroToolError, StateError
from retrotool.integration import folders, statefiles
from retrotool.variables import load_scenario, load_variables

GENPLUS = b"GENPLUS-GX 1.7.5" + bytes(100)
MGBA = b"\x02\x00\x00\x01" + b"bios" + b"CRC1" + b"clk." + b"INPUT PROBE ZRTP" + bytes(397312 - 32)


@pytest.mark.parametrize(("data", "core"), [
    (GENPLUS, "genesis_plus_gx"), (b"FCS\xff\xf93\x00\x00" + bytes(50), "fceumm"), (b"#!s9xsnp:0009\nNAM", "snes9x"),
    (b"MDFNSVST" + bytes(40), "mednafen_pce_fast"), (b"\r\x00\x00\x0003090100state" + bytes(9), "stella"),
    (bytes.fromhex("0001000000610000000100620000000112626761747262"), "gambatte"), (MGBA, "mgba"),
    (b"RTSTSAVE" + bytes(2048), "retrotool_testcore"), (b"NST\x1a" + bytes(9), "nestopia"),
])
def test_makers_are_recognised(data: bytes, core: str) -> None:
    found = statefiles.maker(data)
    assert found is not None and found.core == core


def test_other_emulators_states_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "bizhawk.State"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Core.bin", b"x")
    with pytest.raises(StateError, match="savestate of BizHawk .* no libretro core can load it"):
        statefiles.read(path)
    (tmp_path / "fceux.fc0").write_bytes(gzip.compress(b"FCSX" + bytes(20)))
    with pytest.raises(StateError, match="FCEUX"):
        statefiles.read(tmp_path / "fceux.fc0")


def test_containers_gzip_raw_and_retroarch(tmp_path: Path) -> None:
    written = statefiles.write(tmp_path / "a.state", GENPLUS)
    assert gzip.decompress(written.read_bytes()) == GENPLUS  # what stable-retro's gzip.open reads
    assert statefiles.read(written).container == "gzip" and statefiles.read(written).data == GENPLUS
    (tmp_path / "raw").write_bytes(GENPLUS)
    assert statefiles.read(tmp_path / "raw").container == "raw"
    wrapped = b"RASTATE\x01" + b"MEM " + struct.pack("<I", len(GENPLUS)) + GENPLUS + bytes(-len(GENPLUS) % 8)
    (tmp_path / "ra.state").write_bytes(wrapped + b"END " + bytes(4))
    assert statefiles.read(tmp_path / "ra.state").data == GENPLUS
    (tmp_path / "empty.state").write_bytes(b"RASTATE\x01END \x00\x00\x00\x00")
    with pytest.raises(StateError, match="RetroArch state without the core's state"):
        statefiles.read(tmp_path / "empty.state")
    with pytest.raises(OutputExistsError):
        statefiles.write(written, GENPLUS)


def test_misfits_say_why() -> None:
    assert statefiles.misfits(GENPLUS, GENPLUS, "genesis_plus_gx") == []
    older = b"GENPLUS-GX 1.7.4" + bytes(100)
    assert statefiles.misfits(older, GENPLUS, "genesis_plus_gx") == [
        "it is a Genesis Plus GX state of version GENPLUS-GX 1.7.4, and the genesis_plus_gx here writes version "
        "GENPLUS-GX 1.7.5 (another build of the core)"]
    other_game = MGBA[:16] + b"ANOTHER GAME ABC" + MGBA[32:]
    assert "another game (CRC1, ANOTHER GAME ABC; this game's states have CRC1, INPUT PROBE ZRTP)" in statefiles.misfits(
        other_game, MGBA, "mgba")[0]
    assert statefiles.misfits(b"NST\x1a" + bytes(9), b"FCS\xff" + bytes(9), "fceumm") == [
        "it was made by Nestopia (nestopia), and this game runs on fceumm here"]
    assert "it is 5 bytes and the gambatte here makes 7-byte states" in statefiles.misfits(b"12345", b"1234567",
                                                                                           "gambatte")[0]


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(root))
    return root


def _game(data: Path) -> games.Game:
    folders.create(data, "Mine-Nes", systems.get("Nes"), b"NES\x1a" + bytes(12) + b"PRG" * 10, "x.nes", GENPLUS)
    return games.find("Mine-Nes")


def test_a_new_folder_holds_what_stable_retro_reads(data: Path) -> None:
    game = _game(data)
    names = sorted(p.name for p in game.folder.iterdir())
    assert names == ["Start.state", "data.json", "metadata.json", "rom.nes", "rom.sha", "scenario.json"]
    assert game.shas == (games.rom_sha1((game.folder / "rom.nes").read_bytes(), "rom.nes"),)  # iNES header skipped
    assert game.default_state() == "Start" and game.state() == GENPLUS
    assert load_variables(game.folder / "data.json") == {} and load_scenario(game.folder / "scenario.json").reward_terms == ()
    with pytest.raises(OutputExistsError, match="Mine-Nes already exists: choose another --name"):
        folders.create(data, "Mine-Nes", systems.get("Nes"), b"x", "x.nes", GENPLUS)
    assert not [p for p in data.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_variables_and_rules_are_edited_and_checked(data: Path) -> None:
    game = _game(data)
    assert folders.set_variable(game, "lives", 0x75A, "|u1") == {}
    assert folders.set_variable(game, "lives", 0x75A, "|u1", mask=7) == {"address": 0x75A, "type": "|u1"}
    assert load_variables(game.folder / "data.json")["lives"].mask == 7
    with pytest.raises(ContentError, match="unknown type code 'u1'"):
        folders.set_variable(game, "score", 0x7E0, "u1")
    with pytest.raises(ContentError, match=r"'score' is not a variable of Mine-Nes: add it first with `retrotool integrate var"):
        folders.set_rule(game, "reward", "score", {"reward": 1.0})
    assert folders.set_rule(game, "reward", "lives", {"penalty": 10.0, "op": None}) == {"penalty": 10.0}
    assert folders.set_rule(game, "done", "lives", {"op": "equal", "reference": 0.0}) == {"op": "equal", "reference": 0.0}
    with pytest.raises(ContentError, match="unknown op 'same'; stable-retro's ops are equal, negative-equal"):
        folders.set_rule(game, "done", "lives", {"op": "same"})
    folders.set_scenario_field(game, "reward", "time", -0.5)
    folders.set_scenario_field(game, "done", "condition", "all")
    scenario = load_scenario(game.folder / "scenario.json")
    assert scenario.time_reward == -0.5 and scenario.done_all and scenario.reward_terms[0].penalty == 10.0
    assert scenario.reward_terms[0].measurement == "delta" and scenario.done_terms[0].measurement == "absolute"
    with pytest.raises(ContentError, match="used by the reward and done rules"):
        folders.remove_variable(game, "lives")
    folders.set_rule(game, "reward", "lives", {}, remove=True)
    folders.set_rule(game, "done", "lives", {}, remove=True)
    folders.remove_variable(game, "lives")
    assert load_variables(game.folder / "data.json") == {}


def test_states_are_added_and_made_default(data: Path) -> None:
    game = _game(data)
    folders.add_state(game, "Level2", b"MDFNSVST" + bytes(8), default=True)
    assert game.default_state() == "Level2" and game.states() == ["Level2", "Start"]
    with pytest.raises(OutputExistsError):
        folders.add_state(game, "Level2", b"x")
    with pytest.raises(ContentError, match="not a state name"):
        folders.add_state(game, "../x", b"x")


def test_installed_packages_are_never_written(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = tmp_path / "site-packages" / "stable_retro" / "data"
    (installed / "stable" / "Theirs-Nes").mkdir(parents=True)
    (installed / "stable" / "Theirs-Nes" / "rom.sha").write_text("0" * 40)
    real = games.data_folders
    monkeypatch.setattr(games, "data_folders", lambda: [*real()[:2], ("stable-retro stable", installed / "stable")])
    with pytest.raises(ContentError, match=r"inside an installed package .* copy the game folder into a folder of your own, "
                                           r"named in \$RETROTOOL_DATA_PATH"):
        folders.writable_game("Theirs-Nes")
    with pytest.raises(ContentError, match="installed package"):
        folders.writable_root(installed / "contrib")
    assert folders.writable_root() == data
    with pytest.raises(ContentError, match="does not exist"):
        folders.writable_root(tmp_path / "nowhere")


def test_a_chart_is_a_png_and_matplotlib_is_asked_for_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib", reason="charts need the 'plot' extra")
    frames = np.arange(500)
    lines = {"score": frames * 100, "lives": 3 - frames // 200}
    panels = charts.panels_for(lines)
    assert [p.title for p in panels] == ["score", "lives"]  # sizes 100x apart: a panel each
    assert len(charts.panels_for({"a": frames, "b": frames * 2})) == 1
    out = charts.draw(tmp_path / "c.png", frames, panels, title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputExistsError):
        charts.draw(out, frames, panels, title="t")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(RetroToolError, match=r"plots need matplotlib: pip install 'retrotool\[plot\]'"):
        charts.draw(tmp_path / "d.png", frames, panels, title="t")
