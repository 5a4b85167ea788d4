"""Keyframes' coding: states come back byte for byte, damage is named, and the index travels in retrotool.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, systems
from retrotool.errors import MovieFormatError
from retrotool.movie import keyframes
from retrotool.movie.keyframes import FULL_EVERY, KeyframeWriter


def _states(n: int, size: int = 4096, seed: int = 1) -> list[bytes]:
    """Like a core's states: each a few bytes away from the one before."""
    rng = np.random.default_rng(seed)
    state = rng.integers(0, 256, size, np.uint8)
    out = []
    for _ in range(n):
        state = state.copy()
        state[rng.integers(0, size, 40)] = rng.integers(0, 256, 40, np.uint8)
        out.append(state.tobytes())
    return out


def _written(states: list[bytes], every: int = 600) -> keyframes.Keyframes:
    writer = KeyframeWriter("Genesis Plus GX", "v1.7.4 c8f3ba6")  # a core names itself so
    for i, state in enumerate(states):
        writer.add((i + 1) * every - 1, state)
    return writer.keyframes()


def test_every_state_comes_back_and_deltas_are_small() -> None:
    states = _states(2 * FULL_EVERY + 3)
    kf = _written(states)
    assert [kf.state(k) for k in range(len(kf))] == states
    assert len(kf.blob) < len(states) * 4096 / 4  # 40 changed bytes a state: the XOR deltas compress well
    whole, delta = kf.sizes[FULL_EVERY], kf.sizes[FULL_EVERY + 1]
    assert delta < whole  # every FULL_EVERY-th is stored whole


def test_the_keyframe_a_row_starts_from() -> None:
    kf = _written(_states(3))  # after rows 599, 1199, 1799
    assert [kf.for_row(r) for r in (0, 600, 601, 1200, 1201, 5000)] == [None, None, 0, 0, 1, 2]


def test_damage_names_the_keyframe() -> None:
    kf = _written(_states(4))
    blob = bytearray(kf.blob)
    start = sum(kf.sizes[:2])
    blob[start + kf.sizes[2] // 2] ^= 0xFF
    damaged = keyframes.Keyframes(kf.frames, kf.sizes, kf.digests, kf.state_size, kf.core, kf.core_version, bytes(blob))
    assert damaged.state(1) == kf.state(1)
    with pytest.raises(MovieFormatError, match=r"keyframe 2 \(frame 1799\)"):
        damaged.state(2)


def test_the_writer_refuses_disorder_and_a_changing_size() -> None:
    writer = KeyframeWriter("c", "1")
    writer.add(10, bytes(8))
    with pytest.raises(MovieFormatError, match="in order"):
        writer.add(10, bytes(8))
    with pytest.raises(MovieFormatError, match="changed size"):
        writer.add(20, bytes(9))


def test_a_cut_keeps_the_earlier_keyframes_and_goes_on_from_them() -> None:
    states = _states(5)
    writer = KeyframeWriter("c", "1")
    for i, state in enumerate(states[:4]):
        writer.add(i * 100 + 99, state)
    writer.cut(250)  # a re-record went back to row 250
    assert writer.frames == [99, 199]
    writer.add(299, states[4])
    assert [writer.keyframes().state(k) for k in range(3)] == [states[0], states[1], states[4]]


def test_the_index_travels_in_the_movie_and_is_checked(tmp_path: Path) -> None:
    system = systems.get("Test")
    movie = bk2.Movie(system="Test", buttons=np.zeros((1300, 1, len(system.buttons)), np.uint8),
                      header=(("GameName", "g"),))
    kf = _written(_states(2))
    path = tmp_path / "m.bk2"
    bk2.write(keyframes.with_keyframes(movie, kf), path)
    back = keyframes.of(bk2.read(path))
    assert back is not None and back.frames == (599, 1199) and back.state(1) == kf.state(1)
    assert keyframes.of(keyframes.with_keyframes(bk2.read(path), None)) is None
    meta = keyframes.with_keyframes(movie, kf).meta_json()
    meta["keyframes"]["frames"] = [1199, 599]
    with pytest.raises(MovieFormatError, match="ascending"):
        keyframes.of(movie.replace(meta=meta, extras=((keyframes.ENTRY, kf.blob),)))
    meta["keyframes"]["frames"] = [599, 1199]
    with pytest.raises(MovieFormatError, match="do not match their index"):
        keyframes.of(movie.replace(meta=meta, extras=((keyframes.ENTRY, kf.blob[:-1]),)))


def test_keyframes_move_with_their_frames_between_conventions(tmp_path: Path) -> None:
    """A power-on movie in BizHawk's rows has stable-retro's two make() frames in front: keyframes (states
    after their frame) move by two, as checkpoints do, or a replay from them starts two frames off."""
    system = systems.get("Test")
    movie = keyframes.with_keyframes(
        bk2.Movie(system="Test", buttons=np.zeros((1300, 1, len(system.buttons)), np.uint8), header=(("GameName", "g"),)),
        _written(_states(2)))
    path = tmp_path / "m.bk2"
    bk2.write(movie, path, dialect="bizhawk")
    back = bk2.read(path)
    assert back.convention == "bizhawk"
    index = keyframes.of(back)
    assert index is not None and index.frames == (601, 1201) and index.state(1) == _states(2)[1]
    converted = keyframes.of(bk2.convert(movie, "bizhawk"))
    assert converted is not None and converted.frames == (601, 1201)
    again = keyframes.of(bk2.convert(back, "stable-retro"))
    assert again is not None and again.frames == (599, 1199)
    early = keyframes.with_keyframes(back, _written(_states(2), every=1))  # after BizHawk's frames 0 and 1
    assert keyframes.of(bk2.convert(early, "stable-retro")) is None
