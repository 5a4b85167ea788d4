"""The jobs behind the CLI commands: each opens what a movie needs and runs the loop.

The CLI parses arguments and prints; everything a command does lives here
as a plain function returning a result value, so it is usable from Python.
"""

from __future__ import annotations

import ctypes
import dataclasses
import glob
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import numpy as np

from retrotool import cores, games, isolation, movie as bk2, outputs, systems
from retrotool.emulator import Emulator
from retrotool.errors import ContentError, CoreError, MovieFormatError, RetroToolError, StateError
from retrotool.movie import Movie
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, RAM_ENTRY, MovieBuilder
from retrotool.replay import ArraySource, InputSource, Sink, load_start, replay
from retrotool.sinks.verify import TraceSink, VerifySink, ram_hash, screen_hash, unpack_rams
from retrotool.systems import System

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a replay or recording did and what it ended on."""

    system: str
    game: str
    core: str
    core_path: Path
    frames: int
    duration: float  # seconds of game time (frames / the core's exact fps)
    seconds: float  # wall time of the loop
    ram_sha256: str
    screen_sha256: str
    checkpoints: int = 0  # checkpoints recorded, or (verify) matched by the replay
    stored_checkpoints: int = 0  # (verify) checkpoints the movie carries

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


# -- opening a movie's emulator ----------------------------------------------


def integration(movie: Movie) -> games.Game | None:
    """The game integration the movie's GameName names, if installed."""
    name = movie.header_value("GameName")
    if not name or name == "?":
        return None
    return games.lookup(name)


def find_rom(movie: Movie, movie_path: Path | None, rom: Path | None, game: games.Game | None) -> Path:
    """The ROM given, else the one named beside the movie, else the integration's, else one found by SHA-1."""
    expected = {str(movie.meta["content_sha1"])} if movie.meta.get("content_sha1") else set()
    if rom is None:
        name = movie.meta.get("rom_name")
        beside = movie_path.parent / str(name) if name and movie_path is not None else None
        imported = game.rom() if game is not None else None
        if beside is not None and beside.is_file():
            rom = beside
        elif game is not None and imported is not None:
            rom = imported
            expected = expected or set(game.shas)
        else:
            rom = _rom_by_sha1(movie, movie_path, game)
    if not rom.is_file():
        raise ContentError(f"ROM not found: {rom}")
    data = rom.read_bytes()
    actual = hashlib.sha1(data).hexdigest()
    if expected and not expected & {actual, games.rom_sha1(data, rom.name)}:
        raise ContentError(f"wrong ROM {rom}: the movie expects SHA-1 {' or '.join(sorted(expected))}, this is {actual}")
    return rom


def _rom_by_sha1(movie: Movie, movie_path: Path | None, game: games.Game | None) -> Path:
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


def open_emulator(
    movie: Movie, movie_path: Path | None, core: str | Path | None, rom: Path | None
) -> tuple[Emulator, System, cores.FoundCore]:
    """An emulator with the movie's game loaded, at the movie's start."""
    system = systems.get(movie.system)
    wanted = core if core is not None else movie.meta.get("core")
    try:
        found = cores.resolve(wanted, system)
    except RetroToolError:
        if core is not None or wanted is None:
            raise
        log.warning("the movie was made with core %s, which is not installed; trying another", wanted)
        found = cores.for_system(system)
    rom_path = find_rom(movie, movie_path, rom, integration(movie))
    options = {str(k): str(v) for k, v in movie.meta.get("options", {}).items()}
    emulator = Emulator(found.path, rom_path, ports=max(movie.players, 1), options=options,
                        system=system)
    recorded = movie.meta.get("core")
    if recorded and recorded != emulator.core_name and recorded != found.name:
        log.warning("movie recorded with core %s, replaying with %s: states may not match", recorded, found.name)
    try:
        if movie.state is not None and movie.state_format == "bizhawk":
            raise StateError(
                "this movie starts from a BizHawk savestate, which a libretro core cannot load; "
                "only power-on BizHawk movies can be replayed"
            )
        load_start(emulator, movie.state, movie.convention)
    except BaseException:
        emulator.close()
        raise
    return emulator, system, found


