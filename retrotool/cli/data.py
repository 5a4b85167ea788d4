"""`dump-dataset`: movies become imitation-learning episodes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from retrotool import isolation
from retrotool.cli.common import CoreOpt, RomOpt, app, err, expand_movies, out, parse_crop, parse_size
from retrotool.datasets import dump, minari as to_minari
from retrotool.datasets.options import Combine, DatasetOptions, ObsKind
from retrotool.errors import RetroToolError


@app.command(name="dump-dataset")
def dump_dataset(
    movies: Annotated[list[str], typer.Argument(metavar="MOVIES", help="Movie(s): .bk2 files, folders of them, or glob patterns.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Dataset folder (created; re-running resumes it).", show_default=False)],
    format: Annotated[dump.OutputFormat, typer.Option("--format", help="npz episodes + manifest.json, or also a Minari dataset (OUT/data), a Hugging Face datasets folder (OUT/hf) or a LeRobot dataset (OUT/lerobot).")] = dump.OutputFormat.NPZ,
    obs: Annotated[ObsKind, typer.Option(help="Observations: the picture, the system RAM, or both.")] = ObsKind.RGB,
    grayscale: Annotated[bool, typer.Option("--grayscale", help="Pictures as luma: one channel, (h, w, 1).")] = False,
    resize: Annotated[Optional[str], typer.Option(help="Resize pictures to WxH (nearest neighbour, after --crop).")] = None,
    crop: Annotated[Optional[str], typer.Option(help="Keep X,Y,W,H of the native picture.")] = None,
    frame_skip: Annotated[int, typer.Option(min=1, help="Rows per step: one observation every K rows.")] = 1,
    combine: Annotated[Combine, typer.Option(help="A step's action from its K rows: any (held in any row), first or last row.")] = Combine.ANY,
    start: Annotated[int, typer.Option(min=0, help="Row whose picture is the first observation (the reset frame).")] = 0,
    end: Annotated[Optional[int], typer.Option(min=1, help="Use rows before END. Default: all.")] = None,
    scenario: Annotated[Optional[Path], typer.Option(help="A scenario.json to use instead of the game's (rewards, done, allowed actions → discrete action index).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="Movies replayed at once, each whole in its own process.")] = 1,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Processes: N movies at once when there are N or more; otherwise each movie in segments cut at its keyframes (see `retrotool index`), N at once, joined into the same episode a single process makes. Segments need keyframes (a movie without them replays whole on one core, with a warning).")] = 1,
    executor: Annotated[isolation.ExecutorKind, typer.Option(help="Where movies run: local processes or a Ray cluster (one task per movie; with --jobs N and fewer movies, one task per segment).")] = isolation.ExecutorKind.LOCAL,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: start or join a local one).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first movie that fails.")] = False,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing dataset in OUT instead of resuming it.")] = False,
) -> None:
    """Turn movies into (observation, action, reward, terminated, truncated, info) episodes.

    Example: retrotool dump-dataset examples/testgame.bk2 -o testgame-v0 --format minari --resize 84x84 --grayscale

    Example: retrotool dump-dataset long.bk2 -o long-v0 --jobs 2   (one movie with keyframes on 2 cores)
    """
    options = DatasetOptions(obs=obs, grayscale=grayscale, resize=parse_size(resize), crop=parse_crop(crop),
                             frame_skip=frame_skip, combine=combine, start=start, end=end)
    paths = expand_movies(movies)
    with _dump_progress(len(paths), max(workers, jobs)) as (overall, per_worker):
        result = dump.dump_dataset(
            paths, output, fmt=format, options=options, workers=workers, jobs=jobs, executor=executor, address=address,
            strict=strict, force=force, core=core, rom=rom, scenario=scenario, progress=overall,
            worker_progress=per_worker,
        )
    _dumped(result, output)


def _dumped(result: dump.DumpResult, output: Path) -> None:
    """The table of movies and their episodes (or errors), and how to open the dataset."""
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
    if result.built is not None:
        out.print(f"{result.format} dataset: {escape(str(result.built))}", soft_wrap=True)
    if result.failed:
        raise RetroToolError(f"{len(result.failed)} of {len(result.outcomes)} movies failed; the others are in {output}")


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


