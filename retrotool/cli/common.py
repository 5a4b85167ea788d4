"""What every command shares: the app, the consoles, argument types, progress bars, the run summary."""

from __future__ import annotations

import contextlib
import glob
import logging
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

from retrotool import __version__
from retrotool.errors import ContentError, RetroToolError
from retrotool.isolation import ExecutorKind
from retrotool.playback import RunResult

app = typer.Typer(
    help="Record, replay and check libretro gameplay movies (.bk2, stable-retro and BizHawk dialects).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console()
err = Console(stderr=True)

# Shared argument types.
MovieArg = Annotated[Path, typer.Argument(metavar="MOVIE", help="A .bk2 movie (stable-retro or BizHawk dialect).", show_default=False)]
CoreOpt = Annotated[
    Optional[str],
    typer.Option("--core", help="Core file (PATH.so) or name (genesis_plus_gx). Default: the movie's, else the system's."),
]
RomOpt = Annotated[Optional[Path], typer.Option("--rom", help="ROM file. Default: the one the movie names, beside it, else the file of the movie's SHA-1 among imported games, in the movie's folder or in $RETROTOOL_DATA_PATH.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]
ExecutorOpt = Annotated[ExecutorKind, typer.Option(help="Where one movie's segments run: local processes, or tasks on a Ray cluster (--jobs N: about 3N segments).")]
AddressOpt = Annotated[Optional[str], typer.Option(help="With --executor ray: the cluster's address (default: start or join a local one).")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Processes: a movie with keyframes replays in segments on that many.")]
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
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
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


def summary(result: RunResult, title: str) -> None:
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


def parse_crop(value: str | None) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise RetroToolError(f"--crop takes X,Y,W,H (four whole numbers), not {value!r}")
    x, y, w, h = (int(p) for p in parts)
    return x, y, w, h


def parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    w, sep, h = value.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise RetroToolError(f"--resize takes WxH (two whole numbers, like 84x84), not {value!r}")
    return int(w), int(h)




def expand_movies(items: list[str]) -> list[Path]:
    """Movie files from files, folders (their *.bk2, recursively) and glob patterns."""
    found_all: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.rglob("*.bk2"))
        elif path.exists():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(item, recursive=True))
        if not found:
            raise ContentError(f"no movie matches {item}")
        found_all.extend(found)
    return found_all
