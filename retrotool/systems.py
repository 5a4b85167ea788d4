"""Per-system facts (buttons, mnemonics, platform ids, cores, RAM) loaded from data.

The facts live as one JSON file per system in ``libretro_cores/systems/`` (installed
as ``retrotool/_systems/``) so that adding a system means adding data, not code.
Nothing is read at import time; the first lookup loads and validates every file
once (cached).

JSON schema (``"schema": 1``)::

    {
      "schema": 1,
      "name": "Genesis",                 # stable-retro core key = retrotool's system name
      "sr_platform": "GEN",              # Header.txt "Platform" stable-retro writes
      "stable_retro": false,             # optional (default true): false for a system stable-retro lacks
      "max_players": 2,                  # pads retrotool drives on this system
      "extensions": ["md", "gen"],       # ROM extensions, lower case, no dot; first = import name
      "cores": ["genesis_plus_gx"],      # libretro core base names, preferred first
      "buttons": [                       # stable-retro's `buttons` array, null gaps removed, then any
                                         # button the cores have that stable-retro lacks (PCE MODE)
        {"name": "B",                    #   canonical name (stable-retro's spelling)
         "id": 0,                        #   libretro joypad id = index in stable-retro's array
         "sr": ["B", "B"],               #   key-line name and character stable-retro records, or
         "sr_extra": ["Pause", "p"],     #   ... our extra column for a button stable-retro drops;
                                         #   its character is outside stable-retro's keymap, so
                                         #   stable-retro ignores it
         "bizhawk": ["B1", "1"],         #   BizHawk control name (without "P<n> ") and mnemonic
         "bizhawk_aliases": ["I"]}       #   other BizHawk names for it (optional)
      ],
      "bizhawk": {
        "platform": "GEN",               # BizHawk VSystemID
        "player_prefix": true,           # false: one unprefixed group for player 1 (GB, GBA)
        "buttons": ["UP", "DOWN"],       # canonical names in BizHawk's player-group order
        "console": [["Power", "P"]],     # console controls in order, with mnemonics
        "console_buttons": {"Pause": "PAUSE"},  # console control that is player 1's button
        "axes": ["Tilt X"]               # analog controls written before the buttons
      },
      "sr_pad": ["B", "A", null],        # optional: stable-retro's env button array (index = joypad id,
                                         # null for gaps): its MultiBinary actions, bit i = joypad id i
      "actions": [[[], ["UP"]]],         # optional: stable-retro's default allowed combos per group,
                                         # used when a scenario lists none (FILTERED, DISCRETE)
      "ram": {"rambase": 16711680, "byte_swap": true}  # formats.md §7, data for later use
    }
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrotool import resources
from retrotool.errors import RetroToolError, UnknownSystemError

__all__ = [
    "MAX_ROM_BYTES", "BizHawkLayout", "Button", "RamInfo", "System", "for_extension", "from_platform", "get", "names",
]

MAX_ROM_BYTES = 64 << 20  # more than any ROM of these systems (the largest, GBA's, are 32 MiB): larger is refused unread


@dataclass(frozen=True, slots=True)
class Button:
    """One pad button: its names and characters in each dialect."""

    name: str
    joypad_id: int
    sr_name: str
    sr_char: str
    sr_recorded: bool  # False: stable-retro drops it; sr_name/sr_char are our extra column
    bh_name: str
    bh_char: str
    bh_aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BizHawkLayout:
    """BizHawk's default input layout; indices point into System.buttons."""

    platform: str
    player_prefix: bool
    buttons: tuple[int, ...]
    console: tuple[tuple[str, str], ...]
    console_buttons: tuple[tuple[str, int], ...]
    axes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RamInfo:
    """Where stable-retro places system RAM when the core reports no memory map.

    `map_block`: for a core that exposes no SYSTEM_RAM (Debian's mGBA), the
    start address of the memory-map block that is the system RAM (the one
    stable-retro's build of that core exposes as SYSTEM_RAM).
    """

    rambase: int | None
    byte_swap: bool
    map_block: int | None = None


