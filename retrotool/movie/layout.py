"""Column layouts of ``Input Log.txt``: which character of a frame line means what.

A layout is a list of ``|``-separated groups of columns, built either from the key
line of a file (reading) or from the system's facts (writing, or a file without a
key line). Both dialects share it; they differ in how a player group is decoded
(stable-retro: by character; BizHawk: by position) and in how the key line looks.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from retrotool import systems
from retrotool.errors import MovieFormatError
from retrotool.systems import System

__all__ = ["Column", "Dialect", "Layout", "bizhawk_layout", "parse_key_line", "sr_layout"]

Dialect = Literal["stable-retro", "bizhawk"]
ColumnKind = Literal["button", "console", "axis"]

SR_CONSOLE = ("Reset", "Power")  # what stable-retro meant to write as "LogKey:#Reset|Power|#"
_SR_CONSOLE_CHARS = ("r", "P")
_SR_DEBRIS = "LogKey:#Reset|Power|#"  # formats.md §3.3: leftovers after a short key line
AXIS_TEMPLATE = "    0,"
MAX_COLUMNS = 256  # controls in a key line; five players' pads and a console need under 100
MAX_CONSOLE = 8  # console controls (Power, Reset, FDS disk sides...); each costs a byte per frame
_PLAYER_NAME = re.compile(r"P(\d+) (.+)")


@dataclass(frozen=True, slots=True)
class Column:
    """One control in a frame line.

    ``index`` is the button index (kind "button", for ``player``) or the position in
    the layout's console names (kind "console"); axes are parsed, then dropped.
    ``strict`` is False for console controls retrotool has no mnemonic for: any
    character but ``.`` then means pressed, as in BizHawk.
    """

    name: str
    kind: ColumnKind
    player: int
    index: int
    char: str
    strict: bool = True

    @property
    def width(self) -> int:
        """Characters the column takes in a frame line."""
        return len(AXIS_TEMPLATE) if self.kind == "axis" else 1


@dataclass(frozen=True, slots=True)
class Layout:
    """Groups of columns plus what the key line says about players and console."""

    dialect: Dialect
    groups: tuple[tuple[Column, ...], ...]
    players: int
    console_names: tuple[str, ...]

    def template(self) -> bytes:
        """The frame line with nothing pressed."""
        parts = ["".join(AXIS_TEMPLATE if c.kind == "axis" else "." for c in g) for g in self.groups]
        return ("|" + "|".join(parts) + "|").encode("ascii")

    def offsets(self) -> tuple[tuple[Column, int], ...]:
        """Every column with its 0-based character offset in :meth:`template`."""
        result: list[tuple[Column, int]] = []
        offset = 1
        for group in self.groups:
            for column in group:
                result.append((column, offset))
                offset += column.width
            offset += 1
        return tuple(result)

    def key_line(self) -> str:
        """The second line of Input Log.txt in this layout's dialect."""
        if self.dialect == "bizhawk":
            return "LogKey:" + "".join("#" + "".join(c.name + "|" for c in g) for g in self.groups)
        return "".join(c.name + "|" for g in self.groups[1:] for c in g)


def _lookup(table: dict[str, int], system: System, name: str, line: int) -> int:
    index = table.get(name.lower())
    if index is None:
        raise MovieFormatError(
            f"Input Log.txt line {line}: LogKey names button {name!r} which system {system.name} does not have"
        )
    return index


@functools.lru_cache(maxsize=64)
def _sr_names(system: System) -> dict[str, int]:
    table = {b.sr_name.lower(): i for i, b in enumerate(system.button_info)}
    table.update({b.name.lower(): i for i, b in enumerate(system.button_info)})
    return table


@functools.lru_cache(maxsize=64)
def _bh_names(system: System) -> dict[str, int]:
    table: dict[str, int] = {}
    for i, b in enumerate(system.button_info):
        for name in (b.name, b.sr_name, b.bh_name, *b.bh_aliases):
            table.setdefault(name.lower(), i)
    return table


