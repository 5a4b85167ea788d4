"""Core memory as stable-retro addresses it: blocks, the address space, and RAM copied after every frame.

data.json addresses, stable-retro's get_ram() and per-frame RAM observations
all read the same blocks: the core's memory map placed by stable-retro's rule
(`map_blocks`), or system RAM at the system's RAM base.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from retrotool import native
from retrotool.sinks.contract import VariableLike

_SIZE_MASK = (1 << 64) - 1  # stable-retro computes region sizes in size_t


@dataclass(frozen=True, slots=True)
class Block:
    """A run of the address space backed by bytes (a view of core memory, or test data)."""

    start: int
    data: np.ndarray  # uint8
    swap16: bool = False  # stored as host-native 16-bit words (Genesis on x86)

    def offsets(self, address: int, size: int) -> np.ndarray | None:
        """Where in `data` the bytes address .. address + size - 1 are, in address order."""
        offset = address - self.start
        if offset < 0 or offset + size > self.data.size:
            return None
        idx = np.arange(offset, offset + size)
        if self.swap16:
            idx ^= 1
            if idx.max() >= self.data.size:
                return None
        return idx


class AddressSpace:
    """The address space data.json addresses refer to."""

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = sorted(blocks, key=lambda b: b.start)

    def locate(self, address: int, size: int) -> tuple[Block, np.ndarray] | None:
        """The block holding a variable and its bytes' offsets there; None if no block holds all of it."""
        for block in self.blocks:
            idx = block.offsets(address, size)
            if idx is not None:
                return block, idx
        return None


def map_blocks(descriptors: Sequence[native.MemoryDescriptor]) -> list[Block]:
    """The core's memory map as stable-retro reads it: every region that is not constant, sized by its rule.

    Like its Emulator::reconfigureAddressSpace: the region's pointer (its
    offset unused), a length from `select` when there is one (capped by
    `len`), a private zero block when the core gave no pointer, and the last
    region of a start address winning.
    """
    blocks: dict[int, np.ndarray] = {}
    for d in descriptors:
        if d.flags & native.MEMDESC_CONST:
            continue
        length = d.length
        if d.select:
            length = ((~d.select & ~d.start) + 1) & d.select & _SIZE_MASK
        if d.length and d.length < length:
            length = d.length
        blocks[d.start] = native.memory_view(d.ptr, length) if d.ptr else np.zeros(length, np.uint8)
    return [Block(start, data) for start, data in blocks.items()]


SMALL_BATCH = 8  # up to this many frames, values are decoded row by row in Python (faster than numpy's set-up)


class Watch:
    """RAM after every frame, copied by the host (rh_watch_memory) instead of a C call per frame.

    A row of the buffer is the RAM observation (every block of the address
    space in address order, when asked for), then the bytes of each readable
    variable.
    """

    def __init__(
        self, space: AddressSpace, variables: Mapping[str, VariableLike], rows: int, ram: bool, key: object,
    ) -> None:
        self.key = key  # what it was made for
        spans: list[np.ndarray] = [b.data for b in space.blocks if b.data.size] if ram else []
        self.has_ram = ram
        self._ram_size = sum(s.size for s in spans)
        self._fields: list[tuple[str, VariableLike, np.ndarray]] = []  # name, variable, its columns in a row
        self._msb: list[tuple[str, VariableLike, slice | list[int]]] = []  # name, variable, its bytes most significant first
        stride = self._ram_size
        for name, var in variables.items():
            found = space.locate(var.address, var.size)
            if found is None:
                continue
            block, offsets = found
            lo, hi = int(offsets.min()), int(offsets.max()) + 1
            spans.append(block.data[lo:hi])
            self._fields.append((name, var, stride + offsets - lo))
            self._msb.append((name, var, _as_slice((stride + offsets - lo)[var.msb_order].tolist())))
            stride += hi - lo
        self._rows = np.empty((rows, max(stride, 1)), np.uint8)
        self.spans = spans
        self.buffer = self._rows if spans else None  # what the host fills

    def rams(self, n: int) -> np.ndarray:
        """uint8 [n, ram size]: the RAM observation after each frame of the last run (a view, valid until the next)."""
        return self._rows[:n, : self._ram_size]

    def now(self) -> dict[str, int]:
        """Every readable variable's value in the core's memory now (before a run, after a state was loaded)."""
        row = np.concatenate([s for s in self.spans]) if self.spans else np.zeros(0, np.uint8)
        return {name: int(var.decode(row[None, columns])[0]) for name, var, columns in self._fields}

    def values(self, n: int) -> dict[str, np.ndarray]:
        """int64 [n] per readable variable, for the n frames of the last run."""
        rows = self._rows[:n]
        if n <= SMALL_BATCH:  # an agent's step: each row's bytes as Python values (numpy's per-call cost would dominate)
            raw = [row.tobytes() for row in rows]
            return {name: np.array([var.decode_one(_pick(r, at)) for r in raw], np.int64) for name, var, at in self._msb}
        return {name: var.decode(rows[:, columns]) for name, var, columns in self._fields}


def _as_slice(columns: list[int]) -> slice | list[int]:
    """Byte positions in a row as a slice when they run one by one up or down (every plain variable), else as listed."""
    if len(columns) == 1 or all(b - a == 1 for a, b in zip(columns, columns[1:])):
        return slice(columns[0], columns[-1] + 1)
    if all(a - b == 1 for a, b in zip(columns, columns[1:])):
        return slice(columns[0], columns[-1] - 1 if columns[-1] else None, -1)
    return columns


def _pick(row: bytes, at: slice | list[int]) -> bytes:
    return row[at] if isinstance(at, slice) else bytes([row[i] for i in at])
