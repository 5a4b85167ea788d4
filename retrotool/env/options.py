"""`retrotool.make`'s arguments, read the way stable-retro's `retro.make` reads them.

`state`: `State.DEFAULT` (the integration's `default_player_state` for the
number of players, else its `default_state`, else power-on), `State.NONE`
(power-on), a state name of the game, or a state file. `scenario` and
`info`: a name of a JSON file in the game's folder (`"scenario"`, `"data"`
when None) or a path ending in `.json`. `obs_type`: `Observations.IMAGE`
(also "rgb", "image") or `Observations.RAM` (also "ram"). stable-retro's own
enum members are accepted too (matched by name), so a script written for it
passes its values unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from retrotool import games
from retrotool.errors import ContentError, RetroToolError
from retrotool.variables import Evaluator, Scenario, load_scenario, load_variables


class State(Enum):
    """Special `state` values, as stable-retro's `retro.State`."""

    DEFAULT = -1
    NONE = 0


class Observations(Enum):
    """`obs_type`, as stable-retro's `retro.Observations`."""

    IMAGE = 0
    RAM = 1


_OBS_NAMES = {"rgb": Observations.IMAGE, "image": Observations.IMAGE, "ram": Observations.RAM}


def observation_kind(value: object) -> Observations:
    """An Observations member from ours, stable-retro's, "rgb"/"image"/"ram", or 0/1."""
    name = getattr(value, "name", value)
    if isinstance(name, str) and name.lower() in _OBS_NAMES:
        return _OBS_NAMES[name.lower()]
    if isinstance(name, int) and not isinstance(name, bool) and name in (0, 1):
        return Observations(name)
    raise RetroToolError(f"obs_type={value!r} is not one of: rgb, ram (or Observations.IMAGE, Observations.RAM)")


@dataclass(frozen=True, slots=True)
class Start:
    """Where each episode starts: a state's bytes (None: power-on) and its name for movie file names."""

    state: bytes | None
    name: str


def start(game: games.Game, state: object, players: int) -> Start:
    """The state `state` names for this game (see the module docstring)."""
    special = getattr(state, "name", None) if isinstance(state, Enum) else None
    if special == "NONE" or state is None:
        return Start(None, "PowerOn")
    if special == "DEFAULT":
        name = _default_state(game, players)
        return Start(game.state(name), name) if name is not None else Start(None, "PowerOn")
    if not isinstance(state, (str, Path)):
        raise RetroToolError(f"state={state!r}: give a state name, a state file, State.DEFAULT or State.NONE")
    path = Path(state)
    if path.is_file():
        return Start(games.load_state_file(path), path.name.removesuffix(".state"))
    name = str(state).removesuffix(".state")
    return Start(game.state(name), name)


def _default_state(game: games.Game, players: int) -> str | None:
    """metadata.json's state for this many players (`default_player_state`), or its `default_state`."""
    meta = game.folder / "metadata.json"
    try:
        doc = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
    except (OSError, ValueError) as e:
        raise ContentError(f"{meta}: cannot read it ({e})") from None
    per_player = doc.get("default_player_state") if isinstance(doc, dict) else None
    if isinstance(per_player, list) and players <= len(per_player):
        return str(per_player[players - 1])
    return game.default_state()


def _json_file(game: games.Game, value: str | None, default: str) -> Path:
    name = value or default
    return Path(name) if name.endswith(".json") else game.folder / f"{name}.json"


def evaluator(game: games.Game, scenario: str | None, info: str | None) -> tuple[Evaluator | None, Scenario | None]:
    """The game's RAM variables and its scenario (rewards, done, allowed actions, crop)."""
    data_path, scenario_path = _json_file(game, info, "data"), _json_file(game, scenario, "scenario")
    explicit = scenario is not None
    if not data_path.is_file():
        if info is not None or explicit:
            raise ContentError(f"{game.name}: no RAM variables at {data_path} (needed for rewards and info)")
        return None, None
    if not scenario_path.is_file():
        if explicit:
            raise ContentError(f"{game.name}: scenario {scenario_path} not found")
        return Evaluator(load_variables(data_path), None), None
    rules = load_scenario(scenario_path)
    return Evaluator(load_variables(data_path), rules), rules
