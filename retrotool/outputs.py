"""Writing user files safely: never overwrite without force, never leave half a file.

Every output (movie, trace, video, dataset) is written under a temporary name
in the target's own directory and renamed into place only when complete, so
Ctrl-C, a full disk or a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from retrotool.errors import OutputExistsError, RetroToolError


def check_target(path: str | os.PathLike[str], force: bool) -> Path:
    """Refuse an existing output unless forced; check the folder exists."""
    target = Path(path)
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists; pass --force to overwrite it")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise RetroToolError(f"cannot write {target}: folder {parent} does not exist")
    return target


def temp_name(target: Path) -> Path:
    """A hidden temporary sibling of target (same filesystem, so rename is atomic)."""
    return target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")


def commit(tmp: Path, target: Path) -> None:
    """fsync and move a finished temporary file into place."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)


def discard(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> None:
    """Write a whole file atomically (refusing to overwrite unless force)."""
    target = check_target(path, force)
    tmp = temp_name(target)
    try:
        tmp.write_bytes(data)
        commit(tmp, target)
    except OSError as e:
        discard(tmp)
        raise RetroToolError(f"cannot write {target}: {e.strerror}") from None
    except BaseException:
        discard(tmp)
        raise
