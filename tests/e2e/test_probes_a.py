"""Input-probe ROMs on real cores: NES (fceumm), SNES (snes9x), PC Engine (mednafen_pce_fast), Atari 2600 (stella).

Each probe (libretro_cores/roms/<System>) keeps the buttons it reads in RAM
every frame. One run per system presses every button alone on every port,
then a few combinations and a random stretch; after each frame the probe
value must be what the table below says the game sees, the picture of a
steadily held button must be its own, and the same input written as a
stable-retro movie and read back must replay with identical RAM every frame.
Skipped when a ROM was not built (its toolchain is missing) or the core is
not installed (the `cores` extra).
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from retrotool import cores, movie as bk2, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError

pytestmark = pytest.mark.realcore

SETTLE = 12  # idle frames first: every probe polls from frame 4 on
HOLD, GAP = 3, 3  # frames a button is held, then released
PORTS = 2  # every probe here reads two pads

Model = Callable[[np.ndarray], np.ndarray]  # masks uint16 [n, ports] -> probe values int64 [n]


@dataclass(frozen=True)
class Probe:
    """A probe ROM and what its value means.

    The value is `width` little-endian bytes at `offset` of the core's
    SYSTEM_RAM view; `model` says which value the game should see for the
    libretro masks of a frame, `lag` frames later. `options` are core
    options the probe is run with.
    """

    system: str
    ext: str
    package: str
    offset: int
    width: int
    model: Model
    lag: int = 0
    options: tuple[tuple[str, str], ...] = ()
    debian: str | None = None  # run on this core of Debian's libretro packages instead of the preferred one

    @property
    def id(self) -> str:
        return f"{self.system}-debian-{self.debian}" if self.debian else self.system


def _ids(system: str) -> dict[str, int]:
    spec = systems.get(system)
    return dict(zip(spec.buttons, spec.joypad_ids))


def _held(masks: np.ndarray, system: str, port: int, button: str) -> np.ndarray:
    return (masks[:, port].astype(np.int64) >> _ids(system)[button]) & 1


def _table(system: str, bits: dict[str, tuple[int | None, ...]]) -> Model:
    """Each button sets its own bit per port (None: the game never sees it there)."""

    def model(masks: np.ndarray) -> np.ndarray:
        value = np.zeros(len(masks), np.int64)
        for button, per_port in bits.items():
            for port, bit in enumerate(per_port):
                if bit is not None:
                    value |= _held(masks, system, port, button) << bit
        return value

    return model


NES_BITS = {"RIGHT": 0, "LEFT": 1, "DOWN": 2, "UP": 3, "START": 4, "SELECT": 5, "B": 6, "A": 7}
SNES_BITS = {"R": 4, "L": 5, "X": 6, "A": 7, "RIGHT": 8, "LEFT": 9, "DOWN": 10, "UP": 11,
             "START": 12, "SELECT": 13, "Y": 14, "B": 15}
PCE_BITS = {"I": 0, "II": 1, "SELECT": 2, "RUN": 3, "UP": 4, "RIGHT": 5, "DOWN": 6, "LEFT": 7}
PCE_SIX = {"III": 16, "IV": 17, "V": 18, "VI": 19}  # the EXT bytes, filled only in 6-button mode
A26_STICK = {"BUTTON": 0, "UP": 4, "DOWN": 5, "LEFT": 6, "RIGHT": 7}


def _snes(masks: np.ndarray) -> np.ndarray:
    """snes9x drops Up while Down is held and Left while Right is held."""
    ids = _ids("Snes")
    masks = masks.copy()
    for lose, keep in (("UP", "DOWN"), ("LEFT", "RIGHT")):
        both = (masks >> ids[keep]) & 1 == 1
        masks[both] &= ~np.uint16(1 << ids[lose])
    return _table("Snes", {b: (bit, bit + 16) for b, bit in SNES_BITS.items()})(masks)


def _nestopia(masks: np.ndarray) -> np.ndarray:
    """nestopia (no option for it) drops both of two opposing directions held together."""
    ids = _ids("Nes")
    masks = masks.copy()
    for a, b in (("UP", "DOWN"), ("LEFT", "RIGHT")):
        both = ((masks >> ids[a]) & (masks >> ids[b]) & 1) == 1
        masks[both] &= ~np.uint16((1 << ids[a]) | (1 << ids[b]))
    return _table("Nes", {b: (bit, bit + 8) for b, bit in NES_BITS.items()})(masks)


def _pce(masks: np.ndarray) -> np.ndarray:
    """All four directions at once read like a 6-button pad's second half (see the README)."""
    value = _table("PCEngine", {b: (bit, bit + 8) for b, bit in PCE_BITS.items()})(masks)
    for port in range(PORTS):
        all_four = np.ones(len(masks), np.int64)
        for d in ("UP", "DOWN", "LEFT", "RIGHT"):
            all_four &= _held(masks, "PCEngine", port, d)
        buttons = (value >> (8 * port)) & 0x0F
        swapped = (value & ~(0xFF << (8 * port))) | (buttons << (16 + 8 * port))
        value = np.where(all_four == 1, swapped, value)
    return value


