"""The in-memory movie: one immutable value whatever dialect it was read from.

A movie is a start anchor (a savestate, or power-on) plus one row of buttons per
emulator frame. Row k is the input of frame k after the start. What "the start"
is and whether row 0 is applied is the movie's *convention* (see convention.py):
stable-retro's (the frames its ``make()`` runs come first, and row 0 is the frame
its ``reset()`` runs, whose buttons are never applied) or BizHawk's (row 0 is the
first frame after power-on or the state, and is applied).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from retrotool import systems
from retrotool.errors import MovieFormatError

__all__ = ["Checkpoint", "Convention", "Movie", "StateFormat"]

StateFormat = Literal["libretro", "bizhawk"]
Convention = Literal["stable-retro", "bizhawk"]


RAM_ENTRY = "retrotool-ram.bin"  # the zip entry holding the RAM of every checkpoint (sinks/checkpoints.pack_rams)
MAX_CHECKPOINT_RAM = 512 << 10  # bytes of one checkpoint's RAM: above any system's RAM observation (GBA: 288 KiB)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Hashes of what a replay must reproduce at one frame (hex SHA-256 of RAM and RGB24 screen)."""

    frame: int
    ram_sha256: str
    screen_sha256: str

    def to_json(self) -> dict[str, Any]:
        """The form stored under ``meta["checkpoints"]``."""
        return {"frame": self.frame, "ram_sha256": self.ram_sha256, "screen_sha256": self.screen_sha256}

    @classmethod
    def from_json(cls, raw: Any) -> Checkpoint:
        """Parse one stored checkpoint; malformed data is a movie-format problem."""
        try:
            frame, ram, screen = raw["frame"], raw["ram_sha256"], raw["screen_sha256"]
        except (KeyError, TypeError) as exc:
            raise MovieFormatError(f"retrotool.json: malformed checkpoint {_brief(raw)}") from exc
        if type(frame) is not int or frame < 0 or not isinstance(ram, str) or not isinstance(screen, str):
            raise MovieFormatError(f"retrotool.json: malformed checkpoint {_brief(raw)}")
        return cls(frame=frame, ram_sha256=ram, screen_sha256=screen)


def _brief(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width] + "…"