def _game_name(movie: Movie) -> str:
    return movie.header_value("GameName") or str(movie.meta.get("rom_name", "?"))


def _run(
    movie: Movie, movie_path: Path | None, core: str | Path | None, rom: Path | None,
    sinks: list[Sink], progress: Progress | None, frame_counter: ctypes.c_uint64 | None = None,
) -> RunResult:
    emulator, system, found = open_emulator(movie, movie_path, core, rom)
    with emulator:
        if frame_counter is not None:
            emulator.host.count_frames_into(frame_counter)
        t0 = time.perf_counter()
        info = replay(emulator, system, ArraySource(movie.buttons), sinks, progress=progress,
                      reset_row=movie.convention == "stable-retro")
        seconds = time.perf_counter() - t0
        return RunResult(
            system.name, _game_name(movie), found.name, found.path, movie.frames,
            movie.frames / info.av.fps, seconds, ram_hash(emulator.obs_ram().tobytes()),
            screen_hash(emulator.obs_screen()),
        )


# -- commands ----------------------------------------------------------------


def playback(
    path: Path, *, core: str | Path | None = None, rom: Path | None = None,
    trace: Path | None = None, trace_every: int = 1, force: bool = False,
    progress: Progress | None = None, frame_counter: ctypes.c_uint64 | None = None,
) -> RunResult:
    """Replay a movie headless; optionally write a per-row hash trace.

    `frame_counter`, when given, is incremented by C after every frame, so a
    parent process can tell where a crashing core stopped.
    """
    movie = bk2.read(path)
    sinks: list[Sink] = []
    if trace is not None:
        game = integration(movie)
        evaluator = game.evaluator() if game is not None else None
        sinks.append(TraceSink(trace, every_n=trace_every, force=force, evaluator=evaluator))
    return _run(movie, path, core, rom, sinks, progress, frame_counter=frame_counter)


