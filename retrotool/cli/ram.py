"""`ram search` (start, narrow, show, undo) and `ram watch`: finding values in a game's RAM over a movie."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from retrotool.cli.common import CoreOpt, ForceOpt, MovieArg, RomOpt, app, out, progress_bar
from retrotool.ram import codes, hunt, watch as watching
from retrotool.ram.search import Candidate

ram_app = typer.Typer(help="Find values in a game's RAM: a search narrowed step by step, and values watched over a movie.",
                      no_args_is_help=True)
search_app = typer.Typer(help="A RAM search over a movie, narrowed step by step like `git bisect`, kept in a small file.",
                         no_args_is_help=True)
app.add_typer(ram_app, name="ram")
ram_app.add_typer(search_app, name="search")
FileOpt = Annotated[Path, typer.Option("--file", help="The search's file.")]


def _value(what: str) -> object:
    return typer.Option(metavar="N", show_default=False, help=f"{what} N at --frame (decimal, or hex like 0x1F).")


def _number(text: str | None, what: str) -> int | None:
    return None if text is None else watching.parse_number(text, what)


@search_app.command("start")
def start(
    movie: MovieArg,
    types: Annotated[Optional[str], typer.Option(help="Comma-separated type codes to look for (like '|u1,>u2,>d4'). Default: every size 1-4 of u, i, d in both byte orders, and n up to 8.")] = None,
    first: Annotated[Optional[str], typer.Option("--from", metavar="ADDRESS", help="Only addresses from this one.")] = None,
    last: Annotated[Optional[str], typer.Option("--to", metavar="ADDRESS", help="Only addresses up to this one.")] = None,
    file: FileOpt = hunt.DEFAULT_FILE,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Start a RAM search over a movie: every address of the game's RAM under every type.

    Example: retrotool ram search start run.bk2
    """
    search = hunt.start(movie, file=file, types=codes.parse_types(types), first=_number(first, "--from"),
                        last=_number(last, "--to"), core=core, rom=rom, force=force)
    out.print(f"{search.current.count:,} candidates: {search.layout.size:,} bytes of RAM ({escape(search.layout.describe())}) "
              f"under {len(search.types)} types, over {search.source.frames:,} frames; kept in {escape(str(file))}")
    out.print("narrow it: retrotool ram search narrow --frame N --equals V (or --decreased-since M, --changed, ...)")


@search_app.command("narrow")
def narrow(
    frame: Annotated[Optional[int], typer.Option(min=0, help="The frame the condition looks at. Default: the movie's last.")] = None,
    equals: Annotated[Optional[str], _value("Equal to")] = None,
    not_equals: Annotated[Optional[str], _value("Not equal to")] = None,
    greater: Annotated[Optional[str], _value("Greater than")] = None,
    less: Annotated[Optional[str], _value("Less than")] = None,
    increased: Annotated[bool, typer.Option("--increased", help="Greater than at --since.")] = False,
    decreased: Annotated[bool, typer.Option("--decreased", help="Less than at --since.")] = False,
    changed: Annotated[bool, typer.Option("--changed", help="Differs at some frame from --since to --frame from its value at --since.")] = False,
    unchanged: Annotated[bool, typer.Option("--unchanged", help="The same at every frame from --since to --frame.")] = False,
    since: Annotated[Optional[int], typer.Option(min=0, help="The earlier frame --increased, ... compare with. Default: the previous step's frame (at first, 0).")] = None,
    increased_since: Annotated[Optional[int], typer.Option(min=0, metavar="M", help="--increased --since M.")] = None,
    decreased_since: Annotated[Optional[int], typer.Option(min=0, metavar="M", help="--decreased --since M.")] = None,
    changed_since: Annotated[Optional[int], typer.Option(min=0, metavar="M", help="--changed --since M.")] = None,
    unchanged_since: Annotated[Optional[int], typer.Option(min=0, metavar="M", help="--unchanged --since M.")] = None,
    file: FileOpt = hunt.DEFAULT_FILE,
) -> None:
    """Keep the candidates that meet one condition (values are read as each candidate's type: signed, BCD, ...).

    Example: retrotool ram search narrow --frame 900 --equals 3

    Example: retrotool ram search narrow --frame 1500 --decreased-since 900
    """
    asked = {"equals": _number(equals, "--equals"), "not-equals": _number(not_equals, "--not-equals"),
             "greater": _number(greater, "--greater"), "less": _number(less, "--less"), "increased": increased,
             "decreased": decreased, "changed": changed, "unchanged": unchanged, "increased-since": increased_since,
             "decreased-since": decreased_since, "changed-since": changed_since, "unchanged-since": unchanged_since}
    with progress_bar("replay") as progress:
        done = hunt.narrow(file, asked, frame=frame, since=since, progress=progress)
    out.print(f"{done.step.what}: {done.before:,} -> {done.step.count:,} candidates")
    if done.preview:
        _table(done.preview, done.frames, done.step.count)


