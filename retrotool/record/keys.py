"""Keyboard bindings of the interactive recorder: defaults per system, and a TOML file of your own.

The defaults are data (keys.toml beside this module). A user file has the
same form and replaces entries one by one. For a system and player, a
button's keys come from the system's own section if it names the button,
else from the RetroPad section by the button's libretro joypad id (so one
table covers every console). Every binding remembers where it came from
(file and line), so a mistake is reported there.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrotool import resources, systems
from retrotool.errors import RetroToolError, UnknownSystemError
from retrotool.systems import System

ACTIONS = {
    "help": "show or hide these controls",
    "pause": "pause / go on",
    "advance": "one frame (while paused)",
    "slower": "speed down (1/4x .. 4x)",
    "faster": "speed up",
    "fast_forward": "hold: 4x",
    "save_state": "save the current slot",
    "load_state": "load the current slot (a re-record)",
    "previous_slot": "previous slot",
    "next_slot": "next slot",
    "export_state": "write the current slot to a .state file (stable-retro's format)",
    "screenshot": "screenshot (PNG beside the movie)",
    "quit": "save the movie and quit",
}
RETROPAD = ("B", "Y", "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT", "A", "X", "L", "R", "L2", "R2", "L3", "R3")
KEYBOARD_PLAYERS = 2
_PLAYER = re.compile(r"player([1-8])$")
_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")


@dataclass(frozen=True, slots=True)
class Binding:
    """One key and what it does: a player's button, or a recorder action."""

    key: str  # pygame key name
    player: int  # 0-based; -1 for an action
    target: str  # button name, or action name
    origin: str  # "FILE:LINE", or "built-in"

    @property
    def what(self) -> str:
        return self.target if self.player < 0 else f"player {self.player + 1} {self.target}"


@dataclass(frozen=True, slots=True)
class Bindings:
    """Every key binding for one system (buttons in canonical order)."""

    system: System
    buttons: tuple[Binding, ...]
    actions: tuple[Binding, ...]

    def keys_of(self, player: int, target: str) -> list[str]:
        pool = self.actions if player < 0 else self.buttons
        return [b.key for b in pool if b.player == player and b.target == target]

    def resolve(self, key_code: Callable[[str], int]) -> tuple[dict[int, list[tuple[int, int]]], dict[int, str]]:
        """Key codes -> [(player, button index)] and key codes -> action; names checked here.

        `key_code` is pygame.key.key_code (ValueError for a name it does not know).
        """
        pads: dict[int, list[tuple[int, int]]] = {}
        actions: dict[int, Binding] = {}
        for b in self.actions:
            actions[_code(key_code, b)] = b
        for b in self.buttons:
            code = _code(key_code, b)
            if code in actions:
                other = actions[code]
                raise RetroToolError(
                    f"{b.origin}: key {b.key!r} is bound to {b.what} and to the {other.what} control "
                    f"({other.origin}); give one of them another key"
                )
            pads.setdefault(code, []).append((b.player, self.system.index(b.target)))
        return pads, {code: b.target for code, b in actions.items()}


def _code(key_code: Callable[[str], int], b: Binding) -> int:
    try:
        return key_code(b.key)
    except ValueError:
        raise RetroToolError(
            f"{b.origin}: unknown key name {b.key!r} (for {b.what}); key names are pygame's, "
            "e.g. 'a', 'up', 'return', 'right shift', 'f2'"
        ) from None


