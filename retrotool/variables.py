"""RAM variables (data.json) and rewards / done conditions (scenario.json).

Semantics follow Gym Retro's integration format (formats.md §6.3, §6.4):
type codes are an endianness prefix, a format letter (u, i, d = BCD, n =
low-nibble BCD) and a byte count; addresses are in the system's address
space (§7), resolved through an `AddressSpace` built from the core's memory
map or from system RAM at the system's RAM base.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrotool.errors import ContentError

_TYPE = re.compile(r"^(><|<>|>=|<=|[<>=|])([uidn])([1-8])$")


@dataclass(frozen=True, slots=True)
class Block:
    """A run of the address space backed by bytes (a view, or a snapshot copy)."""

    start: int
    data: np.ndarray  # uint8
    swap16: bool = False  # stored as host-native 16-bit words (Genesis on x86)

    def read(self, address: int, size: int) -> bytes | None:
        offset = address - self.start
        if offset < 0 or offset + size > self.data.size:
            return None
        if not self.swap16:
            return self.data[offset : offset + size].tobytes()
        idx = np.arange(offset, offset + size) ^ 1
        if idx.max() >= self.data.size:
            return None
        return self.data[idx].tobytes()


class AddressSpace:
    """The address space data.json addresses refer to."""

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = sorted(blocks, key=lambda b: b.start)

    def read(self, address: int, size: int) -> bytes | None:
        for block in self.blocks:
            got = block.read(address, size)
            if got is not None:
                return got
        return None

    def snapshot(self) -> AddressSpace:
        """A copy that no longer follows the emulator (for deltas between frames)."""
        return AddressSpace([Block(b.start, b.data.copy(), b.swap16) for b in self.blocks])


def _decode(raw: bytes, code: str) -> int:
    order, fmt, _ = _TYPE.match(code).groups()  # type: ignore[union-attr]
    if order in ("><", "<>", ">=", "<="):  # mixed: two 16-bit halves of a 4-byte value
        first = ">" if order[0] == ">" or (order[0] == "=" and sys.byteorder == "big") else "<"
        second = ">" if order[1] == ">" or (order[1] == "=" and sys.byteorder == "big") else "<"
        raw = (raw[:2] if first == ">" else raw[1::-1]) + (raw[2:] if second == ">" else raw[:1:-1])
        order = ">"
    big = order == ">" or (order == "=" and sys.byteorder == "big")
    data = raw if big else raw[::-1]  # most significant byte first
    if fmt == "u":
        return int.from_bytes(data, "big")
    if fmt == "i":
        return int.from_bytes(data, "big", signed=True)
    if fmt == "d":
        return int("".join(f"{(b >> 4) % 10}{(b & 15) % 10}" for b in data) or "0")
    return int("".join(str((b & 15) % 10) for b in data) or "0")  # "n"


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    address: int
    type: str
    mask: int | None = None

    @property
    def size(self) -> int:
        return int(self.type[-1])

    def value(self, space: AddressSpace) -> int | None:
        raw = space.read(self.address, self.size)
        if raw is None:
            return None
        v = _decode(raw, self.type)
        return v & self.mask if self.mask is not None else v


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ContentError(f"{path}: cannot read JSON ({e})") from None


def load_variables(path: Path) -> dict[str, Variable]:
    """data.json → variables; a malformed entry names the file and the key."""
    doc = _load_json(path)
    info = doc.get("info") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        raise ContentError(f"{path}: expected {{\"info\": {{name: {{address, type}}}}}}")
    out = {}
    for name, spec in info.items():
        if not isinstance(spec, dict) or "address" not in spec or "type" not in spec:
            raise ContentError(f"{path}: variable {name!r} needs an 'address' and a 'type'")
        code, address = spec["type"], spec["address"]
        if not isinstance(address, int) or not isinstance(code, str) or not _TYPE.match(code):
            raise ContentError(f"{path}: variable {name!r} has a bad address or type {code!r}")
        mask = spec.get("mask")
        if mask is not None and not isinstance(mask, int):
            raise ContentError(f"{path}: variable {name!r} has a non-integer mask")
        out[name] = Variable(name, address, code, mask)
    return out


_OPS: dict[str, Callable[[float, float], float]] = {
    "equal": lambda a, b: float(a == b),
    "negative-equal": lambda a, b: float(-a == b),
    "not-equal": lambda a, b: float(a != b),
    "less-than": lambda a, b: float(a < b),
    "greater-than": lambda a, b: float(a > b),
    "less-or-equal": lambda a, b: float(a <= b),
    "greater-or-equal": lambda a, b: float(a >= b),
    "nonzero": lambda a, b: float(a != 0),
    "zero": lambda a, b: float(a == 0),
    "positive": lambda a, b: float(a > 0),
    "negative": lambda a, b: float(a < 0),
    "sign": lambda a, b: float((a > 0) - (a < 0)),
}


@dataclass(frozen=True, slots=True)
class Term:
    """One scenario entry: a variable measured as a value or a delta, then an op."""

    variable: str
    measurement: str  # "delta" | "absolute"
    op: str | None
    reference: float
    reward: float
    penalty: float

    def measure(self, now: Mapping[str, int | None], before: Mapping[str, int | None]) -> float:
        value = now.get(self.variable)
        if value is None:
            return 0.0
        m = float(value)
        if self.measurement == "delta":
            prev = before.get(self.variable)
            m = m - prev if prev is not None else 0.0
        if self.op is not None:
            m = _OPS.get(self.op, lambda a, b: a)(m, self.reference)
        return m


def _terms(path: Path, where: str, spec: Any, default_measure: str) -> list[Term]:
    if spec is None:
        return []
    if not isinstance(spec, dict):
        raise ContentError(f"{path}: {where} must be an object of variables")
    out = []
    for name, t in spec.items():
        if not isinstance(t, dict):
            raise ContentError(f"{path}: {where}.{name} must be an object")
        try:
            out.append(Term(name, str(t.get("measurement", default_measure)), t.get("op"),
                            float(t.get("reference", 0)), float(t.get("reward", 0)), float(t.get("penalty", 0))))
        except (TypeError, ValueError):
            raise ContentError(f"{path}: {where}.{name} has a non-numeric reference/reward/penalty") from None
    return out


@dataclass(frozen=True, slots=True)
class Scenario:
    """Reward and done rules of one player-1 scenario (scripts are not supported)."""

    reward_terms: tuple[Term, ...]
    time_reward: float
    done_terms: tuple[Term, ...]
    done_all: bool

    def reward(self, now: Mapping[str, int | None], before: Mapping[str, int | None]) -> float:
        total = self.time_reward
        for t in self.reward_terms:
            m = t.measure(now, before)
            total += m * t.reward if m > 0 else m * t.penalty if m < 0 else 0.0
        return total

    def done(self, now: Mapping[str, int | None], before: Mapping[str, int | None]) -> bool:
        hits = [t.measure(now, before) > 0 for t in self.done_terms]
        if not hits:
            return False
        return all(hits) if self.done_all else any(hits)


def load_scenario(path: Path) -> Scenario:
    doc = _load_json(path)
    if not isinstance(doc, dict):
        raise ContentError(f"{path}: expected a JSON object")
    reward = doc.get("reward", (doc.get("rewards") or [{}])[0]) or {}
    done = doc.get("done") or {}
    if not isinstance(reward, dict) or not isinstance(done, dict):
        raise ContentError(f"{path}: 'reward' and 'done' must be objects")
    time = reward.get("time") or {}
    condition = done.get("condition", "any")
    if condition not in ("any", "all"):
        raise ContentError(f"{path}: done.condition must be 'any' or 'all', not {condition!r}")
    return Scenario(
        tuple(_terms(path, "reward.variables", reward.get("variables"), "delta")),
        float(time.get("reward", 0)) if isinstance(time, dict) else 0.0,
        tuple(_terms(path, "done.variables", done.get("variables"), "absolute")),
        condition == "all",
    )


class Evaluator:
    """Per-frame info, reward and done of a game, fed RAM address spaces in order."""

    def __init__(self, variables: Mapping[str, Variable], scenario: Scenario | None) -> None:
        self.variables = dict(variables)
        self.scenario = scenario
        self._before: dict[str, int | None] | None = None

    def info(self, space: AddressSpace) -> dict[str, int | None]:
        return {name: v.value(space) for name, v in self.variables.items()}

    def step(self, space: AddressSpace) -> tuple[dict[str, int | None], float, bool]:
        now = self.info(space)
        before = self._before if self._before is not None else now
        reward = self.scenario.reward(now, before) if self.scenario else 0.0
        done = self.scenario.done(now, before) if self.scenario else False
        self._before = now
        return now, reward, done
