"""Many envs as one Gymnasium `VectorEnv`: in this process (sync) or shared out among worker processes (async).

stable-retro allows one emulator per process; retrotool's `Emulator` loads a
private copy of a core file that is already loaded, so `mode="sync"` runs
all n emulators in this process (cheap steps, no messages), and
`mode="async"` shares them out among worker processes, by default one per
CPU this process may use (CPU scale without a process per env; see
workers.py). Both are Gymnasium `VectorEnv`s, so every wrapper and library
that takes one takes these. Autoreset is Gymnasium's default (the step
after an episode ends resets that env).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import gymnasium
import numpy as np
from gymnasium.vector import SyncVectorEnv

from retrotool.env.retro_env import RetroEnv
from retrotool.env.workers import WorkerVectorEnv
from retrotool.errors import RetroToolError

Mode = Literal["sync", "async"]


def make_vec(game: str, n: int, mode: Mode = "sync", *, processes: int | None = None, context: str | None = None,
             **kwargs: Any) -> gymnasium.vector.VectorEnv:
    """n envs of `game` (each made as `retrotool.make(game, **kwargs)`) as one VectorEnv.

    `mode`: "sync" (every emulator in this process) or "async" (the envs
    shared out among `processes` worker processes: by default one per CPU
    this process may run on, at most n; `processes=n` gives each env its
    own). `context` is the multiprocessing start method (the platform's
    default when None). With `record=DIR`, env i records into DIR/env00i.
    """
    if not isinstance(n, int) or n < 1:
        raise RetroToolError(f"make_vec needs n >= 1 envs, not {n!r}")
    fns: list[Callable[[], gymnasium.Env[Any, Any]]] = [functools.partial(RetroEnv, game, **kwargs)] * n
    record = kwargs.pop("record", False)
    if record is not False and record is not None:  # each env its own folder: their movies share names
        base = Path.cwd() if record is True else Path(record)
        if not base.is_dir():
            raise RetroToolError(f"record={str(record)!r}: no such folder (movies are written into an existing folder)")
        for i in range(n):
            (base / f"env{i:03d}").mkdir(exist_ok=True)
        fns = [functools.partial(RetroEnv, game, record=base / f"env{i:03d}", **kwargs) for i in range(n)]
    if mode == "sync":
        return _SyncVectorEnv(fns, copy=False)
    if mode == "async":
        if processes is None:
            processes = min(n, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        return WorkerVectorEnv(fns, processes, functools.partial(_SyncVectorEnv, copy=False), context)
    raise RetroToolError(f"make_vec mode={mode!r} is not one of: sync, async")


class _SyncVectorEnv(SyncVectorEnv):
    """Gymnasium's, with a leaner step for retrotool's envs (their infos are flat dicts of numbers).

    Each step's observations are stacked into a new array (one copy: what a
    caller keeps is never overwritten), or into `out` when one is set (a
    worker's share of a shared block), and the infos batched once, as
    Gymnasium batches them (`info[key]`, and `info["_" + key]` saying which
    envs have it). Autoreset as Gymnasium's default (the next step resets).
    """

    out: np.ndarray | None = None

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._observations = np.empty_like(self._observations)  # new each time: `copy=False` hands it over
        return super().reset(seed=seed, options=options)

    def step(self, actions: Any) -> Any:
        if self.autoreset_mode != gymnasium.vector.AutoresetMode.NEXT_STEP:
            self._observations = np.empty_like(self._observations)
            return super().step(actions)
        observations, infos = [], []
        for i, env in enumerate(self.envs):
            if self._autoreset_envs[i]:
                obs, info = env.reset()
                self._rewards[i], self._terminations[i], self._truncations[i] = 0.0, False, False
            else:
                obs, self._rewards[i], self._terminations[i], self._truncations[i], info = env.step(actions[i])
            observations.append(obs)
            infos.append(info)
        self._autoreset_envs = self._terminations | self._truncations
        return (np.stack(observations, out=self.out), self._rewards.copy(), self._terminations.copy(),
                self._truncations.copy(), _batched(infos))


def _batched(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """Gymnasium's vector info: each key's values as an array, and `_key` marking the envs that have it."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for info in infos for k in info):
        has = [key in info for info in infos]
        out[key] = np.array([info.get(key, 0) for info in infos])
        out[f"_{key}"] = np.array(has)
    return out
