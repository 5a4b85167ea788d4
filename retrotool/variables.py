"""RAM variables (data.json) and rewards / done conditions (scenario.json).

Semantics follow Gym Retro's integration format (formats.md §6.3, §6.4):
type codes are an endianness prefix, a format letter (u, i, d = BCD, n =
low-nibble BCD) and a byte count; addresses are in the system's address
space (§7), resolved through an `AddressSpace` built from the core's memory
map or from system RAM at the system's RAM base.
"""

from __future__ import annotations

import functools
import operator
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrotool import schema
from retrotool.errors import ContentError
from retrotool.memory import SMALL_BATCH, AddressSpace
from retrotool.sinks.contract import Values

_TYPE = re.compile(r"^(><|<>|>=|<=|[<>=|])([uidn])([1-8])$")
TYPE_HELP = ("a byte order (| < > = >< <> >= <=), a format (u unsigned, i signed, d BCD, n one BCD digit per byte) "
             "and a byte count 1-8, like >u2 or |d1")


def check_type(code: str) -> str:
    """A data.json type code as given, or a ContentError that says what one looks like."""
    if not isinstance(code, str) or not _TYPE.match(code):
        raise ContentError(f"unknown type code {code!r}: a type is {TYPE_HELP}")
    return code


@functools.cache
def _byte_order(code: str) -> np.ndarray:
    """Permutation putting a type's bytes (in address order) most significant first (cached: per frame batch).

    As stable-retro decodes them (its own decoding is the test's oracle): `|`
    and `<=` are little-endian, `=` the host's order and `>=` is `><` on a
    little-endian host. A mixed code splits the bytes in two at half the
    width (the first part the shorter one for odd widths): `><` puts the
    first part's digits above the second's, each part little-endian; `<>`
    puts the second part above the first, each part big-endian.
    """
    order, _, count = _TYPE.match(code).groups()  # type: ignore[union-attr]
    size, half = int(count), int(count) // 2
    little_host = sys.byteorder == "little"
    if order == ">=":
        order = "><" if little_host else ">"
    if order == "><":
        return np.array([*range(half - 1, -1, -1), *range(size - 1, half - 1, -1)])
    if order == "<>":
        return np.array([*range(half, size), *range(half)])
    big = order == ">" or (order == "=" and not little_host)
    return np.arange(size) if big else np.arange(size)[::-1]


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    address: int
    type: str
    mask: int | None = None

    @property
    def size(self) -> int:
        return int(self.type[-1])

    def read(self, space: AddressSpace) -> int | None:
        """The value now (e.g. for an agent between frames); None when the space does not hold it."""
        found = space.locate(self.address, self.size)
        if found is None:
            return None
        block, offsets = found
        return int(self.decode(block.data[offsets][None])[0])

    @property
    def msb_order(self) -> np.ndarray:
        """Positions of the variable's bytes (in address order), most significant first."""
        return _byte_order(self.type)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        """Values of raw bytes uint8 [n, size] (address order, one row per frame) as int64 [n]."""
        if raw.shape[0] == 1:  # one frame (an agent's step): numpy's per-call cost would dominate
            return np.array([self.decode_one(raw[0, _byte_order(self.type)].tobytes())], np.int64)
        data = raw[:, _byte_order(self.type)].astype(np.uint64)
        fmt = self.type[-2]
        if fmt in "ui":
            weights = np.uint64(1) << (np.uint64(8) * np.arange(self.size - 1, -1, -1, dtype=np.uint64))
            value = (data * weights).sum(axis=1, dtype=np.uint64).view(np.int64)
            if fmt == "i" and self.size < 8:
                bits = 8 * self.size
                value = np.where(value >= 1 << (bits - 1), value - (1 << bits), value)
        elif fmt == "d":  # BCD, two digits per byte; nibbles above 9 are taken mod 10
            digits = (data >> np.uint64(4)) % np.uint64(10) * np.uint64(10) + (data & np.uint64(15)) % np.uint64(10)
            value = _digits(digits, 100)
        else:  # "n": one digit per byte, in the low nibble
            value = _digits((data & np.uint64(15)) % np.uint64(10), 10)
        return value & self.mask if self.mask is not None else value


    def decode_one(self, data: bytes) -> int:
        """`decode` of one frame's bytes, most significant first, in plain Python (same results)."""
        fmt = self.type[-2]
        if fmt in "ui":
            value = int.from_bytes(data, "big", signed=fmt == "i")
        elif fmt == "d":
            value = int("".join(f"{(b >> 4) % 10}{(b & 15) % 10}" for b in data) or "0")
        else:
            value = int("".join(str((b & 15) % 10) for b in data) or "0")
        value = (value + (1 << 63)) % (1 << 64) - (1 << 63)  # int64, as the batch decoding wraps
        return value & self.mask if self.mask is not None else value


def _digits(digits: np.ndarray, base: int) -> np.ndarray:
    """Digits uint64 [n, k] (most significant first) in `base` → int64 [n]."""
    value = np.zeros(digits.shape[0], np.int64)
    for column in digits.T.astype(np.int64):
        value = value * base + column
    return value


