"""Streaming a dataset into a training loop: batches of steps, read lazily, shuffled in a bounded buffer.

`iterate(path, batch=256)` yields dicts of numpy arrays, `batch` steps each
(the last batch may be shorter):

    observation     the observation before the step ([B, *shape], or [B, stack, *shape] with `stack`);
                    with --obs both: observation.rgb and observation.ram
    action          uint8 [B, players * buttons]
    reward          float64 [B]; terminated, truncated: bool [B]
    discrete_action int64 [B], when the scenario restricts actions
    episode, step   int64 [B]: where the step comes from (the manifest's episode index, the step in it)

Memory stays bounded whatever the dataset's size: episodes are read one
after another (in a shuffled order), `chunk` rows at a time, straight out of
their `.npz` files (`npzip.chunks`), and steps wait in a shuffle buffer of
`buffer` steps, from which each incoming step pushes out a random one. So
memory is about (buffer + chunk + batch) observations. Frame stacking is done
here, from each episode's own frames (the first frame repeated before the
start), so datasets store every frame once.

`shard=(i, n)` reads every n-th episode from the i-th (PyTorch workers).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from retrotool.datasets import npzip
from retrotool.datasets.folder import DISCRETE, read_manifest
from retrotool.errors import RetroToolError

Batch = dict[str, np.ndarray]
STEP_COLUMNS = {"actions": "action", "rewards": "reward", "terminations": "terminated", "truncations": "truncated",
                 DISCRETE: "discrete_action"}


def episodes_of(path: str | Path) -> tuple[Path, list[dict[str, Any]]]:
    folder = Path(path)
    manifest = read_manifest(folder)
    if manifest is None:
        raise RetroToolError(f"{folder} is not a dataset: it has no manifest.json (made by `retrotool dump-dataset`)")
    return folder, list(manifest["episodes"])


def iterate(
    path: str | Path, batch: int = 256, *, shuffle: bool = True, buffer: int = 8192, chunk: int = 1024,
    stack: int = 1, seed: int | None = None, shard: tuple[int, int] = (0, 1),
) -> Iterator[Batch]:
    """Batches of steps from a dataset folder (see the module docstring)."""
    if batch < 1 or buffer < 0 or chunk < 1 or stack < 1:
        raise RetroToolError("iterate needs batch >= 1, buffer >= 0, chunk >= 1 and stack >= 1")
    folder, records = episodes_of(path)
    rng = np.random.default_rng(seed)
    order = [i for i in (rng.permutation(len(records)) if shuffle else range(len(records))) if i % shard[1] == shard[0]]
    steps = (s for i in order for s in _episode_steps(folder / records[i]["file"], int(i), chunk, stack))
    mixed = _shuffled(steps, buffer, rng) if shuffle and buffer else steps
    yield from _batches(mixed, batch)


def _episode_steps(npz: Path, index: int, chunk: int, stack: int) -> Iterator[Batch]:
    """One episode's steps, `chunk` at a time (observations stacked when asked); the file is opened once."""
    with zipfile.ZipFile(npz) as z:
        names = [n.removesuffix(".npy") for n in z.namelist()]
        columns = {STEP_COLUMNS[n]: npzip.chunks(z, n, chunk) for n in STEP_COLUMNS if n in names}
        observed = {n.replace("observations", "observation"): _stacked(npzip.chunks(z, n, chunk), stack)
                    for n in names if n.startswith("observations")}
        done = 0
        for actions in columns.pop("action"):
            k = len(actions)
            part = {"action": actions, **{key: next(it) for key, it in columns.items()}}
            part.update({key: next(it)[:k] for key, it in observed.items()})
            part["episode"] = np.full(k, index, np.int64)
            part["step"] = np.arange(done, done + k, dtype=np.int64)
            done += k
            yield part


def _stacked(chunks: Iterator[np.ndarray], stack: int) -> Iterator[np.ndarray]:
    """Each frame with the stack-1 frames before it: [k, stack, *shape] (the first frame repeats before the start)."""
    if stack == 1:
        yield from chunks
        return
    history: np.ndarray | None = None
    for frames in chunks:
        if history is None:
            history = np.repeat(frames[:1], stack - 1, axis=0)
        both = np.concatenate([history, frames])
        windows = np.lib.stride_tricks.sliding_window_view(both, stack, axis=0)[: len(frames)]
        yield np.moveaxis(windows, -1, 1)
        history = both[-(stack - 1) :]


def _shuffled(parts: Iterator[Batch], size: int, rng: np.random.Generator) -> Iterator[Batch]:
    """Steps in a random order from a buffer of `size`: each incoming step pushes out a random one."""
    store: Batch | None = None
    filled = 0
    for part in parts:
        k = len(part["action"])
        if store is None:
            store = {key: np.empty((size, *v.shape[1:]), v.dtype) for key, v in part.items()}
        room = min(size - filled, k)
        for key, v in part.items():
            store[key][filled : filled + room] = v[:room]
        filled += room
        for a in range(room, k, size):  # the rest, at most a buffer's worth at a time (distinct slots)
            b = min(a + size, k)
            slots = rng.choice(size, b - a, replace=False)
            yield {key: store[key][slots] for key in store}  # copies: fancy indexing
            for key, v in part.items():
                store[key][slots] = v[a:b]
    if store is not None and filled:
        order = rng.permutation(filled)
        yield {key: v[order] for key, v in store.items()}


def _batches(parts: Iterator[Batch], size: int) -> Iterator[Batch]:
    """Parts of any length cut and joined into batches of `size` (the last may be shorter)."""
    pending: list[Batch] = []
    count = 0
    for part in parts:
        pending.append(part)
        count += len(part["action"])
        if count < size:
            continue
        joined = pending[0] if len(pending) == 1 else {key: np.concatenate([p[key] for p in pending])
                                                        for key in pending[0]}
        full = count - count % size
        for a in range(0, full, size):
            yield {key: v[a : a + size] for key, v in joined.items()}
        pending = [{key: v[full:] for key, v in joined.items()}] if count > full else []
        count -= full
    if count:
        yield {key: np.concatenate([p[key] for p in pending]) for key in pending[0]}
