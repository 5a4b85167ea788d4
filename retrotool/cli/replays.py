"""`playback`, `verify` and `info`: replaying movies, rendering them, checking them, describing them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from retrotool import indexing, playback as playbacks
from retrotool.cli.common import (
    CRF,
    AddressOpt,
    CoreOpt,
    ExecutorOpt,
    ForceOpt,
    JobsOpt,
    MovieArg,
    RomOpt,
    app,
    err,
    expand_movies,
    out,
    parse_crop,
    progress_bar,
    summary,
)
from retrotool.errors import RetroToolError
from retrotool.isolation import ExecutorKind
from retrotool.video import render
from retrotool.video.sink import VideoSettings

CONVENTIONS = {
    "stable-retro": "rows follow stable-retro's convention: after power-on (or before the state) come the two frames its "
                    "make() runs; row 0 is the frame its reset() runs, which applies no buttons",
    "bizhawk": "rows follow BizHawk's convention: row 0 is the first frame after power-on (or the state), and is applied",
}


@app.command()
def playback(
    movies: Annotated[
        list[str],
        typer.Argument(metavar="MOVIES", help="Movie(s): .bk2 files, folders of them, or glob patterns.", show_default=False),
    ],
    core: CoreOpt = None,
    rom: RomOpt = None,
    trace: Annotated[
        Optional[Path],
        typer.Option(help='Write JSON lines {"frame": k, "ram": sha256, "screen": sha256} after each input row k.'),
    ] = None,
    trace_every: Annotated[int, typer.Option(min=1, help="Trace only every N-th row (and the last).")] = 1,
    isolate: Annotated[bool, typer.Option("--isolate", help="Replay each movie in its own process, so a crashing core ends only that movie (default with several movies).")] = False,
    force: ForceOpt = False,
    mp4: Annotated[Optional[Path], typer.Option("--mp4", help="Render an MP4 (H.264 + AAC) to this file; a folder with several movies.", rich_help_panel="Rendering")] = None,
    gif: Annotated[Optional[Path], typer.Option("--gif", help="Render a GIF (short clips; every 2nd frame) to this file or folder.", rich_help_panel="Rendering")] = None,
    png_dir: Annotated[Optional[Path], typer.Option("--png-dir", help="Write frames as PNGs (named by row) and audio.wav into this folder.", rich_help_panel="Rendering")] = None,
    view: Annotated[bool, typer.Option("--view", help="Watch in a window at real speed with sound (pip install 'retrotool\\[view]').", rich_help_panel="Rendering")] = False,
    scale: Annotated[int, typer.Option(min=1, help="Enlarge by N (nearest neighbour).", rich_help_panel="Rendering")] = 1,
    crop: Annotated[Optional[str], typer.Option(help="Keep only X,Y,W,H of the native picture (before --scale).", rich_help_panel="Rendering")] = None,
    start: Annotated[int, typer.Option(min=0, help="First row to render (the replay starts at the keyframe before it, or at row 0 without keyframes).", rich_help_panel="Rendering")] = 0,
    end: Annotated[Optional[int], typer.Option(min=1, help="Render rows before END. Default: to the last.", rich_help_panel="Rendering")] = None,
    no_audio: Annotated[bool, typer.Option("--no-audio", help="Leave the sound out.", rich_help_panel="Rendering")] = False,
    crf: Annotated[int, typer.Option(min=0, max=51, help="H.264 quality (lower is better and larger).", rich_help_panel="Rendering")] = CRF,
    lossless: Annotated[bool, typer.Option("--lossless", help="Lossless RGB H.264 in the MP4 (decodes to the exact frames).", rich_help_panel="Rendering")] = False,
    overlay: Annotated[Optional[list[render.Overlay]], typer.Option(help="Draw on the video: held buttons, or the game's RAM variables (repeatable).", rich_help_panel="Rendering")] = None,
    workers: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Processes: several movies at once, or one movie's segments (cut at its keyframes; see `retrotool index`).")] = 1,
    executor: ExecutorOpt = ExecutorKind.LOCAL,
    address: AddressOpt = None,
) -> None:
    """Replay movies headless and print a summary, or render them to video.

    Example: retrotool playback examples/testgame.bk2 --trace trace.jsonl

    Example: retrotool playback examples/testgame.bk2 --mp4 testgame.mp4 --scale 3 --overlay buttons
    """
    paths = expand_movies(movies)
    if trace is not None and len(paths) > 1:
        raise RetroToolError("--trace takes a single movie")
    targets = render.Targets(mp4=mp4, gif=gif, png_dir=png_dir, view=view)
    settings = _settings(targets, overlay, scale, crop, start, end, no_audio, crf, lossless)
    _check_executor(executor, settings is not None or len(paths) > 1)
    if settings is not None:
        _render(paths, targets, settings, core=core, rom=rom, trace=trace, trace_every=trace_every, force=force,
                workers=workers)
    elif len(paths) > 1:
        _playback_many(paths, core, rom)
    else:
        _playback_one(paths[0], core, rom, trace, trace_every, force, isolate, (workers, executor, address))


def _check_executor(executor: ExecutorKind, local_only: bool) -> None:
    if executor == ExecutorKind.RAY and local_only:
        raise RetroToolError("--executor ray replays one movie's segments headless (a summary, --trace); "
                             "renders and many movies run in local processes: drop --executor ray")


def _settings(
    targets: render.Targets, overlay: list[render.Overlay] | None, scale: int, crop: str | None, start: int,
    end: int | None, no_audio: bool, crf: int, lossless: bool,
) -> VideoSettings | None:
    """The video settings when something is rendered; shaping options without an output are an error."""
    shaping = {"--overlay": bool(overlay), "--scale": scale != 1, "--crop": crop is not None, "--start": start != 0,
               "--end": end is not None, "--no-audio": no_audio, "--crf": crf != CRF, "--lossless": lossless}
    if not targets.any():
        given = ", ".join(name for name, on in shaping.items() if on)
        if given:
            raise RetroToolError(f"{given}: only for a rendered video; add --mp4 FILE, --gif FILE, --png-dir DIR or --view")
        return None
    overlays = set(overlay or ())
    return VideoSettings(
        scale=scale, crop=parse_crop(crop), start=start, end=end, audio=not no_audio, crf=crf, lossless=lossless,
        buttons=render.Overlay.BUTTONS in overlays, show_info=render.Overlay.INFO in overlays,
    )


def _playback_one(
    path: Path, core: str | None, rom: Path | None, trace: Path | None, trace_every: int, force: bool, isolate: bool,
    jobs: tuple[int, str, str | None],
) -> None:
    if isolate:
        result = playbacks.run_isolated(path, core=core, rom=rom, trace=trace, trace_every=trace_every, force=force)
    else:
        with progress_bar("replay") as progress:
            result = playbacks.run(path, core=core, rom=rom, trace=trace, trace_every=trace_every, force=force,
                                   progress=progress, jobs=jobs[0], executor=jobs[1], address=jobs[2])
    summary(result, f"replayed {path}")
    if trace is not None:
        out.print(f"trace written to {escape(str(trace))}")


def _render(
    paths: list[Path], targets: render.Targets, settings: VideoSettings, *, core: str | None, rom: Path | None,
    trace: Path | None, trace_every: int, force: bool, workers: int,
) -> None:
    """One movie: render here with a progress bar. Several: a process each, then a table."""
    if len(paths) == 1:
        with progress_bar("render") as progress:
            result = render.render(
                paths[0], targets, settings, core=core, rom=rom, trace=trace, trace_every=trace_every,
                force=force, progress=progress, jobs=workers,
            )
        summary(result.run, f"rendered {paths[0]}")
        for written in result.outputs:
            size = f", {written.size[0]}x{written.size[1]}" if written.size else ""
            out.print(f"wrote {escape(str(written.path))} ({written.frames} frames{size})")
        return
    with progress_bar("movies") as progress:
        outcomes = render.render_many(
            paths, targets, settings, workers=workers, core=core, rom=rom, force=force, progress=progress
        )
    table = Table(title=f"{len(paths)} movies", title_justify="left")
    for name in ("movie", "frames", "fps", "outputs / error"):
        table.add_column(name, overflow="fold")
    for o in outcomes:
        if o.result is None:
            table.add_row(escape(str(o.movie)), "-", "-", f"[red]{escape(o.error or '')}[/red]")
        else:
            files = ", ".join(str(w.path) for w in o.result.outputs)
            table.add_row(escape(str(o.movie)), str(o.result.frames), f"{o.result.run.fps:,.0f}", escape(files))
    out.print(table)
    failed = sum(o.error is not None for o in outcomes)
    if failed:
        raise RetroToolError(f"{failed} of {len(paths)} movies failed")


def _playback_many(paths: list[Path], core: str | None, rom: Path | None) -> None:
    """One child process per movie; failures are reported and the rest go on."""
    table = Table(title=f"{len(paths)} movies", title_justify="left")
    for name in ("movie", "frames", "fps", "final RAM sha256 / error"):
        table.add_column(name, overflow="fold")
    failed = 0
    for path, r in playbacks.run_each(paths, core=core, rom=rom):
        if isinstance(r, RetroToolError):
            failed += 1
            table.add_row(escape(str(path)), "-", "-", "[red]failed[/red]")
            err.print(f"[red]error:[/red] {escape(str(r))}", highlight=False, soft_wrap=True)
        else:
            table.add_row(escape(str(path)), str(r.frames), f"{r.fps:,.0f}", r.ram_sha256)
    out.print(table)
    if failed:
        raise RetroToolError(f"{failed} of {len(paths)} movies failed")


@app.command()
def verify(
    movie: MovieArg, core: CoreOpt = None, rom: RomOpt = None, jobs: JobsOpt = 1, executor: ExecutorOpt = ExecutorKind.LOCAL,
    address: AddressOpt = None,
) -> None:
    """Replay a movie and check the RAM/screen checkpoints stored in it.

    On a desync, names the first frame that differs and the differing RAM bytes.
    With --jobs a movie with keyframes is checked in segments on that many
    processes (--executor ray: as tasks on a Ray cluster, which must see the
    movie and ROM files); a desync names its segment too.

    Example: retrotool verify examples/testgame.bk2
    """
    with progress_bar("verify") as progress:
        result = playbacks.verify(movie, core=core, rom=rom, progress=progress, jobs=jobs, executor=executor,
                                  address=address)
    summary(result, f"{movie}: {result.checkpoints} of {result.stored_checkpoints} checkpoints matched")


@app.command()
def info(movie: MovieArg) -> None:
    """Show a movie's header, system, length, players, start and button use.

    Example: retrotool info examples/testgame.bk2
    """
    s = playbacks.summarize(movie)
    m = s.movie
    start = "power-on" if m.state is None else f"{m.state_format} savestate, {len(m.state):,} bytes"
    out.print(f"[bold]{escape(str(movie))}[/bold]: {m.system}, {m.frames:,} frames, {m.players} player(s), starts from {start}")
    out.print(CONVENTIONS[m.convention])
    for warning in s.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    header = Table(title="header", show_header=False, title_justify="left")
    for key, value in m.header:
        header.add_row(escape(key), escape(value))
    out.print(header)
    presses = Table(title="frames each button is held", title_justify="left")
    presses.add_column("button")
    for p in range(m.players):
        presses.add_column(f"P{p + 1}", justify="right")
    for b, name in enumerate(s.buttons):
        presses.add_row(name, *(f"{int(s.presses[p, b]):,}" for p in range(m.players)))
    out.print(presses)
    if m.checkpoints:
        out.print(escape(f"{len(m.checkpoints)} checkpoints, core {m.meta.get('core', '?')} {m.meta.get('core_version', '')}"))




@app.command()
def index(
    movie: MovieArg,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The movie with keyframes (a new file).", show_default=False)] = None,
    in_place: Annotated[bool, typer.Option("--in-place", help="Rewrite MOVIE itself (atomically).")] = False,
    keyframe_every: Annotated[int, typer.Option(min=1, help="Rows between keyframes (full core states).")] = 600,
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Rows between RAM/screen checkpoints.")] = 600,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Add keyframes (and checkpoints) to a movie in one verified pass: then it seeks and replays in parallel.

    Works on movies from stable-retro, BizHawk (power-on) and retrotool; the
    movie keeps its dialect, and the checkpoints it had are checked on the way.

    Example: retrotool index run.bk2 -o run-indexed.bk2
    """
    with progress_bar("index") as progress:
        done = indexing.index(movie, output, in_place=in_place, keyframe_every=keyframe_every,
                              checkpoint_every=checkpoint_every, force=force, core=core, rom=rom, progress=progress)
    checked = f", {done.verified} checkpoints it had matched" if done.verified else ""
    out.print(f"wrote {escape(str(done.movie))}: {done.frames:,} frames, {done.keyframes} keyframes "
              f"({done.keyframe_bytes:,} bytes), {done.checkpoints} checkpoints{checked}, in {done.seconds:.1f} s")
