"""How a movie's rows meet its start, per dialect, replayed on the test core (every input bit changes its RAM).

BizHawk's convention: row 0 is the first frame after power-on and is applied.
stable-retro's: the two frames its make() runs come first, and row 0 is the
frame its reset() runs, with no button held, whatever the file says.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from retrotool import movie as bk2, playback, systems
from retrotool.emulator import Emulator

TEST = systems.get("Test")


def _trace(path: Path, rom: Path) -> list[str]:
    playback.run(path, rom=rom, trace=path.with_suffix(".jsonl"))
    return [json.loads(line)["ram"] for line in path.with_suffix(".jsonl").read_text().splitlines()]


def _by_hand(testcore: Path, rom: Path, masks: np.ndarray) -> list[str]:
    """RAM hashes after each of `masks`, run from the moment the game is loaded."""
    with Emulator(testcore, rom, ports=1) as emu:
        out = []
        for row in masks:
            emu.run(row[np.newaxis])
            out.append(hashlib.sha256(emu.obs_ram()).hexdigest())
        return out


def _press_row_0_as_row_1(path: Path) -> None:
    """Rewrite a stable-retro file's first frame line (written released) as a copy of the second."""
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    lines = entries["Input Log.txt"].split(b"\n")
    lines[2] = lines[3]
    entries["Input Log.txt"] = b"\n".join(lines)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def test_bizhawk_power_on_applies_row_0_and_stable_retro_runs_make_then_a_released_row_0(
    tmp_path: Path, rom: Path, testcore: Path, buttons
) -> None:
    pressed = buttons(40, seed=2)
    pressed[0, 0, TEST.index("B")] = 1  # row 0 presses B in both files
    masks = TEST.masks(pressed)
    for convention in ("bizhawk", "stable-retro"):
        data = bk2.to_bytes(bk2.Movie(system="Test", buttons=pressed, convention=convention), convention)
        (tmp_path / f"{convention}.bk2").write_bytes(data)
    _press_row_0_as_row_1(tmp_path / "stable-retro.bk2")  # as another tool might have written it
    for convention in ("bizhawk", "stable-retro"):
        movie = bk2.read(tmp_path / f"{convention}.bk2")
        assert movie.convention == convention and movie.buttons[0].any()
    bizhawk = _trace(tmp_path / "bizhawk.bk2", rom)
    assert bizhawk == _by_hand(testcore, rom, masks)  # every row applied, from the load on

    stable_retro = _trace(tmp_path / "stable-retro.bk2", rom)
    make_then_released = np.concatenate([np.zeros((bk2.MAKE_FRAMES, 1), np.uint16), masks])
    make_then_released[bk2.MAKE_FRAMES] = 0
    assert stable_retro == _by_hand(testcore, rom, make_then_released)[bk2.MAKE_FRAMES :]
    assert stable_retro != bizhawk
