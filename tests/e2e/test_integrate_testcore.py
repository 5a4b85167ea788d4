"""Integrating a game on the test core: the example script, each command's numbers against a plain emulator loop, bad input.

The oracle for values is the test core itself driven frame by frame by a
bare `Emulator` (no replay loop, no sinks): its RAM holds the score at 0x10
(little-endian u32) and the frame counter at 0x4.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrotool import games, movie as bk2, session
from retrotool.emulator import Emulator
from retrotool.errors import ContentError, RetroToolError, SearchError, StateError
from retrotool.integration import check, folders, scaffold, states
from retrotool.ram import hunt, watch
from retrotool.record import scripted

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "integrate_testgame.sh"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(root))
    return root


def _scores(movie_path: Path, testcore: Path) -> np.ndarray:
    """(score, frame counter) after every row, from a bare emulator stepped one row at a time."""
    movie = bk2.read(movie_path)
    content = session.movie_content(movie, movie_path)
    out = []
    with Emulator(testcore, content.rom, system=content.system, ports=movie.players) as emu:
        session.load_start(emu, content.state, movie.convention)
        for k, masks in enumerate(movie.masks()):
            emu.run((masks * (k > 0))[np.newaxis])  # row 0: stable-retro's reset frame, released
            out.append([int(emu.ram[16:20].view("<u4")[0]), int(emu.ram[4:8].view("<u4")[0])])
    return np.array(out)


def _game_with_movie(data: Path, rom: Path, tmp_path: Path, buttons) -> tuple[games.Game, Path]:
    scaffold.new(rom, "Demo-Test")
    game = games.find("Demo-Test")
    what = session.game_content(game="Demo-Test")
    movie = tmp_path / "run.bk2"
    scripted.record(system=what.system, core=None, rom=what.rom, buttons=buttons(600, seed=5), out=movie,
                    start=what.state, game=what.name)
    return game, movie


def test_the_example_integrates_the_test_game_with_commands_only(tmp_path: Path, testcore: Path) -> None:
    pytest.importorskip("matplotlib", reason="the example draws charts: the 'plot' extra")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # our retrotool
    proc = subprocess.run(["bash", str(EXAMPLE), str(tmp_path / "w")], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work = tmp_path / "w"
    folder = work / "data" / "Demo-Test"
    info = json.loads((folder / "data.json").read_text())["info"]
    assert info == {"score": {"address": 16, "type": "<u4"}, "frame": {"address": 4, "type": "<u4"}}
    assert json.loads((folder / "metadata.json").read_text()) == {"default_state": "Middle"}
    expected = _scores(work / "run.bk2", testcore)
    csv = np.loadtxt(work / "values.csv", delimiter=",", skiprows=1, dtype=np.int64)
    assert np.array_equal(csv[:, 0], np.arange(900)) and np.array_equal(csv[:, 1:3], expected)
    assert "6 candidates" in proc.stdout and "equals 6262 at frame 899" in proc.stdout
    first_done = int(np.flatnonzero(expected[1:, 0] >= 5000)[0]) + 1
    total = expected[-1, 0] - expected[0, 0]  # the score's rises from the reset frame on
    assert f"total reward {total}, done first at frame {first_done}" in proc.stdout
    for png in ("values.png", "reward.png"):
        assert (work / png).read_bytes()[:4] == b"\x89PNG"
    # the state saved at frame 450 is the emulator's state after row 450
    state = gzip.decompress((folder / "Middle.state").read_bytes())
    assert int(np.frombuffer(state[8 + 16 : 8 + 20], "<u4")[0]) == expected[450, 0]


def test_scenario_check_counts_like_a_plain_loop_and_warns(data: Path, rom: Path, tmp_path: Path, buttons,
                                                           testcore: Path) -> None:
    game, movie = _game_with_movie(data, rom, tmp_path, buttons)
    scaffold.variable("Demo-Test", "score", 16, "<u4")
    scaffold.variable("Demo-Test", "pad2", 0x14 + 4, "<u4")  # player 2's score: a one-player movie never moves it
    folders.set_rule(game, "reward", "score", {"reward": 0.5})
    folders.set_rule(game, "done", "pad2", {"op": "equal", "reference": 0})  # holds at once
    result = check.check("Demo-Test", movie, png=tmp_path / "r.png")
    expected = _scores(movie, testcore)[:, 0]
    assert result.total == pytest.approx(0.5 * (expected[-1] - expected[0]))
    assert np.allclose(result.rewards[1:], 0.5 * np.diff(expected)) and result.rewards[0] == 0
    assert result.first_done == 1  # row 0 is no step: the first step ends the episode
    said = " | ".join(result.warnings)
    assert "pad2 never changes in this movie (always 0)" in said and "done already holds at frame 0" in said
    folders.set_rule(game, "reward", "score", {}, remove=True)
    assert "the scenario has no reward rule" in " ".join(check.check("Demo-Test", movie).warnings)


def test_ram_search_keeps_its_set_on_a_step_that_leaves_nothing_and_undoes(data: Path, rom: Path, tmp_path: Path,
                                                                          buttons, testcore: Path) -> None:
    _, movie = _game_with_movie(data, rom, tmp_path, buttons)
    file = tmp_path / "s.json"
    hunt.start(movie, file=file, types=("<u4", "|u1"))
    with pytest.raises(RetroToolError, match="under way"):
        hunt.start(movie, file=file, types=("<u4",))
    score = _scores(movie, testcore)[:, 0]
    step = hunt.narrow(file, {"equals": int(score[500])}, frame=500).step
    assert step.count < 50
    with pytest.raises(SearchError, match="no candidate is equals -1 at frame 500"):
        hunt.narrow(file, {"equals": -1}, frame=500)
    _, at, rows = hunt.show(file, frames=[100])
    assert at == [100, 500] and any(c.address == 16 and c.type == "<u4" and c.values == (score[100], score[500])
                                    for c in rows)
    assert hunt.undo(file)[0].what == f"equals {score[500]} at frame 500"
    with pytest.raises(SearchError, match="nothing to undo"):
        hunt.undo(file)
    movie.write_bytes(movie.read_bytes() + b"\0")
    with pytest.raises(ContentError, match="changed since this search started"):
        hunt.narrow(file, {"changed": True}, frame=10)


def test_bad_input_is_refused_with_the_reason(data: Path, rom: Path, tmp_path: Path, buttons) -> None:
    game, movie = _game_with_movie(data, rom, tmp_path, buttons)
    with pytest.raises(ContentError, match=r"score: address 0x800 \(4 bytes\) is outside this game's RAM, which is 0x0-0x7ff"):
        scaffold.variable("Demo-Test", "score", 0x800, "<u4")
    with pytest.raises(ContentError, match="unknown type code '<q4'"):
        scaffold.variable("Demo-Test", "score", 16, "<q4")
    with pytest.raises(ContentError, match="0x7ff:<u2: address 0x7ff"):
        watch.watch(movie, ["0x7ff:<u2"])
    with pytest.raises(ContentError, match="'lives' is neither ADDRESS:TYPE"):
        watch.watch(movie, ["lives"])
    with pytest.raises(ContentError, match="Demo-Test already exists"):
        scaffold.new(rom, "Demo-Test")
    with pytest.raises(ContentError, match="does not end with a system"):
        scaffold.new(rom, "Demo-Nowhere")
    # another game of the same core: another ROM, so another seed in the test core's state
    other_rom = tmp_path / "other.tst"
    other_rom.write_bytes(rom.read_bytes()[:-1] + bytes([rom.read_bytes()[-1] ^ 1]))
    scaffold.new(other_rom, "Other-Test")
    with pytest.raises(StateError, match="the movie plays the ROM with SHA-1 .* a state of another game"):
        states.save(movie, frame=10, into="Other-Test")
    states.save(movie, frame=10, out=tmp_path / "ten.state")
    with pytest.raises(StateError, match="does not fit Other-Test: it is a state of another game"):
        states.save(tmp_path / "ten.state", into="Other-Test")
    found = states.info(tmp_path / "ten.state")
    assert dict(found.fits)["Demo-Test"] is None and "another game" in str(dict(found.fits)["Other-Test"])
    assert found.maker is not None and found.maker.core == "retrotool_testcore"


def test_states_from_movies_match_the_replay_at_that_frame(data: Path, rom: Path, tmp_path: Path, buttons,
                                                          testcore: Path) -> None:
    _, movie = _game_with_movie(data, rom, tmp_path, buttons)
    saved = states.save(movie, frame=299, out=tmp_path / "a.state", into="Demo-Test", default=True)
    assert [p.name for p in saved.written] == ["a.state", "a.state"] and games.find("Demo-Test").default_state() == "a"
    ram = np.frombuffer(saved.state[8:], np.uint8)
    assert int(ram[16:20].view("<u4")[0]) == _scores(movie, testcore)[299, 0]
    with pytest.raises(ContentError, match="--frame 600 is outside"):
        states.save(movie, frame=600, out=tmp_path / "b.state")


@pytest.mark.realcore
def test_stable_retros_installed_folders_are_never_written(data: Path, rom: Path) -> None:
    pytest.importorskip("stable_retro")
    with pytest.raises(ContentError, match="inside an installed package"):
        scaffold.variable("Airstriker-Genesis-v0", "x", 0xFF0000, ">u2")
    with pytest.raises(ContentError, match="inside an installed package"):
        scaffold.new(rom, "Mine-Test", data=games.find("Airstriker-Genesis-v0").folder.parent)


def test_the_cli_says_what_is_wrong_in_a_line(data: Path, rom: Path, tmp_path: Path, buttons, cli) -> None:
    _, movie = _game_with_movie(data, rom, tmp_path, buttons)
    for args, message in [
        (("integrate", "var", "Demo-Test", "x", "0x900", "<u4"), "is outside this game's RAM"),
        (("ram", "search", "narrow", "--equals", "3"), "no RAM search in ram-search.json"),
        (("state", "save", str(movie), "-o", "s.state"), "give the movie's frame: --frame N"),
        (("state", "save", str(movie), "--frame", "3", "--default", "-o", "s.state"), "--default sets the default"),
        (("ram", "watch", str(movie), "16:<x4"), "unknown type code '<x4'"),
    ]:
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    proc = cli("ram", "search", "start", str(movie), "--types", "<u4", cwd=tmp_path)
    assert proc.returncode == 0 and "2,045 candidates" in proc.stdout, proc.stdout + proc.stderr
    proc = cli("ram", "search", "narrow", "--frame", "5", "--equals", "3", "--changed", cwd=tmp_path)
    assert proc.returncode == 1 and "give one condition per step" in proc.stderr
