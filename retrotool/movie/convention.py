"""The two conventions for how a movie's rows meet its start, and conversion between them.

stable-retro's: a replay loads the game and runs the frames its ``make()``
runs (two, no button held), then loads the movie's state if it has one; row 0
is the frame its ``reset()`` runs, whose buttons it never applies, and row k
the k-th ``env.step``. Its recorder writes row 0 released.

BizHawk's: row 0 is the first frame after power-on (or after the state),
and every row is applied.

Both describe the same emulated frames, so a movie converts without changing
what it plays: a stable-retro power-on movie is a BizHawk one with two
released rows in front. The other way, a BizHawk movie whose first frames
press buttons has no stable-retro form; conversion refuses it, naming the frame.
Writers convert through `rows`, which gives views and counts instead of new
arrays, so writing a long movie in the other dialect copies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from retrotool.errors import MovieFormatError
from retrotool.movie.model import Convention, Movie

__all__ = ["MAKE_FRAMES", "Rows", "convert", "pressed_in_reset_row", "rows"]

MAKE_FRAMES = 2  # frames stable-retro's make() runs before reset() (one building the emulator, one after)


def pressed_in_reset_row(movie: Movie) -> bool:
    """True when a stable-retro movie's row 0 holds buttons stable-retro will not apply."""
    return movie.convention == "stable-retro" and movie.frames > 0 and bool(movie.buttons[0].any())


@dataclass(frozen=True, slots=True)
class Rows:
    """A movie's rows under a convention: `lead` released rows, then `buttons`/`console` (views).

    `release_first`: row 0 of `buttons` is written released. `shift`: how far
    a frame number moves (checkpoints follow their frames).
    """

    buttons: np.ndarray
    console: np.ndarray
    lead: int = 0
    release_first: bool = False
    shift: int = 0


def rows(movie: Movie, to: Convention) -> Rows:
    """The movie's rows as `to` needs them; MovieFormatError when `to` cannot express them."""
    if movie.convention == to:
        return Rows(movie.buttons, movie.console, release_first=pressed_in_reset_row(movie))
    if to == "bizhawk":
        lead = 0 if movie.state is not None else MAKE_FRAMES
        return Rows(movie.buttons, movie.console, lead, release_first=True, shift=lead)
    hidden = 0 if movie.state is not None else MAKE_FRAMES
    first = movie.buttons[: hidden + 1]
    pressed = np.flatnonzero(first.reshape(len(first), -1).any(axis=1))
    if pressed.size:
        after = "its state" if hidden == 0 else "power-on"
        raise MovieFormatError(
            f"stable-retro cannot replay this movie: it presses buttons in frame {int(pressed[0])}, but stable-retro "
            f"gives the game no input in the first {hidden + 1} frames after {after}"
        )
    return Rows(movie.buttons[hidden:], movie.console[hidden:], shift=-hidden)


def convert(movie: Movie, to: Convention) -> Movie:
    """The same play under the other convention (or `movie` itself)."""
    if movie.convention == to:
        return movie
    r = rows(movie, to)
    buttons = np.concatenate([np.zeros((r.lead, *r.buttons.shape[1:]), np.uint8), r.buttons])
    console = np.concatenate([np.zeros((r.lead, *r.console.shape[1:]), np.uint8), r.console])
    if r.release_first and len(r.buttons):
        buttons[r.lead] = 0
    return movie.replace(
        buttons=buttons, console=console, console_names=movie.console_names, convention=to,
        meta=shift_checkpoints(movie.meta_json(), r.shift),
    )


def shift_checkpoints(meta: dict[str, Any], shift: int) -> dict[str, Any]:
    """`meta` with its checkpoints and keyframes moved `shift` frames (any checkpoint before frame 0 dropped).

    A keyframe is the state after its frame, so it moves with it; keyframes
    are delta-coded in a chain, so if one would fall before frame 0 the
    index goes (the movie replays, only not from them).
    """
    if not shift:
        return meta
    out = dict(meta)
    if meta.get("checkpoints"):
        out["checkpoints"] = [{**c, "frame": c["frame"] + shift} for c in meta["checkpoints"] if c["frame"] + shift >= 0]
    index = meta.get("keyframes")
    if isinstance(index, dict) and isinstance(index.get("frames"), list):
        frames = [f + shift for f in index["frames"] if isinstance(f, int)]
        if frames and min(frames) < 0:
            del out["keyframes"]
        else:
            out["keyframes"] = {**index, "frames": frames}
    return out
