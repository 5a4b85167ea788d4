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
