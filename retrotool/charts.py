"""Line charts of values over the frames of a movie, as PNG files (matplotlib, the `plot` extra).

matplotlib is imported only when a chart is drawn, and through its
object-oriented API (no pyplot: no global figures, no display needed).
Frame numbers run along the x-axis; each panel has its own y-axis, so
values of very different sizes (a score and a lives counter) each stay
readable in a panel of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retrotool import outputs
from retrotool.errors import RetroToolError

MISSING_EXTRA = "plots need matplotlib: pip install 'retrotool[plot]'"
SAME_PANEL_RATIO = 20.0  # lines whose sizes differ more than this get panels of their own


@dataclass(frozen=True, slots=True)
class Panel:
    """One chart: its lines (label -> one value per frame), drawn as steps for flags and counters."""

    title: str
    lines: Mapping[str, np.ndarray]
    steps: bool = True
    marks: Sequence[tuple[int, str]] = field(default_factory=tuple)  # vertical lines at frames, with labels
    ticks: Sequence[tuple[float, str]] = field(default_factory=tuple)  # named y values (a flag's no / yes)


def figure_class() -> Any:
    """matplotlib's Figure, or the error that says how to install it."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise RetroToolError(MISSING_EXTRA) from None
    return Figure


def panels_for(lines: Mapping[str, np.ndarray], title: str = "") -> list[Panel]:
    """One panel for lines of a like size, else one per line (labelled by it)."""
    sizes = [float(np.max(np.abs(v))) if v.size else 0.0 for v in lines.values()]
    positive = [s for s in sizes if s > 0]
    if len(lines) < 2 or not positive or max(positive) <= SAME_PANEL_RATIO * min(positive):
        return [Panel(title, lines)]
    return [Panel(name, {name: values}) for name, values in lines.items()]


def draw(path: Path, frames: np.ndarray, panels: Sequence[Panel], *, title: str, force: bool = False) -> Path:
    """Write a PNG of the panels, stacked, sharing the frame axis; never overwrites without `force`."""
    figure = figure_class()(figsize=(10, 1.2 + 2.3 * len(panels)), dpi=100, layout="constrained")
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels):
        for label, values in panel.lines.items():
            if panel.steps:
                ax.step(frames, values, where="post", label=label, linewidth=1.2)
            else:
                ax.plot(frames, values, label=label, linewidth=1.2)
        for frame, label in panel.marks:
            ax.axvline(frame, color="tab:red", linestyle="--", linewidth=1)
            ax.annotate(label, (frame, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                        textcoords="offset points", color="tab:red", fontsize=8)
        ax.set_title(panel.title, fontsize=10, loc="left")
        ax.grid(True, alpha=0.3)
        if panel.ticks:
            ax.set_yticks([v for v, _ in panel.ticks], [label for _, label in panel.ticks])
        else:
            ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        if len(panel.lines) > 1:
            ax.legend(loc="upper left", fontsize=8)
    axes[-1].set_xlabel("frame")
    figure.suptitle(title, fontsize=11)
    outputs.write_atomic(path, lambda f: figure.savefig(f, format="png"), force=force)
    return path
