"""Feature statistics as LeRobot's metadata states them: min, max, mean, std, count and quantiles.

Pictures are uint8, so a 256-bin histogram per channel gives every
statistic exactly, however many frames were counted; LeRobot keeps
picture statistics per channel, scaled to [0, 1], shaped [3, 1, 1].
Low-dimensional features (actions, rewards, flags) are small enough to
take whole. Aggregating episodes adds histograms, or takes the statistics
of the features' rows together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}


class Histogram:
    """Per-channel counts of the values 0..255 of some pictures uint8 [n, h, w, c]."""

    def __init__(self, channels: int) -> None:
        self.counts = np.zeros((channels, 256), np.int64)
        self.frames = 0

    def add(self, pictures: np.ndarray) -> None:
        for c in range(self.counts.shape[0]):
            self.counts[c] += np.bincount(pictures[..., c].ravel(), minlength=256)
        self.frames += int(pictures.shape[0])

    def merge(self, other: Histogram) -> None:
        self.counts += other.counts
        self.frames += other.frames

    def stats(self, count: int) -> dict[str, Any]:
        """LeRobot's picture statistics (values / 255, shape [c, 1, 1]); `count` is the frames they stand for."""
        values = np.arange(256) / 255.0
        total = np.maximum(self.counts.sum(axis=1), 1)
        mean = (self.counts * values).sum(axis=1) / total
        var = (self.counts * values**2).sum(axis=1) / total - mean**2
        cdf = np.cumsum(self.counts, axis=1) / total[:, None]
        present = self.counts > 0
        out = {
            "min": values[np.argmax(present, axis=1)], "max": values[255 - np.argmax(present[:, ::-1], axis=1)],
            "mean": mean, "std": np.sqrt(np.maximum(var, 0.0)),
            **{k: values[np.argmax(cdf >= q, axis=1)] for k, q in QUANTILES.items()},
        }
        shaped: dict[str, Any] = {k: v.reshape(-1, 1, 1).tolist() for k, v in out.items()}
        shaped["count"] = [int(count)]
        return shaped


def array_stats(rows: np.ndarray) -> dict[str, Any]:
    """Statistics of a feature's rows [n, ...] per element (LeRobot's low-dimensional features)."""
    x = rows.reshape(len(rows), -1).astype(np.float64) if len(rows) else np.zeros((1, 1))
    out: dict[str, Any] = {"min": x.min(axis=0), "max": x.max(axis=0), "mean": x.mean(axis=0), "std": x.std(axis=0)}
    out.update({k: np.quantile(x, q, axis=0) for k, q in QUANTILES.items()})
    result: dict[str, Any] = {k: v.tolist() for k, v in out.items()}
    result["count"] = [int(len(rows))]
    return result
