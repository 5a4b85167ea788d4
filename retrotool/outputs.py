"""Writing user files safely: never overwrite without force, never leave half a file.

Every output (movie, trace, video, dataset) is written under a temporary name
in the target's own folder and moved into place only when complete, so
Ctrl-C, a full disk or a crash leaves either the old file or the new one.
Without force the move is a hard link, which fails if the target appeared
meanwhile, so an existing file is never replaced even in a race.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from retrotool.errors import OutputExistsError, RetroToolError


def _exists(target: Path) -> OutputExistsError:
    return OutputExistsError(f"{target} already exists; pass --force to overwrite it")


def check_target(path: str | os.PathLike[str], force: bool) -> Path:
    """Refuse an existing output unless forced; check the folder exists."""
    target = Path(path)
    if target.exists() and not force:
        raise _exists(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise RetroToolError(f"cannot write {target}: folder {parent} does not exist")
    return target


def temp_name(target: Path) -> Path:
    """A hidden temporary sibling of target (same filesystem, so the move is atomic)."""
    return target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")


def commit(tmp: Path, target: Path, force: bool = True) -> None:
    """fsync a finished temporary file and move it into place."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    if force:
        os.replace(tmp, target)
    else:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise _exists(target) from None
        except OSError:  # no hard links on this filesystem: check_target's test must do
            os.replace(tmp, target)
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def discard(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)


def sweep(folder: Path, name: str | None = None) -> None:
    """Remove what a process that died (a crashed core, kill -9) left under temporary names in `folder`.

    Only those of the output `name` when given, else every one.
    """
    for path in folder.glob(f".{glob.escape(name) if name is not None else '*'}.tmp-*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike[str], fill: Callable[[BinaryIO], object], *, force: bool) -> None:
    """Let `fill` write a temporary file beside `path`, then move it into place.

    Disk errors (full disk, no permission) become one-line RetroToolErrors.
    """
    target = check_target(path, force)
    tmp = temp_name(target)
    try:
        with open(tmp, "xb") as handle:
            fill(handle)
        commit(tmp, target, force)
    except OSError as e:
        raise RetroToolError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        discard(tmp)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not every platform can open a folder."""
    try:
        fd = os.open(directory if str(directory) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
