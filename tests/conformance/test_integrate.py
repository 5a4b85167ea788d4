"""Integrations written by `retrotool integrate` / `state save` load in stable-retro and behave there as here.

On each of the ten probe ROMs: `integrate new` makes the folder, a movie is
recorded from its power-on Start state, `state save --into --default` adds a
state from the movie's middle, `integrate var` / `reward` / `done` write
data.json and scenario.json. Then stable-retro itself (`retro.make` on the
folder, in a fresh process) must start from that default state exactly where
retrotool does (RAM and screen hashes, info, reward, done, row by row), and
`scenario check` must count the same rewards and the same first done as
stable-retro's own replay of a movie. States of other cores and builds are
refused with the reason (Debian's cores, where installed).
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import PROBES, Probe, oracle

from retrotool import cores, games, playback, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError, StateError
from retrotool.integration import check, folders, scaffold, states
from retrotool.record import scripted

pytestmark = pytest.mark.realcore
STILL = 60  # rows of no input from the default state
FRAMES = 400


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("stable_retro")
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(root))
    monkeypatch.delenv("RETRO_DATA_PATH", raising=False)
    return root


def _rom(probe: Probe) -> Path:
    rom = importlib.resources.files("retrotool") / "_roms" / probe.system / f"probe.{probe.ext}"
    if not rom.is_file():
        pytest.skip(f"the {probe.system} probe ROM was not built (its toolchain is missing)")
    return Path(str(rom))


def _random(system: systems.System, frames: int, seed: int) -> np.ndarray:
    held = np.array([b.sr_recorded for b in system.button_info], np.uint8)  # what stable-retro's movies hold
    buttons = np.random.default_rng(seed).integers(0, 2, (frames, 1, len(system.buttons)), dtype=np.uint8) * held
    buttons[0] = 0
    return buttons


def _integrate(probe: Probe, tmp_path: Path) -> tuple[games.Game, Path]:
    """The probe integrated with retrotool's commands (their library calls); a movie from the new default state."""
    name = f"Made{probe.system}-{probe.system}"
    try:
        core = cores.find(probe.core, origin="stable-retro")
    except CoreError as e:
        pytest.skip(str(e))
    scaffold.new(_rom(probe), name, core=str(core.path))
    game = games.find(name)
    system = systems.get(probe.system)
    first = tmp_path / "first.bk2"
    scripted.record(system=system, core=str(core.path), rom=game.rom(), buttons=_random(system, 300, 1), out=first,
                    start=game.state(), game=name)
    states.save(first, frame=150, into=name, name="Mid", default=True, core=str(core.path))
    (variable, (address, code)), *others = probe.variables.items()
    scaffold.variable(name, variable, address, code, core=str(core.path))
    for other, (address, code) in others:
        folders.set_variable(game, other, address, code)
    folders.set_rule(game, "reward", "pad", {"reward": 1.0, "penalty": 0.5})
    folders.set_rule(game, "done", "pad", {"op": "equal", "reference": 0})
    movie = tmp_path / "run.bk2"
    scripted.record(system=system, core=str(core.path), rom=game.rom(), buttons=_random(system, FRAMES + 1, 2),
                    out=movie, start=game.state(), game=name)
    return game, movie


@pytest.mark.parametrize("system", sorted(PROBES))
def test_an_integration_made_here_plays_the_same_in_stable_retro(system: str, data: Path, tmp_path: Path) -> None:
    game, movie = _integrate(PROBES[system], tmp_path)
    assert json.loads((game.folder / "metadata.json").read_text()) == {"default_state": "Mid"}
    # stable-retro starts from the folder's default state where retrotool does
    still = tmp_path / "still.bk2"
    buttons = np.zeros((STILL + 1, 1, len(game.system.buttons)), np.uint8)
    scripted.record(system=game.system, core=None, rom=game.rom(), buttons=buttons, out=still, start=game.state(),
                    game=game.name)
    trace = tmp_path / "t.jsonl"
    playback.run(still, trace=trace)
    here = [json.loads(line) for line in trace.read_text().splitlines()]
    there = oracle("default", data, game.name, STILL)
    assert len(here) == len(there)
    for k, (row, (ram, screen, reward, done, info)) in enumerate(zip(here, there)):
        assert (row["ram"], row["screen"], row["info"]) == (ram, screen, info), f"{system}: row {k}"
        assert k == 0 or (row["reward"], row["done"]) == (reward, done), f"{system}: row {k}"
    # scenario check counts what stable-retro's replay of a movie pays
    checked = check.check(game.name, movie)
    played = oracle("play", data, movie)
    rewards = np.array([row[2] for row in played[1:]])
    assert np.array_equal(checked.rewards[1:], rewards), system
    dones = [k for k, row in enumerate(played) if k and row[3]]
    assert checked.first_done == (dones[0] if dones else None), system
    assert checked.total == pytest.approx(rewards.sum())