def verify(
    path: Path, *, core: str | Path | None = None, rom: Path | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Replay a movie and check its checkpoints; DesyncError names the first bad one."""
    movie = bk2.read(path)
    checkpoints = movie.checkpoints
    if not checkpoints:
        raise MovieFormatError(f"{path} carries no checkpoints to verify (record it with retrotool)")
    rams = unpack_rams(dict(movie.extras).get(RAM_ENTRY, b""), len(checkpoints))
    sink = VerifySink(checkpoints, rams)
    result = _run(movie, path, core, rom, [sink], progress)
    return dataclasses.replace(result, checkpoints=sink.matched, stored_checkpoints=sink.stored)


def record(
    *, system: System, core: str | Path | None, rom: Path, buttons: np.ndarray, out: Path,
    start: bytes | None = None, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    options: dict[str, str] | None = None, force: bool = False, game: str | None = None,
    dialect: bk2.Dialect = "stable-retro", progress: Progress | None = None, rerecords: int = 0,
) -> RunResult:
    """Record a scripted input sequence from `start` (None: power-on) into a movie.

    `game` is the movie's GameName (stable-retro looks it up as an
    integration name); default: the ROM's file name without extension.
    `rerecords` goes into the header (a recovered journal's count).
    """
    game = game or rom.stem
    target = outputs.check_target(out, force)
    found = cores.resolve(core, system)
    source: InputSource = ArraySource(buttons)
    with Emulator(found.path, rom, ports=max(source.players, 1), options=options,
                  system=system) as emulator:
        load_start(emulator, start)
        builder = MovieBuilder(start, game, rom.name, checkpoint_every, rerecords=rerecords)
        t0 = time.perf_counter()
        info = replay(emulator, system, source, [builder], progress=progress, reset_row=True)
        builder.finish(emulator.obs_ram().tobytes(), emulator.obs_screen())
        seconds = time.perf_counter() - t0
        movie = builder.movie(options).with_meta(core=found.name)
        bk2.write(movie, target, dialect=dialect, force=force)
        return RunResult(
            system.name, game, found.name, found.path, source.frames, source.frames / info.av.fps,
            seconds, ram_hash(emulator.obs_ram().tobytes()), screen_hash(emulator.obs_screen()),
            len(builder.checkpoints),
        )


@dataclass(frozen=True, slots=True)
class Content:
    """What a recording runs: system, ROM, start state and the movie's GameName."""

    system: System
    rom: Path
    start: bytes | None
    game: str


def content(
    *, game: str | None = None, rom: Path | None = None, system: System | None = None,
    state: str | None = None, power_on: bool = False,
) -> Content:
    """Resolve --game / --rom / --system / --state / --power-on into what to run.

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
        return Content(g.system, rom, start, g.name)
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
    return Content(system, rom, games.load_state_file(state_file) if state_file else None, rom.stem)


@dataclass(frozen=True, slots=True)
class MovieSummary:
    """What `retrotool info` shows about a movie."""

    path: Path
    movie: Movie
    presses: np.ndarray  # int64 [players, n_buttons]: frames each button is held
    buttons: tuple[str, ...]
    warnings: tuple[str, ...]  # what will not replay in stable-retro as the file says


def summarize(path: Path) -> MovieSummary:
    movie = bk2.read(path)
    system = systems.get(movie.system)
    presses = movie.buttons.sum(axis=0, dtype=np.int64)
    warnings = [
        f"stable-retro's movies cannot hold {button} (player {player + 1}, first held in frame {frame}): "
        "stable-retro replays this movie without it"
        for button, player, frame in bk2.unrecorded_presses(movie, system)
    ]
    if bk2.pressed_in_reset_row(movie):
        warnings.insert(0, "row 0 holds buttons, but it is the frame stable-retro's reset() runs, which never "
                           "applies them (retrotool replays it released, as stable-retro does)")
    return MovieSummary(path, movie, presses, system.buttons, tuple(warnings))


# -- many movies, and surviving crashing cores ----------------------------------


def expand_movies(items: list[str]) -> list[Path]:
    """Movie files from files, folders (their *.bk2, recursively) and glob patterns."""
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.rglob("*.bk2"))
        elif path.exists():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(item, recursive=True))
        if not found:
            raise ContentError(f"no movie matches {item}")
        out.extend(found)
    return out


def _isolated_playback(arg: tuple[str, Path, dict[str, Any]], report: isolation.Report) -> RunResult:
    counter_name, path, kwargs = arg
    shm = SharedMemory(counter_name)
    assert shm.buf is not None, "an open SharedMemory has a buffer"
    counter = ctypes.c_uint64.from_buffer(shm.buf)
    try:
        return playback(path, frame_counter=counter, **kwargs)
    finally:
        del counter
        shm.close()


def playback_isolated(path: Path, *, zygote: isolation.Zygote | None = None, **kwargs: Any) -> RunResult:
    """`playback` in a fresh child process (forked from `zygote`): a core that crashes kills only the child.

    The child's C host counts finished frames into shared memory, so a crash
    is reported with the frame it happened in.
    """
    shm = SharedMemory(create=True, size=8)
    assert shm.buf is not None, "an open SharedMemory has a buffer"
    try:
        shm.buf[:8] = bytes(8)
        job = (shm.name, path, kwargs)
        if zygote is None:
            with isolation.Zygote() as own:
                ended = own.run(_isolated_playback, job)
        else:
            ended = zygote.run(_isolated_playback, job)
        frames = int.from_bytes(bytes(shm.buf[:8]), "little")
    finally:
        shm.close()
        shm.unlink()
    if ended.died is not None:
        raise CoreError(f"{path}: the core crashed ({ended.died}) in frame {frames} (0-based row of the input log)")
    if ended.error is not None:
        raise ended.error
    return ended.value  # type: ignore[no-any-return]


def playback_each(paths: list[Path], **kwargs: Any) -> Iterator[tuple[Path, RunResult | RetroToolError]]:
    """`playback_isolated` of every movie in turn (one zygote for all); a failure is yielded, not raised."""
    with isolation.Zygote() as zygote:
        for path in paths:
            try:
                yield path, playback_isolated(path, zygote=zygote, **kwargs)
            except RetroToolError as e:
                yield path, e