PROBES = [
    Probe("Nes", "nes", "cc65", 0, 2, _table("Nes", {b: (bit, bit + 8) for b, bit in NES_BITS.items()})),
    Probe("Snes", "sfc", "cc65", 0, 4, _snes),
    # answered as stable-retro answers it, mednafen_pce_fast's III and IV are plain buttons
    # (see test_pce_turbo_switches_only_with_a_modern_frontends_answers)
    Probe("PCEngine", "pce", "cc65", 0, 4, _pce),
    # stella reads the console switches (SELECT, RESET) from port 1 only
    Probe("Atari2600", "a26", "dasm", 0, 3, _table(
        "Atari2600", {**{b: (bit, bit + 8) for b, bit in A26_STICK.items()}, "RESET": (16, None), "SELECT": (17, None)}
    )),
]
# The same probes on the cores Debian packages (nestopia: a second NES core; other builds than stable-retro's)
DEBIAN = [replace(PROBES[0], debian="nestopia", model=_nestopia), replace(PROBES[2], debian="mednafen_pce_fast")]


@contextmanager
def _emulator(probe: Probe, **options: str) -> Iterator[Emulator]:
    rom = importlib.resources.files("retrotool") / "_roms" / probe.system / f"probe.{probe.ext}"
    if not rom.is_file():
        pytest.skip(f"the {probe.system} probe ROM was not built (needs Debian's {probe.package})")
    try:
        core = cores.find(probe.debian, origin="debian") if probe.debian else cores.for_system(systems.get(probe.system))
    except CoreError as e:
        pytest.skip(str(e))
    with (
        importlib.resources.as_file(rom) as path,
        Emulator(core.path, path, ports=PORTS, options={**dict(probe.options), **options}) as emu,
    ):
        yield emu


def _value(emu: Emulator, probe: Probe) -> int:
    return int.from_bytes(bytes(emu.ram[probe.offset : probe.offset + probe.width]), "little")


# Buttons that change the pad itself rather than reach the game (PCE MODE: 6-button mode);
# test_pce_six_button_mode_exposes_iii_to_vi covers them.
SWITCHES = {"PCEngine": ("MODE",)}


def _script(system: str) -> tuple[np.ndarray, list[int]]:
    """Masks [frames, ports] pressing each button alone on each port, then combinations and random
    input; and the last frame of every single-button hold (its picture is checked)."""
    spec = systems.get(system)
    ids = _ids(system)
    buttons = [b for b in spec.buttons if b not in SWITCHES.get(system, ())]
    rows = [np.zeros((SETTLE, PORTS), np.uint16)]
    frame, singles = SETTLE, []

    def hold(per_port: list[int], frames: int = HOLD) -> None:
        nonlocal frame
        rows.append(np.tile(np.array(per_port, np.uint16), (frames, 1)))
        rows.append(np.zeros((GAP, PORTS), np.uint16))
        frame += frames + GAP

    for port in range(PORTS):
        for button in buttons:
            per_port = [0] * PORTS
            per_port[port] = 1 << ids[button]
            hold(per_port)
            singles.append(frame - GAP - 1)
    every = sum(1 << ids[b] for b in buttons)
    hold([every, 0])
    hold([0, every])
    hold([(1 << ids["UP"]) | (1 << ids["DOWN"])] * PORTS)
    hold([(1 << ids["LEFT"]) | (1 << ids["RIGHT"])] * PORTS)
    first, second = buttons[0], buttons[-1]
    hold([(1 << ids[first]) | (1 << ids["UP"]), (1 << ids[second]) | (1 << ids["LEFT"])], frames=1)
    rng = np.random.default_rng(2600)
    random = rng.integers(0, 2, size=(48, PORTS, len(spec.buttons)), dtype=np.uint8)
    random[:, :, [spec.index(b) for b in SWITCHES.get(system, ())]] = 0
    rows.append(spec.masks(random))
    rows.append(np.zeros((GAP, PORTS), np.uint16))
    return np.concatenate(rows), singles


