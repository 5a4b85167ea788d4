"""What a run plays, and the one way to open it: `Content` -> `open_session` -> an Emulator at the start.

Every command and the agent API go through here: a movie's content (its
system, its ROM found and checked once, its start state and convention, its
integration) or a game's (from `--game`/`--rom`/`--state`), then one
`open_session` that finds the core, opens the Emulator with its System and
puts it where row 0 begins.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrotool import cores, games, movie as bk2, paths, systems
from retrotool.emulator import Emulator, Rom
from retrotool.errors import ContentError, RetroToolError, StateError
from retrotool.systems import System
from retrotool.variables import Evaluator, load_scenario, load_variables

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Content:
    """The system, ROM (read and hashed once), start, convention and integration of a run.

    `name` is the movie's GameName; `core` the core the movie names (a core
    *name*, never a path); `options` its core options.
    """

    system: System
    rom: Rom
    name: str
    state: bytes | None = None
    convention: bk2.Convention = "stable-retro"
    game: games.Game | None = None
    core: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)

    def evaluator(self, scenario: Path | None = None) -> Evaluator | None:
        """The integration's RAM variables and rules; `scenario` replaces its scenario.json."""
        if scenario is None:
            return self.game.evaluator() if self.game is not None else None
        if self.game is None or not (self.game.folder / "data.json").is_file():
            raise ContentError(f"--scenario needs the game's RAM variables, but {self.name!r} has no integration "
                               "with a data.json")
        return Evaluator(load_variables(self.game.file("data.json")), load_scenario(scenario))


def integration(movie: bk2.Movie) -> games.Game | None:
    """The game integration the movie's GameName names, if installed; a GameName that is a path names none."""
    name = movie.header_value("GameName")
    if not name or name == "?":
        return None
    if "/" in name or "\\" in name or name.startswith("."):
        log.warning("ignoring the movie's GameName %r: a movie may name a game, not a path", name[:80])
        return None
    return games.lookup(name)


def movie_content(movie: bk2.Movie, path: Path | None = None, rom: Path | None = None) -> Content:
    """What `movie` plays: its ROM is `rom`, else the one beside it, its game's, or one found by SHA-1."""
    if movie.state is not None and movie.state_format == "bizhawk":
        raise StateError("this movie starts from a BizHawk savestate, which a libretro core cannot load; "
                         "only power-on BizHawk movies can be replayed")
    game = integration(movie)
    named = movie.meta.get("core")
    if named is not None and not paths.is_core_name(named):
        log.warning("ignoring the core %r the movie names: a movie may name a core, not a path", named)
        named = None
    options = {str(k): str(v) for k, v in dict(movie.meta.get("options") or {}).items()}
    return Content(
        systems.get(movie.system), _movie_rom(movie, path, rom, game), movie.header_value("GameName") or "?",
        movie.state, movie.convention, game, named, options,
    )


def _movie_rom(movie: bk2.Movie, movie_path: Path | None, rom: Path | None, game: games.Game | None) -> Rom:
    expected = {str(movie.meta["content_sha1"])} if movie.meta.get("content_sha1") else set()
    if rom is None:
        beside = _rom_beside(movie.meta.get("rom_name"), movie_path)
        imported = game.rom() if game is not None else None
        if beside is not None and beside.is_file():
            rom = beside
        elif game is not None and imported is not None:
            rom = imported
            expected = expected or set(game.shas)
        else:
            rom = _rom_by_sha1(movie, movie_path, game)
    found = Rom.read(rom)
    if expected and not expected & {found.sha1, games.rom_sha1(found.data, rom.name)}:
        raise ContentError(
            f"wrong ROM {rom}: the movie expects SHA-1 {' or '.join(sorted(expected))}, this is {found.sha1}"
        )
    return found


def _rom_beside(name: object, movie_path: Path | None) -> Path | None:
    """The ROM file the movie names (`rom_name`), in the movie's own folder: a file name, never a path."""
    if not name or movie_path is None:
        return None
    if not paths.is_file_name(name):
        log.warning("ignoring the ROM name %r the movie gives: a movie may name a file beside it, not a path",
                    str(name)[:80])
        return None
    beside = paths.inside(movie_path.parent, str(name))
    if beside is None:
        log.warning("ignoring the ROM name %r the movie gives: it leads out of the movie's folder (a symlink)",
                    str(name)[:80])
    return beside


