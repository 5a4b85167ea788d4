"""The movie builder's checks: what would make a wrong movie is refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest

from retrotool import systems
from retrotool.record.builder import MovieBuilder
from retrotool.replay import ReplayInfo
from retrotool.sinks.contract import FrameBatch

TEST = systems.get("Test")


def _info(players: int) -> ReplayInfo:
    return ReplayInfo("Test", TEST.buttons, 0, players, None, "core", "1.0", "0" * 40, 4)  # type: ignore[arg-type]  # no AvInfo needed


def _rows(builder: MovieBuilder, n: int, players: int = 1) -> None:
    builder.consume(FrameBatch(start=builder.frames, buttons=np.ones((n, players, len(TEST.buttons)), np.uint8),
                               masks=np.zeros((n, players), np.uint16)))


def test_the_interval_must_be_a_frame_or_more() -> None:
    with pytest.raises(ValueError, match="must be at least 1, not 0"):
        MovieBuilder(None, "g", "r.tst", 0)
    assert MovieBuilder(None, "g", "r.tst", 1).needs(3).snapshots.tolist() == [0, 1, 2]


def test_a_movie_needs_a_recording_and_keeps_its_players() -> None:
    builder = MovieBuilder(None, "g", "r.tst", 10)
    with pytest.raises(RuntimeError, match="called before recording"):
        builder.movie()
    builder.open(_info(2))
    _rows(builder, 2000, players=2)  # more than its first buffer
    assert builder.movie().buttons.shape == (2000, 2, len(TEST.buttons)) and builder.buttons.all()
    with pytest.raises(ValueError, match="a movie of 2 players cannot go on with 1"):
        builder.open(_info(1))


def test_a_cut_stays_inside_the_movie() -> None:
    builder = MovieBuilder(None, "g", "r.tst", 10)
    builder.open(_info(1))
    _rows(builder, 3)
    for frames in (4, -1):
        with pytest.raises(ValueError, match=f"cannot cut a movie of 3 frames back to {frames}"):
            builder.truncate(frames)
    builder.truncate(3)  # to where it is: a re-record that keeps every frame
    assert (builder.frames, builder.rerecords) == (3, 1)
    builder.truncate(0)
    assert (builder.frames, builder.rerecords) == (0, 2)
