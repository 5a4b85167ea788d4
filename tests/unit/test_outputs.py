"""Writing outputs: never over a file that exists (even one that appears meanwhile), never half a file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from retrotool import outputs
from retrotool.errors import OutputExistsError, RetroToolError
from retrotool.movie import Movie, write as write_movie
from retrotool.sinks.contract import FrameBatch
from retrotool.sinks.trace import TraceSink


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_check_target(tmp_path: Path) -> None:
    existing = tmp_path / "a.bk2"
    existing.write_text("mine")
    with pytest.raises(OutputExistsError, match=r"a.bk2 already exists; pass --force to overwrite it"):
        outputs.check_target(existing, force=False)
    assert outputs.check_target(existing, force=True) == existing
    assert outputs.check_target(tmp_path / "new.bk2", force=False) == tmp_path / "new.bk2"
    with pytest.raises(RetroToolError, match="folder .*nowhere does not exist"):
        outputs.check_target(tmp_path / "nowhere" / "x.bk2", force=True)


def test_a_file_that_appears_while_writing_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"

    def fill(handle) -> None:
        handle.write(b"new")
        target.write_text("another program's file")  # after the check, before the move

    with pytest.raises(OutputExistsError, match="out.bin already exists"):
        outputs.write_atomic(target, fill, force=False)
    assert target.read_text() == "another program's file"
    assert _listing(tmp_path) == ["out.bin"]  # and no temporary file left


def test_with_force_the_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_text("old")
    outputs.write_atomic(target, lambda h: h.write(b"new"), force=True)
    assert target.read_bytes() == b"new" and _listing(tmp_path) == ["out.bin"]
    outputs.write_atomic(tmp_path / "fresh.bin", lambda h: h.write(b"x"), force=False)
    assert (tmp_path / "fresh.bin").read_bytes() == b"x" and _listing(tmp_path) == ["fresh.bin", "out.bin"]


def test_commit_moves_a_temporary_file_into_place(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    tmp = outputs.temp_name(target)
    assert tmp.parent == tmp_path and tmp.name.startswith(".t.txt.tmp-")
    tmp.write_text("one")
    outputs.commit(tmp, target, force=False)
    assert target.read_text() == "one" and not tmp.exists()
    tmp.write_text("two")
    with pytest.raises(OutputExistsError):
        outputs.commit(tmp, target, force=False)
    assert target.read_text() == "one"
    outputs.commit(tmp, target, force=True)
    assert target.read_text() == "two" and _listing(tmp_path) == ["t.txt"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    def fill(handle) -> None:
        handle.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(RetroToolError, match=r"cannot write .*out.bin: No space left on device"):
        outputs.write_atomic(tmp_path / "out.bin", fill, force=False)
    assert _listing(tmp_path) == []


def test_a_movie_that_appears_while_writing_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.bk2"
    movie = Movie(system="Test", buttons=np.zeros((3, 1, 16), np.uint8))
    real_commit = outputs.commit

    def late(tmp: Path, dest: Path, force: bool = True) -> None:
        dest.write_text("someone else's movie")
        real_commit(tmp, dest, force)

    monkeypatch.setattr(outputs, "commit", late)
    with pytest.raises(OutputExistsError):
        write_movie(movie, target)
    assert target.read_text() == "someone else's movie" and _listing(tmp_path) == ["m.bk2"]


def test_a_trace_that_appears_meanwhile_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "t.jsonl"
    sink = TraceSink(target)
    sink.needs(1)
    sink.open(None)  # type: ignore[arg-type]  # the trace keeps nothing of the replay's facts
    sink.consume(FrameBatch(start=0, buttons=np.zeros((1, 1, 1), np.uint8), masks=np.zeros((1, 1), np.uint16),
                            ram=b"\x00", screen=np.zeros((1, 1, 3), np.uint8)))
    target.write_text("mine")
    with pytest.raises(OutputExistsError):
        sink.close(None)
    assert target.read_text() == "mine" and _listing(tmp_path) == ["t.jsonl"]


def test_sweep_removes_only_temporary_names(tmp_path: Path) -> None:
    """Temporaries of a dead process of this host go; files that are not temporaries stay."""
    dead = f"{2**22 + 12345}-{outputs._HOST}"  # above any pid this machine hands out
    for name in ("a.mp4", f".a.mp4.tmp-{dead}-0badcafe", f".b.mp4.tmp-{dead}-0badcafe", ".a.mp4.note"):
        (tmp_path / name).write_text("x")
    (tmp_path / f".a.mp4.tmp-{dead}-0000beef").mkdir()
    (tmp_path / f".a.mp4.tmp-{dead}-0000beef" / "frame.png").write_text("x")
    outputs.sweep(tmp_path, "a.mp4")
    assert _listing(tmp_path) == [".a.mp4.note", f".b.mp4.tmp-{dead}-0badcafe", "a.mp4"]
    outputs.sweep(tmp_path)
    assert _listing(tmp_path) == [".a.mp4.note", "a.mp4"]


def test_commit_makes_the_file_and_its_move_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "t.txt"
    target.write_text("old")
    tmp = outputs.temp_name(target)
    tmp.write_text("data")
    outputs.commit(tmp, target)  # by default the target is replaced (the caller checked it earlier)
    assert synced == [str(tmp), str(tmp_path)]  # the data before the move, the folder after it
    assert target.read_text() == "data"


def test_without_hard_links_the_move_still_happens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # what vfat and some network filesystems say

    monkeypatch.setattr(os, "link", no_links)
    outputs.write_atomic(tmp_path / "out.bin", lambda h: h.write(b"x"), force=False)
    assert (tmp_path / "out.bin").read_bytes() == b"x" and _listing(tmp_path) == ["out.bin"]
