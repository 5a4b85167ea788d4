"""A real core and game: Airstriker on genesis_plus_gx, from the `cores` extra (skipped without it)."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from retrotool import games, movie as bk2, playback, systems
from retrotool.record import scripted
from retrotool.record.sources import random_buttons

pytestmark = pytest.mark.realcore


@pytest.fixture(scope="module")
def airstriker() -> tuple[Path, Path, Path]:
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("stable-retro (the 'cores' extra) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    game = root / "data" / "stable" / "Airstriker-Genesis-v0"
    core = root / "cores" / "genesis_plus_gx_libretro.so"
    if not core.is_file() or not (game / "rom.md").is_file():
        pytest.skip("stable-retro has no genesis_plus_gx core or Airstriker game")
    return core, game / "rom.md", game / "Level1.state"


def test_record_verify_and_trace_across_processes(tmp_path: Path, airstriker, cli) -> None:
    core, rom, state = airstriker
    local_rom = tmp_path / "rom.md"
    local_rom.write_bytes(rom.read_bytes())
    buttons = random_buttons(systems.get("Genesis"), 1200, 1, seed=7)
    out = tmp_path / "air.bk2"
    scripted.record(system=systems.get("Genesis"), core=str(core), rom=local_rom, buttons=buttons, out=out,
                start=games.load_state_file(state), checkpoint_every=300)
    movie = bk2.read(out)
    assert movie.state == gzip.decompress(state.read_bytes())
    assert movie.meta["core"] == "genesis_plus_gx" and len(movie.checkpoints) == 5
    verified = playback.verify(out)
    assert (verified.checkpoints, verified.stored_checkpoints) == (5, 5)  # matched, of the movie's

    playback.run(out, trace=tmp_path / "here.jsonl", trace_every=100)
    proc = cli("playback", str(out), "--trace", "there.jsonl", "--trace-every", "100", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    here = (tmp_path / "here.jsonl").read_text().splitlines()
    assert here == (tmp_path / "there.jsonl").read_text().splitlines()
    # the game really reacts: RAM hashes change along the run
    assert len({json.loads(r)["ram"] for r in here}) > 5


def test_genesis_ram_is_the_cores_own_bytes(airstriker) -> None:
    from retrotool.emulator import Emulator

    core, rom, state = airstriker
    with Emulator(core, rom, ports=1) as emu:
        emu.set_state(gzip.decompress(state.read_bytes()))
        emu.run(np.zeros((60, 1), np.uint16))
        assert emu.ram.size == 0x10000
        # data.json: lives is >u2 at 0xFF025A (=3 at the start); the core keeps 68k RAM
        # as native 16-bit words, so on x86 the byte pair is swapped in the raw view
        lives = emu.ram[0x025A : 0x025C]
        assert lives.tolist() == [3, 0]


SR_RECORD = r"""
import hashlib, json, sys
import numpy as np
import stable_retro as retro
out, frames = sys.argv[1], int(sys.argv[2])
env = retro.make("Airstriker-Genesis-v0", state="Level1", record=out, render_mode=None,
                 use_restricted_actions=retro.Actions.ALL)
env.reset(seed=0)
rng = np.random.default_rng(11)
def seen():
    screen = np.ascontiguousarray(env.get_screen(), dtype=np.uint8).tobytes()
    return [hashlib.sha256(env.get_ram().tobytes()).hexdigest(), hashlib.sha256(screen).hexdigest()]
hashes = [seen()]
for _ in range(frames):
    env.step(rng.integers(0, 2, size=env.num_buttons))
    hashes.append(seen())
env.close()
print(json.dumps(hashes))
"""

def _trace(movie: Path, rom: Path, tmp_path: Path) -> list[list[str]]:
    """[RAM sha256, screen sha256] after every row, as stable-retro's get_ram() and get_screen() give them."""
    trace = tmp_path / f"{movie.stem}.jsonl"
    playback.run(movie, rom=rom, trace=trace)
    return [[row["ram"], row["screen"]] for row in map(json.loads, trace.read_text().splitlines())]


def test_stable_retro_movie_replays_here_identically(tmp_path: Path, airstriker, python_json) -> None:
    """Row k here = after stable-retro's reset frame (k=0) and its k-th env.step."""
    _, rom, _ = airstriker
    sr_hashes = python_json(SR_RECORD, str(tmp_path), "600")
    (recorded,) = tmp_path.glob("*.bk2")
    movie = bk2.read(recorded)
    assert movie.frames == 601 and movie.state is not None
    assert _trace(recorded, rom, tmp_path) == sr_hashes


def test_movie_made_here_replays_in_stable_retro(tmp_path: Path, airstriker, stable_retro_replay) -> None:
    core, rom, state = airstriker
    buttons = random_buttons(systems.get("Genesis"), 600, 1, seed=9)
    buttons[0] = 0  # stable-retro spends row 0 on its reset frame, without input
    out = tmp_path / "here.bk2"
    scripted.record(system=systems.get("Genesis"), core=str(core), rom=rom, buttons=buttons, out=out,
                start=games.load_state_file(state), game="Airstriker-Genesis-v0")
    assert stable_retro_replay(out)["rows"] == _trace(out, rom, tmp_path)
