"""The recorder's real window under Xvfb, played with real key presses (xdotool).

A test cannot know which frame a key press lands on, so it checks what
does not depend on timing: the sequence of buttons in the movie (each key
held alone, in order, for one run of frames), and that the game saw exactly
the movie's buttons on every frame (the test core's and the NES probe's
RAM, replayed). Skipped without Xvfb and xdotool (`.ci/run` installs them).
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from retrotool import cores, movie as bk2, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError, RetroToolError
from retrotool.record import journal

pytest.importorskip("pygame", reason="the interactive recorder needs pygame-ce (the 'record' extra)")
if not (shutil.which("Xvfb") and shutil.which("xdotool")):
    pytest.skip("needs Xvfb and xdotool (apt-get install xvfb xdotool)", allow_module_level=True)

HOLD, GAP = 0.25, 0.2  # seconds a key is held, and between keys: many frames even on a loaded machine


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private X server on a free display number (Xvfb picks it and tells us through a pipe)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)


class Recorder:
    """`retrotool record` in its own process, on the test's X server."""

    def __init__(self, display: str, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, "DISPLAY": display, "SDL_AUDIODRIVER": "dummy", **(env or {})}
        self.env.pop("SDL_VIDEODRIVER", None)
        self.journal = cwd / "m.bk2.journal"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "retrotool", "record", "-o", "m.bk2", *args],
            cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._wait_for_frames(20)  # playing, so the window is up; with no window manager it has the focus

    def journalled(self) -> int:
        """Frames in the journal so far; 0 before it exists (or once the finished recording removed it).

        A journal that exists is always readable: the recorder moves it into
        place with its header already written.
        """
        try:
            return journal.read(self.journal).masks.shape[0]
        except RetroToolError:
            if self.journal.exists():
                raise
            return 0

    def _wait_for_frames(self, n: int) -> None:
        deadline = time.monotonic() + 60
        while self.journalled() < n:
            if self.proc.poll() is not None:
                pytest.fail(f"the recorder exited: {self.proc.communicate()[1]}")
            if time.monotonic() > deadline:
                pytest.fail("the recorder did not start playing within 60 s")
            time.sleep(0.05)

    def xdotool(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30)

    def press(self, *keys: str, hold: float = HOLD) -> None:
        """Each key held alone for `hold` seconds, then a gap."""
        for key in keys:
            self.xdotool("keydown", key)
            time.sleep(hold)
            self.xdotool("keyup", key)
            time.sleep(GAP)

    def quit(self) -> str:
        self.press("Escape", hold=0.05)
        out, self.stderr = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, self.stderr
        return out


def runs(movie: bk2.Movie) -> list[list[str]]:
    """The movie's presses as runs of identical rows, e.g. [["P1 RIGHT"], ["P1 B"]] (empty rows left out)."""
    system = systems.get(movie.system)
    out: list[list[str]] = []
    previous: list[str] = []
    for row in movie.buttons:
        held = [f"P{p + 1} {b}" for p in range(movie.players) for b, v in zip(system.buttons, row[p]) if v]
        if held and held != previous:
            out.append(held)
        previous = held
    return out


def _seen_by_test_core(movie: bk2.Movie, rom: Path, testcore: Path) -> np.ndarray:
    """Replay; the port-0 buttons the test core saw on each frame (RAM 0x20)."""
    seen = []
    with Emulator(testcore, rom, ports=1) as emu:
        for masks in movie.masks():
            emu.run(masks[np.newaxis])
            seen.append(int.from_bytes(bytes(emu.ram[0x20:0x22]), "little"))
    return np.array(seen)


def test_key_presses_become_the_movie_and_the_game_sees_them(display: str, tmp_path: Path, rom: Path, testcore: Path) -> None:
    rec = Recorder(display, tmp_path, "--rom", str(rom), "--checkpoint-every", "30")
    rec.press("Right", "z", "x", "Up")
    out = rec.quit()
    movie = bk2.read(tmp_path / "m.bk2")
    assert runs(movie) == [["P1 RIGHT"], ["P1 B"], ["P1 A"], ["P1 UP"]]
    assert np.array_equal(_seen_by_test_core(movie, rom, testcore), movie.masks()[:, 0])
    assert "verified by a replay" in out and not rec.journal.exists()


