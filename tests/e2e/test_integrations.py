"""Game integrations end to end: TestGame-Test (shipped), import by SHA-1, Airstriker rewards vs stable-retro."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from retrotool import catalog, games, playback, session, systems
from retrotool.errors import ContentError
from retrotool.record import scripted


def test_record_a_game_from_its_default_state_then_trace_rewards(tmp_path: Path, buttons, cli) -> None:
    what = session.game_content(game="TestGame-Test")
    assert what.system.name == "Test" and what.state is not None and what.name == "TestGame-Test"
    out = tmp_path / "g.bk2"
    scripted.record(system=what.system, core=None, rom=what.rom, buttons=buttons(400), out=out,
                start=what.state, game=what.name)
    # the movie names the game, so playback finds ROM and core without help
    proc = cli("playback", str(out), "--trace", "t.jsonl", "--trace-every", "50", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(0, 400, 50)) + [399]
    assert set(rows[0]) == {"frame", "ram", "screen", "reward", "done", "info"}
    # reward is the score's increase, summed between traced rows; like stable-retro,
    # the baseline is taken after row 0 (its reset frame), so row 0 earns nothing
    total = sum(r["reward"] for r in rows)
    assert rows[0]["reward"] == 0
    assert total == rows[-1]["info"]["score"] - rows[0]["info"]["score"] > 0
    assert rows[-1]["info"]["frame"] > 400


def test_cli_record_game(tmp_path: Path, cli) -> None:
    proc = cli("record", "--game", "TestGame-Test", "--random", "--frames", "60", "-o", "a.bk2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    verify = cli("verify", "a.bk2", cwd=tmp_path)
    assert verify.returncode == 0 and "a.bk2: 2 of 2 checkpoints matched" in verify.stdout, verify.stdout  # 0 and 59
    proc = cli("record", "--game", "NoSuchGame-Nes", "--random", "--frames", "5", "-o", "b.bk2", cwd=tmp_path)
    assert proc.returncode == 1 and "no game integration named 'NoSuchGame-Nes'" in proc.stderr
    proc = cli("record", "--game", "TestGame-Test", "--state", "Nope", "--random", "--frames", "5", "-o", "c.bk2", cwd=tmp_path)
    assert proc.returncode == 1 and "no state 'Nope'" in proc.stderr and "Start" in proc.stderr


def test_games_lists_and_import_finds_roms_by_sha1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    data = tmp_path / "data"
    folder = data / "Probe-Nes"
    folder.mkdir(parents=True)
    rom = b"NES\x1a" + bytes(12) + b"PRG" * 100  # iNES header + body
    (folder / "rom.sha").write_text(games.rom_sha1(rom, "x.nes") + "\n")
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(data))
    listed = {g.name: g for g in catalog.list_games(systems.get("Nes"))}
    assert listed["Probe-Nes"].rom is False
    roms = tmp_path / "roms"
    roms.mkdir()
    import zipfile

    with zipfile.ZipFile(roms / "pack.zip", "w") as z:
        z.writestr("inner/game.nes", rom)
    (roms / "unrelated.bin").write_bytes(b"nothing")
    proc = cli("import", str(roms))
    assert proc.returncode == 0 and "1 ROM(s) imported" in proc.stdout
    assert (folder / "rom.nes").read_bytes() == rom
    assert games.find("Probe-Nes-v0").rom() == folder / "rom.nes"  # -vN may be added or dropped


def test_missing_rom_of_an_integration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    shutil.copytree(games.find("TestGame-Test").folder, data / "Other-Test")
    (data / "Other-Test" / "rom.tst").unlink()
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(data))
    with pytest.raises(ContentError, match="retrotool import"):
        session.game_content(game="Other-Test")


@pytest.mark.realcore
def test_airstriker_rewards_and_info_match_stable_retro(tmp_path: Path, python_json) -> None:
    pytest.importorskip("stable_retro")
    code = r"""
import json, sys
import numpy as np
import stable_retro as retro
env = retro.make("Airstriker-Genesis-v0", state="Level1", record=sys.argv[1], render_mode=None,
                 use_restricted_actions=retro.Actions.ALL)
env.reset(seed=0)
rng = np.random.default_rng(5)
rows = []
for _ in range(900):
    _, reward, term, trunc, info = env.step(rng.integers(0, 2, size=env.num_buttons))
    rows.append([reward, info])
env.close()
print(json.dumps(rows))
"""
    sr_rows = python_json(code, str(tmp_path))
    (movie,) = tmp_path.glob("*.bk2")
    playback.run(movie, trace=tmp_path / "t.jsonl")
    ours = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(ours) == len(sr_rows) + 1  # row 0 is stable-retro's reset frame
    assert [[r["reward"], r["info"]] for r in ours[1:]] == sr_rows
    assert sum(r for r, _ in sr_rows) > 0


@pytest.mark.realcore
def test_discrete_action_indexes_match_stable_retros(tmp_path: Path, python_json) -> None:
    """An agent on stable-retro's Actions.DISCRETE records a movie; dump-dataset gives back the indexes it chose."""
    pytest.importorskip("stable_retro")
    from retrotool import datasets
    from retrotool.datasets import dump

    scenario = tmp_path / "restricted.json"
    scenario.write_text(json.dumps({
        "reward": {"variables": {"score": {"reward": 1.0}}},
        "actions": [[[], ["UP"], ["DOWN"]], [[], ["LEFT"], ["RIGHT"]], [[], ["B"], ["A", "B"], ["C"]]],
    }))
    code = r"""
import json, sys
import numpy as np
import stable_retro as retro
env = retro.make("Airstriker-Genesis-v0", state="Level1", scenario=sys.argv[2], record=sys.argv[1],
                 use_restricted_actions=retro.Actions.DISCRETE, render_mode=None)
env.reset(seed=0)
rng = np.random.default_rng(7)
chosen = [int(a) for a in rng.integers(0, env.action_space.n, size=300)]
for a in chosen:
    env.step(a)
env.close()
print(json.dumps([int(env.action_space.n), chosen]))
"""
    n, chosen = python_json(code, str(tmp_path), str(scenario))
    (movie,) = tmp_path.glob("*.bk2")
    result = dump.dump_dataset([movie], tmp_path / "ds", scenario=scenario)
    assert not result.failed, result.failed
    (episode,) = datasets.load(tmp_path / "ds")
    assert n == 36 and datasets.read_manifest(tmp_path / "ds")["discrete_actions"] == n
    assert episode.discrete_actions is not None and episode.discrete_actions.tolist() == chosen
