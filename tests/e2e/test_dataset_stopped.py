"""A dump-dataset stopped any way (kill -9, --strict, a full disk) leaves a folder the next run resumes.

The manifest is written first, marked in progress, so there is never a
folder "that is not a retrotool dataset" after a dump of ours; what a killed
run left under temporary names goes with the next run, and episodes it
finished without listing them are made again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from retrotool import datasets, movie as bk2, session
from retrotool.datasets import dump
from retrotool.errors import DatasetExistsError, RetroToolError
from retrotool.record import scripted


def _record(path: Path, buttons: np.ndarray) -> Path:
    what = session.game_content(game="TestGame-Test")
    scripted.record(system=what.system, core=None, rom=what.rom, buttons=buttons, out=path, start=what.state,
                    game=what.name)
    return path


def _crashing(path: Path, buttons: np.ndarray) -> Path:
    """A movie whose core segfaults 100 frames in (the test core's `testcore_crash_at` option)."""
    start = session.game_content(game="TestGame-Test").state or b""
    _record(path, buttons)
    at = int.from_bytes(start[12:16], "little") + 100
    bk2.write(bk2.read(path).with_meta(options={"testcore_crash_at": str(at)}), path, force=True)
    return path


def _dump(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "retrotool", "dump-dataset", *args], cwd=cwd, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_one_movie_dump_killed_mid_episode_resumes(tmp_path: Path, buttons) -> None:
    _record(tmp_path / "long.bk2", buttons(20_000, 1, seed=3))
    proc = _dump("long.bk2", "-o", "ds", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".long-") for p in (tmp_path / "ds").glob(".*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    manifest = datasets.read_manifest(tmp_path / "ds")  # before: none, so "not a retrotool dataset" for ever
    assert manifest is not None and manifest["state"] == "in progress" and manifest["episodes"] == []
    again = _dump("long.bk2", "-o", "ds", cwd=tmp_path)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    manifest = datasets.read_manifest(tmp_path / "ds")
    assert manifest is not None and manifest["state"] == "complete" and len(manifest["episodes"]) == 1
    assert _files(tmp_path / "ds") == sorted([manifest["episodes"][0]["file"], "manifest.json"])  # swept


def test_strict_stopping_at_a_crashing_first_movie_leaves_a_dataset_to_resume(tmp_path: Path, buttons) -> None:
    movies = [_crashing(tmp_path / "crash.bk2", buttons(240, 1, seed=9))]
    movies += [_record(tmp_path / f"m{i}.bk2", buttons(240, 1, seed=i)) for i in range(3)]
    with pytest.raises(RetroToolError, match="--strict"):
        dump.dump_dataset(movies, tmp_path / "ds", workers=2, strict=True)
    manifest = datasets.read_manifest(tmp_path / "ds")
    assert manifest is not None and manifest["state"] == "in progress"
    listed = sorted(e["file"] for e in manifest["episodes"])
    assert _files(tmp_path / "ds") == sorted([*listed, "manifest.json"])  # no episode it does not list
    result = dump.dump_dataset(movies[1:], tmp_path / "ds", workers=2)
    assert not result.failed and len(datasets.read_manifest(tmp_path / "ds")["episodes"]) == 3


def test_a_folder_of_an_older_stopped_dump_is_replaced_with_force_only(tmp_path: Path, buttons) -> None:
    movie = _record(tmp_path / "m.bk2", buttons(120, 1, seed=1))
    dump.dump_dataset([movie], tmp_path / "ds")
    (tmp_path / "ds" / "manifest.json").unlink()  # as an older retrotool left it when killed before its manifest
    with pytest.raises(DatasetExistsError, match="holds only episodes of a dump stopped before it had a manifest"):
        dump.dump_dataset([movie], tmp_path / "ds")
    assert not dump.dump_dataset([movie], tmp_path / "ds", force=True).failed
    (tmp_path / "ds" / "notes.txt").write_text("mine")
    (tmp_path / "ds" / "manifest.json").unlink()
    with pytest.raises(DatasetExistsError, match="not a retrotool dataset"):
        dump.dump_dataset([movie], tmp_path / "ds", force=True)  # a folder with other files is never emptied
    assert (tmp_path / "ds" / "notes.txt").read_text() == "mine"


_FULL_DISK = """
set -e
mount -t tmpfs -o size=1m tmpfs "$1"
cd "$2"
set +e
"$3" -m retrotool dump-dataset m0.bk2 m1.bk2 -o "$1/ds" 2>stderr.txt
echo "exit $?" >> stderr.txt
find "$1" -printf '%P %s\\n' > left.txt
"""


@pytest.mark.may_skip_in_ci
def test_a_full_disk_is_one_clear_error_and_leaves_only_the_manifest(tmp_path: Path, buttons) -> None:
    """On a real full disk (a 1 MB tmpfs, mounted in a user and mount namespace of its own)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("no user namespaces here to mount a small filesystem in")
    for i in range(2):
        _record(tmp_path / f"m{i}.bk2", buttons(3000, 1, seed=i))
    (tmp_path / "small").mkdir()
    script = tmp_path / "full.sh"
    script.write_text(_FULL_DISK)
    subprocess.run(["unshare", "-rm", "sh", str(script), str(tmp_path / "small"), str(tmp_path), sys.executable],
                   check=True, timeout=300)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr and stderr.count("\n") == 2, stderr  # one line, then the exit code
    assert "No space left on device; the disk is full" in stderr and stderr.endswith("exit 1\n"), stderr
    left = dict(line.rsplit(" ", 1) for line in (tmp_path / "left.txt").read_text().splitlines())
    assert sorted(left) == ["", "ds", "ds/manifest.json"], left  # no observations.part, no temporary folder


def _session(sid: int) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.getsid(int(proc.name)) == sid and "Z" not in (proc / "stat").read_text().rsplit(")", 1)[1][:3]:
                found.append(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_a_dump_stops_its_workers_at_once_and_they_clean_up(tmp_path: Path, buttons, sig: int) -> None:
    """Before, SIGTERM waited for every movie in progress to finish (75 s for a long one)."""
    _record(tmp_path / "long.bk2", buttons(1_000_000, 1, seed=3))
    _record(tmp_path / "short.bk2", buttons(120, 1, seed=4))
    proc = subprocess.Popen([sys.executable, "-m", "retrotool", "dump-dataset", "long.bk2", "short.bk2", "-o", "ds",
                             "--workers", "2"], cwd=tmp_path, text=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "ds").glob(".long-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    proc.send_signal(sig)  # to the command only, as `kill PID` does
    _, stderr = proc.communicate(timeout=120)
    while _session(proc.pid) and time.monotonic() < t0 + 30:
        time.sleep(0.01)
    assert time.monotonic() - t0 < 10 and not _session(proc.pid), "the workers went on"
    assert proc.returncode in (-signal.SIGKILL, 128 + signal.SIGTERM) and "Traceback" not in stderr, stderr
    assert not list((tmp_path / "ds").glob(".*")), "a worker left its temporary"