def test_save_and_load_a_slot_rerecords(display: str, tmp_path: Path, rom: Path) -> None:
    rec = Recorder(display, tmp_path, "--rom", str(rom), "--checkpoint-every", "30")
    before = rec.journalled()  # the slot is saved at this frame or later
    rec.press("F2", hold=0.05)
    rec.press("Right")
    rec.press("F4", hold=0.05)  # back to the slot: the Right presses are gone
    rec.press("z")
    rec.quit()
    movie = bk2.read(tmp_path / "m.bk2")
    assert runs(movie) == [["P1 B"]] and movie.header_value("rerecordCount") == "1"
    first_b = int(np.flatnonzero(movie.buttons[:, 0].any(axis=1))[0])
    assert first_b >= before


def test_kill_9_then_recover_replays_up_to_the_last_journalled_frame(
    display: str, tmp_path: Path, rom: Path, testcore: Path, cli
) -> None:
    rec = Recorder(display, tmp_path, "--rom", str(rom), "--checkpoint-every", "20")
    rec.press("Left", "z")
    rec._wait_for_frames(rec.journalled() + 45)  # past two more checkpoints
    rec.proc.send_signal(signal.SIGKILL)
    rec.proc.communicate(timeout=30)
    played = journal.read(rec.journal)
    assert len(played.checkpoints) >= 3 and not (tmp_path / "m.bk2").exists()
    proc = cli("record", "--recover", str(rec.journal), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"recovered {len(played.masks)} frames" in proc.stdout
    assert f"{len(played.checkpoints)} live checkpoints replayed identically" in proc.stdout
    movie = bk2.read(tmp_path / "m.bk2")
    assert np.array_equal(movie.masks(), played.masks) and runs(movie) == [["P1 LEFT"], ["P1 B"]]
    assert np.array_equal(_seen_by_test_core(movie, rom, testcore), movie.masks()[:, 0])


NES_BITS = {"RIGHT": 0, "LEFT": 1, "DOWN": 2, "UP": 3, "START": 4, "SELECT": 5, "B": 6, "A": 7}  # see test_probes_a


def test_nes_probe_on_a_real_core_with_two_players(display: str, tmp_path: Path) -> None:
    nes = systems.get("Nes")
    try:
        core = cores.for_system(nes)
    except CoreError as e:
        pytest.skip(str(e))
    source = importlib.resources.files("retrotool") / "_roms" / "Nes" / "probe.nes"
    if not source.is_file():
        pytest.skip("the NES probe ROM was not built (needs Debian's cc65)")
    rom = tmp_path / "probe.nes"
    rom.write_bytes(source.read_bytes())
    rec = Recorder(display, tmp_path, "--rom", str(rom), "--players", "2")
    rec.press("Right", "x", "i", "n")  # player 1: right, A; player 2: up, B
    rec.quit()
    movie = bk2.read(tmp_path / "m.bk2")
    assert runs(movie) == [["P1 RIGHT"], ["P1 A"], ["P2 UP"], ["P2 B"]]
    masks = movie.masks()
    ids = dict(zip(nes.buttons, nes.joypad_ids))
    expected = sum(((masks[:, p].astype(np.int64) >> ids[b]) & 1) << (bit + 8 * p)
                   for b, bit in NES_BITS.items() for p in range(2))
    seen = []
    with Emulator(core.path, rom, ports=2) as emu:
        for row in masks:
            emu.run(row[np.newaxis])
            seen.append(int.from_bytes(bytes(emu.ram[0:2]), "little"))
    settled = 12  # the probe polls from frame 4 on
    assert np.array_equal(np.array(seen)[settled:], expected[settled:])


def test_no_sound_device_is_one_line(display: str, tmp_path: Path, rom: Path) -> None:
    """ALSA's failed probes (eight lines where there is no sound card) are not shown; one warning says it."""
    rec = Recorder(display, tmp_path, "--rom", str(rom), env={"SDL_AUDIODRIVER": "alsa", "AUDIODEV": "no-such-device"})
    out = rec.quit()
    assert "verified by a replay" in out
    assert "ALSA" not in rec.stderr, rec.stderr
    lines = [x for x in rec.stderr.splitlines() if "sound" in x]
    assert len(lines) == 1 and "no sound device; recording without sound" in lines[0], rec.stderr
