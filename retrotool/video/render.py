"""Rendering movies: one movie to MP4 / GIF / PNGs / a window, or many in a process pool.

A render is an ordinary replay (jobs' loop) with video sinks attached: the
emulator runs every row from the movie's start and the sinks keep the
requested range. Many movies render each in a fresh process (cores keep
global state; `retrotool.isolation`), `workers` at once; a failing movie is
reported in its outcome and the others go on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from retrotool import isolation, movie as bk2, outputs, playback, session
from retrotool.errors import RetroToolError
from retrotool.sinks.contract import Sink
from retrotool.sinks.trace import TraceSink
from retrotool.variables import Variable
from retrotool.video.sink import Kind, VideoSettings, VideoSink, Written

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
) -> RenderResult:
    """Replay one movie into the wanted outputs.

    `info` are the RAM variables `settings.show_info` draws (default: the
    integration's data.json).
    """
    if not targets.any():
        raise RetroToolError("nothing to render: give --mp4, --gif, --png-dir or --view")
    settings = settings or VideoSettings()
    targets = _into_folders(movie_path, targets)
    movie = bk2.read(movie_path)
    content = session.movie_content(movie, movie_path, rom)
    evaluator = content.evaluator() if settings.show_info or trace is not None else None
    if settings.show_info and info is None:
        info = evaluator.variables if evaluator is not None else None
    if settings.show_info and info is None:
        raise RetroToolError(
            f"--overlay info needs the RAM variables of {movie.header_value('GameName') or movie_path.name}, "
            "but no integration with RAM variables (data.json) was found for it; drop --overlay info"
        )
    sinks: list[Sink] = [VideoSink(path, kind, settings, info=info, force=force) for kind, path in targets.files()]
    videos = len(sinks)
    if trace is not None:
        sinks.append(TraceSink(trace, every_n=trace_every, force=force, evaluator=evaluator))
    if targets.view:
        from retrotool.view.window import WindowSink

        title = f"retrotool - {movie_path.name}"
        sinks.append(WindowSink(max(settings.scale, 2), title, settings.start, settings.end))
    run, done = playback.replay_movie(movie_path, sinks, movie=movie, content=content, core=core, progress=progress)
    written = tuple(w for w in done.results[:videos] if isinstance(w, Written))
    first = written[0] if written else None
    return RenderResult(run, written, first.rows if first else 0, first.size if first else None,
                        first.samples if first else 0)


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