@dataclass(frozen=True, slots=True)
class System:
    """Everything retrotool knows about one console, as immutable values."""

    name: str
    buttons: tuple[str, ...]
    joypad_ids: tuple[int, ...]
    button_info: tuple[Button, ...]
    max_players: int
    extensions: tuple[str, ...]
    cores: tuple[str, ...]
    sr_platform: str
    bizhawk: BizHawkLayout
    ram: RamInfo
    stable_retro: bool = True  # stable-retro emulates this system (the test system: no)
    sr_pad: tuple[str | None, ...] = ()  # stable-retro's env buttons by joypad id (None: a gap)
    actions: tuple[tuple[tuple[str, ...], ...], ...] = ()  # stable-retro's default action groups

    @property
    def bizhawk_platform(self) -> str:
        """BizHawk's platform id (VSystemID) for this system."""
        return self.bizhawk.platform

    def index(self, button: str) -> int:
        """Position of a canonical button name (case-insensitive) in ``buttons``."""
        upper = button.upper()
        for i, name in enumerate(self.buttons):
            if name == upper:
                return i
        raise KeyError(f"system {self.name} has no button {button!r}; buttons: {' '.join(self.buttons)}")

    def masks(self, buttons_uint8: np.ndarray) -> np.ndarray:
        """Pack ``[..., n_buttons]`` pressed flags into libretro joypad bit masks (uint16)."""
        pressed = np.asarray(buttons_uint8)
        if pressed.shape[-1:] != (len(self.buttons),):
            raise ValueError(f"{self.name} has {len(self.buttons)} buttons; got an array of shape {pressed.shape}")
        masks: np.ndarray = ((pressed != 0).astype(np.uint16) * _weights(self.joypad_ids)).sum(axis=-1, dtype=np.uint16)
        return masks

    def from_masks(self, masks: np.ndarray) -> np.ndarray:
        """Unpack libretro joypad masks into ``[..., n_buttons]`` uint8 flags; dead bits are ignored."""
        bits = np.asarray(masks, dtype=np.uint16)[..., np.newaxis]
        ids = np.asarray(self.joypad_ids, dtype=np.uint16)
        return ((bits >> ids) & 1).astype(np.uint8)


@functools.lru_cache(maxsize=64)
def _weights(joypad_ids: tuple[int, ...]) -> np.ndarray:
    """Each button's bit in a joypad mask (cached: an agent packs one row per step)."""
    weights = np.left_shift(np.uint16(1), np.asarray(joypad_ids, dtype=np.uint16))
    weights.flags.writeable = False
    return weights


def _button(raw: Mapping[str, Any]) -> Button:
    recorded = "sr" in raw
    sr_name, sr_char = raw["sr"] if recorded else raw["sr_extra"]
    bh_name, bh_char = raw["bizhawk"]
    return Button(
        name=str(raw["name"]),
        joypad_id=int(raw["id"]),
        sr_name=str(sr_name),
        sr_char=str(sr_char),
        sr_recorded=recorded,
        bh_name=str(bh_name),
        bh_char=str(bh_char),
        bh_aliases=tuple(raw.get("bizhawk_aliases", ())),
    )


def _system(raw: Mapping[str, Any]) -> System:
    info = tuple(_button(b) for b in raw["buttons"])
    names = tuple(b.name for b in info)
    bh = raw["bizhawk"]
    layout = BizHawkLayout(
        platform=str(bh["platform"]),
        player_prefix=bool(bh["player_prefix"]),
        buttons=tuple(names.index(n) for n in bh["buttons"]),
        console=tuple((str(n), str(c)) for n, c in bh["console"]),
        console_buttons=tuple((str(k), names.index(v)) for k, v in bh["console_buttons"].items()),
        axes=tuple(bh["axes"]),
    )
    return System(
        name=str(raw["name"]),
        buttons=names,
        joypad_ids=tuple(b.joypad_id for b in info),
        button_info=info,
        max_players=int(raw["max_players"]),
        extensions=tuple(str(e).lower() for e in raw["extensions"]),
        cores=tuple(raw["cores"]),
        sr_platform=str(raw["sr_platform"]),
        bizhawk=layout,
        ram=RamInfo(rambase=raw["ram"]["rambase"], byte_swap=bool(raw["ram"]["byte_swap"]),
                    map_block=raw["ram"].get("map_block")),
        stable_retro=bool(raw.get("stable_retro", True)),
        sr_pad=tuple(str(b) if b is not None else None for b in raw.get("sr_pad", ())),
        actions=tuple(tuple(tuple(str(b) for b in combo) for combo in group) for group in raw.get("actions", ())),
    )


