"""Frame-exact with stable-retro on all ten systems, both ways, from a state and from power-on.

Every cell plays a few thousand frames of dense random input on a probe ROM
(every button stable-retro's movies can hold, each pressed half the time, so
opposing directions and Start/Select/Mode meet) and compares, at every row,
the SHA-256 of stable-retro's get_ram() and get_screen(), the info dict and,
from row 1, reward and done, between stable-retro itself (a subprocess running
sr_oracle.py) and retrotool's `--trace`:

- there -> here: stable-retro records (its Movie API, a random agent), retrotool
  replays the movie;
- here -> there: retrotool records, stable-retro replays the movie.

What stable-retro cannot represent is left out and said here: buttons its
movies drop (SMS Pause, Atari 2600 Reset, the PC Engine's I, II, III-VI and
Run; tests/unit/test_movie_roundtrip.py checks that writing them warns) are
never pressed, and its players stop at two.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import PROBES, Probe, oracle

from retrotool import games, playback, systems
from retrotool.errors import RetroToolError
from retrotool.record import scripted

pytestmark = pytest.mark.realcore

FRAMES = 2400  # rows after the reset frame: 40 s of game time


def _cells() -> list[tuple[str, str, str, int]]:
    return [
        (system, way, start, players)
        for system, probe in PROBES.items()
        for way in ("there-here", "here-there")
        for start in ("state", "power-on")
        for players in range(1, probe.players + 1)
    ]


def _dense(probe: Probe, players: int, seed: int) -> np.ndarray:
    """Each button stable-retro's movies hold, pressed with probability 1/2 in every frame; row 0 released."""
    system = systems.get(probe.system)
    held = np.array([info.sr_recorded for info in system.button_info], np.uint8)
    rng = np.random.default_rng(seed)
    buttons = rng.integers(0, 2, size=(FRAMES + 1, players, len(system.buttons)), dtype=np.uint8) * held
    buttons[0] = 0
    return buttons


def _here(movie: Path, tmp_path: Path) -> list[dict[str, object]]:
    trace = tmp_path / "here.jsonl"
    playback.run(movie, trace=trace)
    return [json.loads(line) for line in trace.read_text().splitlines()]


def _compare(here: list[dict[str, object]], there: list[list[object]], what: str) -> None:
    assert len(here) == len(there), f"{what}: {len(here)} rows here, {len(there)} in stable-retro"
    for k, (row, (ram, screen, reward, done, info)) in enumerate(zip(here, there)):
        differ = [name for name, same in (("RAM", row["ram"] == ram), ("screen", row["screen"] == screen),
                                          ("info", row["info"] == info)) if not same]
        if k:
            differ += [name for name, same in (("reward", row["reward"] == reward), ("done", row["done"] == done))
                       if not same]
        assert not differ, f"{what}: row {k} differs in {', '.join(differ)} (here {row}, there {[reward, done, info]})"


@pytest.mark.parametrize(("system", "way", "start", "players"), _cells(), ids=["-".join(map(str, c)) for c in _cells()])
def test_every_row_agrees_with_stable_retro(
    system: str, way: str, start: str, players: int, integration, sr_data: Path, tmp_path: Path
) -> None:
    probe, folder, core = integration(system)
    what = f"{system} {way} from {start}, {players} player(s)"
    seed = zlib.crc32(what.encode())
    movie = tmp_path / "movie.bk2"
    if way == "there-here":
        there = oracle("record", sr_data, probe.game, "Start" if start == "state" else "-", players, FRAMES, seed, movie)
    else:
        game = games.find(probe.game)
        scripted.record(
            system=systems.get(system), core=str(core), rom=folder / f"rom.{probe.ext}",
            buttons=_dense(probe, players, seed), out=movie, start=game.state("Start") if start == "state" else None,
            game=probe.game,
        )
        there = oracle("play", sr_data, movie)
    _compare(_here(movie, tmp_path), there, what)


@pytest.mark.parametrize(("way", "start"), [(w, s) for w in ("there-here", "here-there") for s in ("state", "power-on")])
def test_airstriker_agrees_with_stable_retro(way: str, start: str, sr_data: Path, tmp_path: Path) -> None:
    """A real game, where power-on once drifted: 3,000 frames of Airstriker from its Level1 state and from power-on."""
    try:
        game = games.find("Airstriker-Genesis-v0")
    except RetroToolError as e:
        pytest.skip(str(e))
    rom = game.rom()
    assert rom is not None
    what = f"Airstriker {way} from {start}"
    movie = tmp_path / "air.bk2"
    frames = 3000
    if way == "there-here":
        there = oracle("record", sr_data, game.name, "Level1" if start == "state" else "-", 1, frames, 7, movie)
    else:
        genesis = systems.get("Genesis")
        buttons = np.random.default_rng(7).integers(0, 2, size=(frames + 1, 1, len(genesis.buttons)), dtype=np.uint8)
        buttons[0] = 0
        scripted.record(system=genesis, core="genesis_plus_gx", rom=rom, buttons=buttons, out=movie,
                    start=game.state("Level1") if start == "state" else None, game=game.name)
        there = oracle("play", sr_data, movie)
    _compare(_here(movie, tmp_path), there, what)
