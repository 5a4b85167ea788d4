"""The ``retrotool.json`` entry, checked against one declarative schema before anything uses it.

A movie comes from strangers, and callers take its meta at its word: ``core`` is
handed to the core search (so it must be a core's name, never a path that would
load any library), ``rom_name`` is looked up beside the movie (so it must be a
plain file name), ``options`` go to the core as strings, checkpoints are compared
as hex digests. Checking the whole document once, here, gives every mistake the
same kind of message (``meta.options.x: must be a string``) and leaves no field
unchecked. Keys the schema does not know are kept verbatim, within a size bound.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CORE_NAME", "DOCUMENT", "DOCUMENT_LIMIT", "SchemaError", "validate"]

# a libretro core's base name (genesis_plus_gx, mesen-s): no '/', no '.', so never a path nor a file name
CORE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+-]{0,63}")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FILE_NAME = re.compile(r"[^/\\\x00-\x1f]{1,255}")  # one path component; '.' and '..' are refused apart
_SYSTEM = re.compile(r"[A-Za-z0-9]{1,32}")
_NO_CONTROL = re.compile(r"[^\x00-\x1f]*")
MAX_FRAME = 1 << 40
DOCUMENT_LIMIT = 4 << 20  # bytes of retrotool.json: ~20,000 checkpoints, a few MB once parsed
UNKNOWN_BYTES = 64 << 10  # room for keys a newer retrotool may add, per object


class SchemaError(Exception):
    """Where in the document (``meta.checkpoints[3].frame``) and what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'the document'}: {problem}")


class Spec:
    """One node of the schema: checks a parsed JSON value found at ``path``."""

    def check(self, value: Any, path: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Spec):
    """A string of at most ``max_len`` characters, matching ``pattern`` if given; ``null`` too if nullable."""

    pattern: re.Pattern[str] | None = None
    max_len: int = 256
    nullable: bool = False
    what: str = ""

    def check(self, value: Any, path: str) -> None:
        if value is None and self.nullable:
            return
        if not isinstance(value, str):
            raise SchemaError(path, f"must be a string, not {_kind(value)}")
        if len(value) > self.max_len:
            raise SchemaError(path, f"is {len(value)} characters long, more than {self.max_len}")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise SchemaError(path, f"{_show(value)} is not {self.what or 'allowed here'}")


@dataclass(frozen=True)
class FileName(Str):
    """A plain file name: one path component, so a lookup cannot leave its folder."""

    pattern: re.Pattern[str] | None = _FILE_NAME
    max_len: int = 255
    what: str = "a plain file name (no '/', '\\' or control characters)"

    def check(self, value: Any, path: str) -> None:
        super().check(value, path)
        if isinstance(value, str) and not value.strip("."):
            raise SchemaError(path, f"{_show(value)} is not {self.what}")


@dataclass(frozen=True)
class Int(Spec):
    """An integer (not a bool, not a float) from ``low`` to ``high``."""

    low: int = 0
    high: int = MAX_FRAME

    def check(self, value: Any, path: str) -> None:
        if type(value) is not int:
            raise SchemaError(path, f"must be an integer, not {_kind(value)}")
        if not self.low <= value <= self.high:
            raise SchemaError(path, f"{value if abs(value) < 10**20 else 'the number'} is not in {self.low}..{self.high}")


@dataclass(frozen=True)
class ListOf(Spec):
    """A list of at most ``max_items`` items, each checked by ``item``."""

    item: Spec
    max_items: int

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise SchemaError(path, f"must be a list, not {_kind(value)}")
        if len(value) > self.max_items:
            raise SchemaError(path, f"has {len(value)} items, more than {self.max_items}")
        for index, item in enumerate(value):
            self.item.check(item, f"{path}[{index}]")


@dataclass(frozen=True)
class MapOf(Spec):
    """An object of at most ``max_items`` entries, keys checked by ``key``, values by ``value``."""

    key: Str
    value: Spec
    max_items: int

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaError(path, f"must be an object, not {_kind(value)}")
        if len(value) > self.max_items:
            raise SchemaError(path, f"has {len(value)} entries, more than {self.max_items}")
        for key, item in value.items():
            self.key.check(key, f"{path} key {_show(key)}")
            self.value.check(item, f"{path}.{key}")


@dataclass(frozen=True)
class Obj(Spec):
    """An object with known ``fields`` (those in ``required`` must be there) and size-bounded unknown keys."""

    fields: Mapping[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)
    unknown_bytes: int = UNKNOWN_BYTES

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaError(path, f"must be an object, not {_kind(value)}")
        missing = sorted(self.required - value.keys())
        if missing:
            raise SchemaError(path, f"lacks {', '.join(missing)}")
        unknown = {k: v for k, v in value.items() if k not in self.fields}
        if unknown and len(json.dumps(unknown)) > self.unknown_bytes:
            raise SchemaError(path, f"holds more than {self.unknown_bytes} bytes of keys retrotool does not know")
        for key, spec in self.fields.items():
            if key in value:
                spec.check(value[key], f"{path}.{key}" if path else key)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _show(value: str, width: int = 40) -> str:
    return repr(value if len(value) <= width else value[:width] + "…")


_TEXT = Str(_NO_CONTROL, what="text without control characters", nullable=True)
CHECKPOINT = Obj(
    {
        "frame": Int(0, MAX_FRAME),
        "ram_sha256": Str(_HEX64, 64, what="64 lowercase hex digits"),
        "screen_sha256": Str(_HEX64, 64, what="64 lowercase hex digits"),
    },
    required=frozenset({"frame", "ram_sha256", "screen_sha256"}),
    unknown_bytes=256,
)
KEYFRAMES = Obj(  # the index of the states in the keyframes entry (movie/keyframes.py reads it)
    {
        "codec": Str(re.compile(r"[a-z0-9-]{1,32}"), 32, what="a codec name"),
        "full_every": Int(1, 1 << 20),
        "core": _TEXT,  # the core's own name for itself (compared, never searched for)
        "core_version": _TEXT,
        "state_size": Int(1, 1 << 30),
        "frames": ListOf(Int(0, MAX_FRAME), 1 << 20),
        "sizes": ListOf(Int(0, 1 << 30), 1 << 20),
        "sha256": ListOf(Str(_HEX64, 64, what="64 lowercase hex digits"), 1 << 20),
    },
    required=frozenset({"codec", "full_every", "core", "core_version", "state_size", "frames", "sizes", "sha256"}),
)
META = Obj(
    {
        "core": Str(CORE_NAME, 64, what="a core name such as genesis_plus_gx (a movie never names a path)"),
        "core_library": _TEXT,
        "core_version": _TEXT,
        "content_sha1": Str(_HEX40, 40, nullable=True, what="40 lowercase hex digits"),
        "rom_name": FileName(nullable=True),
        "options": MapOf(Str(_NO_CONTROL, 256, what="an option name"), Str(_NO_CONTROL, 4096), 256),
        "checkpoints": ListOf(CHECKPOINT, 1 << 20),
        "checkpoint_every": Int(1, MAX_FRAME),
        "keyframe_every": Int(1, MAX_FRAME),
        "keyframes": KEYFRAMES,
        "recorder": _TEXT,
        "system": Str(_SYSTEM, 32, what="a system name"),
    }
)
DOCUMENT = Obj(
    {"format": Int(1, 1), "system": Str(_SYSTEM, 32, what="a system name"), "meta": META},
)


def validate(doc: Any) -> None:
    """Raise SchemaError unless ``doc`` (parsed JSON) is a retrotool.json document."""
    DOCUMENT.check(doc, "")
