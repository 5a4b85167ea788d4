"""The jobs behind the CLI commands: each opens what a movie needs and runs the loop.

The CLI parses arguments and prints; everything a command does lives here
as a plain function returning a result value, so it is usable from Python.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrotool import cores, movie as bk2, outputs, systems
from retrotool.emulator import Emulator
from retrotool.errors import ContentError, MovieFormatError, RetroToolError, StateError
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
    checkpoints: int = 0  # checkpoints verified or recorded

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


# -- opening a movie's emulator ----------------------------------------------


def find_rom(movie: Movie, movie_path: Path | None, rom: Path | None) -> Path:
    """The ROM given, or the one the movie names, found beside the movie file."""
    expected = movie.meta.get("content_sha1")
    if rom is None:
        name = movie.meta.get("rom_name")
        if not name or movie_path is None or not (movie_path.parent / str(name)).is_file():
            hint = f" (SHA-1 {expected})" if expected else ""
            raise ContentError(f"this {movie.system} movie needs its ROM{hint}: pass --rom PATH")
        rom = movie_path.parent / str(name)
    if not rom.is_file():
        raise ContentError(f"ROM not found: {rom}")
    if expected:
        actual = hashlib.sha1(rom.read_bytes()).hexdigest()
        if actual != expected:
            raise ContentError(f"wrong ROM {rom}: the movie was made with SHA-1 {expected}, this is {actual}")
    return rom


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
    rom_path = find_rom(movie, movie_path, rom)
    options = {str(k): str(v) for k, v in movie.meta.get("options", {}).items()}
    emulator = Emulator(found.path, rom_path, ports=max(movie.players, 1), options=options)
    recorded = movie.meta.get("core")
    if recorded and recorded != emulator.core_name and recorded != found.name:
        log.warning("movie recorded with core %s, replaying with %s: states may not match", recorded, found.name)
    try:
        if movie.state is not None and movie.state_format == "bizhawk":
            raise StateError(
                "this movie starts from a BizHawk savestate, which a libretro core cannot load; "
                "only power-on BizHawk movies can be replayed"
            )
        load_start(emulator, movie.state)
    except BaseException:
        emulator.close()
        raise
    return emulator, system, found


def _game_name(movie: Movie) -> str:
    return movie.header_value("GameName") or str(movie.meta.get("rom_name", "?"))


def _run(
    movie: Movie, movie_path: Path | None, core: str | Path | None, rom: Path | None,
    sinks: list[Sink], progress: Progress | None, checkpoints: int = 0,
) -> RunResult:
    emulator, system, found = open_emulator(movie, movie_path, core, rom)
    with emulator:
        t0 = time.perf_counter()
        info = replay(emulator, system, ArraySource(movie.buttons), sinks, progress=progress)
        seconds = time.perf_counter() - t0
        return RunResult(
            system.name, _game_name(movie), found.name, found.path, movie.frames,
            movie.frames / info.av.fps, seconds, ram_hash(emulator.ram.tobytes()),
            screen_hash(emulator.screen()), checkpoints,
        )


# -- commands ----------------------------------------------------------------


def playback(
    path: Path, *, core: str | Path | None = None, rom: Path | None = None,
    trace: Path | None = None, trace_every: int = 1, force: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Replay a movie headless; optionally write a per-row hash trace."""
    movie = bk2.read(path)
    sinks: list[Sink] = []
    if trace is not None:
        sinks.append(TraceSink(trace, every_n=trace_every, force=force))
    return _run(movie, path, core, rom, sinks, progress)


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
    return _run(movie, path, core, rom, [sink], progress, checkpoints=len(checkpoints))


def load_state_file(path: Path) -> bytes:
    """A start state: raw serialize bytes or a gzipped integration `.state`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StateError(f"cannot read state {path}: {e.strerror}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise StateError(f"state {path} is a damaged gzip file: {e}") from None
    return data


def record(
    *, system: System, core: str | Path | None, rom: Path, buttons: np.ndarray, out: Path,
    state: Path | None = None, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    options: dict[str, str] | None = None, force: bool = False, game: str | None = None,
    dialect: bk2.Dialect = "stable-retro", progress: Progress | None = None,
) -> RunResult:
    """Record a scripted input sequence into a movie (with checkpoints).

    `game` is the movie's GameName (stable-retro looks it up as an
    integration name); default: the ROM's file name without extension.
    """
    game = game or rom.stem
    target = outputs.check_target(out, force)
    found = cores.resolve(core, system)
    start = load_state_file(state) if state is not None else None
    source: InputSource = ArraySource(buttons)
    with Emulator(found.path, rom, ports=max(source.players, 1), options=options) as emulator:
        load_start(emulator, start)
        builder = MovieBuilder(start, game, rom.name, checkpoint_every)
        t0 = time.perf_counter()
        info = replay(emulator, system, source, [builder], progress=progress)
        seconds = time.perf_counter() - t0
        movie = builder.movie(options).with_meta(core=found.name)
        bk2.write(movie, target, dialect=dialect, force=force)
        return RunResult(
            system.name, game, found.name, found.path, source.frames, source.frames / info.av.fps,
            seconds, ram_hash(emulator.ram.tobytes()), screen_hash(emulator.screen()),
            len(builder.checkpoints.checkpoints),
        )


@dataclass(frozen=True, slots=True)
class MovieSummary:
    """What `retrotool info` shows about a movie."""

    path: Path
    movie: Movie
    presses: np.ndarray  # int64 [players, n_buttons]: frames each button is held
    buttons: tuple[str, ...]


def summarize(path: Path) -> MovieSummary:
    movie = bk2.read(path)
    system = systems.get(movie.system)
    presses = movie.buttons.sum(axis=0, dtype=np.int64)
    return MovieSummary(path, movie, presses, system.buttons)
