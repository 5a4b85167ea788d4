"""Replaying movies headless: `playback` (with an optional hash trace), `verify`, `info`, and many movies at once.

Each is the one replay loop over a movie's session with the sinks it needs.
Many movies each replay in a fresh child process (cores keep global state,
and a core that crashes then ends only its movie), reported with the frame
it died in.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from retrotool import isolation, movie as bk2, native, outputs, segments, session, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError, MovieFormatError, RetroToolError
from retrotool.movie import keyframes
from retrotool.movie.model import RAM_ENTRY
from retrotool.replay import ArraySource, Replayed, replay
from retrotool.sinks.checkpoints import ram_hash, screen_hash, unpack_rams
from retrotool.sinks.contract import Sink
from retrotool.sinks.trace import TraceSink
from retrotool.sinks.verify import VerifySink

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

    @classmethod
    def of(cls, emulator: Emulator, game: str, done: Replayed, seconds: float, checkpoints: int = 0) -> RunResult:
        """The result of a finished run on `emulator`: hashes of the observation it ended on."""
        frames = done.info.frames
        return cls(
            done.info.system, game, emulator.core.name, emulator.core.path, frames, frames / done.info.av.fps, seconds,
            ram_hash(emulator.obs_ram().tobytes()), screen_hash(emulator.obs_screen()), checkpoints,
        )


def replay_movie(
    path: Path, sinks: Sequence[Sink], *, movie: bk2.Movie | None = None, content: session.Content | None = None,
    core: str | Path | None = None, rom: Path | None = None, rows: int | None = None, progress: Progress | None = None,
    counter: native.SharedCounter | None = None,
) -> tuple[RunResult, Replayed]:
    """Replay a movie (read from `path` unless given) through `sinks`, from its start to its last row (or `rows`)."""
    movie = movie if movie is not None else bk2.read(path)
    content = content if content is not None else session.movie_content(movie, path, rom)
    with session.open_session(content, core, players=movie.players) as emulator:
        if counter is not None:
            emulator.host.count_frames_into(counter)
        t0 = time.perf_counter()
        done = replay_rows(emulator, movie, sinks, rows=rows, progress=progress)
        return RunResult.of(emulator, content.name, done, time.perf_counter() - t0), done


def replay_rows(
    emulator: Emulator, movie: bk2.Movie, sinks: Sequence[Sink], *, rows: int | None = None,
    progress: Progress | None = None,
) -> Replayed:
    """The movie's first `rows` rows (all by default) through `sinks`, on an emulator `open_session` put at its start.

    For callers that need the emulator around the replay (its address space
    before, its state after); in the movie's convention (row 0 of
    stable-retro's is its reset frame).
    """
    return replay(emulator, ArraySource(movie.buttons[:rows]), sinks, progress=progress,
                  reset_row=movie.convention == "stable-retro")


def run(
    path: Path, *, core: str | Path | None = None, rom: Path | None = None, trace: Path | None = None,
    trace_every: int = 1, force: bool = False, progress: Progress | None = None,
    counter: native.SharedCounter | None = None, jobs: int = 1, executor: str = "local", address: str | None = None,
) -> RunResult:
    """Replay a movie headless; optionally write a per-row hash trace (with reward, done, info if it has a game).

    `counter`, when given, is counted up by C after every frame, so a parent
    process can tell where a crashing core stopped. `jobs` > 1 replays a
    movie with keyframes in segments on that many processes; the trace is the
    same, byte for byte, and the checkpoints passed are verified.
    """
    movie = bk2.read(path)
    if jobs > 1 and parallel_ok(movie, path):
        return _run_parallel(path, movie, jobs, core=core, rom=rom, trace=trace, trace_every=trace_every, force=force,
                             progress=progress, executor=executor, address=address)
    content = session.movie_content(movie, path, rom)
    sinks: list[Sink] = []
    if trace is not None:
        sinks.append(TraceSink(trace, every_n=trace_every, force=force, evaluator=content.evaluator()))
    result, _ = replay_movie(path, sinks, movie=movie, content=content, core=core, progress=progress, counter=counter)
    return result


def parallel_ok(movie: bk2.Movie, path: Path) -> bool:
    """Whether a movie can replay in segments: it needs keyframes its core replays exactly (else it replays whole)."""
    index = keyframes.of(movie)
    if index is None:
        log.warning("%s has no keyframes, so it replays on one core; `retrotool index %s` adds them", path, path)
        return False
    return segments.exact_core(index)


def _trace_sinks(segment: segments.Segment, content: session.Content, parts: Path, every_n: int) -> list[Sink]:
    return [TraceSink(parts / f"{segment.first:012d}.jsonl", every_n=every_n, force=True, evaluator=content.evaluator())]


def _run_parallel(
    path: Path, movie: bk2.Movie, jobs: int, *, core: str | Path | None, rom: Path | None, trace: Path | None,
    trace_every: int, force: bool, progress: Progress | None, executor: str = "local", address: str | None = None,
) -> RunResult:
    """The movie cut at keyframes, segments replayed `jobs` at once, their trace parts joined in order."""
    t0 = time.perf_counter()
    plan = segments.plan(movie, jobs, align=trace_every if trace is not None else 1)
    target = outputs.check_target(trace, force) if trace is not None else None
    parts = outputs.temp_name(target) if target is not None else None
    try:
        if parts is not None:
            parts.mkdir()
        make = _trace_sinks if parts is not None else None
        core_arg = str(core) if core is not None else None
        done = segments.run_all([segments.Job(path, seg, make, (parts, trace_every), core_arg, rom) for seg in plan],
                                jobs, progress, executor=executor, address=address)
        if target is not None and parts is not None:
            join_trace(sorted(parts.glob("*.jsonl")), target, force)
    finally:
        if parts is not None:
            shutil.rmtree(parts, ignore_errors=True)
    return joined_result(movie, done, time.perf_counter() - t0)


def join_trace(parts: Sequence[Path], target: Path, force: bool) -> None:
    """The trace parts of a replay in segments (in row order) written as one trace, atomically."""
    def copy(out: BinaryIO) -> None:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out)

    outputs.write_atomic(target, copy, force=force)


def joined_result(movie: bk2.Movie, done: Sequence[segments.Done], seconds: float) -> RunResult:
    """The result of a replay in segments: the rows they ran, and the observation the last one ended on."""
    last = done[-1]
    frames = sum(d.segment.end - d.segment.first for d in done)
    return RunResult(movie.system, movie.header_value("GameName") or "?", last.core, last.core_path, frames,
                     frames / last.game_fps, seconds, last.ram_sha256, last.screen_sha256,
                     sum(d.matched for d in done))


def verify(
    path: Path, *, core: str | Path | None = None, rom: Path | None = None, progress: Progress | None = None,
    jobs: int = 1, executor: str = "local", address: str | None = None,
) -> RunResult:
    """Replay a movie and check its checkpoints; DesyncError names the first bad one (and, with jobs, its segment)."""
    movie = bk2.read(path)
    checkpoints = movie.checkpoints
    if not checkpoints:
        raise MovieFormatError(f"{path} carries no checkpoints to verify (record it with retrotool)")
    if jobs > 1 and parallel_ok(movie, path):
        t0 = time.perf_counter()
        core_arg = str(core) if core is not None else None
        parts = segments.run_all([segments.Job(path, seg, None, (), core_arg, rom) for seg in segments.plan(movie, jobs)],
                                 jobs, progress, executor=executor, address=address)
        result = joined_result(movie, parts, time.perf_counter() - t0)
        return dataclasses.replace(result, stored_checkpoints=len(checkpoints))
    rams = unpack_rams(dict(movie.extras).get(RAM_ENTRY, b""), len(checkpoints))
    sink = VerifySink(checkpoints, rams, from_state=movie.state is not None)
    result, done = replay_movie(path, [sink], movie=movie, core=core, rom=rom, progress=progress)
    matched = done.results[0]
    assert isinstance(matched, int), "VerifySink returns the checkpoints it matched"
    return dataclasses.replace(result, checkpoints=matched, stored_checkpoints=len(checkpoints))


@dataclass(frozen=True, slots=True)
class MovieSummary:
    """What `retrotool info` shows about a movie."""

    path: Path
    movie: bk2.Movie
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


def _isolated(arg: tuple[str, Path, dict[str, Any]], report: isolation.Report) -> RunResult:
    counter_name, path, kwargs = arg
    counter = native.SharedCounter(counter_name)
    try:
        return run(path, counter=counter, **kwargs)
    finally:
        counter.close()


def run_isolated(path: Path, *, zygote: isolation.Zygote | None = None, **kwargs: Any) -> RunResult:
    """`run` in a fresh child process (forked from `zygote`): a core that crashes kills only the child.

    The child's C host counts finished frames into shared memory, so a crash
    is reported with the frame it happened in.
    """
    counter = native.SharedCounter()
    try:
        job = (counter.name, path, kwargs)
        if zygote is None:
            with isolation.Zygote() as own:
                ended = own.run(_isolated, job)
        else:
            ended = zygote.run(_isolated, job)
        frames = counter.value
    finally:
        counter.close()
    if ended.died is not None:
        raise CoreError(f"{path}: the core crashed ({ended.died}) in frame {frames} (0-based row of the input log)"
                        f"{_state_hint(path, frames)}")
    if ended.error is not None:
        raise ended.error
    return ended.value  # type: ignore[no-any-return]


STATE_SUSPECT_FRAMES = 60  # as the C host: a damaged or foreign savestate crashes a core at once or soon after


def _state_hint(path: Path, frames: int) -> str:
    """Why a crash in a movie's first frames is likely its savestate's fault (nothing when it has none)."""
    try:
        from_state = bk2.read(path).state is not None
    except RetroToolError:
        return ""
    if not from_state:
        return "; a bug in the core, not in the movie"
    if frames <= STATE_SUSPECT_FRAMES:
        return "; the movie starts from a savestate, which is the likely cause (damaged, or made by another core " \
               "or core version)"
    return "; a bug in the core, or a damaged savestate (the movie starts from one)"


def run_each(paths: Sequence[Path], **kwargs: Any) -> Iterator[tuple[Path, RunResult | RetroToolError]]:
    """`run_isolated` of every movie in turn (one zygote for all); a failure is yielded, not raised."""
    with isolation.Zygote() as zygote:
        for path in paths:
            try:
                yield path, run_isolated(path, zygote=zygote, **kwargs)
            except RetroToolError as e:
                yield path, e
