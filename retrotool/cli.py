"""The `retrotool` command: parse arguments, call one job, print the result.

No logic lives here. Every expected failure is a RetroToolError, printed as a
one- or two-line message with a non-zero exit and no traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from retrotool import __version__, catalog, dump, interrupts, jobs, recording, render, systems, to_minari
from retrotool.errors import RetroToolError
from retrotool.record import keys as record_keys, sources
from retrotool.sinks.dataset import Combine, DatasetOptions, ObsKind
from retrotool.sinks.video import VideoSettings

app = typer.Typer(
    help="Record, replay and check libretro gameplay movies (.bk2, stable-retro and BizHawk dialects).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console()
err = Console(stderr=True)
CONVENTIONS = {
    "stable-retro": "rows follow stable-retro's convention: after power-on (or before the state) come the two frames its "
                    "make() runs; row 0 is the frame its reset() runs, which applies no buttons",
    "bizhawk": "rows follow BizHawk's convention: row 0 is the first frame after power-on (or the state), and is applied",
}

# Shared argument types.
MovieArg = Annotated[Path, typer.Argument(metavar="MOVIE", help="A .bk2 movie (stable-retro or BizHawk dialect).", show_default=False)]
CoreOpt = Annotated[
    Optional[str],
    typer.Option("--core", help="Core file (PATH.so) or name (genesis_plus_gx). Default: the movie's, else the system's."),
]
RomOpt = Annotated[Optional[Path], typer.Option("--rom", help="ROM file. Default: the one the movie names, beside it, else the file of the movie's SHA-1 among imported games, in the movie's folder or in $RETROTOOL_DATA_PATH.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]
CRF = 18  # --crf's default


def _version(value: bool) -> None:
    if value:
        out.print(f"retrotool {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More log output (-v, -vv).")] = 0,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(message)s", handlers=[RichHandler(console=err, show_path=False)])


class _Fps(ProgressColumn):
    """Frames per second, rounded (rich's own speed text shows every decimal, or None before it knows)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} fps" if task.speed is not None else "")


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when stderr is not one."""
    if not err.is_terminal:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), _Fps(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _summary(result: jobs.RunResult, title: str) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    rows = [
        ("game", result.game), ("system", result.system), ("core", f"{result.core} ({result.core_path})"),
        ("frames", str(result.frames)), ("duration", f"{result.duration:.2f} s of game time"),
        ("speed", f"{result.fps:,.0f} fps ({result.seconds:.2f} s)"),
        ("final RAM sha256", result.ram_sha256), ("final screen sha256", result.screen_sha256),
    ]
    if result.stored_checkpoints:
        rows.insert(4, ("checkpoints", f"{result.checkpoints} of {result.stored_checkpoints} matched"))
    elif result.checkpoints:
        rows.insert(4, ("checkpoints", str(result.checkpoints)))
    for key, value in rows:
        table.add_row(escape(key), escape(value))
    out.print(table)


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
    start: Annotated[int, typer.Option(min=0, help="First row to render (the replay still runs from row 0).", rich_help_panel="Rendering")] = 0,
    end: Annotated[Optional[int], typer.Option(min=1, help="Render rows before END. Default: to the last.", rich_help_panel="Rendering")] = None,
    no_audio: Annotated[bool, typer.Option("--no-audio", help="Leave the sound out.", rich_help_panel="Rendering")] = False,
    crf: Annotated[int, typer.Option(min=0, max=51, help="H.264 quality (lower is better and larger).", rich_help_panel="Rendering")] = CRF,
    lossless: Annotated[bool, typer.Option("--lossless", help="Lossless RGB H.264 in the MP4 (decodes to the exact frames).", rich_help_panel="Rendering")] = False,
    overlay: Annotated[Optional[list[render.Overlay]], typer.Option(help="Draw on the video: held buttons, or the game's RAM variables (repeatable).", rich_help_panel="Rendering")] = None,
    workers: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Movies rendered at once, each in its own process.", rich_help_panel="Rendering")] = 1,
) -> None:
    """Replay movies headless and print a summary, or render them to video.

    Example: retrotool playback examples/testgame.bk2 --trace trace.jsonl

    Example: retrotool playback examples/testgame.bk2 --mp4 testgame.mp4 --scale 3 --overlay buttons
    """
    paths = jobs.expand_movies(movies)
    targets = render.Targets(mp4=mp4, gif=gif, png_dir=png_dir, view=view)
    shaping = {"--overlay": bool(overlay), "--scale": scale != 1, "--crop": crop is not None, "--start": start != 0,
               "--end": end is not None, "--no-audio": no_audio, "--crf": crf != CRF, "--lossless": lossless}
    if not targets.any() and any(shaping.values()):
        given = ", ".join(name for name, on in shaping.items() if on)
        raise RetroToolError(f"{given}: only for a rendered video; add --mp4 FILE, --gif FILE, --png-dir DIR or --view")
    if targets.any():
        overlays = set(overlay or ())
        settings = VideoSettings(
            scale=scale, crop=_crop(crop), start=start, end=end, audio=not no_audio, crf=crf, lossless=lossless,
            buttons=render.Overlay.BUTTONS in overlays, show_info=render.Overlay.INFO in overlays,
        )
        _render(paths, targets, settings, core=core, rom=rom, trace=trace, trace_every=trace_every, force=force, workers=workers)
        return
    if len(paths) > 1:
        if trace is not None:
            raise RetroToolError("--trace takes a single movie")
        _playback_many(paths, core, rom)
        return
    if isolate:
        result = jobs.playback_isolated(paths[0], core=core, rom=rom, trace=trace, trace_every=trace_every, force=force)
    else:
        with _progress("replay") as progress:
            result = jobs.playback(paths[0], core=core, rom=rom, trace=trace, trace_every=trace_every, force=force, progress=progress)
    _summary(result, f"replayed {paths[0]}")
    if trace is not None:
        out.print(f"trace written to {escape(str(trace))}")


def _crop(value: str | None) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise RetroToolError(f"--crop takes X,Y,W,H (four whole numbers), not {value!r}")
    x, y, w, h = (int(p) for p in parts)
    return x, y, w, h


def _render(
    paths: list[Path], targets: render.Targets, settings: VideoSettings, *, core: str | None, rom: Path | None,
    trace: Path | None, trace_every: int, force: bool, workers: int,
) -> None:
    """One movie: render here with a progress bar. Several: a process each, then a table."""
    if len(paths) == 1:
        with _progress("render") as progress:
            result = render.render(
                paths[0], targets, settings, core=core, rom=rom, trace=trace, trace_every=trace_every,
                force=force, progress=progress,
            )
        _summary(result.run, f"rendered {paths[0]}")
        for written in result.outputs:
            size = f", {written.size[0]}x{written.size[1]}" if written.size else ""
            out.print(f"wrote {escape(str(written.path))} ({written.frames} frames{size})")
        return
    if trace is not None:
        raise RetroToolError("--trace takes a single movie")
    with _progress("movies") as progress:
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
    for path, r in jobs.playback_each(paths, core=core, rom=rom):
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
def verify(movie: MovieArg, core: CoreOpt = None, rom: RomOpt = None) -> None:
    """Replay a movie and check the RAM/screen checkpoints stored in it.

    On a desync, names the first frame that differs and the differing RAM bytes.

    Example: retrotool verify examples/testgame.bk2
    """
    with _progress("verify") as progress:
        result = jobs.verify(movie, core=core, rom=rom, progress=progress)
    _summary(result, f"{movie}: {result.checkpoints} of {result.stored_checkpoints} checkpoints matched")


@app.command()
def info(movie: MovieArg) -> None:
    """Show a movie's header, system, length, players, start and button use.

    Example: retrotool info examples/testgame.bk2
    """
    s = jobs.summarize(movie)
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
def record(
    game_arg: Annotated[Optional[str], typer.Argument(metavar="GAME", help="Game to play in a window (like --game).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Movie file to write (.bk2). Default when playing: GAME-DATE-TIME.bk2.", show_default=False)] = None,
    game: Annotated[Optional[str], typer.Option(help="Game integration (see `retrotool games`): ROM, state, GameName.")] = None,
    rom: Annotated[Optional[Path], typer.Option(help="ROM file (instead of, or to override, --game's).")] = None,
    system: Annotated[Optional[str], typer.Option(help="System (Genesis, Nes, ..., Test). Default: the game's, or from the ROM's extension.")] = None,
    core: CoreOpt = None,
    input: Annotated[Optional[Path], typer.Option("--input", help="Scripted: buttons from a .npy file: (frames, players, buttons) 0/1 or uint16 masks.")] = None,
    random: Annotated[bool, typer.Option("--random", help="Scripted: random buttons (reproducible with --seed).")] = False,
    seed: Annotated[int, typer.Option(help="Seed for --random.")] = 0,
    frames: Annotated[Optional[int], typer.Option(min=1, help="Number of frames (required with --random).")] = None,
    players: Annotated[int, typer.Option(min=1, max=8, help="Players (pads recorded).")] = 1,
    state: Annotated[Optional[str], typer.Option(help="Start state: a state name of the game, or a file. Default: the game's default state, else power-on.")] = None,
    state_file: Annotated[Optional[Path], typer.Option(help="Start state from a file (raw or gzipped).")] = None,
    power_on: Annotated[bool, typer.Option("--power-on", help="Start from power-on even if the game has a default state.")] = False,
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Store RAM/screen checkpoints every N frames.")] = 600,
    force: ForceOpt = False,
    from_movie: Annotated[Optional[Path], typer.Option("--from", help="Go on playing an existing movie (from its end, or --frame N).", rich_help_panel="Playing")] = None,
    frame: Annotated[Optional[int], typer.Option(min=0, help="With --from: go on from this frame (re-recording what follows).", rich_help_panel="Playing")] = None,
    keys_file: Annotated[Optional[Path], typer.Option(help="Key bindings (TOML). Default: ~/.config/retrotool/keys.toml if present.", rich_help_panel="Playing")] = None,
    scale: Annotated[Optional[int], typer.Option(min=1, max=16, help="Window size in multiples of the picture (default: fits the screen).", rich_help_panel="Playing")] = None,
    keys: Annotated[Optional[str], typer.Option("--keys", metavar="SYSTEM", help="Show the key bindings of SYSTEM and exit.", rich_help_panel="Playing")] = None,
    recover: Annotated[Optional[Path], typer.Option(metavar="JOURNAL", help="Turn the journal of an interrupted session into a movie (-o, default: beside it).", rich_help_panel="Playing")] = None,
) -> None:
    """Play a game in a window and record it, or record a scripted (headless) movie.

    With --input or --random the recording is scripted; otherwise a window
    opens (keyboard and gamepads; F1 shows the controls), every frame is
    journalled to MOVIE.journal, and on quitting the movie is written and
    verified by a replay.

    Example: retrotool record Airstriker-Genesis-v0 -o run.bk2

    Example: retrotool record --rom examples/testgame.tst --random --seed 1 --frames 600 -o run.bk2
    """
    if keys is not None:
        return _show_keys(systems.get(keys), keys_file)
    if recover is not None:
        return _recover(recover, output, core, rom, force)
    if game and game_arg:
        raise RetroToolError(f"give the game once: {game_arg} or --game {game}")
    if state_file is not None and (state is not None or not state_file.is_file()):
        raise RetroToolError("--state-file takes an existing file, without --state" if state else f"state file not found: {state_file}")
    state = str(state_file) if state_file is not None else state
    game = game or game_arg
    if from_movie is not None:
        start = recording.start_from_movie(from_movie, frame, core, rom, players)
    else:
        what = jobs.content(game=game, rom=rom, system=systems.get(system) if system else None, state=state, power_on=power_on)
        if input is not None or random:
            return _record_scripted(what, output, input, random, seed, frames, players, core, checkpoint_every, force)
        start = recording.Start(what, core, players, {})
    _played(recording.record_live(start, out=output, keys_file=keys_file, scale=scale,
                                  checkpoint_every=checkpoint_every, force=force))


def _played(result: recording.LiveResult) -> None:
    if result.movie is None:
        out.print("nothing was played, so no movie was written")
        return
    verified = f"verified by a replay ({result.checkpoints} checkpoints)" if result.checkpoints else "not verified"
    out.print(f"wrote {escape(str(result.movie))}: {result.frames} frames ({result.duration:.1f} s of game time), "
              f"{result.rerecords} rerecords, {verified}")
    (frame_mean, frame_p99), (work_mean, work_p99) = (result.timing.ms(result.timing.intervals),
                                                      result.timing.ms(result.timing.work))
    if frame_mean:
        out.print(f"frame time {frame_mean:.2f} ms mean, {frame_p99:.2f} ms p99; "
                  f"work per frame {work_mean:.2f} ms mean, {work_p99:.2f} ms p99")
    for shot in result.screenshots:
        out.print(f"screenshot {escape(str(shot))}")


def _recover(journal: Path, output: Path | None, core: str | None, rom: Path | None, force: bool) -> None:
    done = recording.recover(journal, output, core=core, rom=rom, force=force)
    torn = " (its last line was cut short and left out)" if done.torn else ""
    out.print(f"recovered {done.frames} frames{torn} into {escape(str(done.movie))}: {done.rerecords} rerecords, "
              f"{done.checkpoints} live checkpoints replayed identically")


def _record_scripted(
    what: jobs.Content, output: Path | None, input: Path | None, random: bool, seed: int, frames: int | None,
    players: int, core: str | None, checkpoint_every: int, force: bool,
) -> None:
    if output is None:
        raise RetroToolError("a scripted recording needs -o MOVIE.bk2")
    if input is not None and not random:
        buttons = sources.scripted_source(sources.load_buttons(input, what.system), frames).buttons
    elif random and input is None:
        if frames is None:
            raise RetroToolError("--random needs --frames N")
        buttons = sources.random_buttons(what.system, frames, players, seed)
    else:
        raise RetroToolError("give exactly one of --input FILE or --random")
    with _progress("record") as progress:
        result = jobs.record(
            system=what.system, core=core, rom=what.rom, buttons=buttons, out=output, start=what.start,
            checkpoint_every=checkpoint_every, force=force, game=what.game, progress=progress,
        )
    _summary(result, f"recorded {output}")


def _show_keys(system: systems.System, keys_file: Path | None) -> None:
    bindings = record_keys.load(system, keys_file)
    table = Table(title=f"{system.name} keys", title_justify="left")
    for name in ("button", "player 1", "player 2"):
        table.add_column(name)
    for button in system.buttons:
        table.add_row(button, *(", ".join(bindings.keys_of(p, button)) or "-" for p in range(2)))
    out.print(table)
    controls = Table(title="recorder controls", title_justify="left")
    for name in ("keys", "control"):
        controls.add_column(name)
    for action, what in record_keys.ACTIONS.items():
        controls.add_row(", ".join(bindings.keys_of(-1, action)) or "-", what)
    out.print(controls)
    out.print("gamepads: SDL's standard layout, by position (bottom face button = B, right = A, left = Y, top = X)")


@app.command()
def games(
    name: Annotated[Optional[str], typer.Argument(metavar="GAME", help="Show this game: its ROM, states, RAM variables and scenario.", show_default=False)] = None,
    system: Annotated[Optional[str], typer.Option(help="Only this system (Genesis, Nes, ...).")] = None,
    missing: Annotated[bool, typer.Option("--missing/--all", help="Also list games whose ROM is not imported.")] = True,
) -> None:
    """List game integrations and whether their ROM is imported, or show one game.

    Example: retrotool games --system Genesis

    Example: retrotool games Airstriker-Genesis-v0
    """
    if name is not None:
        return _show_game(catalog.describe_game(name))
    rows = [r for r in catalog.list_games(systems.get(system) if system else None) if r.rom or missing]
    cells = [(r.name, r.system, "yes" if r.rom else "-", str(r.states), r.origin) for r in rows]
    if len(cells) > 100:  # a rich table of a thousand rows takes a third of a second to lay out
        width = max(len(c[0]) for c in cells)
        head = f"{len(cells)} games\n{'game':<{width}}  system     ROM  states  from\n"
        lines = (f"{n:<{width}}  {s:<9}  {r:<3}  {k:>6}  {o}" for n, s, r, k, o in cells)
        out.file.write(head + "\n".join(lines) + "\n")
        return
    table = Table(title=f"{len(cells)} games", title_justify="left")
    for name in ("game", "system", "ROM", "states", "from"):
        table.add_column(name)
    for c in cells:
        table.add_row(*(escape(x) for x in c))
    out.print(table)


def _show_game(d: catalog.GameDetails) -> None:
    g = d.game
    out.print(f"[bold]{escape(g.name)}[/bold]: {g.system.name}, from {escape(g.origin)} ({escape(str(g.folder))})")
    if d.rom is not None:
        out.print(f"ROM: imported, {escape(str(d.rom))}")
    else:
        out.print(f"ROM: not imported; `retrotool import DIR` finds it by its SHA-1 ({escape(', '.join(d.shas))})")
    states = [f"{s} (default)" if s == d.default_state else s for s in d.states]
    out.print(f"states: {escape(', '.join(states)) if states else 'none (it starts from power-on)'}")
    if d.variables:
        table = Table(title="RAM variables (data.json)", title_justify="left")
        for column in ("variable", "address", "type"):
            table.add_column(column)
        for v in d.variables:
            table.add_row(escape(v.name), f"{v.address} (0x{v.address:x})", escape(v.type))
        out.print(table)
    else:
        out.print("RAM variables: none (no data.json)")
    if d.scenario is None:
        out.print("scenario: none (no scenario.json)")
        return
    table = Table(title="scenario (scenario.json)", show_header=False, title_justify="left")
    for kind, rule in catalog.scenario_rules(d.scenario):
        table.add_row(escape(kind), escape(rule))
    out.print(table)


@app.command(name="import")
def import_(
    paths: Annotated[list[Path], typer.Argument(metavar="PATHS", help="Files, folders or zip archives to search for ROMs.", show_default=False)],
) -> None:
    """Find ROMs by SHA-1 (Gym Retro's rule) and put them into their game folders.

    Example: retrotool import ~/roms
    """
    imported = catalog.import_roms(paths, report=lambda game, name: out.print(escape(f"imported {name} -> {game}")))
    out.print(f"{imported} ROM(s) imported")


@app.command(name="cores")
def cores_(
    system: Annotated[Optional[str], typer.Option(help="Only this system.")] = None,
) -> None:
    """Show, per system, which libretro core was found and where.

    Example: retrotool cores
    """
    table = Table(title="cores", title_justify="left")
    for name in ("system", "core", "found in", "path"):
        table.add_column(name, overflow="fold")
    for row in catalog.list_cores(systems.get(system) if system else None):
        table.add_row(row.system, row.core, row.origin or "[red]not found[/red]", escape(str(row.path or row.hint)))
    out.print(table)


@app.command(name="dump-dataset")
def dump_dataset(
    movies: Annotated[list[str], typer.Argument(metavar="MOVIES", help="Movie(s): .bk2 files, folders of them, or glob patterns.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Dataset folder (created; re-running resumes it).", show_default=False)],
    format: Annotated[dump.OutputFormat, typer.Option("--format", help="npz episodes + manifest.json, or also a Minari dataset in OUT/data.")] = dump.OutputFormat.NPZ,
    obs: Annotated[ObsKind, typer.Option(help="Observations: the picture, the system RAM, or both.")] = ObsKind.RGB,
    grayscale: Annotated[bool, typer.Option("--grayscale", help="Pictures as luma: one channel, (h, w, 1).")] = False,
    resize: Annotated[Optional[str], typer.Option(help="Resize pictures to WxH (nearest neighbour, after --crop).")] = None,
    crop: Annotated[Optional[str], typer.Option(help="Keep X,Y,W,H of the native picture.")] = None,
    frame_skip: Annotated[int, typer.Option(min=1, help="Rows per step: one observation every K rows.")] = 1,
    combine: Annotated[Combine, typer.Option(help="A step's action from its K rows: any (held in any row), first or last row.")] = Combine.ANY,
    start: Annotated[int, typer.Option(min=0, help="Row whose picture is the first observation (the reset frame).")] = 0,
    end: Annotated[Optional[int], typer.Option(min=1, help="Use rows before END. Default: all.")] = None,
    scenario: Annotated[Optional[Path], typer.Option(help="A scenario.json to use instead of the game's (rewards, done, allowed actions → discrete action index).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="Movies replayed at once, each in its own process.")] = 1,
    executor: Annotated[dump.ExecutorKind, typer.Option(help="Where movies run: local processes or a Ray cluster.")] = dump.ExecutorKind.LOCAL,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: start or join a local one).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first movie that fails.")] = False,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing dataset in OUT instead of resuming it.")] = False,
) -> None:
    """Turn movies into (observation, action, reward, terminated, truncated, info) episodes.

    Example: retrotool dump-dataset examples/testgame.bk2 -o testgame-v0 --format minari --resize 84x84 --grayscale
    """
    options = DatasetOptions(obs=obs, grayscale=grayscale, resize=_size(resize), crop=_crop(crop),
                             frame_skip=frame_skip, combine=combine, start=start, end=end)
    paths = jobs.expand_movies(movies)
    with _dump_progress(len(paths), workers) as (overall, per_worker):
        result = dump.dump_dataset(
            paths, output, fmt=format, options=options, workers=workers, executor=executor, address=address,
            strict=strict, force=force, core=core, rom=rom, scenario=scenario, progress=overall,
            worker_progress=per_worker,
        )
    table = Table(title=f"{len(result.outcomes)} movies -> {output}", title_justify="left")
    for name in ("movie", "steps", "return", "episode / error"):
        table.add_column(name, overflow="fold")
    for o in result.outcomes:
        if o.record is None:
            table.add_row(escape(str(o.movie)), "-", "-", f"[red]{escape(o.error or '')}[/red]")
        else:
            note = " (already there)" if o.resumed else ""
            table.add_row(escape(str(o.movie)), str(o.record["steps"]), f"{o.record['total_reward']:g}", escape(o.record["file"]) + note)
    out.print(table)
    out.print(f"{result.steps:,} steps written in {result.seconds:.1f} s")
    if result.minari is not None:
        out.print(f"Minari dataset: {escape(str(result.minari))}; open it in Python with", soft_wrap=True)
        for hint in to_minari.load_hints(output):
            out.print(f"  {escape(hint)}", soft_wrap=True, highlight=False)
    if result.failed:
        raise RetroToolError(f"{len(result.failed)} of {len(result.outcomes)} movies failed; the others are in {output}")


def _size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    w, sep, h = value.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise RetroToolError(f"--resize takes WxH (two whole numbers, like 84x84), not {value!r}")
    return int(w), int(h)


@contextlib.contextmanager
def _dump_progress(movies: int, workers: int) -> Iterator[tuple[Callable[[int, int], None] | None, dump.WorkerProgress | None]]:
    """Bars for the movies overall and for each worker's current movie; none off a terminal."""
    if not err.is_terminal:
        yield None, None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        total = bar.add_task("movies", total=movies)
        slots = [bar.add_task(f"worker {i + 1}", total=None) for i in range(workers)]

        def overall(done: int, todo: int) -> None:
            bar.update(total, completed=done, total=todo)

        def per_worker(slot: int, name: str, done: int, frames: int) -> None:
            bar.update(slots[slot], description=f"worker {slot + 1}: {name}", completed=done, total=frames)

        yield overall, per_worker


def main() -> None:
    """Entry point: run the app, turning project errors into short messages."""
    try:
        with interrupts.sigterm_raises():  # like Ctrl-C: outputs in progress are cleaned up
            code = app(standalone_mode=False)
    except RetroToolError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except interrupts.Terminated:
        err.print("terminated")
        sys.exit(interrupts.EXIT_CODE)
    except typer.Exit as e:  # click's Exit in older Typers, Typer's own since 0.24: typer.Exit names both
        sys.exit(e.exit_code)
    except Exception as e:
        # usage errors: click.ClickException in older Typers, Typer's vendored copy of it since 0.24; click itself
        # may not be installed, so they are recognised by shape
        show, exit_code = getattr(e, "show", None), getattr(e, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise
    if code == 130:  # Typer turns Ctrl-C into exit code 130, returned (not raised) without standalone mode
        err.print("interrupted")
    if isinstance(code, int) and code:
        sys.exit(code)