def _freeze(value: Any) -> Any:
    """Detach JSON-like data from the caller and make it immutable (dicts → proxies, lists → tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """The plain-JSON form of frozen meta."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _read_only(array: Any, dtype: type, ndim: int, what: str, owned: bool = False) -> np.ndarray:
    """A private read-only copy, so no caller can change a Movie after the fact.

    An ``owned`` array (one the codec has just made and shares with nobody) is kept
    as it is when it already has the right dtype and layout: copying a long movie's
    buttons would double the memory a read needs at its peak.
    """
    fits = isinstance(array, np.ndarray) and array.dtype == dtype and array.flags.c_contiguous
    out: np.ndarray = array if owned and fits else np.array(array, dtype=dtype, copy=True, order="C")
    if out.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions, got shape {out.shape}")
    if out.size and int(out.max()) > 1:
        raise ValueError(f"{what} must hold only 0 (released) and 1 (pressed)")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Movie:
    """Buttons ``uint8[frames, players, n_buttons]`` in the system's canonical order, plus anchor and extras.

    ``console`` holds console controls (BizHawk's Reset, Power, ...) per frame; columns
    that are never pressed carry no information and are dropped on construction, and
    the rest are sorted by name, so the same input compares equal whichever dialect
    and layout it came from. ``state_format`` only
    matters with a ``state``; power-on movies always carry ``"libretro"``. ``convention``
    says how the rows meet the start (see the module docstring). ``meta`` is
    retrotool's own JSON data (core, options, content SHA-1, checkpoints), stored in a
    ``retrotool.json`` entry that other readers ignore.

    ``_owned`` is for the codec alone: it says ``buttons``, ``console`` and ``meta`` were
    just made for this movie (meta parsed from JSON) and nothing else refers to them,
    so they need no copy.
    """

    system: str
    buttons: np.ndarray
    header: tuple[tuple[str, str], ...] = ()
    state: bytes | None = None
    state_format: StateFormat = "libretro"
    convention: Convention = "stable-retro"
    console: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    console_names: tuple[str, ...] = ()
    extras: tuple[tuple[str, bytes], ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    _owned: InitVar[bool] = False

    def __post_init__(self, _owned: bool) -> None:
        spec = systems.get(self.system)
        buttons = _read_only(self.buttons, np.uint8, 3, "buttons", _owned)
        frames, players, width = buttons.shape
        if width != len(spec.buttons):
            raise ValueError(f"{spec.name} has {len(spec.buttons)} buttons; buttons has shape {buttons.shape}")
        if not 1 <= players <= spec.max_players:
            raise ValueError(f"{spec.name} allows 1 to {spec.max_players} players, buttons has {players}")
        console, names = self._console(frames, _owned)
        if self.state_format not in ("libretro", "bizhawk"):
            raise ValueError(f"state_format must be 'libretro' or 'bizhawk', not {self.state_format!r}")
        if self.convention not in ("stable-retro", "bizhawk"):
            raise ValueError(f"convention must be 'stable-retro' or 'bizhawk', not {self.convention!r}")
        set_ = object.__setattr__
        set_(self, "system", spec.name)
        set_(self, "buttons", buttons)
        set_(self, "console", console)
        set_(self, "console_names", names)
        set_(self, "header", tuple((str(k), str(v)) for k, v in self.header))
        set_(self, "state", None if self.state is None else bytes(self.state))
        set_(self, "state_format", self.state_format if self.state is not None else "libretro")
        set_(self, "extras", tuple((str(n), bytes(d)) for n, d in self.extras))
        set_(self, "meta", _freeze(self.meta if _owned else json.loads(json.dumps(_thaw(self.meta)))))

    def _console(self, frames: int, owned: bool) -> tuple[np.ndarray, tuple[str, ...]]:
        names = tuple(str(n) for n in self.console_names)
        raw = self.console
        if not names and np.size(raw) == 0:
            raw = np.zeros((frames, 0), np.uint8)
        console = _read_only(raw, np.uint8, 2, "console", owned)
        if console.shape != (frames, len(names)):
            raise ValueError(f"console must have shape ({frames}, {len(names)}), got {console.shape}")
        if len(set(names)) != len(names):
            raise ValueError(f"console_names must be unique: {names}")
        keep = sorted((n, i) for i, n in enumerate(names) if console[:, i].any())
        if [i for _, i in keep] != list(range(len(names))):
            console = _read_only(console[:, [i for _, i in keep]], np.uint8, 2, "console")
            names = tuple(n for n, _ in keep)
        return console, names

    @property
    def frames(self) -> int:
        """Number of input rows (emulator frames)."""
        return int(self.buttons.shape[0])

    @property
    def players(self) -> int:
        """Number of pads recorded."""
        return int(self.buttons.shape[1])

    @property
    def checkpoints(self) -> tuple[Checkpoint, ...]:
        """Verification checkpoints stored in ``meta["checkpoints"]``."""
        stored = self.meta.get("checkpoints", ())
        if not isinstance(stored, tuple):  # frozen meta holds lists as tuples
            raise MovieFormatError(f"retrotool.json: meta.checkpoints must be a list, not {type(stored).__name__}")
        return tuple(Checkpoint.from_json(c) for c in stored)

    def masks(self) -> np.ndarray:
        """Buttons as libretro joypad masks, ``uint16[frames, players]``."""
        return systems.get(self.system).masks(self.buttons)

    def header_value(self, key: str, default: str | None = None) -> str | None:
        """The first Header.txt value for ``key``."""
        return next((v for k, v in self.header if k == key), default)

    def replace(self, **changes: Any) -> Movie:
        """A copy with some fields changed (validated like a new Movie)."""
        return dataclasses.replace(self, **changes)

    def with_meta(self, **entries: Any) -> Movie:
        """A copy whose meta has ``entries`` added or replaced."""
        return self.replace(meta={**_thaw(self.meta), **entries})

    def with_checkpoints(self, checkpoints: tuple[Checkpoint, ...]) -> Movie:
        """A copy carrying ``checkpoints`` (replacing any previous ones)."""
        return self.with_meta(checkpoints=[c.to_json() for c in checkpoints])

    def meta_json(self) -> dict[str, Any]:
        """``meta`` as plain, mutable JSON data."""
        result: dict[str, Any] = _thaw(self.meta)
        return result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Movie):
            return NotImplemented
        return (
            self.system == other.system
            and np.array_equal(self.buttons, other.buttons)
            and self.header == other.header
            and self.state == other.state
            and self.state_format == other.state_format
            and self.convention == other.convention
            and self.console_names == other.console_names
            and np.array_equal(self.console, other.console)
            and self.extras == other.extras
            and self.meta == other.meta
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: equal values, no stable hash

    def __repr__(self) -> str:
        state = "power-on" if self.state is None else f"{len(self.state)} B {self.state_format}"
        return (
            f"Movie(system={self.system!r}, frames={self.frames}, players={self.players}, "
            f"buttons=uint8{list(self.buttons.shape)}, state={state}, convention={self.convention}, "
            f"console={self.console_names}, "
            f"header={len(self.header)} keys, extras={[n for n, _ in self.extras]}, meta={sorted(self.meta)})"
        )
