"""Shared memory blocks an async VectorEnv lends its observations in, so a step copies nothing out.

Workers write a step's observations into a block, and the parent returns
an array over that block itself instead of a copy: on two CPUs the copy of
eight 320x224 pictures (1.7 MB) cost more than its own 80 us, because it
pushed the emulators out of the caches (benchmarks/RESULTS.md, "Gymnasium
envs"). A block is written again only when the array last returned from it
is gone (a weak reference says so), so an observation the caller keeps, or
any view of it, is never overwritten. When every block is still held, a
scratch block is written and copied out, as before.

The parent maps each block itself and closes the shared memory object at
once: the arrays keep the mapping alive after `close()`, however long the
caller holds them, and it is unmapped with the last of them.
"""

from __future__ import annotations

import mmap
import os
import weakref
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

LENT = 8  # blocks observations are lent in (a caller stacking 4 frames holds 4); more held: copies
SHM_DIR = "/dev/shm"  # where POSIX shared memory lives on Linux


class Blocks:
    """Block 0 is scratch (never lent); blocks 1..LENT are lent, each as at most one array at a time."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.shape, self.dtype = shape, dtype
        size = max(1, int(np.prod(shape)) * dtype.itemsize)
        self.names: list[str] = []
        self._maps: list[mmap.mmap] = []
        for _ in range(LENT + 1):
            memory = SharedMemory(create=True, size=size)
            self.names.append(memory.name)
            fd = os.open(os.path.join(SHM_DIR, memory.name), os.O_RDWR)
            try:
                self._maps.append(mmap.mmap(fd, size))
            finally:
                os.close(fd)
            memory.close()
        self._lent: list[weakref.ref[np.ndarray] | None] = [None] * (LENT + 1)
        self.current = 0  # the block holding the latest observations

    def view(self, i: int) -> np.ndarray:
        return np.ndarray(self.shape, self.dtype, buffer=self._maps[i])

    def pick(self) -> int:
        """A block to write the next observations into: the first free lent one, else scratch (0).

        The first, not the next: a caller that drops each observation at the
        next step makes two blocks alternate, and they stay in the caches.
        """
        for i in range(1, LENT + 1):
            held = self._lent[i]
            if i != self.current and (held is None or held() is None):
                return i
        return 0

    def lend(self, i: int) -> np.ndarray:
        """What a step returns from block `i` (now the current one): the block itself, or a copy of scratch."""
        self.current = i
        if i == 0:
            return self.view(0).copy()
        array = self.view(i)
        self._lent[i] = weakref.ref(array)
        return array

    def unlink(self) -> None:
        """Remove the names (the mappings stay while arrays use them)."""
        for name in self.names:
            SharedMemory(name=name).unlink()
        self.names = []
