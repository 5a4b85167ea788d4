"""Operations on batches of RGB24 pictures, uint8 [n, h, w, 3], shared by videos and datasets (numpy only)."""

from __future__ import annotations

import numpy as np


def fit(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize to (height, width): for cores that change resolution mid-movie, and --resize."""
    rows = np.arange(height) * frames.shape[1] // height
    cols = np.arange(width) * frames.shape[2] // width
    return frames[:, rows][:, :, cols]


def grayscale(frames: np.ndarray) -> np.ndarray:
    """uint8 [n, h, w, 3] → uint8 [n, h, w, 1], integer luma (ITU-R 601 weights / 256)."""
    luma = frames @ np.array([77, 150, 29], np.uint16) + np.uint16(128)
    return (luma >> 8).astype(np.uint8)[..., None]
