"""A RAM search: candidates (an address and a type) narrowed step by step, like `git bisect`, kept in a small file.

The search starts with every address of the game's RAM under every type
asked for, and each step keeps the candidates that meet one condition at a
frame of the movie (values after that movie row ran, as `ram watch` and
`--trace` number them). A step that would keep none is refused and the
search stays as it was. Every step's candidate set is kept, so a step can be
undone. This module is pure: the frames' RAM comes in as `Evidence`.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from retrotool import outputs
from retrotool.errors import ContentError, SearchError
from retrotool.ram import codes
from retrotool.ram.layout import Layout

FORMAT = "retrotool-ram-search"
VERSION = 1
Kind = Literal["equals", "not-equals", "greater", "less", "increased", "decreased", "changed", "unchanged"]
VALUE_KINDS = ("equals", "not-equals", "greater", "less")
SINCE_KINDS = ("increased", "decreased", "changed", "unchanged")
_COMPARE = {
    "equals": np.equal, "not-equals": np.not_equal, "greater": np.greater, "less": np.less,
    "increased": np.greater, "decreased": np.less,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """What a step keeps. Value kinds compare the value at `frame` with `value`; the others look back to `since`.

    increased / decreased compare the values at `since` and `frame`;
    changed keeps values that differ at some frame from `since` to `frame`
    from their value at `since`, unchanged those that never do.
    """

    kind: Kind
    frame: int
    since: int | None = None
    value: int | None = None

    def describe(self) -> str:
        if self.kind in VALUE_KINDS:
            return f"{self.kind} {self.value} at frame {self.frame}"
        if self.kind in ("changed", "unchanged"):
            return f"{self.kind} from frame {self.since} through {self.frame}"
        return f"{self.kind} from frame {self.since} to {self.frame}"

    def frames(self) -> list[int]:
        """The frames whose RAM the step reads."""
        return sorted({self.frame, *([self.since] if self.since is not None else [])})

    def span(self) -> tuple[int, int] | None:
        """The frames over which changes are looked for (changed / unchanged), first and last."""
        return (int(self.since), self.frame) if self.kind in ("changed", "unchanged") and self.since is not None else None

    def check(self, frames: int) -> None:
        """Frames inside the movie, `since` before `frame`, a value where one is needed."""
        for name, f in (("--frame", self.frame), ("the frame to compare with", self.since)):
            if f is not None and not 0 <= f < frames:
                raise ContentError(f"{name} {f} is outside the movie, whose frames are 0 to {frames - 1}")
        if self.kind in SINCE_KINDS and (self.since is None or self.since >= self.frame):
            raise ContentError(f"'{self.kind}' compares with an earlier frame: {self.since} is not before {self.frame}")
        if self.kind in VALUE_KINDS and (self.value is None or not -(1 << 63) <= self.value < 1 << 63):
            raise ContentError(f"'{self.kind}' needs a value that fits in 64 bits, not {self.value}")


@dataclass(frozen=True, slots=True)
class Evidence:
    """The RAM a step reads: rows (address order) at frames, and per byte view, bytes that changed over the span."""

    rows: Mapping[int, np.ndarray]
    changed: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    what: str
    frame: int | None
    candidates: Mapping[str, np.ndarray]  # type code -> bool [address-order columns]

    @property
    def count(self) -> int:
        return sum(int(np.count_nonzero(m)) for m in self.candidates.values())


@dataclass(frozen=True, slots=True)
class Source:
    """The movie a search replays, and how: a search belongs to one movie, checked by its SHA-256."""

    movie: str
    sha256: str
    frames: int
    core: str | None = None
    rom: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    address: int
    type: str
    values: tuple[int, ...]  # at the frames asked for


class Search:
    """The steps so far over one movie's RAM (see the module docstring)."""

    def __init__(self, source: Source, layout: Layout, types: Sequence[str], steps: Sequence[Step]) -> None:
        self.source, self.layout, self.types, self.steps = source, layout, tuple(types), list(steps)

    @classmethod
    def start(cls, source: Source, layout: Layout, types: Sequence[str], first: int | None = None,
              last: int | None = None) -> Search:
        """Every address (from `first` to `last` when given) under every type."""
        addresses = layout.addresses()
        inside = np.ones(layout.size, np.bool_)
        for bound, keep in ((first, np.greater_equal), (last, np.less_equal)):
            if bound is not None:
                layout.column(bound)  # an address outside RAM is an error, not an empty search
                inside &= keep(addresses, bound)
        candidates = {code: layout.fits(codes.size_of(code)) & inside for code in types}
        step = Step("start", None, candidates)
        if not step.count:
            raise SearchError(f"no value of the types asked for fits in that address range ({layout.describe()})")
        return cls(source, layout, types, [step])

    @property
    def current(self) -> Step:
        return self.steps[-1]

    def narrow(self, condition: Condition, evidence: Evidence) -> Step:
        """Keep the candidates that meet `condition`; a SearchError (and no change) when none would be left."""
        condition.check(self.source.frames)
        kept = {code: self._keep(code, mask, condition, evidence) for code, mask in self.current.candidates.items()}
        step = Step(condition.describe(), condition.frame, kept)
        if not step.count:
            raise SearchError(
                f"no candidate is {condition.describe()} (of the {self.current.count:,} left); the search keeps "
                "those: try another condition or frame, or `retrotool ram search undo` to go back a step")
        self.steps.append(step)
        return step

    def _keep(self, code: str, mask: np.ndarray, c: Condition, evidence: Evidence) -> np.ndarray:
        columns = np.flatnonzero(mask)
        if not columns.size:
            return mask
        if c.kind in ("changed", "unchanged"):
            moved = codes.changed(evidence.changed[codes.view_of(code)], codes.size_of(code), self.layout)[columns]
            keep = moved if c.kind == "changed" else ~moved
        else:
            now = codes.decode(evidence.rows[c.frame], code, columns)
            if c.kind in VALUE_KINDS:
                keep = _COMPARE[c.kind](now, np.int64(c.value or 0))
            else:
                keep = _COMPARE[c.kind](now, codes.decode(evidence.rows[c.since or 0], code, columns))
        out = np.zeros_like(mask)
        out[columns[keep]] = True
        return out

    def undo(self) -> Step:
        """Drop the last step (never the start); returns it."""
        if len(self.steps) < 2:
            raise SearchError("nothing to undo: the search is at its start")
        return self.steps.pop()

    def frames(self) -> list[int]:
        """Frames the steps named, in order."""
        return sorted({s.frame for s in self.steps if s.frame is not None})

    def candidates(self, rows: Mapping[int, np.ndarray], limit: int) -> list[Candidate]:
        """The first `limit` candidates by address, with their values at each frame of `rows` (address order)."""
        addresses = self.layout.addresses()
        picked: list[tuple[int, int, str, int]] = []  # address, type rank, type, column
        for rank, (code, mask) in enumerate(self.current.candidates.items()):
            columns = np.flatnonzero(mask)[:limit]  # columns grow with addresses
            picked += [(int(addresses[c]), rank, code, int(c)) for c in columns]
        picked = sorted(picked)[:limit]
        frames = sorted(rows)
        out = []
        for address, _, code, column in picked:
            values = tuple(int(codes.decode(rows[f], code, np.array([column]))[0]) for f in frames)
            out.append(Candidate(address, code, values))
        return out

    # -- the file ----------------------------------------------------------------
    def save(self, path: Path, *, force: bool) -> None:
        doc = {
            "format": FORMAT, "version": VERSION, "source": _source_json(self.source),
            "layout": self.layout.to_json(), "types": list(self.types),
            "steps": [{"what": s.what, "frame": s.frame, "count": s.count,
                       "candidates": {code: _pack(m) for code, m in s.candidates.items()}} for s in self.steps],
        }
        outputs.write_atomic(path, lambda f: f.write(json.dumps(doc, indent=1).encode()), force=force)

    @classmethod
    def load(cls, path: Path) -> Search:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ContentError(f"no RAM search in {path}: begin one with `retrotool ram search start MOVIE`") from None
        except (OSError, ValueError) as e:
            raise ContentError(f"cannot read the RAM search {path}: {e}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ContentError(f"{path} is not a RAM search file of this retrotool (format {FORMAT} {VERSION})")
        try:
            layout = Layout.from_json(doc["layout"])
            steps = [Step(s["what"], s["frame"], {c: _unpack(m, layout.size) for c, m in s["candidates"].items()})
                     for s in doc["steps"]]
            return cls(Source(**doc["source"]), layout, doc["types"], steps)
        except (KeyError, TypeError, ValueError, zlib.error) as e:
            raise ContentError(f"the RAM search {path} is damaged ({e}); start it again") from None


def _source_json(source: Source) -> dict[str, Any]:
    return {"movie": source.movie, "sha256": source.sha256, "frames": source.frames, "core": source.core,
            "rom": source.rom}


def _pack(mask: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(np.packbits(mask).tobytes(), 9)).decode("ascii")


def _unpack(text: str, size: int) -> np.ndarray:
    bits = np.frombuffer(zlib.decompress(base64.b64decode(text)), np.uint8)
    mask = np.unpackbits(bits)[:size].astype(np.bool_)
    if mask.size != size:
        raise ValueError("a candidate set of the wrong size")
    return mask
