"""Every installed game as a Gymnasium id, `retrotool/<Game>-v<N>`, made by `retrotool.make`.

Gymnasium no longer discovers plugins by itself: importing `retrotool.env`
registers the ids (as importing `ale_py` registers Atari's). A game folder
without a version (`Game-System`) is registered as `-v0`. `gymnasium.make_vec`
of one of these ids builds `retrotool.make_vec` (sync or async).
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium

from retrotool import games

NAMESPACE = "retrotool"
_VERSIONED = re.compile(r"-v\d+$")


def env_id(game: str) -> str:
    """The Gymnasium id of a game integration's folder name."""
    return f"{NAMESPACE}/{game if _VERSIONED.search(game) else game + '-v0'}"


def register_all() -> list[str]:
    """Register every installed game not registered yet; returns the ids added."""
    added = []
    for game in games.all_games():
        name = env_id(game.name)
        if name in gymnasium.registry:
            continue
        gymnasium.register(name, entry_point="retrotool.env.retro_env:RetroEnv", vector_entry_point=_make_vec,
                           kwargs={"game": game.name}, disable_env_checker=False)
        added.append(name)
    return added


def _make_vec(num_envs: int = 1, vectorization_mode: str = "sync", **kwargs: Any) -> gymnasium.vector.VectorEnv:
    """gymnasium.make_vec's door to retrotool.make_vec."""
    from retrotool.env.vector import make_vec

    game = kwargs.pop("game")
    return make_vec(game, num_envs, mode="async" if vectorization_mode == "async" else "sync", **kwargs)