def _rom_by_sha1(movie: bk2.Movie, movie_path: Path | None, game: games.Game | None) -> Path:
    """The ROM of the SHA-1 the movie records (retrotool's data or its header), found among the user's files."""
    shas = {str(movie.meta.get("content_sha1") or ""), movie.header_value("SHA1") or ""}
    shas = {s.lower() for s in shas if re.fullmatch(r"[0-9a-fA-F]{40}", s)}
    system = systems.get(movie.system)
    folders = [movie_path.parent] if movie_path is not None else []
    found = games.find_content(shas, system, folders) if shas else None
    if found is not None:
        return found
    if game is not None:
        raise ContentError(f"the ROM of {game.name} is not imported; run `retrotool import DIR` on your ROMs")
    where = "" if not shas else (f" (no file with its SHA-1 {' or '.join(sorted(shas))} in the imported games, "
                                 "the movie's folder or $RETROTOOL_DATA_PATH)")
    raise ContentError(f"this {movie.system} movie needs its ROM{where}: pass --rom PATH")


def game_content(
    *, game: str | None = None, rom: Path | None = None, system: System | None = None,
    state: str | None = None, power_on: bool = False,
) -> Content:
    """Resolve --game / --rom / --system / --state / --power-on into what to record.

    With a game, the ROM and (unless --power-on) its default state come from
    the integration; --state is a state file, or a state name of the game.
    """
    if state is not None and power_on:
        raise RetroToolError("give --state or --power-on, not both")
    state_file = Path(state) if state is not None and Path(state).is_file() else None
    if game is not None:
        g = games.find(game)
        rom = rom or g.rom()
        if rom is None:
            raise ContentError(f"the ROM of {g.name} is not imported; run `retrotool import DIR` on your ROMs")
        start = None if power_on else games.load_state_file(state_file) if state_file else g.state(state)
        return Content(g.system, Rom.read(rom), g.name, start, game=g)
    if rom is None:
        raise RetroToolError("give --game NAME or --rom PATH")
    if state is not None and state_file is None:
        raise StateError(f"state file not found: {state}")
    if system is None:
        found = systems.for_extension(rom.suffix.lstrip("."))
        if len(found) != 1:
            names = ", ".join(s.name for s in found) or "no system"
            raise RetroToolError(f"cannot tell the system of {rom.name} from its extension ({names}); pass --system")
        system = found[0]
    return Content(system, Rom.read(rom), rom.stem, games.load_state_file(state_file) if state_file else None)


def open_session(
    content: Content, core: str | os.PathLike[str] | None = None, *, players: int = 1, options: Mapping[str, str] | None = None,
    at_start: bool = True,
) -> Emulator:
    """The content's emulator, loaded and at the start: row 0 of a movie comes next.

    `core` (a name or, from the user, a path) overrides the core the content
    names, which overrides the system's preferred core. Without `at_start`
    the game is only loaded (a keyframe's state goes in next). The caller
    closes it.
    """
    found = _core(content, core)
    emulator = Emulator(found, content.rom, system=content.system, ports=max(players, 1),
                        options={**content.options, **(options or {})})
    try:
        if content.core and content.core not in (found.name, emulator.core_name):
            log.warning("movie recorded with core %s, replaying with %s: states may not match", content.core, found.name)
        if at_start:
            load_start(emulator, content.state, content.convention)
    except BaseException:
        emulator.close()
        raise
    return emulator


def _core(content: Content, core: str | os.PathLike[str] | None) -> cores.FoundCore:
    if core is not None:
        return cores.resolve(core, content.system)
    if content.core is None:
        return cores.for_system(content.system)
    try:
        return cores.find(content.core)
    except RetroToolError:
        log.warning("the movie was made with core %s, which is not installed; trying another", content.core)
        return cores.for_system(content.system)


def load_start(emulator: Emulator, state: bytes | None, convention: bk2.Convention = "stable-retro") -> None:
    """Put an emulator where row 0 of a movie begins (one that ran is powered on again first).

    BizHawk's convention: right after the game is loaded, or the state.
    stable-retro's: the frames its `make()` runs with no button held, then
    the state (for a core it reloads before a state, only the state).
    """
    if emulator.frames_run:
        emulator.power_on()
    if convention == "stable-retro" and not (state is not None and emulator.quirks.state_after_reload):
        emulator.run(np.zeros((bk2.MAKE_FRAMES, emulator.ports), np.uint16))
    if state is not None:
        emulator.set_state(state)
