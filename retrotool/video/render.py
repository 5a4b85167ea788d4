"""Rendering movies: one movie to MP4 / GIF / PNGs / a window, or many in a process pool.

A render is an ordinary replay (the one replay loop) with video sinks
attached; the sinks keep the requested range. A movie with keyframes starts
at the last keyframe before the range (`--start 200000` shows its first
frame at once) and renders in segments on `jobs` processes, each writing
its part, joined without re-encoding (`video/mux.py`); without keyframes it
replays from its start. Many movies render each in a fresh process (cores
keep global state; `retrotool.isolation`), `workers` at once; a failing
movie is reported in its outcome and the others go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from retrotool import isolation, movie as bk2, outputs, playback, segments, session
from retrotool.ahead import AheadJob
from retrotool.errors import DesyncError, KeyframeError, RetroToolError
from retrotool.movie import keyframes
from retrotool.sinks.contract import Sink
from retrotool.sinks.trace import TraceSink
from retrotool.variables import Variable
from retrotool.video.mux import join_parts
from retrotool.video.sink import Kind, VideoSettings, VideoSink, Written, encoder_threads, rational

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class Overlay(StrEnum):
    """What `--overlay` can draw."""

    BUTTONS = "buttons"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Targets:
    """Where a render goes; any combination (None = not wanted)."""

    mp4: Path | None = None
    gif: Path | None = None
    png_dir: Path | None = None
    view: bool = False

    def files(self) -> list[tuple[Kind, Path]]:
        wanted: list[tuple[Kind, Path | None]] = [("mp4", self.mp4), ("gif", self.gif), ("png", self.png_dir)]
        return [(kind, path) for kind, path in wanted if path is not None]

    def any(self) -> bool:
        return bool(self.files()) or self.view


@dataclass(frozen=True, slots=True)
class RenderResult:
    """What a render wrote: the replay's result plus the outputs."""

    run: playback.RunResult
    outputs: tuple[Written, ...]
    frames: int  # rows rendered (the --start/--end range)
    size: tuple[int, int] | None  # the first output's width x height, after scaling
    audio_samples: int  # stereo sample frames written (at the core's rate)


@dataclass(frozen=True, slots=True)
class RenderOutcome:
    """One movie of a batch render: a result, or the error that stopped it."""

    movie: Path
    result: RenderResult | None
    error: str | None


def render(
    movie_path: Path, targets: Targets, settings: VideoSettings | None = None, *,
    info: Mapping[str, Variable] | None = None, core: str | Path | None = None, rom: Path | None = None,
    trace: Path | None = None, trace_every: int = 1, force: bool = False, progress: Progress | None = None,
    jobs: int = 1,
) -> RenderResult:
    """Replay one movie into the wanted outputs.

    `info` are the RAM variables `settings.show_info` draws (default: the
    integration's data.json). `jobs` > 1 renders a movie with keyframes in
    segments on that many processes (MP4 and PNG outputs; a GIF or a window
    renders in one piece).
    """
    if not targets.any():
        raise RetroToolError("nothing to render: give --mp4, --gif, --png-dir or --view")
    settings = settings or VideoSettings()
    targets = _into_folders(movie_path, targets)
    movie = bk2.read(movie_path)
    settings = dataclasses.replace(settings, end=settings.check(movie.frames),
                                   encoder_threads=settings.encoder_threads or encoder_threads(jobs))
    content = session.movie_content(movie, movie_path, rom)
    info = _info_variables(movie, movie_path, content, settings, info)
    setup = _Setup(movie_path, movie, content, targets, settings, info, core, rom, trace, trace_every, force)
    if jobs > 1 and _in_parts(setup):
        return _render_parts(setup, jobs, progress)
    if settings.start > 0 and keyframes.of(movie) is not None:
        with contextlib.suppress(_Unseekable):
            return _render_seek(setup, progress)
    t0 = time.perf_counter()
    sinks = setup.sinks()
    run, done = playback.replay_movie(movie_path, sinks, movie=movie, content=content, core=core, rows=settings.end,
                                      progress=progress)  # rows after --end are never run
    return _result(run, done.results[: len(targets.files())], time.perf_counter() - t0)


@dataclasses.dataclass(frozen=True, slots=True)
class _Setup:
    """One render's inputs, checked."""

    path: Path
    movie: bk2.Movie
    content: session.Content
    targets: Targets
    settings: VideoSettings
    info: Mapping[str, Variable] | None
    core: str | Path | None
    rom: Path | None
    trace: Path | None
    trace_every: int
    force: bool

    def sinks(self) -> list[Sink]:
        """The outputs' sinks (in targets' order), then the trace's and the window's."""
        s = self.settings
        sinks: list[Sink] = [VideoSink(p, kind, s, info=self.info, force=self.force) for kind, p in self.targets.files()]
        if self.trace is not None:
            evaluator = self.content.evaluator()
            sinks.append(TraceSink(self.trace, every_n=self.trace_every, force=self.force, evaluator=evaluator))
        if self.targets.view:
            from retrotool.view.window import WindowSink

            sinks.append(WindowSink(max(s.scale, 2), f"retrotool - {self.path.name}", s.start, s.end))
        return sinks


