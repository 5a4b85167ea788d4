"""Every data.json type code read at every address at once, for searching RAM.

A value of type T at address A is decoded by `variables.Variable.decode`,
the same function that reads data.json variables, applied to many addresses
instead of many frames. Whether a value changed between two frames needs no
decoding: it changed exactly when one of its bytes did, seen through what the
format reads of a byte (all of it for u and i, both digits mod 10 for d, the
low digit for n); `changed` works on those byte-level masks.
"""

from __future__ import annotations

import numpy as np

from retrotool.errors import ContentError
from retrotool.ram.layout import Layout
from retrotool.variables import Variable, check_type

# What a search looks for unless told otherwise: every size up to 4 bytes, signed and unsigned and BCD, in both
# byte orders, and one-digit-per-byte BCD up to 8 digits (scores like >n6).
DEFAULT_TYPES: tuple[str, ...] = (
    "|u1", "|i1", "|d1", "|n1",
    *(f"{order}{fmt}{size}" for size in (2, 3, 4) for fmt in "uid" for order in "<>"),
    *(f"{order}n{size}" for size in range(2, 9) for order in "<>"),
)
# What each format reads of a byte: two bytes read alike by every type of the format decode alike.
VIEWS = ("byte", "digits", "low_digit")
_BYTES = np.arange(256, dtype=np.uint8)
_VIEW_TABLES = {
    "byte": _BYTES,
    "digits": ((_BYTES >> 4) % 10 * 16 + (_BYTES & 15) % 10).astype(np.uint8),
    "low_digit": ((_BYTES & 15) % 10).astype(np.uint8),
}


def view_of(code: str) -> str:
    """Which byte view decides whether a value of this type changed."""
    return {"u": "byte", "i": "byte", "d": "digits", "n": "low_digit"}[code[-2]]


def view_table(view: str) -> np.ndarray:
    """uint8 [256]: a byte as the view reads it."""
    return _VIEW_TABLES[view]


def size_of(code: str) -> int:
    return int(code[-1])


def parse_types(text: str | None) -> tuple[str, ...]:
    """--types: comma-separated type codes (each checked), or the default set."""
    if text is None or not text.strip():
        return DEFAULT_TYPES
    codes = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not codes:
        raise ContentError("--types needs at least one type code, like '|u1,>u2'")
    return tuple(check_type(c) for c in codes)


def decode(row: np.ndarray, code: str, columns: np.ndarray) -> np.ndarray:
    """int64 [k]: the values of type `code` starting at address-order `columns` of one RAM row (address order)."""
    if not columns.size:
        return np.empty(0, np.int64)
    return Variable("", 0, code).decode(row[columns[:, None] + np.arange(size_of(code))])


def changed(byte_changed: np.ndarray, size: int, layout: Layout) -> np.ndarray:
    """bool [columns]: where a value of `size` bytes has at least one changed byte (False where it does not fit)."""
    counts = np.concatenate([[0], np.cumsum(byte_changed, dtype=np.int64)])
    out = np.zeros(layout.size, np.bool_)
    n = layout.size - size + 1
    if n > 0:
        out[:n] = counts[size : size + n] - counts[:n] > 0
    return out & layout.fits(size)
