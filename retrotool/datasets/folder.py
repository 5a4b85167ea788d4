"""Datasets made by `retrotool dump-dataset`: the folder layout, its manifest, and loading.

A dataset is a folder::

    OUT/manifest.json          what was made and how, written first and after each episode
    OUT/<movie>-<sha1[:10]>.npz one episode per movie (arrays below), written whole or not at all
    OUT/data/                  with --format minari: a Minari dataset (hdf5) built from the episodes
    OUT/hf/, OUT/hf-parts/     with --format hf: a Hugging Face datasets folder (see `datasets.hf`)
    OUT/lerobot/, OUT/lerobot-parts/   with --format lerobot: LeRobot's layout (see `datasets.lerobot`)

Each `.npz` holds `observations` (or `observations.rgb` and
`observations.ram` with `--obs both`), `actions`, `rewards`,
`terminations`, `truncations`, `infos.<variable>` and, when the game's
scenario restricts actions, `discrete_actions` (in a Minari dataset: the
info `discrete_action`, one per observation, -1 after the last); the
alignment is described in `retrotool.datasets.sink`. The `.npz` episodes are what a
re-run resumes from, so a Minari dataset keeps them too (they are small).

The manifest's `state` is "in progress" from the moment a dump starts until
it ends (a dump that was stopped, even by kill -9, stays so: every episode
it lists is complete, and running the dump again resumes it), then
"complete". A manifest without `state` (older retrotool) is complete.

`load(path)` yields the same `Episode` values from either format.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from retrotool import outputs
from retrotool.errors import RetroToolError

MANIFEST = "manifest.json"
MINARI_DIR = "data"
KIND = "retrotool-dataset"
VERSION = 1
IN_PROGRESS, COMPLETE = "in progress", "complete"  # the manifest's `state`
Format = Literal["npz", "minari"]
DISCRETE = "discrete_actions"  # the npz array
DISCRETE_INFO = "discrete_action"  # the Minari info (infos have one row per observation)


@dataclass(frozen=True, slots=True)
class Episode:
    """One movie's trajectory: N+1 observations and infos, N of everything else."""

    movie: str
    observations: np.ndarray | dict[str, np.ndarray]
    actions: np.ndarray  # uint8 [N, players * buttons]
    rewards: np.ndarray  # float64 [N]
    terminations: np.ndarray  # bool [N]
    truncations: np.ndarray  # bool [N]
    infos: dict[str, np.ndarray] = field(default_factory=dict)  # int64 [N + 1] per RAM variable
    discrete_actions: np.ndarray | None = None  # int64 [N] when the scenario restricts actions

    def __repr__(self) -> str:
        def shape(a: np.ndarray | dict[str, np.ndarray]) -> str:
            if isinstance(a, dict):
                return "{" + ", ".join(f"{k}: {shape(v)}" for k, v in a.items()) + "}"
            return f"{a.dtype}{list(a.shape)}"

        return (f"Episode({self.movie!r}, observations={shape(self.observations)}, actions={shape(self.actions)}, "
                f"return={float(self.rewards.sum()):g}, infos={sorted(self.infos)})")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none; a damaged one is an error."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RetroToolError(f"{path} is damaged ({e}); remove the folder or pass --force to replace it") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise RetroToolError(f"{path} is not a retrotool dataset manifest; choose another output folder")
    if doc.get("version") != VERSION:
        raise RetroToolError(f"{path} has dataset version {doc.get('version')}, this retrotool reads {VERSION}")
    return doc


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Atomically: a crash leaves the previous manifest, which lists only complete episodes."""
    text = json.dumps(manifest, indent=1).encode()
    outputs.write_atomic(folder / MANIFEST, lambda f: f.write(text), force=True)


def load(path: str | Path, format: Format | None = None, stack: int = 1) -> Iterator[Episode]:
    """Episodes of a dataset folder as numpy arrays.

    `format` picks what to read when a folder holds both: "minari" reads
    `data/` through the minari package, "npz" the episode files. Default:
    Minari when it is there. A bare Minari data folder (one with a
    `metadata.json`, e.g. `OUT/data`) is read as Minari. `stack` > 1 gives
    each observation with the stack-1 before it, [N+1, stack, *shape] (a
    view: the frames are stored once; the first repeats before the start).
    """
    if stack < 1:
        raise RetroToolError(f"stack must be 1 or more, not {stack}")
    for episode in _load(Path(path), format):
        yield episode if stack == 1 else dataclasses.replace(episode, observations=stacked(episode.observations, stack))


def stacked(observations: np.ndarray | dict[str, np.ndarray], k: int) -> np.ndarray | dict[str, np.ndarray]:
    """Observations [n, *shape] as [n, k, *shape]: each with the k-1 before it (a view of one padded copy)."""
    if isinstance(observations, dict):
        return {name: np.asarray(stacked(v, k)) for name, v in observations.items()}
    padded = np.concatenate([np.repeat(observations[:1], k - 1, axis=0), observations])
    return np.moveaxis(np.lib.stride_tricks.sliding_window_view(padded, k, axis=0), -1, 1)


def _load(folder: Path, format: Format | None) -> Iterator[Episode]:
    if (folder / "metadata.json").is_file() and format != "npz":
        yield from _minari_episodes(folder, None)
        return
    manifest = read_manifest(folder)
    if manifest is None:
        raise RetroToolError(f"{folder} is not a dataset: it has no {MANIFEST} (made by `retrotool dump-dataset`)")
    minari_dir = folder / MINARI_DIR
    if format == "minari" or (format is None and (minari_dir / "metadata.json").is_file()):
        if not (minari_dir / "metadata.json").is_file():
            raise RetroToolError(f"{folder} has no Minari dataset; make it with `dump-dataset --format minari`")
        yield from _minari_episodes(minari_dir, manifest)
        return
    for record in manifest["episodes"]:
        yield read_npz(folder / record["file"], record["movie"])


def read_npz(path: Path, movie: str = "", skip: Sequence[str] = ()) -> Episode:
    """An `.npz` episode; the arrays named in `skip` are not read (and, if all its observations, come back empty)."""
    with np.load(path) as z:
        arrays = {name: z[name] for name in z.files if name not in skip}
    obs_names = [n for n in arrays if n.startswith("observations")]
    observations = (arrays["observations"] if obs_names == ["observations"]
                    else {n.split(".", 1)[1]: arrays[n] for n in obs_names} if obs_names else np.empty(0, np.uint8))
    infos = {n.split(".", 1)[1]: arrays[n] for n in arrays if n.startswith("infos.")}
    return Episode(movie or path.stem, observations, arrays["actions"], arrays["rewards"],
                   arrays["terminations"], arrays["truncations"], infos, arrays.get(DISCRETE))


def _minari_episodes(data_path: Path, manifest: dict[str, Any] | None) -> Iterator[Episode]:
    minari = import_minari()
    dataset = minari.MinariDataset(str(data_path))
    movies = [r["movie"] for r in manifest["episodes"]] if manifest else []
    for i, ep in enumerate(dataset.iterate_episodes()):
        obs = ep.observations
        observations = {k: np.asarray(v) for k, v in obs.items()} if isinstance(obs, dict) else np.asarray(obs)
        infos = {k: np.asarray(v) for k, v in (ep.infos or {}).items()}
        discrete = infos.pop(DISCRETE_INFO)[:-1] if DISCRETE_INFO in infos else None
        yield Episode(movies[i] if i < len(movies) else f"episode {ep.id}", observations, np.asarray(ep.actions),
                      np.asarray(ep.rewards), np.asarray(ep.terminations), np.asarray(ep.truncations), infos,
                      discrete)


def import_minari() -> Any:
    try:
        import minari
    except ImportError:
        raise RetroToolError("Minari datasets need the minari package: pip install 'retrotool[dataset]'") from None
    return minari
