"""Streaming and stacking: every step exactly once, in a shuffled order, frames stacked from their own episode.

Datasets here are synthetic `.npz` episodes whose observations encode
(episode, step), so any misplaced frame shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrotool import datasets
from retrotool.datasets.folder import KIND, VERSION, stacked


def _dataset(folder: Path, lengths: list[int], shape: tuple[int, ...] = (4, 4, 1)) -> Path:
    """Episodes of the given step counts; observation (e, t) is filled with t % 251 and has e in its first byte."""
    folder.mkdir()
    records = []
    for e, n in enumerate(lengths):
        obs = np.zeros((n + 1, *shape), np.uint8)
        obs[:] = (np.arange(n + 1) % 251).reshape(-1, *([1] * len(shape)))
        obs.reshape(n + 1, -1)[:, 0] = e % 256
        np.savez(folder / f"e{e}.npz", observations=obs, actions=(np.arange(n)[:, None] % 2 * np.ones(3)).astype(np.uint8),
                 rewards=np.arange(n, dtype=np.float64), terminations=np.zeros(n, bool), truncations=np.arange(n) == n - 1)
        records.append({"file": f"e{e}.npz", "movie": f"m{e}", "movie_sha1": str(e), "steps": n})
    (folder / "manifest.json").write_text(json.dumps({"kind": KIND, "version": VERSION, "format": "npz",
                                                      "options": {}, "episodes": records}))
    return folder


def _steps(batches) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return [(int(e), int(t)) for b in batches for e, t in zip(b["episode"], b["step"])]


def test_every_step_once_shuffled_and_batched(tmp_path: Path) -> None:
    folder = _dataset(tmp_path / "d", [50, 7, 130, 1])
    batches = list(datasets.iterate(folder, batch=16, buffer=40, chunk=10, seed=3))
    assert all(len(b["action"]) == 16 for b in batches[:-1]) and 0 < len(batches[-1]["action"]) <= 16
    steps = _steps(batches)
    assert sorted(steps) == sorted((e, t) for e, n in enumerate([50, 7, 130, 1]) for t in range(n))
    assert steps != sorted(steps)
    for b in batches:  # each row's arrays belong together
        assert np.array_equal(b["reward"], b["step"].astype(float))
        assert np.array_equal(b["observation"][:, 0, 0, 0], b["episode"] % 256)
        assert np.array_equal(b["observation"][:, 1, 1, 0], b["step"] % 251)


def test_unshuffled_is_in_order_and_a_seed_repeats(tmp_path: Path) -> None:
    folder = _dataset(tmp_path / "d", [20, 30])
    assert _steps(datasets.iterate(folder, batch=7, shuffle=False)) == [(0, t) for t in range(20)] + \
        [(1, t) for t in range(30)]
    assert _steps(datasets.iterate(folder, seed=5, buffer=8)) == _steps(datasets.iterate(folder, seed=5, buffer=8))


def test_frames_are_stacked_from_their_own_episode(tmp_path: Path) -> None:
    folder = _dataset(tmp_path / "d", [9, 5])
    for b in datasets.iterate(folder, batch=4, stack=3, chunk=2, buffer=6, seed=1):
        assert b["observation"].shape[1:] == (3, 4, 4, 1)
        for obs, e, t in zip(b["observation"], b["episode"], b["step"]):
            assert obs[:, 1, 1, 0].tolist() == [max(t - 2, 0), max(t - 1, 0), t]
            assert (obs[:, 0, 0, 0] == e).all()


def test_load_stacks_at_load_time_as_a_view(tmp_path: Path) -> None:
    folder = _dataset(tmp_path / "d", [6])
    episode = next(datasets.load(folder, stack=4))
    assert episode.observations.shape == (7, 4, 4, 4, 1)
    assert episode.observations[:, :, 1, 1, 0].tolist()[:3] == [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 2]]
    assert not episode.observations.flags.owndata  # frames are stored once
    assert stacked({"rgb": np.arange(3)[:, None]}, 2)["rgb"].shape == (3, 2, 1)


def test_ten_thousand_episodes_stream_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    folder = _dataset(tmp_path / "d", [3] * 10_000, shape=(8, 8, 1))
    tracemalloc.start()
    count = 0
    for b in datasets.iterate(folder, batch=64, buffer=512, seed=0):
        count += len(b["action"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 30_000
    assert peak < 16 << 20  # the manifest, a buffer of 512 steps and a batch: far from 30,000 steps of frames


def test_pytorch_workers_share_the_episodes_without_repeats(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    from retrotool.datasets.pytorch import StepStream

    folder = _dataset(tmp_path / "d", [10, 20, 30, 40])
    loader = DataLoader(StepStream(folder, batch=8, buffer=16, stack=2, seed=0), batch_size=None, num_workers=2)
    batches = list(loader)
    seen = [(int(e), int(t)) for b in batches for e, t in zip(b["episode"], b["step"])]
    assert sorted(seen) == [(e, t) for e, n in enumerate([10, 20, 30, 40]) for t in range(n)]
    assert batches[0]["observation"].shape[1:] == (2, 4, 4, 1) and str(batches[0]["observation"].dtype) == "torch.uint8"


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="batch >= 1"):
        next(datasets.iterate(_dataset(tmp_path / "d", [2]), batch=0))
    with pytest.raises(Exception, match="not a dataset"):
        next(datasets.iterate(tmp_path))