def _foreign_state(core_name: str, origin: str, probe: Probe) -> bytes:
    try:
        core = cores.find(core_name, origin=origin)
    except CoreError as e:
        pytest.skip(f"{e} (Debian's libretro packages give another build)")
    with Emulator(core, _rom(probe), system=systems.get(probe.system)) as emulator:
        emulator.run(np.zeros((5, 1), np.uint16))
        return emulator.get_state()


@pytest.mark.parametrize(("system", "core", "reason"), [
    ("Nes", "nestopia", "it was made by Nestopia (nestopia), and this game runs on fceumm here"),
    ("GbAdvance", "mgba", "it is a mGBA state of version 07000001, and the mgba here writes version 02000001 "
                          "(another build of the core)"),
    ("GameBoy", "gambatte", "it is 26,644 bytes and the gambatte here makes 26,678-byte states of this game"),
])
def test_states_of_other_cores_and_builds_are_refused_with_the_reason(
    system: str, core: str, reason: str, data: Path, tmp_path: Path,
) -> None:
    probe = PROBES[system]
    state = tmp_path / "foreign.state"
    state.write_bytes(_foreign_state(core, "debian", probe))
    try:
        ours = cores.find(probe.core, origin="stable-retro")
    except CoreError as e:
        pytest.skip(str(e))
    scaffold.new(_rom(probe), f"Made{system}-{system}", core=str(ours.path))
    with pytest.raises(StateError, match="does not fit") as refused:
        states.save(state, into=f"Made{system}-{system}", name="Foreign", core=str(ours.path))
    assert reason in str(refused.value)
    assert not (data / f"Made{system}-{system}" / "Foreign.state").exists()


@pytest.mark.parametrize("system", ["Genesis", "Snes", "GbAdvance", "Nes", "PCEngine"])
def test_search_and_watch_find_what_stable_retro_reads(system: str, integration, sr_data: Path, tmp_path: Path) -> None:
    """The probe's pad value, as stable-retro's info reads it through data.json (Genesis words, SNES and GBA memory
    maps, RAM bases), is found by the RAM search at its data.json address and type, and watched frame by frame."""
    from retrotool.ram import hunt, watch

    probe, folder, core = integration(system)
    address, code = probe.variables["pad"]
    game = games.find(probe.game)
    movie = tmp_path / "m.bk2"
    scripted.record(system=game.system, core=str(core), rom=game.rom(), buttons=_random(game.system, 400, 3),
                    out=movie, start=game.state("Start"), game=probe.game)
    there = [int(row[4]["pad"]) for row in oracle("play", sr_data, movie)]
    watched = watch.watch(movie, ["pad", f"{address:#x}:{code}"])
    assert watched.values["pad"].tolist() == there == watched.values[f"{address:#x}:{code}"].tolist()
    file = tmp_path / "s.json"
    hunt.start(movie, file=file, types=(code, "|u1"))
    frames = [f for f in range(50, 400, 37) if there[f]][:4]
    for f in frames:
        hunt.narrow(file, {"equals": there[f]}, frame=f)
    _, at, rows = hunt.show(file, limit=1000)
    assert at == frames
    assert any(c.address == address and c.type == code and list(c.values) == [there[f] for f in frames] for c in rows)
