"""Stretches of a movie replayed on their own, from its keyframes: seeking, and one movie on many cores.

A segment is the rows `first .. end - 1` of a movie. Its emulator starts from
the last keyframe before `first` (a fresh copy of the core, the keyframe's
state loaded; nothing that ran before can matter) or from the movie's start,
runs the rows up to `first` without sinks, then the segment's rows through the
one replay loop. Each segment also checks the checkpoints it passes, the one
at its last row among them: that is the next segment's keyframe, so every
keyframe used is proven by the segment that reaches it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrotool import isolation, movie as bk2, session
from retrotool.emulator import Emulator
from retrotool.errors import CoreError, DesyncError, KeyframeError, MovieFormatError, RetroToolError
from retrotool.movie import keyframes as kfs
from retrotool.replay import ArraySource, replay
from retrotool.sinks.checkpoints import RAM_ENTRY, ram_hash, screen_hash, unpack_rams
from retrotool.sinks.contract import Sink
from retrotool.sinks.verify import VerifySink

log = logging.getLogger(__name__)

SEGMENTS_PER_JOB = 3  # a few segments per worker, so one that runs slow does not hold the others up


@dataclass(frozen=True, slots=True)
class Segment:
    """Rows first .. end - 1 of a movie, replayed from `keyframe` (an index; None: the movie's start)."""

    first: int
    end: int
    keyframe: int | None


def plan(movie: bk2.Movie, jobs: int, *, start: int = 0, end: int | None = None, align: int = 1) -> list[Segment]:
    """Rows start .. end - 1 cut into segments at keyframes, about SEGMENTS_PER_JOB per job.

    A cut falls at the first row c >= f + 2 after a keyframe's row f where
    (c - 1 - start) is a multiple of `align` (so a segment ends on a trace's
    line or a dataset's step); the rows from f + 1 to c - 1 run without
    output (a replay from a state shows no picture in its first row).
    Without keyframes (or jobs == 1) there is one segment.
    """
    end = movie.frames if end is None else end
    keyframes = kfs.of(movie)
    frames = keyframes.frames if keyframes is not None else ()
    cuts = [c for c in (f + 2 + (start - f - 1) % align for f in frames) if start < c < end]
    wanted = max(1, jobs * SEGMENTS_PER_JOB) if jobs > 1 else 1
    if wanted > 1 and cuts:
        targets = np.linspace(start, end, wanted + 1)[1:-1]
        cuts = sorted({min(cuts, key=lambda c: abs(c - t)) for t in targets})
    else:
        cuts = []
    bounds = [start, *cuts, end]
    return [Segment(a, b, starting_keyframe(movie, a)) for a, b in zip(bounds, bounds[1:])]


def starting_keyframe(movie: bk2.Movie, row: int) -> int | None:
    """The keyframe a replay of `row` starts from: the last one before it, or None (the movie's start)."""
    keyframes = kfs.of(movie)
    return keyframes.for_row(row) if keyframes is not None else None


def open_at(content: session.Content, movie: bk2.Movie, row: int, keyframe: int | None,
            core: str | Path | None = None) -> Emulator:
    """An emulator standing before `row`: from `keyframe`'s state (or the movie's start), the rows between run."""
    keyframes = kfs.of(movie)
    if keyframe is None or keyframes is None:
        emulator = session.open_session(content, core, players=movie.players)
        done = 0
    else:
        emulator = session.open_session(dataclasses.replace(content, state=None), core, players=movie.players,
                                        at_start=False)
        try:
            _check_core(keyframes, emulator)
            emulator.set_state(keyframes.state(keyframe))
        except BaseException:
            emulator.close()
            raise
        done = keyframes.frames[keyframe] + 1
    if row > done:
        assert emulator.system is not None, "open_session gives an emulator with its system"
        masks = emulator.system.masks(movie.buttons[done:row])
        if done == 0 and movie.convention == "stable-retro":
            masks[0] = 0  # stable-retro's reset frame
        emulator.run(masks)
    return emulator


def _check_core(keyframes: kfs.Keyframes, emulator: Emulator) -> None:
    if (keyframes.core, keyframes.core_version) != (emulator.core_name, emulator.core_version):
        raise KeyframeError(
            f"the movie's keyframes were made by {keyframes.core} {keyframes.core_version}, and the core here is "
            f"{emulator.core_name} {emulator.core_version}: replay it without --jobs (or --start), from its start"
        )


def _verifier(movie: bk2.Movie, segment: Segment) -> list[Sink]:
    """A VerifySink of the checkpoints inside the segment, or none when the movie has none there."""
    inside = [i for i, c in enumerate(movie.checkpoints) if segment.first <= c.frame < segment.end]
    if not inside:
        return []
    rams = unpack_rams(dict(movie.extras).get(RAM_ENTRY, b""), len(movie.checkpoints))
    return [VerifySink([movie.checkpoints[i] for i in inside], [rams[i] for i in inside] if rams else [])]


def require_keyframes(movie: bk2.Movie, path: Path) -> kfs.Keyframes:
    keyframes = kfs.of(movie)
    if keyframes is None:
        raise MovieFormatError(f"{path} has no keyframes; add them with `retrotool index {path}`")
    return keyframes

SinkFactory = Callable[..., "list[Sink]"]  # (segment, content, *args) -> the segment's sinks; module-level, picklable


@dataclass(frozen=True, slots=True)
class Job:
    """One segment to replay in a worker: plain values, so it travels to a process or a Ray task."""

    path: Path
    segment: Segment
    make: SinkFactory | None
    args: tuple[object, ...] = ()
    core: str | None = None
    rom: Path | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """A replayed segment: its sinks' results, the checkpoints it matched, the observation it ended on."""

    segment: Segment
    results: tuple[object, ...]
    matched: int
    ram_sha256: str
    screen_sha256: str
    core: str
    core_path: Path
    fps: float  # rows replayed per second of wall time
    game_fps: float  # the core's frame rate
    sample_rate: float  # the core's audio rate


def run_job(job: Job, report: Callable[[object], None] | None = None) -> Done:
    """A segment in this process: its sinks from `job.make`, the movie's checkpoints checked."""
    movie = bk2.read(job.path)
    content = session.movie_content(movie, job.path, job.rom)
    sinks = job.make(job.segment, content, *job.args) if job.make is not None else []
    return run_range(movie, content, job.segment, sinks, job.core)


def run_range(
    movie: bk2.Movie, content: session.Content, seg: Segment, sinks: Sequence[Sink], core: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Done:
    """Rows seg.first .. seg.end - 1 through `sinks` (from seg's keyframe), checking the checkpoints passed."""
    checks = _verifier(movie, seg)
    with open_at(content, movie, seg.first, seg.keyframe, core) as emulator:
        t0 = time.perf_counter()
        done = replay(emulator, ArraySource(movie.buttons[: seg.end]), [*sinks, *checks], progress=progress,
                      reset_row=movie.convention == "stable-retro", first_row=seg.first)
        seconds = time.perf_counter() - t0
        ram, screen = ram_hash(emulator.obs_ram().tobytes()), screen_hash(emulator.obs_screen())
        core_id, core_path = emulator.core.name, emulator.core.path
    matched = sum(r for r in done.results[len(sinks):] if isinstance(r, int))
    return Done(seg, done.results[: len(sinks)], matched, ram, screen, core_id, core_path,
                (seg.end - seg.first) / max(seconds, 1e-9), done.info.av.fps, done.info.av.sample_rate)


def _isolated(job: Job, report: isolation.Report) -> Done:
    return run_job(job, report)


def run_all(jobs: Sequence[Job], workers: int, progress: Callable[[int, int], None] | None = None) -> list[Done]:
    """Every job, `workers` at once each in a fresh process, in segment order.

    A segment whose keyframe turns out damaged or unfaithful (its state does
    not decode, or the replay from it misses a checkpoint) is replayed again
    from the keyframe before it, and so on back to the movie's start, with a
    warning; a desync from the movie's start is the movie's own. The first
    failing segment's error is raised, naming it.
    """
    done: dict[int, Done] = {}
    failed: dict[int, BaseException] = {}
    index = {id(j): i for i, j in enumerate(jobs)}
    for count, ended in enumerate(isolation.run_each(_isolated, list(jobs), workers), 1):
        i = index[id(ended.arg)]
        if ended.value is not None:
            done[i] = ended.value
        else:
            failed[i] = ended.error if ended.error is not None else CoreError(f"the core crashed ({ended.died})")
        if progress is not None:
            progress(count, len(jobs))
    for i in sorted(failed):
        done[i] = _again(jobs[i], failed[i])
    return [done[i] for i in range(len(jobs))]


def _again(job: Job, error: BaseException) -> Done:
    """A failed segment replayed from earlier keyframes, here; the error stands when even the start fails."""
    seg = job.segment
    if not isinstance(error, (DesyncError, MovieFormatError)) or seg.keyframe is None:
        raise _named(seg, error)
    for keyframe in [*range(seg.keyframe - 1, -1, -1), None]:
        log.warning("segment of rows %d-%d: %s; replaying it from %s", seg.first, seg.end - 1, error,
                    "the movie's start" if keyframe is None else f"keyframe {keyframe}")
        try:
            return run_job(dataclasses.replace(job, segment=dataclasses.replace(seg, keyframe=keyframe)))
        except (DesyncError, MovieFormatError) as e:
            error = e
    raise _named(seg, error)


def _named(seg: Segment, error: BaseException) -> BaseException:
    if isinstance(error, RetroToolError):
        return type(error)(f"in the segment of rows {seg.first}-{seg.end - 1}: {error}")
    return error
