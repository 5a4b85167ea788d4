"""`retrotool ram watch`: values in RAM over the frames of a movie, as a table, a CSV file and a line chart.

A value is ADDRESS:TYPE (a data.json address, decimal or 0x hex, and a
type code) or the name of a variable of an integration (the movie's game, or
another given by name). The replay records them after every frame through a
`ValueRecorder`; frame k is the value after movie row k ran.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrotool import charts, games, movie as bk2, outputs, playback, session
from retrotool.errors import ContentError, RetroToolError
from retrotool.ram.layout import Layout
from retrotool.ram.recorder import ValueRecorder
from retrotool.variables import Variable, check_type, load_variables


@dataclass(frozen=True, slots=True)
class Watched:
    """Each value's name and its value after every frame (int64 [frames])."""

    movie: Path
    variables: dict[str, Variable]
    values: dict[str, np.ndarray]

    @property
    def frames(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0


def parse_number(text: str, what: str) -> int:
    """A whole number in decimal or 0x hex (an address, a value)."""
    try:
        return int(text.strip().replace("_", ""), 0)
    except ValueError:
        raise ContentError(f"{what} must be a whole number (decimal, or hex like 0xFF0010), not {text!r}") from None


def parse_values(specs: list[str], integration: games.Game | None) -> dict[str, Variable]:
    """ADDRESS:TYPE specs and variable names → variables, named as given."""
    if not specs:
        raise RetroToolError("name at least one value: ADDRESS:TYPE (like 0xFF0010:>u4) or a variable of the game")
    known = _integration_variables(integration)
    out: dict[str, Variable] = {}
    for spec in specs:
        address, sep, code = spec.rpartition(":")
        if sep and address:
            out[spec] = Variable(spec, parse_number(address, f"the address in {spec!r}"), check_type(code))
        elif spec in known:
            out[spec] = known[spec]
        else:
            where = f"{integration.name}'s variables are {', '.join(known) or 'none'}" if integration else \
                "the movie's game has no integration here (pass --game GAME)"
            raise ContentError(f"{spec!r} is neither ADDRESS:TYPE (like 0xFF0010:>u4) nor a variable: {where}")
    return out


def _integration_variables(game: games.Game | None) -> dict[str, Variable]:
    data = game.folder / "data.json" if game is not None else None
    return load_variables(data) if data is not None and data.is_file() else {}


def watch(
    path: Path, specs: list[str], *, csv: Path | None = None, png: Path | None = None, force: bool = False,
    game: str | None = None, core: str | None = None, rom: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Watched:
    """Replay the movie, record each value after every frame, write the CSV and PNG asked for.

    What can fail before the replay does (an address outside RAM, an
    existing output, matplotlib missing).
    """
    for target in (csv, png):
        if target is not None:
            outputs.check_target(target, force)
    if png is not None:
        charts.figure_class()
    movie = bk2.read(path)
    content = session.movie_content(movie, path, rom)
    integration = games.find(game) if game is not None else content.game
    variables = parse_values(specs, integration)
    recorder = ValueRecorder(variables)
    with session.open_session(content, core, players=movie.players) as emulator:
        layout = Layout.of(emulator.address_space())
        for v in variables.values():
            try:
                layout.column(v.address, v.size)
            except ContentError as e:
                raise ContentError(f"{v.name}: {e}") from None
        done = playback.replay_rows(emulator, movie, [recorder], progress=progress)
    values = done.results[0]
    assert isinstance(values, dict), "ValueRecorder returns the values per variable"
    watched = Watched(path, variables, {name: values[name] for name in variables})
    if csv is not None:
        write_csv(watched, csv, force=force)
    if png is not None:
        write_png(watched, png, force=force)
    return watched


def write_csv(watched: Watched, path: Path, *, force: bool = False) -> Path:
    """frame,<value>,<value>...: one line per frame."""
    text = io.StringIO()
    text.write(",".join(["frame", *(_csv_cell(n) for n in watched.values)]) + "\n")
    table = np.column_stack([np.arange(watched.frames), *watched.values.values()])
    np.savetxt(text, table, fmt="%d", delimiter=",")
    outputs.write_atomic(path, lambda f: f.write(text.getvalue().encode()), force=force)
    return path


def _csv_cell(name: str) -> str:
    return f'"{name}"' if any(c in name for c in ',"') else name


def write_png(watched: Watched, path: Path, *, force: bool = False) -> Path:
    """A line chart: one line per value over the frames (values of very different sizes in panels of their own)."""
    frames = np.arange(watched.frames)
    title = f"{watched.movie.name}: RAM values per frame"
    return charts.draw(path, frames, charts.panels_for(watched.values), title=title, force=force)


def summary(watched: Watched) -> list[tuple[str, str, int, int, int, int]]:
    """Per value: name, where (address and type), first, last, min, max."""
    rows = []
    for name, values in watched.values.items():
        if not values.size:
            continue
        v = watched.variables[name]
        rows.append((name, f"{v.address:#x} {v.type}", int(values[0]), int(values[-1]), int(values.min()),
                     int(values.max())))
    return rows