def _info_variables(
    movie: bk2.Movie, path: Path, content: session.Content, settings: VideoSettings, info: Mapping[str, Variable] | None,
) -> Mapping[str, Variable] | None:
    """The variables the info overlay draws: given, or the integration's; an error when there are none."""
    if not settings.show_info or info is not None:
        return info
    evaluator = content.evaluator()
    if evaluator is None:
        raise RetroToolError(
            f"--overlay info needs the RAM variables of {movie.header_value('GameName') or path.name}, "
            "but no integration with RAM variables (data.json) was found for it; drop --overlay info"
        )
    return evaluator.variables


def _result(run: playback.RunResult, results: Sequence[object], seconds: float) -> RenderResult:
    written = tuple(w for w in results if isinstance(w, Written))
    first = written[0] if written else None
    run = dataclasses.replace(run, seconds=seconds)
    return RenderResult(run, written, first.rows if first else 0, first.size if first else None,
                        first.samples if first else 0)


class _Unseekable(Exception):
    """The keyframe before --start cannot be used here (another core, or it proved damaged)."""


def _render_seek(setup: _Setup, progress: Progress | None) -> RenderResult:
    """The range rendered from the last keyframe before it: rows before the keyframe are never run."""
    s = setup.settings
    (seg,) = segments.plan(setup.movie, 1, start=s.start, end=s.end)
    if seg.keyframe is None:
        raise _Unseekable
    t0 = time.perf_counter()
    sinks = setup.sinks()
    try:
        done = segments.run_range(setup.movie, setup.content, seg, sinks, setup.core, progress)
    except (KeyframeError, DesyncError) as e:
        log.warning("%s; rendering from the movie's start instead", e)
        raise _Unseekable from None
    run = playback.joined_result(setup.movie, [done], time.perf_counter() - t0)
    return _result(run, done.results[: len(setup.targets.files())], time.perf_counter() - t0)


def _in_parts(setup: _Setup) -> bool:
    """Whether the outputs can be rendered in segments: MP4s and PNG folders can, a GIF and a window not."""
    if setup.targets.gif is None and not setup.targets.view:
        return True
    log.warning("a GIF or --view renders in one piece; --jobs is not used")
    return False


