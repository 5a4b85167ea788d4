"""`retrotool edit` against stable-retro itself: a cut or joined Airstriker movie plays there as those rows did."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from retrotool import editing, games, systems
from retrotool.record import scripted
from retrotool.record.sources import random_buttons

pytestmark = pytest.mark.realcore

FRAMES, CUT = 600, 300


@pytest.fixture
def whole(tmp_path: Path) -> Path:
    """600 random Airstriker frames from Level1, a keyframe every 100 rows; rows 0 and CUT hold no button."""
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("stable-retro (the 'cores' extra) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    game, core = root / "data" / "stable" / "Airstriker-Genesis-v0", root / "cores" / "genesis_plus_gx_libretro.so"
    if not core.is_file() or not (game / "rom.md").is_file():
        pytest.skip("stable-retro has no genesis_plus_gx core or Airstriker game")
    rows = random_buttons(systems.get("Genesis"), FRAMES, 1, seed=21)
    rows[[0, CUT]] = 0
    out = tmp_path / "whole.bk2"
    scripted.record(system=systems.get("Genesis"), core=str(core), rom=game / "rom.md", buttons=rows, out=out,
                    start=games.load_state_file(game / "Level1.state"), game="Airstriker-Genesis-v0",
                    checkpoint_every=100)
    return out


def test_a_cut_and_a_join_play_in_stable_retro_as_the_rows_they_hold(whole: Path, stable_retro_replay) -> None:
    seen = stable_retro_replay(whole)["rows"]
    assert len(seen) == FRAMES
    first, second, joined = (whole.with_name(n) for n in ("first.bk2", "second.bk2", "joined.bk2"))
    editing.trim(whole, first, end=CUT)
    editing.trim(whole, second, start=CUT)
    assert stable_retro_replay(second)["rows"] == seen[CUT:]
    assert stable_retro_replay(first)["rows"] == seen[:CUT]
    editing.concat(first, second, joined)
    assert stable_retro_replay(joined)["rows"] == seen
