"""The example movie examples/airstriker.bk2 (made by examples/record_airstriker.py).

It verifies, shows real play (the score rises all along, not just in the first
seconds), and stable-retro replays it frame for frame. Needs stable-retro.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, playback

pytestmark = pytest.mark.realcore

MOVIE = Path(__file__).resolve().parents[2] / "examples" / "airstriker.bk2"
HALF_MINUTE = 1800  # frames


@pytest.fixture
def movie() -> bk2.Movie:
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("stable-retro (the 'cores' extra) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    if not (root / "data" / "stable" / "Airstriker-Genesis-v0" / "rom.md").is_file():
        pytest.skip("stable-retro has no Airstriker ROM")
    return bk2.read(MOVIE)


def _trace(tmp_path: Path, every: int) -> list[dict]:
    path = tmp_path / "trace.jsonl"
    playback.run(MOVIE, trace=path, trace_every=every)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_example_verifies(movie: bk2.Movie) -> None:
    assert MOVIE.stat().st_size < 2 << 20
    assert movie.header_value("GameName") == "Airstriker-Genesis-v0" and movie.meta["core"] == "genesis_plus_gx"
    assert movie.frames >= 10_000 and not movie.buttons[0].any()  # row 0: stable-retro's reset frame
    assert playback.verify(MOVIE).checkpoints == len(movie.checkpoints) > 10


def test_example_is_real_play(movie: bk2.Movie, tmp_path: Path) -> None:
    rows = _trace(tmp_path, every=60)
    score = np.array([r["info"]["score"] for r in rows])
    assert score[-1] > 0
    # points scored in every half-minute but at most one (a new game starts at 0)
    gains = np.maximum(np.diff(score), 0)
    per_half_minute = [gains[i : i + HALF_MINUTE // 60].sum() for i in range(0, len(gains), HALF_MINUTE // 60)]
    assert sum(g > 0 for g in per_half_minute) >= len(per_half_minute) - 1, per_half_minute
    assert gains.sum() >= 1000  # hundreds of enemies' worth, not a lucky shot


def test_example_replays_in_stable_retro(movie: bk2.Movie, tmp_path: Path, stable_retro_replay) -> None:
    theirs = stable_retro_replay(MOVIE)
    ours = _trace(tmp_path, every=1)
    assert len(theirs["rows"]) == movie.frames
    assert theirs["rows"] == [[r["ram"], r["screen"]] for r in ours]
    assert theirs["info"]["score"] == ours[-1]["info"]["score"] > 0