def _explain(system: str, row: np.ndarray) -> str:
    spec = systems.get(system)
    held = [f"P{p + 1} {b}" for p in range(PORTS) for b, i in zip(spec.buttons, spec.joypad_ids) if row[p] >> i & 1]
    return ", ".join(held) or "nothing"


@pytest.mark.parametrize("probe", PROBES + DEBIAN, ids=[p.id for p in PROBES + DEBIAN])
def test_each_button_reaches_the_probe_and_its_movie_replays(probe: Probe, tmp_path: Path) -> None:
    masks, singles = _script(probe.system)
    values, ram, screens = [], [], []
    with _emulator(probe) as emu:
        for k in range(len(masks)):
            ((_, video),) = emu.run(masks[k : k + 1], video="native")
            assert video is not None
            values.append(_value(emu, probe))
            ram.append(hashlib.sha1(emu.ram.tobytes()).digest())
            screens.append(hashlib.sha1(video[0].tobytes()).digest())

        expected = probe.model(masks)
        expected = np.concatenate([np.zeros(probe.lag, np.int64), expected[: len(expected) - probe.lag]])
        for k in range(SETTLE, len(masks)):
            assert values[k] == expected[k], (
                f"{probe.system} frame {k}: probe holds {values[k]:#x}, expected {expected[k]:#x} "
                f"(input: {_explain(probe.system, masks[k - probe.lag])})"
            )

        # a steadily held button has a picture of its own; idle frames all look alike
        idle = {screens[k] for k in range(SETTLE, len(masks)) if values[k] == 0 and values[k - 1] == 0}
        held = [screens[k] for k in singles if values[k] != 0]
        assert len(idle) == 1 and len(held) >= 2 * len(singles) // 3
        assert len(set(held)) == len(held) and idle.isdisjoint(held)

        # the same input as a stable-retro movie, read back, replays with the same RAM every frame
        spec = systems.get(probe.system)
        path = tmp_path / "probe.bk2"
        bk2.write(bk2.Movie(system=probe.system, buttons=spec.from_masks(masks)), path)
        replayed = bk2.read(path).masks()
        assert np.array_equal(replayed, masks)
        emu.power_on()
        for k in range(len(replayed)):
            emu.run(replayed[k : k + 1])
            assert hashlib.sha1(emu.ram.tobytes()).digest() == ram[k], f"{probe.system}: the replay differs at frame {k}"


@pytest.mark.parametrize("probe", PROBES, ids=[p.system for p in PROBES])
def test_the_probe_sounds_while_a_button_is_held(probe: Probe) -> None:
    spec = systems.get(probe.system)
    up = 1 << _ids(probe.system)["UP"]
    with _emulator(probe) as emu:
        emu.run(np.zeros((SETTLE + 20, PORTS), np.uint16))
        emu.run(np.zeros((20, PORTS), np.uint16), audio=True)
        idle = emu.audio().astype(np.float64)
        emu.run(np.full((20, PORTS), up, np.uint16), audio=True)
        tone = emu.audio().astype(np.float64)
    assert len(idle) and len(tone), f"{spec.name}: the core produced no audio"
    assert idle.std() < 5, f"{spec.name}: sound while nothing is held"
    assert tone.std() > 500, f"{spec.name}: no tone while Up is held"


def test_pce_six_button_mode_exposes_iii_to_vi() -> None:
    """mednafen_pce_fast switches a pad to 6-button mode when joypad id 12 (L2) goes down.

    Id 12 is the PCEngine button MODE (stable-retro has no such button; our
    movies keep it in a column stable-retro ignores), so a movie can hold it.
    """
    probe = next(p for p in PROBES if p.system == "PCEngine")
    ids = _ids("PCEngine")
    mode = 1 << ids["MODE"]
    assert ids["MODE"] == 12
    with _emulator(probe) as emu:
        emu.run(np.zeros((SETTLE, PORTS), np.uint16))
        start = emu.get_state()

        def seen(port: int, button: str) -> int:
            per_port = np.zeros((1, PORTS), np.uint16)
            per_port[0, port] = 1 << ids[button]
            emu.run(per_port)
            value = _value(emu, probe)
            emu.run(np.zeros((1, PORTS), np.uint16))
            return value

        for port in range(PORTS):
            assert seen(port, "III") == 0  # 2-button mode: III-VI do not exist
            switch = np.zeros((1, PORTS), np.uint16)
            switch[0, port] = mode
            emu.run(switch)
            emu.run(np.zeros((1, PORTS), np.uint16))
            for button, bit in PCE_SIX.items():
                assert seen(port, button) == 1 << (bit + 8 * port), f"port {port + 1} {button}"
            for button, bit in PCE_BITS.items():
                assert seen(port, button) == 1 << (bit + 8 * port), f"port {port + 1} {button}"
            emu.run(switch)  # and back to 2 buttons
            emu.run(np.zeros((1, PORTS), np.uint16))
            assert seen(port, "VI") == 0

        # the mode is part of the core's state, so a replay from a state knows it; and a movie
        # (both dialects keep MODE) carries the switch and the buttons behind it (row 0: stable-retro's
        # reset frame, released)
        pce = systems.get("PCEngine")
        masks = np.array([[0, 0], [mode, 0], [0, 0], [1 << ids["V"], 0]], np.uint16)
        for dialect in ("stable-retro", "bizhawk"):
            movie = bk2.Movie(system="PCEngine", buttons=pce.from_masks(masks))
            again = bk2.convert(bk2.from_bytes(bk2.to_bytes(movie, dialect)), "stable-retro")
            assert np.array_equal(again.masks(), masks), dialect
            emu.set_state(start)
            emu.run(pce.masks(again.buttons))
            assert _value(emu, probe) == 1 << PCE_SIX["V"], dialect