def user_file() -> Path | None:
    """The user's own bindings, if they have any: $XDG_CONFIG_HOME/retrotool/keys.toml."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = base / "retrotool" / "keys.toml"
    return path if path.is_file() else None


@functools.cache
def _defaults() -> tuple[dict[str, Any], str]:
    text = (resources.data_dir("record", "retrotool/record") / "keys.toml").read_text(encoding="utf-8")
    return tomllib.loads(text), text


def load(system: System, path: Path | None = None) -> Bindings:
    """The bindings for `system`: the defaults, with `path` (or the user's file) laid over them."""
    default, default_text = _defaults()
    layers: list[tuple[dict[str, Any], str, str]] = [(default, default_text, "built-in")]
    path = path or user_file()
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            layers.append((tomllib.loads(text), text, str(path)))
        except OSError as e:
            raise RetroToolError(f"cannot read the key bindings {path}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise RetroToolError(f"{path}: not valid TOML ({e})") from None
    for doc, text, origin in layers:
        _check_sections(doc, text, origin)
    actions = _actions(layers)
    buttons = [b for p in range(KEYBOARD_PLAYERS) for b in _player(system, p, layers)]
    return Bindings(system, tuple(buttons), tuple(actions))


def _check_sections(doc: Mapping[str, Any], text: str, origin: str) -> None:
    for section, value in doc.items():
        where = _where(origin, text, section)
        if section == "hotkeys":
            for action in _table(value, section, where):
                if action not in ACTIONS:
                    raise RetroToolError(
                        f"{_where(origin, text, section, action)}: unknown control {action!r}; "
                        f"controls: {', '.join(ACTIONS)}"
                    )
            continue
        if section != "retropad":
            try:
                systems.get(section)
            except UnknownSystemError:
                raise RetroToolError(
                    f"{where}: unknown section [{section}]; use [hotkeys], [retropad.player1] "
                    f"or [SYSTEM.player1] with SYSTEM one of {', '.join(systems.names())}"
                ) from None
        for player in _table(value, section, where):
            if not _PLAYER.match(player):
                raise RetroToolError(f"{_where(origin, text, section)}: [{section}.{player}] must be player1 .. player8")


def _table(value: Any, section: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RetroToolError(f"{where}: {section} must be a table ([{section}] ...)")
    return value


def _keys(value: Any, where: str) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise RetroToolError(f"{where}: a binding is a key name or a list of key names, not {value!r}")
    return [n.lower() for n in names]


def _actions(layers: list[tuple[dict[str, Any], str, str]]) -> list[Binding]:
    chosen: dict[str, list[Binding]] = {}
    for doc, text, origin in layers:
        for action, value in doc.get("hotkeys", {}).items():
            where = _where(origin, text, "hotkeys", action)
            chosen[action] = [Binding(k, -1, action, where) for k in _keys(value, where)]
    return [b for bs in chosen.values() for b in bs]


def _player(system: System, player: int, layers: list[tuple[dict[str, Any], str, str]]) -> list[Binding]:
    """A player's button bindings: the system's sections first, then the RetroPad roles."""
    section = f"player{player + 1}"
    own: dict[str, list[Binding]] = {}
    by_role: dict[str, list[Binding]] = {}
    for doc, text, origin in layers:
        for name, table in doc.items():
            if name.lower() == system.name.lower():
                for button, value in table.get(section, {}).items():
                    where = _where(origin, text, f"{name}.{section}", button)
                    if button.upper() not in system.buttons:
                        raise RetroToolError(f"{where}: {system.name} has no button {button!r}; buttons: {' '.join(system.buttons)}")
                    own[button.upper()] = [Binding(k, player, button.upper(), where) for k in _keys(value, where)]
        for role, value in doc.get("retropad", {}).get(section, {}).items():
            where = _where(origin, text, f"retropad.{section}", role)
            if role.upper() not in RETROPAD:
                raise RetroToolError(f"{where}: the RetroPad has no button {role!r}; buttons: {' '.join(RETROPAD)}")
            by_role[role.upper()] = [Binding(k, player, role.upper(), where) for k in _keys(value, where)]
    out: list[Binding] = []
    for button, joypad_id in zip(system.buttons, system.joypad_ids):
        if button in own:
            out.extend(own[button])
        else:
            out.extend(Binding(b.key, player, button, b.origin) for b in by_role.get(RETROPAD[joypad_id], []))
    return out


def _where(origin: str, text: str, section: str, key: str | None = None) -> str:
    """'FILE:LINE' of `key` in `[section]` (or of the section itself); built-in data says so."""
    if origin == "built-in":
        return "built-in key bindings"
    current, header_line = None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).replace('"', "").replace(" ", "")
            if not header_line and (current == section or current.startswith(section + ".")):
                header_line = number
            continue
        if current == section and key is not None and re.match(rf'^\s*"?{re.escape(key)}"?\s*=', line):
            return f"{origin}:{number}"
    return f"{origin}:{header_line or 1}"
