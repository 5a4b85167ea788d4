"""dump-dataset --jobs N on the test core: one movie cut at its keyframes, its segments replayed in N processes,
gives the very episode a whole replay gives (every array element for element, the manifest entry equal)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, segments, session
from retrotool.datasets import dump, lerobot
from retrotool.datasets.options import DatasetOptions
from retrotool.movie import keyframes
from retrotool.record import scripted

FRAMES = 1500  # a keyframe every 100 rows: segments.plan cuts 2 jobs' worth (6 segments)
GAME = Path(__file__).parents[2] / "data/TestGame-Test/scenario.json"


@pytest.fixture
def movie(tmp_path: Path, buttons) -> Path:
    """TestGame-Test (its reward: the score's increase), 1,500 rows, a checkpoint and a keyframe every 100."""
    what = session.game_content(game="TestGame-Test")
    out = tmp_path / "m.bk2"
    scripted.record(system=what.system, core=None, rom=what.rom, buttons=buttons(FRAMES, 1, seed=5), out=out,
                    start=what.state, game=what.name, checkpoint_every=100)
    return out


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """The game's reward scaled (float sums), done from frame 700 on (terminations mid-episode), allowed actions."""
    game = json.loads(GAME.read_text())
    game["reward"]["variables"]["score"]["reward"] = 0.1
    game["done"] = {"variables": {"frame": {"op": "greater-or-equal", "reference": 700}}}
    game["actions"] = [[[], ["A"], ["B"]], [[], ["LEFT"], ["RIGHT"]]]
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(game))
    return path


