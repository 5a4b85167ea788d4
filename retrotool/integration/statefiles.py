"""Savestate files: stable-retro's (a core's state, gzipped), raw core states, and other emulators' formats.

A libretro core's state carries no header that says whose it is, but each
core writes its own recognisable bytes first, often with its format's
version and sometimes which game the state is of; those facts are data
(`libretro_cores/cores/states.json`). `misfits` compares a state with a
fresh one the target core made of the target game, and says in words why the
first will not load where the second came from.
"""

from __future__ import annotations

import functools
import gzip
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrotool import outputs, resources
from retrotool.errors import StateError

RETROARCH = b"RASTATE"


@dataclass(frozen=True, slots=True)
class Maker:
    """A core (or another emulator) recognised from a state's bytes."""

    core: str | None  # None: another emulator, whose states no libretro core loads
    emulator: str
    spec: dict[str, Any]

    def version(self, data: bytes) -> bytes | None:
        where = self.spec.get("version")
        return data[where["offset"] : where["offset"] + where["length"]] if where else None

    def game(self, data: bytes) -> tuple[bytes, ...]:
        """The fields that say which game a state is of (none when the core writes none)."""
        return tuple(data[s["offset"] : s["offset"] + s["length"]] for s in self.spec.get("game") or [])


@dataclass(frozen=True, slots=True)
class StateFile:
    """A state as read from a file: the core's bytes and the container they came in."""

    path: Path
    data: bytes
    container: str  # "gzip" (stable-retro's), "raw", "RetroArch"
    stored: int  # bytes on disk


@functools.cache
def _table() -> dict[str, Any]:
    path = resources.data_dir("_cores", "libretro_cores/cores") / "states.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _matches(magic: dict[str, Any], data: bytes) -> bool:
    want = magic["text"].encode() if "text" in magic else bytes.fromhex(magic["hex"])
    at = magic["offset"]
    if data[at : at + len(want)] != want or len(data) < magic.get("min_size", 0):
        return False
    return "contains" not in magic or magic["contains"].encode() in data[:256]


def maker(data: bytes) -> Maker | None:
    """Who made a state, from its first bytes; None when nothing in the table fits."""
    table = _table()
    for spec in table["cores"]:
        if _matches(spec["magic"], data):
            return Maker(spec["core"], spec["emulator"], spec)
    for spec in table["foreign"]:
        if _matches(spec["magic"], data):
            return Maker(None, spec["emulator"], spec)
    return None


def read(path: Path) -> StateFile:
    """A state file of any container; another emulator's format is refused, naming it."""
    try:
        stored = path.read_bytes()
    except OSError as e:
        raise StateError(f"cannot read state {path}: {e.strerror}") from None
    data, container = stored, "raw"
    if stored[:2] == b"\x1f\x8b":
        try:
            data, container = gzip.decompress(stored), "gzip"
        except (OSError, EOFError) as e:
            raise StateError(f"state {path} is a damaged gzip file: {e}") from None
    if data.startswith(RETROARCH):
        data, container = _unwrap_retroarch(path, data), "RetroArch"
    found = maker(data)
    if found is not None and found.core is None:
        raise StateError(f"{path} is a savestate of {found.emulator}, another emulator: no libretro core can load it; "
                         "make the state here instead (`retrotool state save MOVIE --frame N`)")
    if not data:
        raise StateError(f"state {path} is empty")
    return StateFile(path, data, container, len(stored))


def _unwrap_retroarch(path: Path, data: bytes) -> bytes:
    """The core's state inside a RetroArch state file (blocks of 4-byte id, little-endian size, data)."""
    at = 8
    while at + 8 <= len(data):
        kind, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if kind == b"MEM " and at + 8 + size <= len(data):
            return data[at + 8 : at + 8 + size]
        if kind == b"END " or size > len(data):
            break
        at += 8 + ((size + 7) & ~7)
    raise StateError(f"{path} is a RetroArch state without the core's state in it")


def misfits(state: bytes, fresh: bytes, core: str) -> list[str]:
    """Why `state` will not load where `fresh` (the target core's state of the target game) was made; [] if no reason.

    Checked: the core that made it, the version of its format, the game it
    is of (where the core writes that), and its size.
    """
    mine, theirs = maker(state), maker(fresh)
    if mine is not None and mine.core is not None and mine.core != core:
        return [f"it was made by {mine.emulator} ({mine.core}), and this game runs on {core} here"]
    reasons = []
    if mine is not None and theirs is not None and mine.core == theirs.core:
        v1, v2 = mine.version(state), theirs.version(fresh)
        if v1 != v2:
            reasons.append(f"it is a {mine.emulator} state of version {show(v1)}, and the {core} here writes "
                           f"version {show(v2)} (another build of the core)")
        g1, g2 = mine.game(state), theirs.game(fresh)
        if g1 != g2:
            mine_text, theirs_text = ", ".join(map(show, g1)), ", ".join(map(show, g2))
            reasons.append(f"it is a state of another game ({mine_text}; this game's states have {theirs_text})")
    if len(state) != len(fresh):
        reasons.append(f"it is {len(state):,} bytes and the {core} here makes {len(fresh):,}-byte states of this game "
                       "(another core version, or another game)")
    return reasons


def show(raw: bytes | None) -> str:
    """Bytes of a state field for a message: text when they are text, else hex."""
    if raw is None:
        return "?"
    text = raw.rstrip(b"\0")
    return text.decode() if text and all(32 <= b < 127 for b in text) else raw.hex()


def write(path: Path, data: bytes, *, force: bool = False) -> Path:
    """A state file as stable-retro reads it: the core's bytes, gzipped."""
    outputs.write_atomic(path, lambda f: f.write(gzip.compress(data, compresslevel=6, mtime=0)), force=force)
    return path
