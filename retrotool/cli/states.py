"""`state save` and `state info`: savestates as stable-retro reads them, made from movies and checked against games."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from retrotool.cli.common import CoreOpt, ForceOpt, RomOpt, app, out
from retrotool.integration import states

state_app = typer.Typer(help="Savestates: save one at a frame of a movie, describe one, check which game it fits.",
                        no_args_is_help=True)
app.add_typer(state_app, name="state")


@state_app.command("save")
def save(
    source: Annotated[Path, typer.Argument(metavar="SOURCE", help="A movie (.bk2), or a state file to convert or add (gzipped, raw, RetroArch's).", show_default=False)],
    frame: Annotated[Optional[int], typer.Option(min=0, help="The movie's frame: the state after that frame ran (frame numbers as `ram watch` counts them).")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the state here (stable-retro's format: the core's state, gzipped).")] = None,
    into: Annotated[Optional[str], typer.Option("--into", metavar="GAME", help="Add it to this game's folder, once it is checked to load there.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Its name in the game (NAME.state). Default: -o's name, else FrameN.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the game's default state (metadata.json).")] = False,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Save the state at a frame of a movie to a file or into a game's folder.

    Example: retrotool state save run.bk2 --frame 900 -o Level2.state

    Example: retrotool state save run.bk2 --frame 900 --into MyGame-Genesis --name Level2 --default
    """
    saved = states.save(source, frame=frame, out=output, into=into, name=name, default=default, force=force,
                        core=core, rom=rom)
    for path in saved.written:
        out.print(f"wrote {escape(str(path))} ({len(saved.state):,} bytes of state, from {escape(saved.source)})")
    if saved.game is not None and saved.default:
        out.print(f"{escape(saved.game.name)} now starts from it by default")


@state_app.command("info")
def info(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A state file.", show_default=False)],
    game: Annotated[Optional[str], typer.Option(help="Check it against this game only. Default: every game whose ROM is imported and whose system the state's core runs.")] = None,
) -> None:
    """Describe a state file: its container, size, the core that made it, and which games it loads in.

    Example: retrotool state info Level2.state
    """
    found = states.info(path, game)
    table = Table(show_header=False, title=escape(str(path)), title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    stable_retro = "yes" if found.file.container == "gzip" else "no: it reads only gzipped states (`state save FILE -o NEW.state` converts it)"
    maker = f"{found.maker.emulator} ({found.maker.core})" if found.maker is not None else "not recognised"
    rows = [("container", found.file.container), ("state", f"{len(found.file.data):,} bytes ({found.file.stored:,} on disk)"),
            ("made by", maker + (f", format {found.version}" if found.version else "")), ("stable-retro reads it", stable_retro)]
    for key, value in rows:
        table.add_row(key, escape(value))
    out.print(table)
    if not found.fits:
        out.print("no installed game with an imported ROM to try it on (--game GAME names one)")
    for name, why in found.fits:
        out.print(f"[green]loads in[/green] {escape(name)}" if why is None else f"[red]not for[/red] {escape(name)}: {escape(why)}")
