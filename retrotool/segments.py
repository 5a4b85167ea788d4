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

from retrotool import ahead, cores, isolation, movie as bk2, session, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError, DesyncError, KeyframeError, MovieFormatError, RetroToolError
from retrotool.movie import keyframes as kfs
from retrotool.movie.model import RAM_ENTRY
from retrotool.replay import ArraySource, replay
from retrotool.sinks.checkpoints import ram_hash, screen_hash, unpack_rams
from retrotool.sinks.contract import Sink
from retrotool.sinks.verify import VerifySink

log = logging.getLogger(__name__)

SEGMENTS_PER_JOB = 3  # a few segments per worker, so one that runs slow does not hold the others up


@dataclass(frozen=True, slots=True)
class Segment:
    """Rows first .. end - 1 of a movie, replayed from `keyframe` (an index; None: the movie's start).

    `ahead`: the row after which a process replaying ahead drops the state
    this segment starts from (a movie without keyframes; see ahead.py).
    """

    first: int
    end: int
    keyframe: int | None
    ahead: int | None = None


def plan(movie: bk2.Movie, jobs: int, *, start: int = 0, end: int | None = None, align: int = 1) -> list[Segment]:
    """Rows start .. end - 1 cut into segments at keyframes, about SEGMENTS_PER_JOB per job.

    A cut falls at the first row c >= f + 2 after a keyframe's row f where
    (c - 1 - start) is a multiple of `align` (so a segment ends on a trace's
    line or a dataset's step); the rows from f + 1 to c - 1 run without
    output (a replay from a state shows no picture in its first row).
    Without keyframes (or jobs == 1) there is one segment.
    """
    end = movie.frames if end is None else end
    usable = usable_keyframes(movie)
    frames = np.array([f for _, f in usable], np.int64)
    cuts = [c for c in (int(f) + 2 + (start - int(f) - 1) % align for f in frames) if start < c < end]
    wanted = max(1, jobs * SEGMENTS_PER_JOB) if jobs > 1 else 1
    if wanted > 1 and cuts:
        targets = np.linspace(start, end, wanted + 1)[1:-1]
        cuts = sorted({min(cuts, key=lambda c: abs(c - t)) for t in targets})
    else:
        cuts = []
    bounds = [start, *cuts, end]

    def starting(row: int) -> int | None:  # the last usable keyframe whose row is at least two before `row`
        i = int(np.searchsorted(frames, row - 1, side="left")) - 1
        return usable[i][0] if i >= 0 else None

    return [Segment(a, b, starting(a)) for a, b in zip(bounds, bounds[1:])]


