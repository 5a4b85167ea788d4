"""Where each byte of the RAM observation sits in the address space data.json addresses refer to.

The observation (stable-retro's get_ram(), what the replay loop hands sinks)
is every block of the address space in address order, each as the core
stores it; on Genesis that is 16-bit words in the host's byte order, so the
byte of address A sits at offset (A - start) ^ 1. A `Layout` turns rows of
the observation into address order, so that a value of k bytes at a column is
the k columns from there, exactly as `memory.Block.offsets` reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrotool.errors import ContentError
from retrotool.memory import AddressSpace


@dataclass(frozen=True, slots=True)
class Region:
    """One block of the address space: its first address, its bytes, and whether its words are byte-swapped."""

    start: int
    size: int
    swap16: bool = False


class Layout:
    """The address space of a running game, block by block, as columns of the RAM observation."""

    def __init__(self, regions: Sequence[Region]) -> None:
        self.regions = tuple(sorted(regions, key=lambda r: r.start))
        self.firsts = np.cumsum([0, *(r.size for r in self.regions)])  # first column of each region, then the size
        self.size = int(self.firsts[-1])

    @classmethod
    def of(cls, space: AddressSpace) -> Layout:
        return cls([Region(b.start, int(b.data.size), b.swap16) for b in space.blocks])

    def to_json(self) -> list[list[int]]:
        return [[r.start, r.size, int(r.swap16)] for r in self.regions]

    @classmethod
    def from_json(cls, doc: object) -> Layout:
        try:
            return cls([Region(int(s), int(n), bool(w)) for s, n, w in doc])  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            raise ContentError("the RAM layout in the search file is damaged; start the search again") from None

    def order(self) -> np.ndarray:
        """int64 [size]: the observation's column of each address-order column (rows[:, order] is address order)."""
        out = np.arange(self.size, dtype=np.int64)
        for region, first in zip(self.regions, self.firsts):
            if region.swap16:
                offsets = np.arange(region.size) ^ 1
                inside = offsets < region.size
                out[first : first + region.size][inside] = first + offsets[inside]
        return out

    def addresses(self) -> np.ndarray:
        """int64 [size]: the address of each address-order column."""
        return np.concatenate([r.start + np.arange(r.size, dtype=np.int64) for r in self.regions] or [np.empty(0, np.int64)])

    def fits(self, size: int) -> np.ndarray:
        """bool [size]: the address-order columns where a value of `size` bytes lies wholly inside one block."""
        out = np.zeros(self.size, np.bool_)
        for region, first in zip(self.regions, self.firsts):
            usable = region.size - (region.size % 2 if region.swap16 else 0)
            out[first : first + max(usable - size + 1, 0)] = True
        return out

    def column(self, address: int, size: int = 1) -> int:
        """The address-order column of `address`; a ContentError when the value's bytes are not all in one block."""
        for region, first in zip(self.regions, self.firsts):
            if region.start <= address and address + size <= region.start + region.size:
                return int(first + address - region.start)
        raise ContentError(f"address {address:#x} ({size} byte{'s' * (size > 1)}) is outside this game's RAM, "
                           f"which is {self.describe()}")

    def describe(self) -> str:
        """The blocks as address ranges, for messages."""
        spans = [f"{r.start:#x}-{r.start + r.size - 1:#x}" for r in self.regions if r.size]
        return ", ".join(spans) if spans else "empty"
