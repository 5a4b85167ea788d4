"""Build a Minari dataset (its hdf5 storage) from a folder of `.npz` episodes.

The dataset is made by the `minari` package itself (`MinariStorage.new`,
`update_episodes`), so `minari.load_dataset` and `MinariDataset` open it.
Episodes are copied in chunks of `CHUNK` steps, so memory stays flat:
Minari's hdf5 storage appends to an episode given again with the same id.
Pictures are stored losslessly (`jpeg_encoding=False`); hdf5 keeps them
uncompressed, so a Minari dataset is far larger than its `.npz` episodes —
use --grayscale / --resize / --crop to shrink it.

The storage is built in a temporary folder and renamed to `OUT/data` when
complete, replacing the previous one; Minari's `dataset_id` is OUT's folder
name (with `-v0` added when it has no version). `minari.MinariDataset(OUT/data)`
opens it wherever it is; `minari.load_dataset(id)` finds it only under a folder
named as the id (with `MINARI_DATASETS_PATH` set to its parent), so
`load_hints` offers that only then.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from retrotool import outputs
from retrotool.datasets import npzip
from retrotool.datasets.folder import DISCRETE, DISCRETE_INFO, MINARI_DIR, import_minari
from retrotool.errors import RetroToolError

CHUNK = 256  # steps per append; ~55 MB of Genesis frames


def dataset_id(folder: Path) -> str:
    name = folder.resolve().name
    return name if re.search(r"-v\d+$", name) else f"{name}-v0"


def load_hints(folder: Path) -> list[str]:
    """Python lines that open the dataset built in `folder`, each one that works for this folder."""
    where = folder.resolve()
    hints = [f"minari.MinariDataset({str(where / MINARI_DIR)!r})"]
    if where.name == dataset_id(where):  # load_dataset looks for $MINARI_DATASETS_PATH/<id>/data
        hints.append(f"minari.load_dataset({where.name!r})  # with MINARI_DATASETS_PATH={where.parent}")
    return hints


def spaces(manifest: dict[str, Any]) -> tuple[Any, Any]:
    """Minari's observation and action spaces of a dataset, from its manifest."""
    from gymnasium import spaces as gs

    boxes: dict[str, gs.Space[Any]] = {
        name.removeprefix("observations").lstrip(".") or "obs": gs.Box(0, 255, tuple(shape), np.uint8)
        for name, shape in manifest["observation"].items()
    }
    observation = boxes.pop("obs") if "obs" in boxes else gs.Dict(boxes)
    return observation, gs.MultiBinary(manifest["players"] * len(manifest["buttons"]))


def build(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write `folder/data` from the manifest's episodes; returns its path."""
    minari = import_minari()
    from minari.data_collector import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    if not manifest["episodes"]:
        raise RetroToolError(f"no episode in {folder} to put into a Minari dataset")
    target = folder.resolve() / MINARI_DIR  # Minari's storage joins a relative path to itself (OUT/x/OUT/x/...)
    work = outputs.temp_name(target)
    try:
        observation, action = spaces(manifest)
        storage = MinariStorage.new(work, observation_space=observation, action_space=action,
                                    data_format="hdf5", jpeg_encoding=False)
        storage.update_metadata({
            "dataset_id": dataset_id(folder), "minari_version": minari.__version__,
            "algorithm_name": "recorded play (retrotool dump-dataset)",
            "description": f"{len(manifest['episodes'])} movie(s) of {manifest['system']}, options {manifest['options']}",
        })
        for i, record in enumerate(manifest["episodes"]):
            steps = 0
            for chunk in _episode_chunks(folder / record["file"], manifest):
                storage.update_episodes([EpisodeBuffer(id=i, **chunk)])
                steps += len(chunk["rewards"])
            storage.update_episode_metadata([{"total_steps": steps, "movie": record["movie"],
                                              "movie_sha1": record["movie_sha1"]}], [i])
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    except OSError as e:
        raise RetroToolError(f"cannot write the Minari dataset {target}: {e.strerror or e}") from None
    finally:
        outputs.discard_tree(work)
    return folder / MINARI_DIR


def _episode_chunks(npz: Path, manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """EpisodeBuffer fields CHUNK steps at a time; the first chunk also has observation 0."""
    obs_names = list(manifest["observation"])
    info_names = [f"infos.{v}" for v in manifest.get("infos", [])]
    per_row = {n: npzip.chunks(npz, n, CHUNK, first=CHUNK + 1) for n in obs_names + info_names}
    per_step = {n: npzip.chunks(npz, n, CHUNK) for n in ("actions", "rewards", "terminations", "truncations")}
    # the action taken at each observation, -1 after the last: one row per observation, like infos (int64: small)
    discrete = (np.append(np.concatenate(list(npzip.chunks(npz, DISCRETE, 1 << 16))), -1)
                if manifest.get(DISCRETE) else None)
    done = 0
    for step_values in zip(*per_step.values()):
        values = dict(zip(per_step, step_values))
        rows = {n: next(it) for n, it in per_row.items()}
        obs = ({n.split(".", 1)[1]: rows[n] for n in obs_names} if len(obs_names) > 1 else rows[obs_names[0]])
        infos = {n.split(".", 1)[1]: rows[n] for n in info_names}
        if discrete is not None:
            count = len(rows[obs_names[0]])
            infos[DISCRETE_INFO] = discrete[done : done + count]
            done += count
        yield {"observations": obs, "infos": infos or None, **values}
