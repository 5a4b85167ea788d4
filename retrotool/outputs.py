"""Writing user files safely: never overwrite without force, never leave half a file.

Every output (movie, trace, video, dataset) is written under a temporary name
in the target's own folder and moved into place only when complete, so
Ctrl-C, a full disk or a crash leaves either the old file or the new one.
Without force the move is a hard link, which fails if the target appeared
meanwhile, so an existing file is never replaced even in a race.

A process killed outright (kill -9, a crashed core, a power cut) cannot clean
up, so a temporary name carries the pid and a tag of the host of the process
that made it: the first time a later process makes a temporary in a folder,
it removes the temporaries there whose process is gone. One whose process
lives, or that another host made (a shared folder), is never touched.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import re
import secrets
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from retrotool import interrupts
from retrotool.errors import DiskFullError, OutputExistsError, RetroToolError


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


_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_TEMP = re.compile(r"\.tmp-(\d+)-([0-9a-f]{6})-[0-9a-f]{8}$")  # .NAME.tmp-PID-HOST-RANDOM
_swept: set[str] = set()  # folders this process has swept already


def temp_name(target: Path) -> Path:
    """A hidden temporary sibling of target (same filesystem, so the move is atomic), named after this process.

    The first call for a folder sweeps it (see `sweep`).
    """
    folder = os.path.abspath(target.parent)
    if folder not in _swept:
        _swept.add(folder)
        sweep(target.parent)
    return target.with_name(f".{target.name}.tmp-{os.getpid()}-{_HOST}-{secrets.token_hex(4)}")


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
    """Remove a temporary file; a signal waits until it is gone (see `interrupts.deferred`)."""
    with interrupts.deferred():
        tmp.unlink(missing_ok=True)


def discard_tree(work: Path) -> None:
    """Remove a temporary folder and all it holds, whatever is wrong with it; a signal waits until it is gone."""
    with interrupts.deferred():
        shutil.rmtree(work, ignore_errors=True)


def sweep(folder: Path, name: str | None = None) -> None:
    """Remove what processes that died (a crashed core, kill -9) left under temporary names in `folder`.

    Only those of the output `name` when given, else every one; never one
    whose process is alive or that was made on another host.
    """
    try:
        found = list(folder.glob(f".{glob.escape(name) if name is not None else '*'}.tmp-*"))
    except OSError:  # an unreadable folder: writing into it will say what is wrong
        return
    for path in found:
        if _abandoned(path.name):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _abandoned(name: str) -> bool:
    """A temporary name of this host whose process no longer runs."""
    match = _TEMP.search(name)
    if match is None or match[2] != _HOST:
        return False
    try:
        os.kill(int(match[1]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # another user's process, or no pid at all: keep it
        return False
    return False


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
        raise write_error(target, e) from None
    finally:
        discard(tmp)


def write_error(target: Path, e: OSError) -> RetroToolError:
    """The one-line error of a failed write; a full disk (or quota) is a DiskFullError, which stops a batch."""
    kind = DiskFullError if e.errno in (errno.ENOSPC, errno.EDQUOT) else RetroToolError
    return kind(f"cannot write {target}: {e.strerror or e}")


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
