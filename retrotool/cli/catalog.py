"""`games`, `import` and `cores`: what is installed, and getting ROMs into place."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from retrotool import catalog, systems
from retrotool.cli.common import app, out


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


