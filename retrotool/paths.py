"""Names that come from files, the paths they become, and reading what they lead to with a bound.

A movie is shared like a picture, and a game integration folder may come
from anyone: nothing written in them may point retrotool at a file of their
choosing. So a game, a state or a ROM they name must be a *name* (one path
component; games and states from a strict alphabet), the path built from it
must resolve, symlinks followed, inside the folder it belongs to, and a file
read because a file named it is read only up to a size checked first.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from retrotool.errors import RetroToolError

# Game folders and states: the alphabet of every name in stable-retro's data (letters, digits, _ . -), no leading dot
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
CORE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")  # `genesis_plus_gx`: found through the core search, never a path
_FILE_NAME_BYTES = 255  # a file name on every filesystem retrotool runs on


def is_name(value: object) -> bool:
    """A game or state name: one component of the strict alphabet (so never `..`, a slash, or a hidden file)."""
    return isinstance(value, str) and NAME.fullmatch(value) is not None


def is_core_name(value: object) -> bool:
    """A core's name (a file names one, and it is looked up where cores are installed); a path never is."""
    return isinstance(value, str) and CORE_NAME.fullmatch(value) is not None


def is_file_name(value: object) -> bool:
    """A file name from a file (a ROM's, which may hold spaces and brackets): one component, not hidden, printable."""
    return (
        isinstance(value, str) and value.isprintable() and not value.startswith(".") and "/" not in value
        and "\\" not in value and 0 < len(value.encode("utf-8", "surrogateescape")) <= _FILE_NAME_BYTES
    )


def inside(folder: Path, name: str) -> Path | None:
    """`folder / name` when it resolves (symlinks followed) inside `folder`, else None."""
    path = folder / name
    base = os.path.realpath(folder)
    real = os.path.realpath(path)
    return path if real.startswith(base.rstrip(os.sep) + os.sep) else None


def read_bounded(path: Path, limit: int, what: str, error: type[RetroToolError]) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; a larger one is refused before it is read.

    The size is checked on the open file (no race with a swap of the
    name) and the read itself stops after `limit + 1` bytes, so a file that
    grows meanwhile is refused too.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # a FIFO must not block
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} {path} is not a regular file")
        if info.st_size > limit:
            raise error(f"{what} {path} is {info.st_size:,} bytes; retrotool reads at most {limit:,}")
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise error(f"{what} {path} grew past {limit:,} bytes while it was read")
    return data
