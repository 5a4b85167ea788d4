"""`retrotool state`: save a state at a frame of a movie (or take a state file), check it fits a game, describe one.

A state is checked against a game by loading the game in the core it runs on
here and comparing the state with a fresh one of that core and game (its
maker, format version, game and size; `statefiles.misfits`), then by letting
the core load it. What is refused says why.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from retrotool import games, movie as bk2, playback, session
from retrotool.emulator import Rom
from retrotool.errors import ContentError, RetroToolError, StateError
from retrotool.integration import folders, statefiles

MAX_CANDIDATES = 20  # games `state info` tries a state on when none is named


@dataclass(frozen=True, slots=True)
class Saved:
    state: bytes
    source: str  # where it came from, for messages
    written: tuple[Path, ...]
    game: games.Game | None = None
    default: bool = False


@dataclass(frozen=True, slots=True)
class StateInfo:
    file: statefiles.StateFile
    maker: statefiles.Maker | None
    version: str | None
    fits: tuple[tuple[str, str | None], ...]  # game, and why it does not fit (None: it loads)


def is_movie(path: Path) -> bool:
    """A .bk2 movie (a zip with an input log), as opposed to a state file."""
    if path.suffix.lower() == ".bk2":
        return True
    try:
        with zipfile.ZipFile(path) as z:
            return "Input Log.txt" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def at_frame(path: Path, frame: int, *, core: str | None = None, rom: Path | None = None) -> tuple[bytes, Rom]:
    """The state after movie row `frame` ran (what `ram watch` shows at that frame), and the movie's ROM."""
    movie = bk2.read(path)
    if not 0 <= frame < movie.frames:
        raise ContentError(f"--frame {frame} is outside {path}, whose frames are 0 to {movie.frames - 1}")
    content = session.movie_content(movie, path, rom)
    with session.open_session(content, core, players=movie.players) as emulator:
        playback.replay_rows(emulator, movie, [], rows=frame + 1)
        return emulator.get_state(), content.rom


def check_fits(game: games.Game, state: bytes, core: str | None = None) -> str:
    """Refuse (StateError, with the reasons) a state that will not load in `game` here; the core's name if it does."""
    rom = game.rom()
    if rom is None:
        raise ContentError(f"the ROM of {game.name} is not imported; run `retrotool import DIR` on your ROMs")
    content = session.Content(game.system, Rom.read(rom), game.name, None)
    with session.open_session(content, core) as emulator:
        name = emulator.core.name
        reasons = statefiles.misfits(state, emulator.get_state(), name)
        if reasons:
            raise StateError(f"this state does not fit {game.name}: {'; '.join(reasons)}")
        try:
            emulator.set_state(state)
        except RetroToolError as e:
            raise StateError(f"{name} refused this state for {game.name}: {e}") from None
    return name


def _same_rom(game: games.Game, rom: Rom) -> None:
    names = {rom.sha1, games.rom_sha1(rom.data, rom.path.name if rom.path else "")}
    if names.isdisjoint(game.shas):
        raise StateError(f"the movie plays the ROM with SHA-1 {rom.sha1}, and {game.name} is the game with SHA-1 "
                         f"{' or '.join(game.shas)}: this would be a state of another game")


def save(
    source: Path, *, frame: int | None = None, out: Path | None = None, into: str | None = None,
    name: str | None = None, default: bool = False, force: bool = False, core: str | None = None,
    rom: Path | None = None,
) -> Saved:
    """A state from a movie's frame (or a state file) to a file (-o) and/or into a game's folder (--into)."""
    if out is None and into is None:
        raise RetroToolError("say where the state goes: -o FILE.state, or --into GAME (or both)")
    if default and into is None:
        raise RetroToolError("--default sets the default state of the game given with --into")
    game = folders.writable_game(into) if into is not None else None
    if is_movie(source):
        if frame is None:
            raise RetroToolError("give the movie's frame: --frame N (the state after that frame, as `ram watch` counts)")
        state, movie_rom = at_frame(source, frame, core=core, rom=rom)
        what = f"frame {frame} of {source.name}"
        if game is not None:
            _same_rom(game, movie_rom)
    else:
        if frame is not None:
            raise RetroToolError(f"{source} is a state file: --frame is for movies")
        state, what = statefiles.read(source).data, source.name
    written = []
    if game is not None:
        check_fits(game, state, core)
        state_name = name or (out.stem if out is not None else f"Frame{frame}" if frame is not None else source.stem)
        written.append(folders.add_state(game, state_name, state, default=default, force=force))
    if out is not None:
        written.insert(0, statefiles.write(out, state, force=force))
    return Saved(state, what, tuple(written), game, default)


def info(path: Path, game: str | None = None) -> StateInfo:
    """What a state file holds, who made it, and which installed games (with their ROM) it loads in."""
    file = statefiles.read(path)
    maker = statefiles.maker(file.data)
    version = statefiles.show(maker.version(file.data)) if maker is not None and maker.spec.get("version") else None
    if game is not None:
        candidates = [games.find(game)]
    else:
        candidates = [g for g in games.all_games() if g.rom() is not None
                      and (maker is None or maker.core in g.system.cores)][:MAX_CANDIDATES]
    fits: list[tuple[str, str | None]] = []
    for g in candidates:
        try:
            check_fits(g, file.data)
            fits.append((g.name, None))
        except RetroToolError as e:
            fits.append((g.name, str(e)))
    return StateInfo(file, maker, version, tuple(fits))