def _sr_console() -> tuple[Column, ...]:
    pairs = enumerate(zip(SR_CONSOLE, _SR_CONSOLE_CHARS, strict=True))
    return tuple(Column(name, "console", -1, i, char) for i, (name, char) in pairs)


def sr_layout(system: System, players: int) -> Layout:
    """stable-retro's layout: descending joypad id, recorded buttons first, then our extras."""
    info = system.button_info
    order = sorted(range(len(info)), key=lambda i: (not info[i].sr_recorded, -info[i].joypad_id))
    groups = [_sr_console()]
    for p in range(players):
        groups.append(tuple(Column(f"P{p + 1} {info[i].sr_name}", "button", p, i, info[i].sr_char) for i in order))
    return Layout("stable-retro", tuple(groups), players, SR_CONSOLE)


def _strip_debris(line: str) -> str:
    """Undo stable-retro's short-key-line bug (``P1 A|y:#Reset|Power|#``)."""
    if len(line) != len(_SR_DEBRIS) or line.startswith("LogKey:"):
        return line
    for cut in range(1, len(line)):
        if line[cut - 1] == "|" and line[cut:] == _SR_DEBRIS[cut:]:
            return line[:cut]
    return line


def _parse_sr_key(system: System, line: str, lineno: int) -> Layout:
    tokens = _strip_debris(line).split("|")
    if tokens[-1] == "":
        tokens.pop()
    per_player: dict[int, list[Column]] = {}
    for token in tokens:
        match = _PLAYER_NAME.fullmatch(token)
        if match is None:
            raise MovieFormatError(f"Input Log.txt line {lineno}: key-line entry {token!r} is not 'P<n> <button>'")
        player = _player(system, int(match.group(1)), lineno)
        index = _lookup(_sr_names(system), system, match.group(2), lineno)
        char = system.button_info[index].sr_char
        per_player.setdefault(player, []).append(Column(token, "button", player, index, char))
    players = max(per_player, default=0) + 1
    groups = [_sr_console(), *(tuple(per_player.get(p, ())) for p in range(players))]
    return Layout("stable-retro", tuple(groups), players, SR_CONSOLE)


def _player(system: System, number: int, lineno: int) -> int:
    if not 1 <= number <= system.max_players:
        raise MovieFormatError(
            f"Input Log.txt line {lineno}: key line names player {number}, "
            f"but {system.name} has players 1 to {system.max_players}"
        )
    return number - 1


def _player_columns(system: System, player: int, prefixed: bool) -> tuple[Column, ...]:
    folded = {i for _, i in system.bizhawk.console_buttons} if player == 0 else set()
    rest = [i for i in range(len(system.buttons)) if i not in system.bizhawk.buttons and i not in folded]
    prefix = f"P{player + 1} " if prefixed else ""
    info = system.button_info
    order = (*system.bizhawk.buttons, *rest)
    return tuple(Column(prefix + info[i].bh_name, "button", player, i, info[i].bh_char) for i in order)


def bizhawk_layout(system: System, players: int, console_names: tuple[str, ...] = ()) -> Layout:
    """BizHawk's default layout for ``players`` pads, plus any extra console controls named."""
    bh = system.bizhawk
    folded = dict(bh.console_buttons)
    known = [n for n, _ in bh.console]
    names = tuple(n for n in known if n not in folded) + tuple(n for n in console_names if n not in known)
    console: list[Column] = []
    for name, char in (*bh.console, *((n, "!") for n in names if n not in known)):
        if name in folded:
            console.append(Column(name, "button", 0, folded[name], char))
        else:
            console.append(Column(name, "console", -1, names.index(name), char, strict=name in known))
    if not bh.player_prefix:
        if players != 1:
            raise MovieFormatError(f"{system.name} movies have one player in BizHawk's layout, not {players}")
        axes = tuple(Column(a, "axis", -1, -1, "") for a in bh.axes)
        return Layout("bizhawk", ((*axes, *_player_columns(system, 0, False), *console),), 1, names)
    groups = [tuple(console)] if console else []
    groups.extend(_player_columns(system, p, True) for p in range(players))
    return Layout("bizhawk", tuple(groups), players, names)