MAX_FILE_BYTES = 4 << 20  # an integration's JSON file; stable-retro's largest is 40 KB
_UINT64 = (1 << 64) - 1

DATA_JSON = schema.Obj({
    "info": schema.MapOf(schema.Obj(
        {"address": schema.Int(0, _UINT64), "type": schema.Str(_TYPE, what="a type code: " + TYPE_HELP), "mask": schema.Int(-(1 << 63), _UINT64)},
        required=frozenset({"address", "type"}),
    )),
}, required=frozenset({"info"}))


def load_variables(path: Path) -> dict[str, Variable]:
    """data.json → variables; anything malformed is an error naming the file and the key."""
    doc = schema.load(path, DATA_JSON, max_bytes=MAX_FILE_BYTES, what="data.json")
    out = {}
    for name, spec in doc["info"].items():
        mask = spec.get("mask")
        if mask is not None and mask > _UINT64 >> 1:  # stable-retro's masks are uint64 (-113 too): as int64 bits
            mask -= 1 << 64
        out[name] = Variable(name, spec["address"], spec["type"], mask)
    return out


# The rules below compute on numpy arrays of many frames and on one frame's plain numbers alike
# (an agent's one-frame steps: numpy's per-call cost would dominate them).
Number = Any  # float | np.ndarray
Frames = Mapping[str, Number]

_OPS: dict[str, Callable[[Number, float], Number]] = {
    "equal": lambda a, b: a == b,
    "negative-equal": lambda a, b: -a == b,
    "not-equal": lambda a, b: a != b,
    "less-than": lambda a, b: a < b,
    "greater-than": lambda a, b: a > b,
    "less-or-equal": lambda a, b: a <= b,
    "greater-or-equal": lambda a, b: a >= b,
    "nonzero": lambda a, b: a != 0,
    "zero": lambda a, b: a == 0,
    "positive": lambda a, b: a > 0,
    "negative": lambda a, b: a < 0,
    "sign": lambda a, b: np.sign(a),
}
OPS: tuple[str, ...] = tuple(_OPS)  # the op names scenario.json may use


@dataclass(frozen=True, slots=True)
class Term:
    """One scenario entry: a variable measured as a value or a delta, then an op."""

    variable: str
    measurement: str  # "delta" | "absolute"
    op: str | None
    reference: float
    reward: float
    penalty: float

    def measure(self, now: Frames, before: Frames) -> Number:
        """The measured value (float, or float64 per frame); 0 where the variable cannot be read."""
        value = now.get(self.variable)
        if value is None:
            return 0.0
        m = value * 1.0
        if self.measurement == "delta":
            m = m - before[self.variable]
        if self.op is not None:
            op = _OPS.get(self.op)  # an unknown op passes the value through
            m = op(m, self.reference) * 1.0 if op is not None else m
        return m


_TERM = schema.Obj({
    "measurement": schema.Str(max_len=64), "op": schema.Str(max_len=64),
    "reference": schema.Num(), "reward": schema.Num(), "penalty": schema.Num(),
})
_REWARD = schema.Obj({"variables": schema.MapOf(_TERM), "time": _TERM, "script": schema.Str()})
SCENARIO_JSON = schema.Obj({
    "reward": _REWARD,
    "rewards": schema.ListOf(_REWARD, max_items=16),
    "done": schema.Obj({
        "variables": schema.MapOf(_TERM), "nodes": schema.MapOf(schema.ANY), "condition": schema.Str(choices=("any", "all")),
        "script": schema.Str(),
    }),
    "actions": schema.ListOf(schema.ListOf(schema.ListOf(schema.Str(max_len=64)))),
    "scripts": schema.ListOf(schema.Str()),
    "crop": schema.ListOf(schema.Int(0, 1 << 16), max_items=4),
})
_MEASUREMENTS = ("delta", "absolute")


def _terms(spec: dict[str, Any], default_measure: str) -> list[Term]:
    """Terms of a checked `variables` object; an unknown measurement is the default, as in stable-retro."""
    return [
        Term(name, t["measurement"] if t.get("measurement") in _MEASUREMENTS else default_measure, t.get("op"),
             float(t.get("reference", 0)), float(t.get("reward", 0)), float(t.get("penalty", 0)))
        for name, t in spec.items()
    ]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Reward and done rules of one player-1 scenario (scripts are not supported).

    `actions`: the groups of allowed button combos when the scenario
    restricts actions (see `retrotool.actions`), else None.
    """

    reward_terms: tuple[Term, ...]
    time_reward: float
    done_terms: tuple[Term, ...]
    done_all: bool
    actions: tuple[tuple[tuple[str, ...], ...], ...] | None = None
    source: str = ""  # the file it came from, for messages
    crop: tuple[int, int, int, int] | None = None  # (x, y, w, h) of the observation; 0 w/h: to the edge

    def reward(self, now: Frames, before: Frames) -> Number:
        """m * reward where m > 0, m * penalty where m < 0, summed over terms, plus the time reward."""
        total = self.time_reward
        for t in self.reward_terms:
            m = t.measure(now, before)
            total = total + m * t.reward * (m > 0) + m * t.penalty * (m < 0)
        return total

    def done(self, now: Frames, before: Frames) -> Number:
        """Whether the done terms' results are > 0: all of them, or any."""
        hits = [t.measure(now, before) > 0 for t in self.done_terms]
        if not hits:
            return False
        return functools.reduce(operator.and_ if self.done_all else operator.or_, hits)