def plan_ahead(movie: bk2.Movie, jobs: int, *, start: int = 0, end: int | None = None, align: int = 1) -> list[Segment]:
    """Rows start .. end - 1 cut evenly for a movie without keyframes: each later segment waits for a state.

    Cuts obey `plan`'s rules, with the rows a replay ahead will save in place of keyframes.
    """
    end = movie.frames if end is None else end
    wanted = jobs * SEGMENTS_PER_JOB
    step = max(align, (end - start) // wanted // align * align)
    cuts = [c for c in range(start + step, end, step) if c - 2 >= 0 and c < end][: wanted - 1]
    bounds = [start, *cuts, end]
    return [Segment(a, b, None, a - 2 if a > start else None) for a, b in zip(bounds, bounds[1:])]


def exact_core(keyframes: kfs.Keyframes) -> bool:
    """Whether the keyframes' core replays exactly from its savestates (else a warning says why not).

    The self-test (tests/conformance/test_savestate_exactness.py) measures
    it per core; a core found keeping state outside its savestates is
    named in libretro_cores/cores/quirks.json, and its movies replay from
    their start.
    """
    why = cores.named(keyframes.core).inexact_states
    if why is None:
        return True
    log.warning("%s %s: the movie's keyframes are not used, it replays from its start", keyframes.core, why)
    return False


def usable_keyframes(movie: bk2.Movie) -> list[tuple[int, int]]:
    """(index, frame) of the keyframes a replay can start from exactly, in order (a warning names those left out)."""
    keyframes = kfs.of(movie)
    if keyframes is None or not exact_core(keyframes):
        return []
    latched = dict(cores.named(keyframes.core).latched_buttons).get(movie.system, ())
    columns = [systems.get(movie.system).index(b) for b in latched]
    held = np.zeros(movie.frames, bool)
    if columns:
        held |= np.any(movie.buttons[:, 0, columns] != 0, axis=1)
    usable = [(k, f) for k, f in enumerate(keyframes.frames) if not (f < movie.frames and held[f])]
    if len(usable) < len(keyframes):
        log.warning("%d of the movie's %d keyframes are not used: %s keeps whether %s was held outside its savestates, "
                    "so a replay cannot start after a row holding it", len(keyframes) - len(usable), len(keyframes),
                    keyframes.core, " or ".join(latched))
    return usable


def open_at(content: session.Content, movie: bk2.Movie, row: int, keyframe: int | None,
            core: str | Path | None = None, state: tuple[int, bytes] | None = None) -> Emulator:
    """An emulator standing before `row`: from `keyframe`'s state, or `state` (the state after its row), or the
    movie's start; the rows between run without output."""
    keyframes = kfs.of(movie)
    if state is None and (keyframe is None or keyframes is None):
        emulator = session.open_session(content, core, players=movie.players)
        done = 0
    else:
        emulator = session.open_session(dataclasses.replace(content, state=None), core, players=movie.players,
                                        at_start=False)
        try:
            if state is None:
                assert keyframes is not None and keyframe is not None, "checked above"
                _check_core(keyframes, emulator)
                state = (keyframes.frames[keyframe], keyframes.state(keyframe))
            emulator.set_state(state[1])
        except BaseException:
            emulator.close()
            raise
        done = state[0] + 1
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
    ahead: Path | None = None  # the folder a replay ahead drops this segment's state into


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
    seg = job.segment
    state = (seg.ahead, ahead.wait_for(job.ahead, seg.ahead)) if seg.ahead is not None and job.ahead else None
    sinks = job.make(seg, content, *job.args) if job.make is not None else []
    return run_range(movie, content, seg, sinks, job.core, state=state)


def run_range(
    movie: bk2.Movie, content: session.Content, seg: Segment, sinks: Sequence[Sink], core: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None, state: tuple[int, bytes] | None = None,
) -> Done:
    """Rows seg.first .. seg.end - 1 through `sinks` (from seg's keyframe or `state`), checking the checkpoints."""
    checks = _verifier(movie, seg)
    with open_at(content, movie, seg.first, seg.keyframe, core, state) as emulator:
        t0 = time.perf_counter()
        done = replay(emulator, ArraySource(movie.buttons[: seg.end]), [*sinks, *checks], progress=progress,
                      reset_row=movie.convention == "stable-retro", first_row=seg.first)
        seconds = time.perf_counter() - t0
        ram, screen = ram_hash(emulator.obs_ram().tobytes()), screen_hash(emulator.obs_screen())
        core_id, core_path = emulator.core.name, emulator.core.path
    matched = sum(r for r in done.results[len(sinks):] if isinstance(r, int))
    return Done(seg, done.results[: len(sinks)], matched, ram, screen, core_id, core_path,
                (seg.end - seg.first) / max(seconds, 1e-9), done.info.av.fps, done.info.av.sample_rate)


def _isolated(job: Job | ahead.AheadJob, report: isolation.Report) -> Done | int:
    return ahead.run_ahead(job) if isinstance(job, ahead.AheadJob) else run_job(job, report)


def run_all(
    jobs: Sequence[Job], workers: int, progress: Callable[[int, int], None] | None = None,
    ahead_job: ahead.AheadJob | None = None, executor: str = "local", address: str | None = None,
) -> list[Done]:
    """Every job, `workers` at once each in a fresh process (or as Ray tasks), in segment order.

    With `ahead_job` (a movie without keyframes), that replay runs first in
    one of the processes and the segments wait for their states from it.
    A segment whose keyframe turns out damaged or unfaithful (its state does
    not decode, or the replay from it misses a checkpoint) is replayed again
    from the keyframe before it, and so on back to the movie's start, with a
    warning; a desync from the movie's start is the movie's own. The first
    failing segment's error is raised, naming it.
    """
    done: dict[int, Done] = {}
    failed: dict[int, BaseException] = {}
    index = {id(j): i for i, j in enumerate(jobs)}
    every: list[Job | ahead.AheadJob] = [*([ahead_job] if ahead_job is not None else []), *jobs]
    count = 0
    if executor == "ray" and ahead_job is not None:
        raise KeyframeError("--executor ray needs keyframes in the movie: add them with `retrotool index`")
    runner = isolation.ray_each(_isolated, every, address) if executor == "ray" else isolation.run_each(
        _isolated, every, workers)
    for ended in runner:
        if isinstance(ended.arg, ahead.AheadJob):
            if ended.value is None:  # the segments still waiting for a state stop waiting
                (ended.arg.folder / ahead.FAILED).touch()
            continue
        i = index[id(ended.arg)]
        if isinstance(ended.value, Done):
            done[i] = ended.value
        else:
            failed[i] = ended.error if ended.error is not None else CoreError(f"the core crashed ({ended.died})")
        count += 1
        if progress is not None:
            progress(count, len(jobs))
    for i in sorted(failed):
        done[i] = _again(jobs[i], failed[i])
    return [done[i] for i in range(len(jobs))]


def _again(job: Job, error: BaseException) -> Done:
    """A failed segment replayed from earlier keyframes, here; the error stands when even the start fails."""
    seg = job.segment
    if seg.ahead is not None and isinstance(error, (DesyncError, KeyframeError)):
        log.warning("segment of rows %d-%d: %s; replaying it from the movie's start", seg.first, seg.end - 1, error)
        return run_job(dataclasses.replace(job, segment=dataclasses.replace(seg, ahead=None)))
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
