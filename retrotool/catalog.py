"""What is installed: game integrations, cores per system, and importing ROMs.

The listings behind `retrotool games`, `retrotool cores` and `retrotool
import`; they must answer fast with a thousand game folders present, so they
read folder listings, not JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retrotool import cores, games, systems
from retrotool.errors import ContentError, RetroToolError
from retrotool.systems import System
from retrotool.variables import Scenario, Term, Variable, load_scenario, load_variables


@dataclass(frozen=True, slots=True)
class GameRow:
    name: str
    system: str
    rom: bool
    states: int
    origin: str


def list_games(system: System | None = None) -> list[GameRow]:
    """Every integration with whether its ROM is imported (fast: no JSON is parsed)."""
    return [
        GameRow(g.name, g.system.name, g.rom() is not None, len(g.states()), g.origin)
        for g in games.all_games(system)
    ]


@dataclass(frozen=True, slots=True)
class GameDetails:
    """What `retrotool games NAME` shows about one integration."""

    game: games.Game
    rom: Path | None  # the imported ROM file
    shas: tuple[str, ...]  # SHA-1s of the ROMs it accepts
    states: tuple[str, ...]
    default_state: str | None
    variables: tuple[Variable, ...]  # data.json's RAM variables
    scenario: Scenario | None  # scenario.json's rules


def describe_game(name: str) -> GameDetails:
    """One integration's ROM status, states, RAM variables and scenario."""
    game = games.find(name)
    data, scenario = game.folder / "data.json", game.folder / "scenario.json"
    return GameDetails(
        game, game.rom(), game.shas, tuple(game.states()), game.default_state(),
        tuple(load_variables(data).values()) if data.is_file() else (),
        load_scenario(scenario) if scenario.is_file() else None,
    )


def scenario_rules(scenario: Scenario) -> list[tuple[str, str]]:
    """(kind, rule) lines of a scenario in words: its rewards, when it is done, and its allowed actions."""
    rules = [("reward", _term(t, reward=True)) for t in scenario.reward_terms]
    if scenario.time_reward:
        rules.append(("reward", f"{scenario.time_reward:g} per frame"))
    joined = "all of" if scenario.done_all else "any of"
    rules += [(f"done ({joined})" if len(scenario.done_terms) > 1 else "done", _term(t, reward=False))
              for t in scenario.done_terms]
    if scenario.actions is not None:
        combos = sum(len(group) for group in scenario.actions)
        rules.append(("actions", f"restricted: {len(scenario.actions)} group(s), {combos} combos"))
    return rules


_UNARY_OPS = frozenset({"nonzero", "zero", "positive", "negative", "sign"})  # they ignore the reference


def _term(t: Term, *, reward: bool) -> str:
    value = f"{t.variable} ({t.measurement})"
    if t.op is not None:
        value += f" {t.op}" if t.op in _UNARY_OPS else f" {t.op} {t.reference:g}"
    if not reward:
        return value if t.op is not None else f"{value} > 0"
    penalty = f", x {t.penalty:g} when negative" if t.penalty else ""
    return f"{value} x {t.reward:g}{penalty}"


def import_roms(paths: list[Path], report: Callable[[str, str], None] | None = None) -> int:
    """Import every ROM under paths that an integration lists; returns how many."""
    for p in paths:
        if not p.exists():
            raise ContentError(f"{p} does not exist")
    done = games.import_roms(paths, None if report is None else lambda game, name: report(game.name, name))
    return len(done)


@dataclass(frozen=True, slots=True)
class CoreRow:
    system: str
    core: str
    origin: str | None
    path: Path | None
    hint: str


def list_cores(system: System | None = None) -> list[CoreRow]:
    """For each system (and each core it can use), where the core was found."""
    rows = []
    for s in [system] if system else [systems.get(n) for n in systems.names()]:
        for name in s.cores:
            try:
                found = cores.find(name)
                rows.append(CoreRow(s.name, name, found.origin, found.path, ""))
            except RetroToolError:
                rows.append(CoreRow(s.name, name, None, None, cores.install_hint(name)))
    return rows