@search_app.command("show")
def show(
    frame: Annotated[Optional[list[int]], typer.Option(min=0, help="Also show the values at this frame (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many candidates (by address).")] = 50,
    file: FileOpt = hunt.DEFAULT_FILE,
) -> None:
    """Show the candidates left, with their values at the frames the steps named.

    Example: retrotool ram search show --frame 2000
    """
    with progress_bar("replay") as progress:
        search, frames, rows = hunt.show(file, frames=frame, limit=limit, progress=progress)
    for k, step in enumerate(search.steps):
        out.print(f"step {k}: {escape(step.what)} ({step.count:,} candidates)")
    _table(rows, frames, search.current.count)


@search_app.command("undo")
def undo(file: FileOpt = hunt.DEFAULT_FILE) -> None:
    """Go back one step.

    Example: retrotool ram search undo
    """
    removed, search = hunt.undo(file)
    out.print(f"undid '{escape(removed.what)}': {search.current.count:,} candidates again")


def _table(rows: list[Candidate], frames: list[int], total: int) -> None:
    table = Table(title=f"{total:,} candidates" + (f" (the first {len(rows)} by address)" if total > len(rows) else ""),
                  title_justify="left")
    for name in ("address", "type", *(f"frame {f}" for f in frames)):
        table.add_column(name, justify="right" if name.startswith("frame") else "left")
    for c in rows:
        table.add_row(f"{c.address:#x}", escape(c.type), *(str(v) for v in c.values))
    out.print(table)


@ram_app.command("watch")
def watch(
    movie: MovieArg,
    values: Annotated[list[str], typer.Argument(metavar="VALUE...", help="ADDRESS:TYPE (like 0xFF0010:>u4) or a variable name of the game's data.json.", show_default=False)],
    png: Annotated[Optional[Path], typer.Option("--png", help="A line chart of the values over the frames (pip install 'retrotool\\[plot]').")] = None,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="frame,value,...: one line per frame.")] = None,
    game: Annotated[Optional[str], typer.Option(help="Take variable names from this game. Default: the movie's.")] = None,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Values in RAM after every frame of a movie: a summary, and a CSV file or a chart.

    Example: retrotool ram watch run.bk2 0xFF0010:'>u4' lives --png values.png
    """
    with progress_bar("replay") as progress:
        watched = watching.watch(movie, values, csv=csv, png=png, force=force, game=game, core=core, rom=rom,
                                 progress=progress)
    table = Table(title=f"{watched.frames:,} frames", title_justify="left")
    for name in ("value", "where", "first", "last", "min", "max"):
        table.add_column(name, justify="left" if name in ("value", "where") else "right")
    for row in watching.summary(watched):
        table.add_row(*(escape(str(x)) for x in row))
    out.print(table)
    for path in (csv, png):
        if path is not None:
            out.print(f"wrote {escape(str(path))}")
