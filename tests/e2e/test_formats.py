"""dump-dataset --format hf and --format lerobot on the test core: what the files hold, checked against the npz.

The Hugging Face folder is opened by `datasets.load_from_disk`. The LeRobot
folder is checked against LeRobot's documented v3.0 layout here and, when
RETROTOOL_LEROBOT_PYTHON names a Python with the `lerobot` package (CI makes
one: LeRobot pins a torch other than the project's), opened by LeRobot's
own `LeRobotDataset` there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrotool import datasets, session, systems
from retrotool.datasets import dump, lerobot
from retrotool.datasets.sink import DatasetOptions
from retrotool.errors import RetroToolError
from retrotool.record import scripted

FRAMES = 200


def _record(path: Path, buttons: np.ndarray) -> Path:
    what = session.game_content(game="TestGame-Test")
    scripted.record(system=what.system, core=None, rom=what.rom, buttons=buttons, out=path, start=what.state,
                    game=what.name, checkpoint_every=60)
    return path


@pytest.fixture
def movies(tmp_path: Path, buttons) -> list[Path]:
    folder = tmp_path / "movies"
    folder.mkdir()
    return [_record(folder / f"m{i}.bk2", buttons(FRAMES + 40 * i, 1, seed=i)) for i in range(3)]


def _npz(out: Path) -> list[datasets.Episode]:
    return list(datasets.load(out, format="npz"))


def test_hf_folder_loads_with_datasets_and_holds_the_episodes(tmp_path: Path, movies: list[Path]) -> None:
    hf_datasets = pytest.importorskip("datasets")
    out = tmp_path / "out"
    options = DatasetOptions(frame_skip=2, grayscale=True)
    dump.dump_dataset(movies[:2], out, fmt="hf", options=options)
    dump.dump_dataset(movies, out, fmt="hf", options=options)  # resumes: one more episode, the folder rebuilt
    ds = hf_datasets.load_from_disk(str(out / "hf"))
    episodes = _npz(out)
    assert len(ds) == sum(len(e.observations) for e in episodes)
    assert ds.features["observation"].__class__.__name__ == "Image"
    rows = ds.with_format("numpy")[:]
    for i, e in enumerate(episodes):
        mine = rows["episode_index"] == i
        pictures = np.stack([np.asarray(ds[int(j)]["observation"]) for j in np.flatnonzero(mine)[:5]])
        assert np.array_equal(pictures, e.observations[:5, :, :, 0])  # lossless PNGs (gray: [h, w])
        assert np.array_equal(rows["action"][mine][:-1], e.actions) and not rows["action"][mine][-1].any()
        assert np.array_equal(rows["reward"][mine][:-1], e.rewards)
        assert np.array_equal(rows["info.score"][mine], e.infos["score"])
        assert rows["is_last"][mine].tolist() == [False] * len(e.actions) + [True]
    meta = json.loads(ds.info.description)["episodes"]
    manifest = json.loads((out / "manifest.json").read_text())
    for record, origin in zip(manifest["episodes"], meta):
        assert origin["movie_sha256"] == hashlib.sha256(Path(record["movie"]).read_bytes()).hexdigest()
        assert origin["rom_sha1"] == record["content_sha1"] and origin["core"] and origin["core_version"]
        assert (origin["frame_skip"], origin["combine"]) == (2, "any") and origin["keyframes"][:2] == [59, 119]  # the states after rows 59, 119


def test_lerobot_folder_has_lerobots_layout_and_the_raw_frames(tmp_path: Path, movies: list[Path]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out"
    dump.dump_dataset(movies, out, fmt="lerobot", options=DatasetOptions(obs="both"))
    root = out / "lerobot"
    info = json.loads((root / "meta/info.json").read_text())
    episodes = _npz(out)
    assert info["codebase_version"] == "v3.0" and info["fps"] == 60 and info["total_episodes"] == 3
    assert info["total_frames"] == sum(len(e.actions) for e in episodes)
    assert info["features"]["observation.image"]["dtype"] == "video"
    names = [f"P1 {b}" for b in systems.get("Test").buttons]
    assert info["features"]["action"] == {"dtype": "uint8", "shape": [16], "names": names}
    meta = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    start = 0
    for i, (e, row) in enumerate(zip(episodes, meta)):
        n = len(e.actions)
        assert (row["episode_index"], row["length"], row["dataset_from_index"], row["dataset_to_index"]) == \
            (i, n, start, start + n)
        data = pq.read_table(root / info["data_path"].format(chunk_index=0, file_index=i)).to_pydict()
        assert data["index"] == list(range(start, start + n)) and data["episode_index"] == [i] * n
        assert np.array_equal(np.array(data["action"], np.uint8), e.actions)
        assert np.array_equal(np.array(data["observation.ram"], np.uint8), e.observations["ram"][:n])
        assert data["next.done"] == (e.terminations | e.truncations).tolist()
        video = root / info["video_path"].format(video_key="observation.image", chunk_index=0, file_index=i)
        assert np.array_equal(lerobot.read_video(video, [144, 160]), e.observations["rgb"])  # lossless, N+1 frames
        assert row["retrotool/movie_sha1"] and row["retrotool/rom_sha1"] and row["retrotool/frame_skip"] == 1
        start += n
    stats = json.loads((root / "meta/stats.json").read_text())
    for feature in ("observation.image", "action", "next.reward", "index"):
        assert set(stats[feature]) == {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}
    assert np.asarray(stats["observation.image"]["mean"]).shape == (3, 1, 1)
    assert pq.read_table(root / "meta/tasks.parquet").column("task_index").to_pylist() == [0]


LEROBOT_LOAD = r'''
import json, sys
import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset
ds = LeRobotDataset("retrotool/test", root=sys.argv[1], video_backend="pyav")
rows = {}
for i in (0, 7, len(ds) - 1):
    item = ds[i]
    rows[i] = {"image": (item["observation.image"].numpy() * 255).round().astype(int).sum(axis=(1, 2)).tolist(),
               "action": item["action"].tolist(), "episode": int(item["episode_index"]),
               "frame": int(item["frame_index"])}
print(json.dumps({"len": len(ds), "episodes": ds.num_episodes, "rows": rows}))
'''


@pytest.mark.parametrize("jobs", [1, 4], ids=["whole", "segments"])  # 4 jobs, 3 movies: each movie in segments
def test_lerobots_own_dataset_class_opens_it(tmp_path: Path, movies: list[Path], jobs: int) -> None:
    python = os.environ.get("RETROTOOL_LEROBOT_PYTHON")
    if not python:
        pytest.skip("RETROTOOL_LEROBOT_PYTHON names no Python with lerobot (CI makes one: .ci/lerobot-venv.sh)")
    out = tmp_path / "out"
    dump.dump_dataset(movies, out, fmt="lerobot", jobs=jobs)
    proc = subprocess.run([python, "-c", LEROBOT_LOAD, str(out / "lerobot")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    episodes = _npz(out)
    assert seen["len"] == sum(len(e.actions) for e in episodes) and seen["episodes"] == 3
    steps = np.concatenate([[(i, t) for t in range(len(e.actions))] for i, e in enumerate(episodes)])
    for index, row in seen["rows"].items():
        episode, frame = steps[int(index)]
        assert (row["episode"], row["frame"]) == (episode, frame)
        picture = episodes[episode].observations[frame]
        assert row["image"] == picture.astype(int).sum(axis=(0, 1)).tolist()
        assert row["action"] == episodes[episode].actions[frame].tolist()


@pytest.mark.parametrize(("fmt", "module", "extra"), [("hf", "datasets", "hf"), ("lerobot", "pyarrow", "lerobot")])
def test_a_missing_package_names_the_extra(tmp_path: Path, movies: list[Path], monkeypatch: pytest.MonkeyPatch,
                                           fmt: str, module: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, f"{module}.parquet", None)
    with pytest.raises(RetroToolError, match=rf"pip install 'retrotool\[{extra}\]'"):
        dump.dump_dataset(movies, tmp_path / "out", fmt=fmt)
    assert not (tmp_path / "out").exists()  # said before anything was written
