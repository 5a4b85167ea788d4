"""`edit trim/truncate/concat/set-state`: cut and join movies; every output is verified before it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from retrotool import editing
from retrotool.cli.common import CoreOpt, ForceOpt, MovieArg, RomOpt, app, out, progress_bar

edit_app = typer.Typer(
    help="Cut and join movies: trim, truncate, concat, set-state. Each output is replayed against its checkpoints "
         "before it is moved into place, and never overwrites a file without --force.",
    no_args_is_help=True,
)
app.add_typer(edit_app, name="edit")

OutOpt = Annotated[Path, typer.Option("-o", "--output", help="The new movie (an existing file only with --force).", show_default=False)]


def _report(done: editing.Edited) -> None:
    carried = (f"; {done.carried} of {done.stored} checkpoints of the source still match" if done.stored
               else "; the source had no checkpoints in these frames")
    out.print(escape(f"wrote {done.movie}: {done.frames:,} frames from {done.start}, {done.checkpoints} checkpoints "
                     f"(verified), {done.keyframes} keyframes{carried}, in {done.seconds:.1f} s"), soft_wrap=True)


@edit_app.command("trim")
def trim(
    movie: MovieArg,
    output: OutOpt,
    start: Annotated[int, typer.Option(min=0, help="The first row kept: the new movie starts from the state before it (reached from the nearest keyframe) and this row is its row 0, stable-retro's reset frame, so it must hold no button.")] = 0,
    end: Annotated[Optional[int], typer.Option(min=1, help="The row after the last one kept. Default: the movie's end.")] = None,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Keep rows START .. END-1 of a movie as a movie of its own, with fresh checkpoints and keyframes.

    Frame k of the new movie is frame START+k of the old one; the old
    checkpoints in those frames are checked while the new movie is made.

    Example: retrotool edit trim run.bk2 --start 1500 --end 3000 -o level2.bk2
    """
    with progress_bar("trim") as progress:
        done = editing.trim(movie, output, start=start, end=end, force=force, core=core, rom=rom, progress=progress)
    _report(done)


@edit_app.command("truncate")
def truncate(
    movie: MovieArg,
    output: OutOpt,
    at: Annotated[int, typer.Option(min=1, help="Keep the rows before this one.", show_default=False)],
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Keep the rows before --at (what a re-record does), with the checkpoints and keyframes before it.

    Example: retrotool edit truncate run.bk2 --at 5000 -o first-part.bk2
    """
    with progress_bar("truncate") as progress:
        done = editing.truncate(movie, output, at=at, force=force, core=core, rom=rom, progress=progress)
    _report(done)


@edit_app.command("concat")
def concat(
    first: Annotated[Path, typer.Argument(metavar="FIRST", help="The movie that plays first.", show_default=False)],
    second: Annotated[Path, typer.Argument(metavar="SECOND", help="The movie that goes on: it must start from the state FIRST ends in.", show_default=False)],
    output: OutOpt,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Join two movies: SECOND's rows after FIRST's, if SECOND starts where FIRST ends.

    FIRST is replayed to its end and SECOND's start state loaded in a fresh
    core; unless the states are equal or give the same next frame, the join
    is refused, saying what differs. A power-on SECOND is refused.

    Example: retrotool edit concat part1.bk2 part2.bk2 -o whole.bk2
    """
    with progress_bar("concat") as progress:
        done = editing.concat(first, second, output, force=force, core=core, rom=rom, progress=progress)
    _report(done)


@edit_app.command("set-state")
def set_state(
    movie: MovieArg,
    state: Annotated[Path, typer.Argument(metavar="STATEFILE", help="A state file (stable-retro's gzipped one, raw, RetroArch's).", show_default=False)],
    output: OutOpt,
    core: CoreOpt = None,
    rom: RomOpt = None,
    allow_desync: Annotated[bool, typer.Option("--allow-desync", help="Write the movie even when its checkpoints no longer all match (it then gets checkpoints of what it now plays).")] = False,
    force: ForceOpt = False,
) -> None:
    """Replace the state a movie starts from; says how many of its checkpoints still match.

    A movie played from another state desyncs unless the state is the same
    moment of the game: unless every checkpoint still matches, it is refused
    without --allow-desync.

    Example: retrotool edit set-state run.bk2 Level1.state -o run-level1.bk2
    """
    with progress_bar("set-state") as progress:
        done = editing.set_state(movie, state, output, allow_desync=allow_desync, force=force, core=core, rom=rom, progress=progress)
    _report(done)
