"""Scripted input sources for headless recording.

A recording follows stable-retro's convention: its row 0 is the frame
stable-retro's reset() runs, with no button held. Random input leaves that
row released; a scripted input that presses something there is told so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from retrotool.errors import RetroToolError
from retrotool.replay import ArraySource
from retrotool.systems import System

log = logging.getLogger(__name__)


def random_buttons(system: System, frames: int, players: int, seed: int) -> np.ndarray:
    """Random presses, each button held for runs of 1-16 frames (more game-like than noise).

    The seed fully determines the result, so a random recording can be redone.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((frames, players, len(system.buttons)), np.uint8)
    for p in range(players):
        for b in range(len(system.buttons)):
            lengths = rng.integers(1, 17, size=frames // 2 + 1)
            starts = np.cumsum(lengths)
            values = rng.integers(0, 2, size=lengths.size, dtype=np.uint8)
            idx = np.searchsorted(starts, np.arange(frames), side="right")
            out[:, p, b] = values[idx]
    out[:1] = 0  # the reset frame
    return out


def load_buttons(path: Path, system: System, players: int | None = None) -> np.ndarray:
    """Buttons from a .npy file: uint8/bool [frames, players, n_buttons] or [frames, n_buttons]
    in the system's canonical order, or uint16 libretro masks [frames, players] / [frames]."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise RetroToolError(f"cannot read input file {path}: {e}") from None
    n = len(system.buttons)
    if arr.dtype == np.uint16:
        masks = arr.reshape(arr.shape[0], -1) if arr.ndim == 1 else arr
        arr = system.from_masks(masks)
    elif arr.ndim == 2 and arr.shape[1] == n:
        arr = arr[:, None, :]
    if arr.ndim != 3 or arr.shape[2] != n or arr.dtype.kind not in "bui":
        raise RetroToolError(
            f"{path}: expected buttons [frames, players, {n}] (order: {' '.join(system.buttons)}) "
            f"or uint16 masks [frames, players], got {arr.dtype}{list(arr.shape)}"
        )
    if players is not None and arr.shape[1] != players:
        raise RetroToolError(f"{path} holds {arr.shape[1]} players, not {players}")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise RetroToolError(f"{path}: button values must be 0 or 1")
    return arr.astype(np.uint8)


def scripted_source(buttons: np.ndarray, frames: int | None) -> ArraySource:
    """An input source over `buttons`, cut to `frames` rows when given."""
    if frames is not None:
        if frames > buttons.shape[0]:
            raise RetroToolError(f"--frames {frames} is more than the {buttons.shape[0]} rows of input")
        buttons = buttons[:frames]
    if len(buttons) and buttons[0].any():
        log.warning("row 0 of the input presses buttons, but it is the frame stable-retro's reset() runs, which "
                    "applies none: it is recorded released (start the input at row 1)")
    return ArraySource(buttons)
