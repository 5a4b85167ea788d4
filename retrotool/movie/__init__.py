"""Movies: the pure ``.bk2`` codec (stable-retro's and BizHawk's dialects) and the Movie value.

Nothing here imports an emulator: bytes in, :class:`Movie` out, and back.

>>> from retrotool import movie
>>> m = movie.read("run.bk2")                       # either dialect
>>> m.buttons.shape                                  # (frames, players, n_buttons), uint8
>>> movie.write(m, "out.bk2")                        # stable-retro dialect, refuses to overwrite
>>> movie.write(m, "bh.bk2", dialect="bizhawk")      # power-on movies only
"""

from retrotool.movie.bk2_read import from_bytes, read
from retrotool.movie.bk2_write import to_bytes, unrecorded_presses, write
from retrotool.movie.convention import MAKE_FRAMES, convert, pressed_in_reset_row
from retrotool.movie.layout import Dialect
from retrotool.movie.model import Checkpoint, Convention, Movie, StateFormat

__all__ = [
    "MAKE_FRAMES", "Checkpoint", "Convention", "Dialect", "Movie", "StateFormat", "convert", "from_bytes",
    "pressed_in_reset_row", "read", "to_bytes", "unrecorded_presses", "write",
]
