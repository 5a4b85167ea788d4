"""Many envs as one Gymnasium `VectorEnv`: in this process (sync) or a process each (async).

stable-retro allows one emulator per process; retrotool's `Emulator` loads a
private copy of a core file that is already loaded, so `mode="sync"` runs
all n emulators in this process (cheap steps, no messages), and
`mode="async"` gives each env a process of its own (CPU scale), through
Gymnasium's own vector classes, so every wrapper and library that takes a
`VectorEnv` takes these. Autoreset is Gymnasium's default (the step after
an episode ends resets that env).

In async mode at most as many envs step at once as this process may use
CPUs: eight envs on two cores then take turns instead of thrashing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, Literal

import gymnasium
from gymnasium.vector import AsyncVectorEnv, SyncVectorEnv

from retrotool.env.retro_env import RetroEnv
from retrotool.errors import RetroToolError

Mode = Literal["sync", "async"]


def make_vec(game: str, n: int, mode: Mode = "sync", *, context: str | None = None, **kwargs: Any
             ) -> gymnasium.vector.VectorEnv:
    """n envs of `game` (each made as `retrotool.make(game, **kwargs)`) as one VectorEnv.

    `mode`: "sync" (every emulator in this process) or "async" (a process
    per env; `context` is the multiprocessing start method, the platform's
    default when None).
    """
    if not isinstance(n, int) or n < 1:
        raise RetroToolError(f"make_vec needs n >= 1 envs, not {n!r}")
    fns: list[Callable[[], gymnasium.Env[Any, Any]]] = [functools.partial(RetroEnv, game, **kwargs)] * n
    if mode == "sync":
        return SyncVectorEnv(fns)
    if mode == "async":
        return AsyncVectorEnv(fns, context=context, max_concurrency=min(n, _cpus()))
    raise RetroToolError(f"make_vec mode={mode!r} is not one of: sync, async")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
