"""`--trace`: one JSON line of hashes (and reward, done, info) per traced row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import numpy as np

from retrotool import outputs
from retrotool.errors import RetroToolError
from retrotool.sinks.checkpoints import every, ram_hash, screen_hash
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo
from retrotool.variables import Evaluator


class TraceSink:
    """Writes one JSON line {"frame", "ram", "screen"} per traced row.

    With a game integration (`evaluator`) each line also has "reward" (summed
    over the rows since the previous line), "done" and "info" (the RAM
    variables, null where unreadable), from the variables of every row.
    """

    def __init__(
        self, path: str | Path, *, every_n: int = 1, force: bool = False, evaluator: Evaluator | None = None
    ) -> None:
        self.target = outputs.check_target(path, force)
        self.force = force
        self.every_n = every_n
        self.evaluator = evaluator
        self._rows = np.empty(0, np.int64)
        self._reward = 0.0
        self._tmp: Path | None = None
        self._file: IO[str] | None = None

    def needs(self, frames: int) -> Needs:
        self._rows = every(self.every_n, frames)
        variables = self.evaluator.variables if self.evaluator is not None else {}
        return Needs(snapshots=self._rows, variables=variables)

    def open(self, info: ReplayInfo) -> None:
        if self.evaluator is not None and info.values_before is not None:
            self.evaluator.seed(info.values_before)
        self._tmp = outputs.temp_name(self.target)
        try:
            self._file = open(self._tmp, "x", encoding="utf-8")  # exclusively: never through what is there
        except OSError as e:
            raise RetroToolError(f"cannot write {self.target}: {e.strerror}") from None

    def consume(self, batch: FrameBatch) -> None:
        if self._file is None:
            return
        done = False
        if self.evaluator is not None and batch.values is not None:
            rewards, dones = self.evaluator.steps(batch.values, batch.n)
            for reward in rewards.tolist():  # in order, as one frame at a time would add them
                self._reward += reward
            done = bool(dones[-1])
        idx = int(np.searchsorted(self._rows, batch.last))
        if batch.ram is None or batch.screen is None or idx == self._rows.size or self._rows[idx] != batch.last:
            return
        row: dict[str, object] = {"frame": batch.last}
        if self.evaluator is not None and batch.values is not None:
            row.update(reward=self._reward, done=done, info=self.evaluator.info_after(batch.values))
        row.update(ram=ram_hash(batch.ram), screen=screen_hash(batch.screen))
        self._file.write(json.dumps(row) + "\n")
        self._reward = 0.0

    def close(self, error: BaseException | None) -> Path | None:
        """The trace file, once in place."""
        if self._file is None or self._tmp is None:  # open() did not get far (interrupted): what it made goes
            if self._tmp is not None:
                outputs.discard(self._tmp)
            return None
        try:
            self._file.close()
            if error is None:
                outputs.commit(self._tmp, self.target, self.force)
        except OSError as e:
            raise RetroToolError(f"cannot write {self.target}: {e.strerror}") from None
        finally:
            outputs.discard(self._tmp)  # gone already once committed; else whatever went wrong, it goes
        return self.target if error is None else None