def _render_parts(setup: _Setup, jobs: int, progress: Progress | None) -> RenderResult:
    """Segments rendered `jobs` at once, each output's parts (and the trace's) joined in row order.

    A movie without keyframes is cut anyway: one process replays it ahead,
    headless, and leaves each segment the state it starts from.
    """
    s = setup.settings
    cut = segments.plan if keyframes.of(setup.movie) is not None else segments.plan_ahead
    plan = cut(setup.movie, jobs, start=s.start, end=s.end, align=setup.trace_every if setup.trace else 1)
    files = setup.targets.files()
    wanted = [*(outputs.check_target(p, setup.force) for _, p in files),
              *([outputs.check_target(setup.trace, setup.force)] if setup.trace is not None else [])]
    work = outputs.temp_name(wanted[0])
    t0 = time.perf_counter()
    try:
        work.mkdir()
        args = (work, tuple(k for k, _ in files), s, setup.info, setup.trace is not None, setup.trace_every)
        core = str(setup.core) if setup.core is not None else None
        rows = tuple(seg.ahead for seg in plan if seg.ahead is not None)
        ahead = AheadJob(setup.path, rows, work / "ahead", core, setup.rom) if rows else None
        if ahead is not None:
            log.info("%s has no keyframes: one process replays it ahead for the others (`retrotool index` keeps "
                     "keyframes in the movie)", setup.path)
            ahead.folder.mkdir()
        jobs_ = [segments.Job(setup.path, seg, _part_sinks, args, core, setup.rom, work / "ahead") for seg in plan]
        done = segments.run_all(jobs_, jobs, progress, ahead)
        av = (rational(done[-1].game_fps), done[-1].sample_rate)
        for i, (kind, target) in enumerate(files):
            join_parts(sorted((work / str(i)).iterdir()), target, kind, *av, setup.force)
        if setup.trace is not None:
            playback.join_trace(sorted((work / "trace").iterdir()), setup.trace, setup.force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    run = playback.joined_result(setup.movie, done, time.perf_counter() - t0)
    parts = [[d.results[i] for d in done] for i in range(len(files))]
    return _result(run, [_joined(target, p) for (_, target), p in zip(files, parts)], time.perf_counter() - t0)


def _part_sinks(
    segment: segments.Segment, content: session.Content, work: Path, kinds: tuple[Kind, ...],
    settings: VideoSettings, info: Mapping[str, Variable] | None, trace: bool, trace_every: int,
) -> list[Sink]:
    """One segment's sinks (run in a worker): each output's part in work/<output>/<first row>, and the trace's."""
    name = f"{segment.first:012d}"
    part = dataclasses.replace(settings, start=segment.first, end=segment.end)
    sinks: list[Sink] = []
    for i, kind in enumerate(kinds):
        (work / str(i)).mkdir(exist_ok=True)
        sinks.append(VideoSink(work / str(i) / name, kind, part, info=info, part=True))
    if trace:
        (work / "trace").mkdir(exist_ok=True)
        sinks.append(TraceSink(work / "trace" / name, every_n=trace_every, force=True, evaluator=content.evaluator()))
    return sinks


def _joined(target: Path, parts: Sequence[object]) -> Written:
    """What the joined output holds: its parts' counts summed."""
    written = [p for p in parts if isinstance(p, Written)]
    return Written(target, sum(w.frames for w in written), written[0].size if written else None,
                   sum(w.rows for w in written), sum(w.samples for w in written))


def per_movie(movie: Path, targets: Targets) -> Targets:
    """The targets of one movie of a batch: `<folder>/<movie name>.mp4`, .gif, `<folder>/<movie name>/`."""
    return Targets(
        mp4=targets.mp4 / f"{movie.stem}.mp4" if targets.mp4 else None,
        gif=targets.gif / f"{movie.stem}.gif" if targets.gif else None,
        png_dir=targets.png_dir / movie.stem if targets.png_dir else None,
    )


def render_many(
    movies: Sequence[Path], folders: Targets, settings: VideoSettings | None = None, *,
    workers: int = 1, info: Mapping[str, Variable] | None = None, core: str | Path | None = None,
    rom: Path | None = None, force: bool = False, progress: Progress | None = None,
) -> list[RenderOutcome]:
    """Render each movie into `folders` (see per_movie), each in a fresh process, `workers` at once.

    A core that crashes its process fails only that movie. Returns one
    outcome per movie, in the given order; `progress(done, total)` counts
    finished movies. `info` must be picklable (it travels to the workers).
    """
    if folders.view:
        raise RetroToolError("--view shows one movie at a time; give a single movie")
    if not folders.files():
        raise RetroToolError("nothing to render: give --mp4, --gif or --png-dir (a folder for many movies)")
    if workers < 1:
        raise RetroToolError(f"--jobs must be at least 1, not {workers}")
    settings = settings or VideoSettings()
    settings = dataclasses.replace(settings, encoder_threads=settings.encoder_threads or encoder_threads(workers))
    _check_names(movies)
    _make_folders(folders)
    kwargs = {"info": info, "core": core, "rom": rom, "force": force}
    outcomes: dict[Path, RenderOutcome] = {}
    args = [(m, per_movie(m, folders), settings, kwargs) for m in movies]
    for done, ended in enumerate(isolation.run_each(_render_one, args, workers), 1):
        movie = ended.arg[0]
        if ended.died is not None:
            for _, target in ended.arg[1].files():  # what the dead process was writing
                outputs.sweep(target.parent, target.name)
            outcomes[movie] = RenderOutcome(movie, None, f"{movie}: the render process died ({ended.died}); did the core crash?")
        else:
            outcomes[movie] = RenderOutcome(movie, ended.value, str(ended.error) if ended.error is not None else None)
        if progress is not None:
            progress(done, len(movies))
    return [outcomes[m] for m in movies]


def _render_one(arg: tuple[Path, Targets, VideoSettings, dict[str, Any]], report: isolation.Report) -> RenderResult:
    movie, targets, settings, kwargs = arg
    return render(movie, targets, settings, **kwargs)


def _into_folders(movie: Path, targets: Targets) -> Targets:
    """An --mp4 or --gif that is an existing folder gets the movie's name inside it."""
    named = per_movie(movie, targets)
    return Targets(
        mp4=named.mp4 if targets.mp4 is not None and targets.mp4.is_dir() else targets.mp4,
        gif=named.gif if targets.gif is not None and targets.gif.is_dir() else targets.gif,
        png_dir=targets.png_dir, view=targets.view,
    )


def _check_names(movies: Sequence[Path]) -> None:
    """Two movies with one name would write the same output files."""
    seen: dict[str, Path] = {}
    for m in movies:
        other = seen.setdefault(m.stem, m)
        if other is not m:
            what = f"{m} is given twice" if other == m else f"{other} and {m} would render to the same file names"
            raise RetroToolError(f"{what}; render them separately or rename one")


def _make_folders(folders: Targets) -> None:
    for _, folder in folders.files():
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise RetroToolError(f"cannot create output folder {folder}: {e.strerror}") from None
