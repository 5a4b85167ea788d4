"""Gymnasium environments on retrotool's emulator: `make` (stable-retro's `retro.make`), `make_vec`, registration.

    actions.py     stable-retro's action spaces (MultiBinary, FILTERED, DISCRETE, MULTI_DISCRETE) -> buttons
    options.py     make()'s arguments read as stable-retro reads them: states, scenarios, observation kinds
    stepper.py     an env's steps through the one replay loop (a Run fed K rows per step), movies per episode
    retro_env.py   RetroEnv, the Gymnasium environment
    vector.py      many envs: in one process (sync) or shared out among worker processes (async), as a VectorEnv
    workers.py     the async VectorEnv: worker processes, one per CPU
    blocks.py      the shared memory blocks its observations are lent in (never overwritten while held)
    registry.py    `retrotool/<Game>-v0` ids for `gymnasium.make` and `gymnasium.make_vec`

Importing this package registers every installed game with Gymnasium:

>>> import gymnasium, retrotool.env
>>> env = gymnasium.make("retrotool/Airstriker-Genesis-v0")
"""

from __future__ import annotations

try:
    import gymnasium  # noqa: F401 - every module below needs it
except ImportError as e:
    from retrotool.errors import RetroToolError

    raise RetroToolError("retrotool.make and make_vec need Gymnasium: pip install 'retrotool[gym]'") from e

from retrotool.env.actions import Actions
from retrotool.env.options import Observations, State
from retrotool.env.registry import register_all
from retrotool.env.retro_env import ResetNeeded, RetroEnv
from retrotool.env.vector import make_vec


def make(game: str, state: object = State.DEFAULT, **kwargs: object) -> RetroEnv:
    """stable-retro's `retro.make`: the env of a game (see `RetroEnv` for the arguments)."""
    return RetroEnv(game, state, **kwargs)  # type: ignore[arg-type]


__all__ = ["Actions", "Observations", "ResetNeeded", "RetroEnv", "State", "make", "make_vec"]

register_all()