def load_scenario(path: Path) -> Scenario:
    """scenario.json → player 1's rules; anything malformed is an error naming the file and the key."""
    doc = schema.load(path, SCENARIO_JSON, max_bytes=MAX_FILE_BYTES, what="scenario.json")
    reward = doc.get("reward", (doc.get("rewards") or [{}])[0])
    done = doc.get("done", {})
    actions = doc.get("actions")
    return Scenario(
        tuple(_terms(reward.get("variables", {}), "delta")),
        float(reward.get("time", {}).get("reward", 0)),
        tuple(_terms(done.get("variables", {}), "absolute")),
        done.get("condition", "any") == "all",
        None if actions is None else tuple(tuple(tuple(c) for c in g) for g in actions),
        str(path),
        _crop(path, doc.get("crop")),
    )


def _crop(path: Path, spec: list[int] | None) -> tuple[int, int, int, int] | None:
    """`crop`: [x, y, w, h] of the observation stable-retro shows (the schema checked the numbers)."""
    if spec is None:
        return None
    if len(spec) != 4:
        raise ContentError(f"{path}: crop: expected [x, y, w, h], four integers >= 0, got {len(spec)} numbers")
    return (spec[0], spec[1], spec[2], spec[3])


def _per_frame(x: Number, n: int, dtype: type) -> np.ndarray:
    """A rule's result as one value per frame (a rule of constants gives one number for all)."""
    return x.astype(dtype) if isinstance(x, np.ndarray) and x.shape == (n,) else np.full(n, x, dtype)


class Evaluator:
    """Rewards and done flags of a game, fed its RAM variables frame after frame.

    Deltas reach back across calls (the previous call's last values); the
    first frame ever fed has delta 0, as after Gym Retro's reset.
    """

    def __init__(self, variables: Mapping[str, Variable], scenario: Scenario | None) -> None:
        self.variables = dict(variables)
        self.scenario = scenario
        self._last: dict[str, int] = {}  # each variable's value after the last frame fed

    def info_after(self, values: Values) -> dict[str, int | None]:
        """Every variable's value after the last frame of a batch's values (None where unreadable)."""
        return {name: int(values[name][-1]) if name in values else None for name in self.variables}

    def start_from(self, space: AddressSpace) -> None:
        """Measure the next frame's deltas from the values in `space` now (after a jump: a loaded state)."""
        self.seed(self.info(space))

    def seed(self, values: Mapping[str, int | None]) -> None:
        """Measure the next frame's deltas from `values` (a run from a keyframe: the values before its first row)."""
        self._last = {name: v for name, v in values.items() if v is not None}

    def info(self, space: AddressSpace) -> dict[str, int | None]:
        """Every variable's value now (None where unreadable)."""
        return {name: v.read(space) for name, v in self.variables.items()}

    def steps(self, values: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Rewards float64 [n] and done flags bool [n] of the next n frames (values: int64 [n] each)."""
        if self.scenario is None or n == 0:
            return np.zeros(n), np.zeros(n, np.bool_)
        now: Frames
        if n <= SMALL_BATCH:  # a few frames (an agent's step): frame by frame on plain numbers
            return self._few_steps(values, n)
        else:
            now = values
            before = {k: np.concatenate([np.array([self._last[k]]) if k in self._last else v[:1], v[:-1]])
                      for k, v in values.items()}
        self._last = {k: int(v[-1]) for k, v in values.items()}
        reward, done = self.scenario.reward(now, before), self.scenario.done(now, before)
        return _per_frame(reward, n, np.float64), _per_frame(done, n, np.bool_)

    def step(self, values: Values) -> tuple[float, bool]:
        """`steps` of one frame as plain numbers (an agent's step: numpy's per-call cost would dominate)."""
        now = {k: int(v[0]) for k, v in values.items()}
        if self.scenario is None:
            self._last = now
            return 0.0, False
        first: Frames = {k: self._last.get(k, x) for k, x in now.items()}
        self._last = now
        return float(self.scenario.reward(now, first)), bool(self.scenario.done(now, first))

    def _few_steps(self, values: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        """`steps` one frame at a time on plain numbers: the same results, without numpy's per-call cost."""
        assert self.scenario is not None
        if n == 1:  # an agent's step
            reward, done = self.step(values)
            return np.array([reward], np.float64), np.array([done], np.bool_)
        columns = {k: v.tolist() for k, v in values.items()}
        before: Frames = {k: self._last.get(k, c[0]) for k, c in columns.items()}
        rewards, dones = [], []
        for i in range(n):
            now = {k: c[i] for k, c in columns.items()}
            rewards.append(self.scenario.reward(now, before))
            dones.append(self.scenario.done(now, before))
            before = now
        self._last = {k: c[-1] for k, c in columns.items()}
        return np.array(rewards, np.float64), np.array(dones, np.bool_)
