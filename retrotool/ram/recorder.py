"""Sinks that take RAM from a replay: whole rows at chosen frames, bytes that changed over a span, values per frame.

They are fed by the one replay loop like every other sink; the RAM comes
from the host's per-frame copies (`Needs.rams`, `Needs.variables`), so
reading it costs no extra call into the core.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from retrotool.ram import codes
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo, VariableLike


@dataclass(frozen=True, slots=True)
class Recorded:
    """RAM rows (address order) at the frames asked for; per byte view, the bytes that changed over the span."""

    rows: dict[int, np.ndarray]
    changed: dict[str, np.ndarray] = field(default_factory=dict)


class RamRecorder:
    """Keeps the RAM at `frames` and, over `span` (first, last), which bytes ever differ from the first frame's.

    `order` puts a row of the RAM observation into address order
    (`Layout.order()`). A byte is looked at through each view of
    `codes.VIEWS`; once a byte is known to have changed under a view it is
    not looked at again, so a span costs about one comparison per byte and
    frame.
    """

    def __init__(self, frames: Sequence[int], span: tuple[int, int] | None, order: np.ndarray) -> None:
        self.frames = np.unique(np.asarray(frames, np.int64))
        self.span = span
        self.order = order
        self._rows: dict[int, np.ndarray] = {}
        self._ref: np.ndarray | None = None
        self._changed: dict[str, np.ndarray] = {}

    def needs(self, frames: int) -> Needs:
        return Needs(snapshots=self.frames[self.frames < frames], rams=self.span is not None)

    def open(self, info: ReplayInfo) -> None:
        self._changed = {view: np.zeros(info.ram_size, np.bool_) for view in codes.VIEWS}

    def consume(self, batch: FrameBatch) -> None:
        if batch.ram is not None and batch.last in self.frames:
            self._rows[batch.last] = np.frombuffer(batch.ram, np.uint8)[self.order]
        if self.span is None or batch.rams is None:
            return
        first, last = self.span
        a, b = max(first, batch.start) - batch.start, min(last, batch.last) - batch.start + 1
        if a >= b:
            return
        rows = batch.rams[a:b]
        if self._ref is None:
            self._ref = rows[0].copy()  # the span's first frame: the loop hands rows in order
        ref = self._ref
        moved = (rows != ref).any(axis=0)
        self._changed["byte"] |= moved
        for view in codes.VIEWS[1:]:
            todo = np.flatnonzero(moved & ~self._changed[view])
            if todo.size:
                table = codes.view_table(view)
                self._changed[view][todo] = (table[rows[:, todo]] != table[ref[todo]]).any(axis=0)

    def close(self, error: BaseException | None) -> Recorded:
        changed = {view: mask[self.order] for view, mask in self._changed.items()} if self.span is not None else {}
        return Recorded(self._rows, changed)


class ValueRecorder:
    """Every frame's value of each variable (int64 [frames]); variables the address space lacks are left out."""

    def __init__(self, variables: Mapping[str, VariableLike]) -> None:
        self.variables = dict(variables)
        self._parts: dict[str, list[np.ndarray]] = {}

    def needs(self, frames: int) -> Needs:
        return Needs(variables=self.variables)

    def open(self, info: ReplayInfo) -> None:
        self._parts = {}

    def consume(self, batch: FrameBatch) -> None:
        for name, values in (batch.values or {}).items():
            self._parts.setdefault(name, []).append(values.copy())

    def close(self, error: BaseException | None) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self._parts.items()}
