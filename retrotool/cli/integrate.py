"""`integrate new/var/reward/done` and `scenario check`: writing a game integration and checking it on a movie."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from retrotool.cli.common import CoreOpt, ForceOpt, MovieArg, RomOpt, app, out, progress_bar
from retrotool.errors import RetroToolError
from retrotool.integration import check as checking, folders, scaffold
from retrotool.ram.watch import parse_number
from retrotool.variables import OPS

integrate_app = typer.Typer(help="Write a game integration: the folder, RAM variables (data.json), rewards and done (scenario.json).",
                            no_args_is_help=True)
scenario_app = typer.Typer(help="Check a game's scenario (reward and done) on a movie.", no_args_is_help=True)
app.add_typer(integrate_app, name="integrate")
app.add_typer(scenario_app, name="scenario")
GameArg = Annotated[str, typer.Argument(metavar="GAME", help="The game (its folder name).", show_default=False)]
VariableArg = Annotated[str, typer.Argument(metavar="VARIABLE", help="A variable of the game's data.json.", show_default=False)]
OpOpt = Annotated[Optional[str], typer.Option(help=f"Compare the measured value with --reference first: {', '.join(OPS)}.")]
RemoveOpt = Annotated[bool, typer.Option("--remove", help="Remove it instead.")]


@integrate_app.command("new")
def new(
    rom: Annotated[Path, typer.Argument(metavar="ROM", help="The game's ROM file.", show_default=False)],
    name: Annotated[str, typer.Option(help="The game's name, ending with its system: MyGame-Genesis.", show_default=False)],
    data: Annotated[Optional[Path], typer.Option(help="The data folder to make it in. Default: the first of $RETROTOOL_DATA_PATH, else retrotool's data/.")] = None,
    state: Annotated[Optional[Path], typer.Option(help="Start.state from this state file (checked). Default: power-on.")] = None,
    core: CoreOpt = None,
) -> None:
    """Make a game folder: the ROM, rom.sha, data.json, scenario.json, metadata.json and Start.state.

    Example: retrotool integrate new ~/roms/mygame.md --name MyGame-Genesis
    """
    made = scaffold.new(rom, name, data=data, state=state, core=core)
    out.print(f"made {escape(str(made.folder))} ({made.system.name}, ROM SHA-1 {made.sha1}; Start.state from {escape(made.start)})")
    if not made.system.stable_retro:
        out.print(f"note: stable-retro has no {made.system.name} system; only retrotool plays this game")
    out.print(f"next: find values with `retrotool ram search start MOVIE`, then `retrotool integrate var {escape(name)} NAME ADDRESS TYPE`")


@integrate_app.command("var")
def var(
    game: GameArg,
    variable: Annotated[str, typer.Argument(metavar="NAME", help="The variable's name (score, lives, ...).", show_default=False)],
    address: Annotated[Optional[str], typer.Argument(metavar="ADDRESS", help="Its address (decimal, or hex like 0xFF0010), as data.json holds it.", show_default=False)] = None,
    type_code: Annotated[Optional[str], typer.Argument(metavar="TYPE", help="Its type code, like '>u4', '|u1', '>d2'.", show_default=False)] = None,
    mask: Annotated[Optional[str], typer.Option(help="AND the value with this mask.")] = None,
    remove: RemoveOpt = False,
    core: CoreOpt = None,
) -> None:
    """Add or change a RAM variable of a game (data.json), once its address is checked to be inside RAM.

    Example: retrotool integrate var MyGame-Genesis score 0xFF0010 '>u4'
    """
    if remove:
        folders.remove_variable(folders.writable_game(game), variable)
        out.print(f"removed {escape(variable)}")
        return
    if address is None or type_code is None:
        raise RetroToolError("give the ADDRESS and the TYPE (or --remove)")
    done = scaffold.variable(game, variable, parse_number(address, "ADDRESS"), type_code,
                             mask=None if mask is None else parse_number(mask, "--mask"), core=core)
    v = done.variable
    what = "changed" if done.before else "added"
    now = "" if done.value is None else f"; {done.value} at the start"
    out.print(f"{what} {escape(v.name)}: {v.address:#x} ({v.address}) {escape(v.type)}{now}")


@integrate_app.command("reward")
def reward(
    game: GameArg,
    variable: Annotated[Optional[str], typer.Argument(metavar="VARIABLE", help="A variable of the game's data.json.", show_default=False)] = None,
    reward_: Annotated[Optional[float], typer.Option("--reward", help="Multiplies a positive measurement.")] = None,
    penalty: Annotated[Optional[float], typer.Option(help="Multiplies a negative measurement (a positive penalty makes a decrease cost).")] = None,
    measurement: Annotated[Optional[str], typer.Option(help="delta (the change since the last step: default) or absolute.")] = None,
    op: OpOpt = None,
    reference: Annotated[Optional[float], typer.Option(help="What --op compares with.")] = None,
    time: Annotated[Optional[float], typer.Option(help="A reward every step (negative: a cost of time).")] = None,
    remove: RemoveOpt = False,
) -> None:
    """Add or change a reward rule of the scenario (stable-retro's scenario.json).

    Example: retrotool integrate reward MyGame-Genesis score --reward 1

    Example: retrotool integrate reward MyGame-Genesis lives --penalty 10
    """
    target = folders.writable_game(game)
    if time is not None:
        folders.set_scenario_field(target, "reward", "time", time)
        out.print(f"time reward: {time:g} per step")
    if variable is not None:
        rule = folders.set_rule(target, "reward", variable, _fields(measurement, op, reference, reward=reward_, penalty=penalty), remove=remove)
        out.print(f"reward on {escape(variable)}: {escape(str(rule)) if rule else 'removed'}")
    elif time is None:
        raise RetroToolError("name a VARIABLE (or give --time)")


@integrate_app.command("done")
def done(
    game: GameArg,
    variable: Annotated[Optional[str], typer.Argument(metavar="VARIABLE", help="A variable of the game's data.json.", show_default=False)] = None,
    op: OpOpt = None,
    reference: Annotated[Optional[float], typer.Option(help="What --op compares with.")] = None,
    measurement: Annotated[Optional[str], typer.Option(help="absolute (default) or delta.")] = None,
    condition: Annotated[Optional[str], typer.Option(help="Done when any rule holds (default), or all.")] = None,
    remove: RemoveOpt = False,
) -> None:
    """Add or change a done rule of the scenario: the episode ends when it holds (without --op: when the value is > 0).

    Example: retrotool integrate done MyGame-Genesis lives --op equal --reference 0
    """
    target = folders.writable_game(game)
    if condition is not None:
        if condition not in ("any", "all"):
            raise RetroToolError("--condition is any or all")
        folders.set_scenario_field(target, "done", "condition", condition)
        out.print(f"done when {condition} rule holds")
    if variable is not None:
        rule = folders.set_rule(target, "done", variable, _fields(measurement, op, reference), remove=remove)
        out.print(f"done on {escape(variable)}: {escape(str(rule)) if rule else 'removed'}")
    elif condition is None:
        raise RetroToolError("name a VARIABLE (or give --condition)")


def _fields(measurement: str | None, op: str | None, reference: float | None, **more: float | None) -> dict[str, object]:
    if measurement is not None and measurement not in ("delta", "absolute"):
        raise RetroToolError("--measurement is delta or absolute")
    return {"measurement": measurement, "op": op, "reference": reference, **more}


@scenario_app.command("check")
def check(
    game: GameArg,
    movie: MovieArg,
    png: Annotated[Optional[Path], typer.Option("--png", help="Chart reward, total reward and done over the frames (pip install 'retrotool\\[plot]').")] = None,
    core: CoreOpt = None,
    rom: RomOpt = None,
    force: ForceOpt = False,
) -> None:
    """Replay a movie with a game's rules: total reward, the first frame done holds, each variable's range, warnings.

    Example: retrotool scenario check MyGame-Genesis run.bk2 --png reward.png
    """
    with progress_bar("replay") as progress:
        result = checking.check(game, movie, png=png, force=force, core=core, rom=rom, progress=progress)
    first = result.first_done
    out.print(f"{escape(result.game.name)} over {escape(str(movie))}: {result.rewards.size:,} frames, "
              f"total reward {result.total:g}, " + (f"done first at frame {first}" if first is not None else "done never holds"))
    for r in result.ranges:
        v = r.variable
        span = "outside RAM" if r.values is None else f"{int(r.values.min())} .. {int(r.values.max())}, {r.changes} changes"
        out.print(f"  {escape(v.name)} ({v.address:#x} {escape(v.type)}): {span}")
    for text in result.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(text)}")
    if result.png is not None:
        out.print(f"wrote {escape(str(result.png))}")
