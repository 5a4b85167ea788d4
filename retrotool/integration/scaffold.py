"""`retrotool integrate new` and `integrate var`: a new game folder, and RAM variables checked against the game.

A new folder gets the ROM, its SHA-1 (Gym Retro's rule), empty data.json
and scenario.json, metadata.json naming `Start` the default state, and
`Start.state`: the power-on state after the frames stable-retro's make()
runs, or a state file checked against the game. A variable's address is
checked against the game's RAM as data.json is read (`ram.layout`), and its
value at the default state shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrotool import games, session, systems
from retrotool.emulator import Rom
from retrotool.errors import ContentError, StateError
from retrotool.integration import folders, statefiles
from retrotool.ram.layout import Layout
from retrotool.systems import System
from retrotool.variables import Variable, check_type

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.]*-[A-Za-z0-9]+(-v\d+)?")


@dataclass(frozen=True, slots=True)
class NewGame:
    folder: Path
    system: System
    sha1: str  # as rom.sha holds it
    start: str  # where Start.state came from


@dataclass(frozen=True, slots=True)
class VariableSet:
    game: games.Game
    variable: Variable
    before: dict[str, Any]  # the entry it replaced ({}: a new variable)
    value: int | None  # at the game's default state, or power-on


def _system(name: str, rom: Path) -> System:
    if not _NAME.fullmatch(name):
        raise ContentError(f"{name!r} is not a game name: a name, a dash and the system, like MyGame-Genesis")
    system = games.system_of(name)
    if system is None:
        known = ", ".join(systems.names())
        raise ContentError(f"{name!r} does not end with a system; end it with one of {known} (like MyGame-Genesis)")
    ext = rom.suffix.lstrip(".").lower()
    if ext not in system.extensions:
        raise ContentError(f"{rom.name} is not a {system.name} ROM by its extension ({', '.join(system.extensions)})")
    return system


def new(
    rom: Path, name: str, *, data: Path | None = None, state: Path | None = None, core: str | None = None,
) -> NewGame:
    """Make the game folder `name` for `rom` (see the module docstring); an existing folder is never touched."""
    system = _system(name, rom)
    root = folders.writable_root(data)
    if (root / name).exists():
        raise ContentError(f"{root / name} already exists: choose another --name, or remove that folder first")
    found = Rom.read(rom)
    with session.open_session(session.Content(system, found, name, None), core) as emulator:
        start = emulator.get_state()
        origin = "power-on (after the frames stable-retro's make() runs)"
        if state is not None:
            start, origin = statefiles.read(state).data, str(state)
            reasons = statefiles.misfits(start, emulator.get_state(), emulator.core.name)
            if reasons:
                raise StateError(f"{state} does not fit {name}: {'; '.join(reasons)}")
            emulator.set_state(start)  # the core's own word
    folder = folders.create(root, name, system, found.data, rom.name, start)
    return NewGame(folder, system, games.rom_sha1(found.data, rom.name), origin)


def variable(
    game_name: str, name: str, address: int, code: str, *, mask: int | None = None, core: str | None = None,
) -> VariableSet:
    """Add or change a variable of data.json, once its address is inside the game's RAM."""
    game = folders.writable_game(game_name)
    var = Variable(name, address, check_type(code), mask)
    if game.rom() is None:
        raise ContentError(f"the ROM of {game.name} is not imported, so {name}'s address cannot be checked against its "
                           "RAM; run `retrotool import DIR` on your ROMs")
    content = session.game_content(game=game.name, power_on=game.default_state() is None)
    with session.open_session(content, core) as emulator:
        space = emulator.address_space()
        try:
            Layout.of(space).column(address, var.size)
        except ContentError as e:
            raise ContentError(f"{name}: {e}") from None
        value = var.read(space)
    before = folders.set_variable(game, name, address, code, mask)
    return VariableSet(game, var, before, value)