def _dump(movie: Path, out: Path, options: DatasetOptions, jobs: int, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    result = dump.dump_dataset([movie], out, options=options, jobs=jobs, **kwargs)
    assert not result.failed, result.failed[0].error
    return json.loads((out / "manifest.json").read_text())


def _same_episodes(a: Path, b: Path) -> dict[str, np.ndarray]:
    """Both dumps' manifests and every array of their episodes equal; the arrays of the first."""
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    assert ma == mb
    (episode,) = ma["episodes"]
    with np.load(a / episode["file"]) as za, np.load(b / episode["file"]) as zb:
        assert sorted(za.files) == sorted(zb.files)
        for name in za.files:
            x, y = za[name], zb[name]
            assert (x.dtype, x.shape) == (y.dtype, y.shape), name
            assert np.array_equal(x, y), f"{name} differs first at {np.argwhere(x != y)[0]}"
        return {name: za[name] for name in za.files}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of segments each parallel replay ran (a dump that fell back to one process adds nothing)."""
    runs: list[int] = []
    real = segments.run_all

    def run_all(jobs, workers, progress=None, **where):  # type: ignore[no-untyped-def]
        runs.append(len(jobs))
        return real(jobs, workers, progress, **where)

    monkeypatch.setattr(segments, "run_all", run_all)
    return runs


@pytest.mark.parametrize("options", [
    DatasetOptions(),
    DatasetOptions(frame_skip=4),
    DatasetOptions(frame_skip=4, start=7, end=1450, obs="both", combine="last"),  # cuts off the keyframes' grid
], ids=["k1", "k4", "k4-start-end-both"])
def test_jobs_2_gives_the_episode_of_jobs_1(movie: Path, tmp_path: Path, counted: list[int],
                                            options: DatasetOptions) -> None:
    _dump(movie, tmp_path / "one", options, 1)
    assert counted == []
    _dump(movie, tmp_path / "two", options, 2)
    assert counted and counted[0] >= 4, "the movie was not cut into segments"
    arrays = _same_episodes(tmp_path / "one", tmp_path / "two")
    assert arrays["rewards"].sum() > 0 and arrays["truncations"][-1]


def test_rewards_done_and_discrete_actions_are_stitched_exactly(
    movie: Path, tmp_path: Path, scenario: Path, counted: list[int],
) -> None:
    options = DatasetOptions(frame_skip=4, start=3)
    _dump(movie, tmp_path / "one", options, 1, scenario=scenario)
    _dump(movie, tmp_path / "two", options, 2, scenario=scenario)
    assert counted and counted[0] >= 4
    arrays = _same_episodes(tmp_path / "one", tmp_path / "two")
    rewards, done = arrays["rewards"], arrays["terminations"]
    assert np.count_nonzero(rewards) > 50 and 0 < done.argmax() < done.size - 1 and done[-1]
    assert not arrays["truncations"].any() and (arrays["discrete_actions"] >= 0).any()


def test_minari_in_segments_and_the_warnings_of_what_replays_whole(cli, movie: Path, tmp_path: Path) -> None:
    def run(*args: str) -> str:
        proc = cli("dump-dataset", *args, cwd=tmp_path)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        return proc.stderr

    assert "one core" not in run(movie.name, "-o", "two", "--jobs", "2", "--format", "minari", "--frame-skip", "2")
    run(movie.name, "-o", "one", "--format", "minari", "--frame-skip", "2")
    _same_episodes(tmp_path / "one", tmp_path / "two")
    bare = tmp_path / "bare.bk2"
    bk2.write(keyframes.with_keyframes(bk2.read(movie), None), bare)
    said = " ".join(run(bare.name, "-o", "bare", "--jobs", "2").split())
    assert "bare.bk2 has no keyframes, so it replays on one core; `retrotool index bare.bk2` adds them" in said


@pytest.mark.parametrize("fmt", ["hf", "lerobot"])
def test_the_pictures_of_hf_and_lerobot_are_joined_into_the_whole_replays(
    movie: Path, tmp_path: Path, counted: list[int], fmt: str,
) -> None:
    """The PNG file is the same byte for byte; the video decodes to the same frames with the same statistics."""
    pytest.importorskip("datasets" if fmt == "hf" else "pyarrow")
    options = DatasetOptions(frame_skip=2, start=5)
    _dump(movie, tmp_path / "one", options, 1, fmt=fmt)
    _dump(movie, tmp_path / "two", options, 2, fmt=fmt)
    assert counted and counted[0] >= 4
    pictures = _same_episodes(tmp_path / "one", tmp_path / "two")["observations"]
    one, two = tmp_path / "one" / f"{fmt}-parts", tmp_path / "two" / f"{fmt}-parts"
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in two.iterdir())
    if fmt == "hf":
        for path in one.iterdir():
            assert path.read_bytes() == (two / path.name).read_bytes(), path.name
        return
    (mp4,) = (p.name for p in one.glob("*.mp4"))
    video = lerobot.read_video(two / mp4, list(pictures.shape[1:]))
    assert np.array_equal(video, lerobot.read_video(one / mp4, list(pictures.shape[1:])))
    assert np.array_equal(video, np.repeat(pictures, 3, axis=3) if pictures.shape[3] == 1 else pictures)
    hist = mp4.replace(".mp4", ".hist.npy")
    assert np.array_equal(np.load(one / hist), np.load(two / hist))


RAY_DUMP = r"""
import json, sys
from pathlib import Path
import ray
from retrotool import isolation
from retrotool.datasets import dump
from retrotool.datasets.options import DatasetOptions
tasks = []
real = isolation.ray_each
def ray_each(fn, args, address=None):
    tasks.append(len(args))
    return real(fn, args, address)
isolation.ray_each = ray_each
result = dump.dump_dataset([Path(sys.argv[1])], Path(sys.argv[2]), options=DatasetOptions(frame_skip=4), jobs=2,
                           executor="ray")
ray.shutdown()
print(json.dumps({"tasks": tasks, "failed": [f.error for f in result.failed]}))
"""


def test_segments_as_ray_tasks_give_the_same_episode(movie: Path, tmp_path: Path, python_json) -> None:
    """In a fresh interpreter (Ray started inside the test process itself can time out): Ray tasks counted there."""
    pytest.importorskip("ray")
    _dump(movie, tmp_path / "one", DatasetOptions(frame_skip=4), 1)
    seen = python_json(RAY_DUMP, str(movie), str(tmp_path / "ray"))
    assert not seen["failed"], seen["failed"]
    assert seen["tasks"] and seen["tasks"][0] >= 4, "the segments did not run as Ray tasks"
    _same_episodes(tmp_path / "one", tmp_path / "ray")


def test_jobs_and_workers_together_are_refused(cli, movie: Path, tmp_path: Path) -> None:
    proc = cli("dump-dataset", movie.name, "-o", "x", "--jobs", "2", "--workers", "2", cwd=tmp_path)
    assert proc.returncode != 0 and "give one of them" in proc.stderr and "Traceback" not in proc.stderr