@functools.lru_cache(maxsize=1)
def _pad_words() -> frozenset[str]:
    """Gamepad button names of every system that no system uses as a console control."""
    specs = [systems.get(name) for name in systems.names()]
    console = {n.lower() for s in specs for n, _ in s.bizhawk.console}
    return frozenset(k for s in specs for k in _bh_names(s) if k not in console)


def _bh_column(system: System, name: str, lineno: int, console: list[str]) -> Column:
    bh = system.bizhawk
    match = _PLAYER_NAME.fullmatch(name)
    if match is not None:
        player = _player(system, int(match.group(1)), lineno)
        index = _lookup(_bh_names(system), system, match.group(2), lineno)
        return Column(name, "button", player, index, system.button_info[index].bh_char)
    folded = dict(bh.console_buttons)
    known = dict(bh.console)
    if name in bh.axes:
        return Column(name, "axis", -1, -1, "")
    if name in folded:
        return Column(name, "button", 0, folded[name], known[name])
    if not bh.player_prefix and name.lower() in _bh_names(system):
        index = _bh_names(system)[name.lower()]
        return Column(name, "button", 0, index, system.button_info[index].bh_char)
    if name not in known and name.lower() in _pad_words():
        raise MovieFormatError(
            f"Input Log.txt line {lineno}: LogKey names button {name!r} without a player prefix, "
            f"which system {system.name} does not have"
        )
    console.append(name)
    return Column(name, "console", -1, len(console) - 1, known.get(name, ""), strict=name in known)


def _parse_logkey(system: System, line: str, lineno: int) -> Layout:
    head, *raw_groups = line[len("LogKey:") :].split("#")
    if head:
        raise MovieFormatError(f"Input Log.txt line {lineno}: LogKey must start with 'LogKey:#'")
    console: list[str] = []
    groups: list[tuple[Column, ...]] = []
    seen: set[str] = set()
    for raw in raw_groups:
        names = [n for n in raw.split("|") if n]
        for name in names:
            if name in seen:
                raise MovieFormatError(f"Input Log.txt line {lineno}: LogKey names {name!r} twice")
            seen.add(name)
        groups.append(tuple(_bh_column(system, n, lineno, console) for n in names))
    players = 1 + max((c.player for g in groups for c in g), default=0)
    return Layout("bizhawk", tuple(groups), players, tuple(console))


def parse_key_line(system: System, line: str, lineno: int) -> Layout:
    """The layout a key line describes: ``LogKey:#…`` (BizHawk) or ``P1 Name|…`` (stable-retro).

    A key line is untrusted: the columns and console controls it may name are bounded,
    since each costs time per frame line and memory per frame.
    """
    layout = _parse_logkey(system, line, lineno) if line.startswith("LogKey:") else _parse_sr_key(system, line, lineno)
    columns = sum(len(g) for g in layout.groups)
    if columns > MAX_COLUMNS:
        raise MovieFormatError(f"Input Log.txt line {lineno}: the key line names {columns} controls, "
                               f"more than the {MAX_COLUMNS} a movie may have")
    if len(layout.console_names) > MAX_CONSOLE:
        raise MovieFormatError(f"Input Log.txt line {lineno}: the key line names {len(layout.console_names)} console "
                               f"controls, more than the {MAX_CONSOLE} a movie may have")
    if not any(c.kind == "button" for g in layout.groups for c in g):
        raise MovieFormatError(f"Input Log.txt line {lineno}: the key line names no player's buttons")
    return layout
