"""`StepStream`: a dataset folder as a PyTorch `IterableDataset` of batches (see `retrotool.datasets.stream`).

    from torch.utils.data import DataLoader
    from retrotool.datasets.pytorch import StepStream
    loader = DataLoader(StepStream("out", batch=256, stack=4), batch_size=None, num_workers=2)

Each DataLoader worker reads its own share of the episodes (every n-th,
from its index) with its own shuffle seed, so nothing is read twice; each
batch is a dict of tensors made without copying the numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import torch
    from torch.utils.data import IterableDataset, get_worker_info
except ImportError as e:  # imported only by who asks for it
    from retrotool.errors import RetroToolError

    raise RetroToolError("StepStream needs PyTorch: pip install 'retrotool[learn]'") from e

from retrotool.datasets.stream import iterate


class StepStream(IterableDataset):  # type: ignore[type-arg]
    """Batches of steps from a dataset folder; arguments as `retrotool.datasets.iterate`."""

    def __init__(self, path: str | Path, batch: int = 256, *, shuffle: bool = True, buffer: int = 8192,
                 stack: int = 1, seed: int | None = None) -> None:
        self.path, self.batch, self.shuffle, self.buffer, self.stack = Path(path), batch, shuffle, buffer, stack
        self.seed = seed if seed is not None else int(torch.randint(0, 2**31 - 1, ()).item())
        self.epoch = 0  # changes the shuffle between epochs

    def __iter__(self) -> Iterator[dict[str, Any]]:
        worker = get_worker_info()
        index, count = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        seed = hash((self.seed, self.epoch, index)) & 0x7FFFFFFF
        self.epoch += 1
        for batch in iterate(self.path, self.batch, shuffle=self.shuffle, buffer=self.buffer, stack=self.stack,
                             seed=seed, shard=(index, count)):
            yield {key: torch.from_numpy(value) for key, value in batch.items()}
