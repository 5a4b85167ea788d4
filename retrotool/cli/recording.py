"""`record`: a person plays in a window, or a script plays headless; `--recover` and `--keys` too."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from retrotool import session, systems
from retrotool.cli.common import CoreOpt, ForceOpt, app, out, progress_bar, summary
from retrotool.errors import RetroToolError
from retrotool.record import keys as record_keys, live, recover as recovery, scripted, sources


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
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Store RAM/screen checkpoints and keyframes (the core's whole state, for --jobs and --start) every N frames.")] = 600,
    force: ForceOpt = False,
    from_movie: Annotated[Optional[Path], typer.Option("--from", help="Go on playing an existing movie (from its end, or --frame N).", rich_help_panel="Playing")] = None,
    frame: Annotated[Optional[int], typer.Option(min=0, help="With --from: go on from this frame (re-recording what follows).", rich_help_panel="Playing")] = None,
    keys_file: Annotated[Optional[Path], typer.Option(help="Key bindings (TOML). Default: ~/.config/retrotool/keys.toml if present.", rich_help_panel="Playing")] = None,
    scale: Annotated[Optional[int], typer.Option(min=1, max=16, help="Window size in multiples of the picture (default: fits the screen).", rich_help_panel="Playing")] = None,
    save_states: Annotated[Optional[Path], typer.Option(metavar="DIR", help="Also write every savestate slot saved (F2) into this folder as a .state file stable-retro reads; F3 writes the current slot (beside the movie without this).", rich_help_panel="Playing")] = None,
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
    if from_movie is not None:
        start = live.start_from_movie(from_movie, frame, core, rom, players)
    else:
        what = _content(game_arg, game, rom, system, state, state_file, power_on)
        if input is not None or random:
            return _record_scripted(what, output, input, random, seed, frames, players, core, checkpoint_every, force)
        start = live.Start(what, core, players)
    _played(live.record_live(start, out=output, keys_file=keys_file, scale=scale, checkpoint_every=checkpoint_every,
                             force=force, save_states=save_states))


def _content(
    game_arg: str | None, game: str | None, rom: Path | None, system: str | None, state: str | None,
    state_file: Path | None, power_on: bool,
) -> session.Content:
    """GAME or --game, --rom, --system, --state or --state-file, --power-on: what to record."""
    if game and game_arg:
        raise RetroToolError(f"give the game once: {game_arg} or --game {game}")
    if state_file is not None and (state is not None or not state_file.is_file()):
        raise RetroToolError("--state-file takes an existing file, without --state" if state else f"state file not found: {state_file}")
    return session.game_content(game=game or game_arg, rom=rom, system=systems.get(system) if system else None,
                                state=str(state_file) if state_file is not None else state, power_on=power_on)


def _played(result: live.LiveResult) -> None:
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
    for state in result.states:
        out.print(f"state {escape(str(state))}")


def _recover(journal: Path, output: Path | None, core: str | None, rom: Path | None, force: bool) -> None:
    done = recovery.recover(journal, output, core=core, rom=rom, force=force)
    torn = " (its last line was cut short and left out)" if done.torn else ""
    out.print(f"recovered {done.frames} frames{torn} into {escape(str(done.movie))}: {done.rerecords} rerecords, "
              f"{done.checkpoints} live checkpoints replayed identically")


def _record_scripted(
    what: session.Content, output: Path | None, input: Path | None, random: bool, seed: int, frames: int | None,
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
    with progress_bar("record") as progress:
        result = scripted.record(
            system=what.system, core=core, rom=what.rom, buttons=buttons, out=output, start=what.state,
            checkpoint_every=checkpoint_every, force=force, game=what.name, progress=progress,
        )
    summary(result, f"recorded {output}")


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