def _check(system: System) -> None:
    """Refuse data that would make the codec ambiguous (a packaging bug, caught early)."""
    problems = []
    if list(system.joypad_ids) != sorted(set(system.joypad_ids)) or max(system.joypad_ids) > 15:
        problems.append("joypad ids must be unique, ascending and below 16")
    sr_chars = [b.sr_char for b in system.button_info]
    if len(set(sr_chars)) != len(sr_chars) or "." in sr_chars or "|" in sr_chars:
        problems.append("stable-retro characters must be unique and not '.' or '|'")
    if any(len(b.sr_char) != 1 or len(b.bh_char) != 1 for b in system.button_info):
        problems.append("characters must be single characters")
    if not system.bizhawk.player_prefix and sorted(system.bizhawk.buttons) != list(range(len(system.buttons))):
        problems.append("an unprefixed BizHawk group must list every button")
    if any(n is not None and (n not in system.buttons or system.joypad_ids[system.buttons.index(n)] != i)
           for i, n in enumerate(system.sr_pad)):
        problems.append("sr_pad must name each button at its joypad id")
    spellings: dict[str, int] = {}
    for i, b in enumerate(system.button_info):
        for spelling in {s.lower() for s in (b.name, b.sr_name, b.bh_name, *b.bh_aliases)}:
            if spellings.setdefault(spelling, i) != i:
                problems.append(f"the name {spelling!r} means two buttons")
    if problems:
        raise RetroToolError(f"system data for {system.name} is invalid: {'; '.join(problems)}")


@functools.lru_cache(maxsize=1)
def _load() -> Mapping[str, System]:
    """Read every system file once; keyed by lower-case name."""
    directory = resources.data_dir("_systems", "libretro_cores/systems")
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not files:
        raise RetroToolError(f"no system data found (looked in {directory}); the installation is incomplete")
    table: dict[str, System] = {}
    for path in files:
        try:
            system = _system(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise RetroToolError(f"system data file {path} is invalid: {exc!r}") from exc
        _check(system)
        table[system.name.lower()] = system
    return table


def names() -> tuple[str, ...]:
    """Canonical names of every known system, sorted."""
    return tuple(sorted(s.name for s in _load().values()))


def get(name: str) -> System:
    """The system called ``name`` (case-insensitive), e.g. ``"Genesis"``."""
    system = _load().get(name.lower())
    if system is None:
        raise UnknownSystemError(f"unknown system {name!r}; known systems: {', '.join(names())}")
    return system


@functools.lru_cache(maxsize=1)
def _platform_table() -> Mapping[str, System]:
    table: dict[str, System] = {}
    for system in _load().values():
        for key in (system.name, system.sr_platform, system.bizhawk.platform):
            table.setdefault(key.lower(), system)
    return table


def from_platform(value: str) -> System:
    """The system a Header.txt ``Platform`` names: a stable-retro string or key, or a BizHawk id."""
    system = _platform_table().get(value.strip().lower())
    if system is None:
        known = sorted({k for s in _load().values() for k in (s.sr_platform, s.bizhawk.platform)})
        raise UnknownSystemError(f"unknown platform {value!r}; known platform ids: {', '.join(known)}")
    return system


def for_extension(ext: str) -> tuple[System, ...]:
    """Systems whose ROMs may carry extension ``ext`` (with or without the dot), in name order."""
    wanted = ext.lower().lstrip(".")
    ordered = sorted(_load().values(), key=lambda s: s.name)
    return tuple(s for s in ordered if wanted in s.extensions)
