"""JSON files retrotool reads, checked against a schema written once instead of field by field.

A schema is a tree of the kinds below (`Obj`, `MapOf`, `ListOf`, `Str`,
`Int`, `Num`, `Bool`, `Maybe`, `ANY`); `load` reads a file with a size
bound (checked before reading), parses it (too deep a nesting is an
error, not a RecursionError; NaN and Infinity are refused) and checks it,
so that what reaches the code has the types it expects. Every refusal is
one error naming the file and the key path (`scenario.json:
reward.variables.score.reward: expected a finite number, got '1e400'`).
Keys a schema does not name are left alone, as stable-retro ignores them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from retrotool import paths
from retrotool.errors import ContentError, RetroToolError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Schema(Protocol):
    """Any of the kinds below: checks a value found at `where` (a key path)."""

    def check(self, value: Any, where: str) -> None: ...


class _Refused(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where, self.problem = where, problem


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True, slots=True)
class Int:
    """An integer (not a bool) in [lo, hi]."""

    lo: int | None = None
    hi: int | None = None

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Refused(where, f"expected an integer, got {_show(value)}")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise _Refused(where, f"{_show(value)} is outside {self.lo}..{self.hi}")


@dataclass(frozen=True, slots=True)
class Num:
    """A finite number (an integer too, but not a bool)."""

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _Refused(where, f"expected a number, got {_show(value)}")
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
        if not finite:
            raise _Refused(where, f"expected a finite number, got {_show(value)}")


@dataclass(frozen=True, slots=True)
class Str:
    """A string, matching `pattern` (whole) or one of `choices` when given; `what` says in words what matches."""

    pattern: re.Pattern[str] | None = None
    choices: tuple[str, ...] = ()
    max_len: int = 4096
    what: str = ""

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise _Refused(where, f"expected a string, got {_show(value)}")
        if len(value) > self.max_len:
            raise _Refused(where, f"a string of {len(value)} characters, more than {self.max_len}")
        if self.choices and value not in self.choices:
            raise _Refused(where, f"{_show(value)} is not one of {', '.join(self.choices)}")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise _Refused(where, f"{_show(value)} is not {self.what or 'of the form ' + self.pattern.pattern}")


@dataclass(frozen=True, slots=True)
class Bool:
    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, bool):
            raise _Refused(where, f"expected true or false, got {_show(value)}")


@dataclass(frozen=True, slots=True)
class Anything:
    """A value retrotool does not read (kept for stable-retro's sake)."""

    def check(self, value: Any, where: str) -> None:
        return


ANY = Anything()


@dataclass(frozen=True, slots=True)
class Maybe:
    """`inner`, or null."""

    inner: Schema

    def check(self, value: Any, where: str) -> None:
        if value is not None:
            self.inner.check(value, where)


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Schema
    max_items: int = 100_000

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise _Refused(where, f"expected a list, got {_show(value)}")
        if len(value) > self.max_items:
            raise _Refused(where, f"a list of {len(value)} items, more than {self.max_items}")
        for i, item in enumerate(value):
            self.item.check(item, f"{where}[{i}]")


def _key(where: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


@dataclass(frozen=True, slots=True)
class MapOf:
    """An object of any keys, each value a `value`."""

    value: Schema
    max_items: int = 100_000

    def check(self, doc: Any, where: str) -> None:
        if not isinstance(doc, dict):
            raise _Refused(where, f"expected an object, got {_show(doc)}")
        if len(doc) > self.max_items:
            raise _Refused(where, f"an object of {len(doc)} keys, more than {self.max_items}")
        for key, value in doc.items():
            self.value.check(value, _key(where, key))


@dataclass(frozen=True, slots=True)
class Obj:
    """An object whose named keys have the given kinds; `required` ones must be there, others are left alone."""

    fields: Mapping[str, Schema]
    required: frozenset[str] = field(default_factory=frozenset)

    def check(self, doc: Any, where: str) -> None:
        if not isinstance(doc, dict):
            raise _Refused(where, f"expected an object, got {_show(doc)}")
        for key in sorted(self.required - doc.keys()):
            raise _Refused(_key(where, key), "missing")
        for key, kind in self.fields.items():
            if key in doc:
                kind.check(doc[key], _key(where, key))


def check(doc: Any, schema: Schema, source: str | Path, error: type[RetroToolError] = ContentError) -> Any:
    """`doc` unchanged when it fits `schema`, else `error` naming `source` and the key path."""
    try:
        schema.check(doc, "")
    except _Refused as e:
        where = f"{e.where}: " if e.where else ""
        raise error(f"{source}: {where}{e.problem}") from None
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def load(
    path: Path, schema: Schema, *, max_bytes: int, what: str = "file", error: type[RetroToolError] = ContentError,
) -> Any:
    """A JSON file read (at most `max_bytes`, checked first), parsed and checked against `schema`."""
    raw = paths.read_bounded(path, max_bytes, what, error)
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise error(f"{path}: its values are nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise error(f"{path}: cannot read JSON ({e})") from None
    return check(doc, schema, path, error)