def test_stella_difficulty_and_colour_switches_latch() -> None:
    """stella sets the difficulty and TV-type switches from port 1's L/R, L2/R2, L3/R3 (ids 10-15).

    They are switches, not buttons: one frame moves them and they stay. The
    probe keeps SWCHB as read at RAM offset 3 (bit 6 left difficulty, 7 right,
    3 colour; 1 = A / colour).
    """
    probe = next(p for p in PROBES if p.system == "Atari2600")
    with _emulator(probe) as emu:
        emu.run(np.zeros((SETTLE, PORTS), np.uint16))

        def after(joypad_id: int) -> int:
            emu.run(np.array([[1 << joypad_id, 0], [0, 0], [0, 0]], np.uint16))
            return int(emu.ram[3]) & 0xC8

        assert int(emu.ram[3]) & 0xC8 == 0x08  # power-on: both B, colour
        assert after(10) == 0x48  # L: left A
        assert after(11) == 0xC8  # R: right A
        assert after(12) == 0x88  # L2: left B
        assert after(13) == 0x08  # R2: right B
        assert after(15) == 0x00  # R3: black and white
        assert after(14) == 0x08  # L3: colour
        emu.run(np.array([[0, 1 << 10]], np.uint16))  # port 2 has no switches
        emu.run(np.zeros((2, PORTS), np.uint16))
        assert int(emu.ram[3]) & 0xC8 == 0x08


def test_pce_turbo_switches_only_with_a_modern_frontends_answers() -> None:
    """What mednafen_pce_fast does with III and IV in 2-button mode, by how the host answers it.

    Answered as a modern frontend answers (its declared option defaults), pressing III
    (or IV) switches turbo on for II (or I): held, it then reads as pressed one frame in
    four, and the switch is a global of the core's libretro layer, not part of its
    savestate, so a replay from a state would depend on what was pressed before the
    state was loaded. Answered as stable-retro answers (retrotool's profile for this
    core), III and IV never switch turbo, even with Turbo_Toggling=enabled.
    """
    probe = next(p for p in PROBES if p.system == "PCEngine")
    ids = _ids("PCEngine")
    ii = np.full((8, PORTS), [1 << ids["II"], 0], np.uint16)

    def held_ii(emu: Emulator) -> list[int]:
        seen = []
        for k in range(len(ii)):
            emu.run(ii[k : k + 1])
            seen.append(_value(emu, probe) >> PCE_BITS["II"] & 1)
        emu.run(np.zeros((2, PORTS), np.uint16))
        return seen

    with _emulator(probe, Turbo_Toggling="enabled") as emu:
        emu.run(np.zeros((SETTLE, PORTS), np.uint16))
        assert emu.quirks.stable_retro
        assert held_ii(emu) == [1] * 8
        emu.run(np.array([[1 << ids["III"], 0], [0, 0]], np.uint16))
        assert held_ii(emu) == [1] * 8

    full = replace(cores.quirks(Path("mednafen_pce_fast_libretro.so")), stable_retro=False)
    with mock.patch.object(cores, "quirks", return_value=full), _emulator(probe) as emu:
        emu.run(np.zeros((SETTLE, PORTS), np.uint16))
        start = emu.get_state()
        assert held_ii(emu) == [1] * 8
        emu.run(np.array([[1 << ids["III"], 0], [0, 0]], np.uint16))
        assert sum(held_ii(emu)) == 2
        emu.set_state(start)
        assert sum(held_ii(emu)) == 2
