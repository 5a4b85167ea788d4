"""Input-probe ROMs (libretro_cores/roms) on real cores: Genesis, SMS, Game Gear, GB, GBC, GBA.

Each probe stores the buttons it reads in RAM every frame. For every button
alone on every port, a few combinations and a random stretch, the value in
RAM must be exactly what the libretro masks predict, frame by frame; the
picture must show it; a movie of the same input, written and read back,
must replay with the same RAM every frame. Skipped when a ROM was not built
(its toolchain is missing) or the core is not installed (the `cores` extra).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
import pytest

from retrotool import cores, movie as bk2, playback, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError

pytestmark = pytest.mark.realcore

WARM_UP = 30  # idle frames first: the probes set up for up to ~12 frames; RAM holds no value before
HOLD, GAP = 3, 4  # frames a button is held, then released


@dataclass(frozen=True)
class Probe:
    """Where a probe keeps its value and which bit each (button, port) sets.

    The value is `width` bytes at `offset` in the core's SYSTEM_RAM view, read
    little-endian. `bits[button][port]` is the bit, or None where the core
    ignores the button on that port. Held buttons show after `lag` frames for
    as long as they are held; `pulses` are buttons the console turns into a
    one-frame event (SMS Pause is an NMI), with their own lag.
    """

    system: str
    ext: str
    offset: int
    width: int
    bits: dict[str, tuple[int | None, ...]]
    toolchain: str
    lag: int = 0
    pulses: dict[str, int] = field(default_factory=dict)
    debian: str | None = None  # run on this core of Debian's libretro packages instead of the preferred one

    @property
    def id(self) -> str:
        return f"{self.system}-debian-{self.debian}" if self.debian else self.system


_GENESIS = {"UP": 0, "DOWN": 1, "LEFT": 2, "RIGHT": 3, "B": 4, "C": 5, "A": 6, "START": 7,
            "Z": 8, "Y": 9, "X": 10, "MODE": 11}
_SMS_PAD = {"UP": (0, 6), "DOWN": (1, 7), "LEFT": (2, 8), "RIGHT": (3, 9), "B": (4, 10), "A": (5, 11)}
_GB = {"A": 0, "B": 1, "SELECT": 2, "START": 3, "RIGHT": 4, "LEFT": 5, "UP": 6, "DOWN": 7}

PROBES = [
    # genesis_plus_gx keeps 68k RAM as native 16-bit words: on x86 the raw view holds
    # the word at 0xFF0000 as little-endian bytes, so pad 1 = bits 0-11, pad 2 = bits 16-27
    Probe("Genesis", "md", 0, 4, {b: (bit, bit + 16) for b, bit in _GENESIS.items()}, "binutils-m68k-linux-gnu"),
    # Pause reaches the game only from port 1 (it is the console's button)
    Probe("Sms", "sms", 0, 2, {**_SMS_PAD, "PAUSE": (13, None)}, "binutils-z80", pulses={"PAUSE": 1}),
    Probe("GameGear", "gg", 0, 2, {b: bits[:1] for b, bits in {**_SMS_PAD, "START": (13,)}.items()}, "binutils-z80"),
    Probe("GameBoy", "gb", 0, 1, {b: (bit,) for b, bit in _GB.items()}, "binutils-z80"),
    Probe("GbColor", "gbc", 0, 1, {b: (bit,) for b, bit in _GB.items()}, "binutils-z80"),
    Probe("GbAdvance", "gba", 0, 2, {b: (bit,) for b, bit in {**_GB, "R": 8, "L": 9}.items()},
          "binutils-arm-none-eabi"),
]
# The same probes on the cores Debian packages (other builds and versions than stable-retro's)
DEBIAN = [replace(p, debian=core) for p, core in ((PROBES[3], "gambatte"), (PROBES[5], "mgba"))]


def _rom(probe: Probe) -> Traversable:
    rom = importlib.resources.files("retrotool") / "_roms" / probe.system / f"probe.{probe.ext}"
    if not rom.is_file():
        pytest.skip(f"the {probe.system} probe ROM was not built (needs Debian's {probe.toolchain})")
    return rom


def _core(probe: Probe) -> Path:
    """The probe's core: a Debian package's when it names one, else the system's preferred core."""
    try:
        if probe.debian:
            return cores.find(probe.debian, origin="debian").path
        return cores.for_system(systems.get(probe.system)).path
    except CoreError as e:
        pytest.skip(str(e))


@contextmanager
def _emulator(probe: Probe) -> Iterator[Emulator]:
    rom = _rom(probe)
    system = systems.get(probe.system)
    with (
        importlib.resources.as_file(rom) as path,
        Emulator(_core(probe), path, ports=system.max_players, system=system) as emu,
    ):
        yield emu


def _inputs(probe: Probe) -> np.ndarray:
    """Masks uint16 [frames, ports]: each button alone on each port, combinations, a random stretch."""
    system = systems.get(probe.system)
    ports = system.max_players
    ids = dict(zip(system.buttons, system.joypad_ids))
    rows: list[np.ndarray] = [np.zeros((WARM_UP, ports), np.uint16)]

    def press(masks: list[int], hold: int = HOLD) -> None:
        rows.append(np.tile(np.array(masks, np.uint16), (hold, 1)))
        rows.append(np.zeros((GAP, ports), np.uint16))

    for port in range(ports):
        for name in system.buttons:
            masks = [0] * ports
            masks[port] = 1 << ids[name]
            press(masks)
    everything = sum(1 << i for i in system.joypad_ids)
    press([everything] * ports)
    press([(1 << ids["UP"]) | (1 << ids["DOWN"])] * ports)
    press([(1 << ids["LEFT"]) | (1 << ids["RIGHT"])] * ports)
    press([(1 << ids["B"]) | (1 << ids["RIGHT"]), *[(1 << ids["A"]) | (1 << ids["UP"])] * (ports - 1)], hold=1)
    rng = np.random.default_rng(4)
    pressed = rng.integers(0, 2, size=(60, ports, len(system.buttons)), dtype=np.uint8)
    rows.append(system.masks(pressed))
    rows.append(np.zeros((GAP, ports), np.uint16))
    return np.concatenate(rows)


def _expected(probe: Probe, masks: np.ndarray) -> np.ndarray:
    """The probe value after each frame, as the table says the game sees the masks."""
    system = systems.get(probe.system)
    ids = dict(zip(system.buttons, system.joypad_ids))
    out = np.zeros(len(masks), np.int64)
    for name, per_port in probe.bits.items():
        for port, bit in enumerate(per_port):
            if bit is None:
                continue
            held = (masks[:, port].astype(np.int64) >> ids[name]) & 1
            lag = probe.pulses.get(name, probe.lag)
            if name in probe.pulses:
                held = held & ~np.concatenate([[0], held[:-1]])  # only the frame it goes down
            seen = np.concatenate([np.zeros(lag, np.int64), held[: len(held) - lag]])
            out |= seen << bit
    return out


def _pressed(probe: Probe, masks: np.ndarray) -> str:
    """One row's input in words, e.g. "P1 UP, P2 B"."""
    system = systems.get(probe.system)
    names = [f"P{p + 1} {b}" for p in range(masks.shape[0])
             for b, i in zip(system.buttons, system.joypad_ids) if masks[p] >> i & 1]
    return ", ".join(names) or "nothing"


@pytest.mark.parametrize("probe", PROBES + DEBIAN, ids=[p.id for p in PROBES + DEBIAN])
def test_every_button_reaches_the_probe_and_a_movie_replays_it(probe: Probe, tmp_path: Path) -> None:
    masks = _inputs(probe)
    values, ram, screens = [], [], []
    with _emulator(probe) as emu:
        for row in masks:
            (_, video), = emu.run(row[np.newaxis], video="native")
            assert video is not None
            values.append(int.from_bytes(bytes(emu.ram[probe.offset : probe.offset + probe.width]), "little"))
            ram.append(hashlib.sha256(emu.obs_ram()).hexdigest())
            screens.append(hashlib.sha1(video[0]).digest())

        expected = _expected(probe, masks)
        wrong = np.flatnonzero(np.asarray(values[WARM_UP:]) != expected[WARM_UP:]) + WARM_UP
        if wrong.size:
            k = int(wrong[0])
            pytest.fail(
                f"{probe.system}: frame {k} holds {values[k]:#x}, expected {expected[k]:#x}; input: "
                f"{_pressed(probe, masks[k])} (frame before: {_pressed(probe, masks[k - 1])}, {values[k - 1]:#x})"
            )

        # the picture is a function of the value, a different one for each value seen
        shown: dict[int, bytes] = {}
        for k in range(WARM_UP, len(masks)):
            assert shown.setdefault(values[k], screens[k]) == screens[k], f"frame {k}: same value, other picture"
        assert len(set(shown.values())) == len(shown), "two values share a picture"

    # the same input as a movie (BizHawk's convention: row 0 runs right after power-on), written in
    # stable-retro's dialect (the frames its make() runs take the first rows) and replayed by `retrotool
    # playback` in a fresh emulator (not emu.power_on(): gambatte keeps frame timing outside its states
    # while the LCD is off, see README)
    path = tmp_path / "probe.bk2"
    played = bk2.Movie(system=probe.system, buttons=systems.get(probe.system).from_masks(masks), convention="bizhawk")
    bk2.write(played, path)
    movie = bk2.read(path)
    assert movie.convention == "stable-retro" and np.array_equal(movie.masks(), masks[bk2.MAKE_FRAMES :])
    with importlib.resources.as_file(_rom(probe)) as rom:
        playback.run(path, rom=rom, core=str(_core(probe)), trace=tmp_path / "trace.jsonl")
    replayed = [json.loads(line)["ram"] for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    ram = ram[bk2.MAKE_FRAMES :]
    assert len(replayed) == len(ram)
    differ = [k for k, (a, b) in enumerate(zip(ram, replayed)) if a != b]
    assert not differ, f"{probe.system}: the movie's replay has other RAM from frame {differ[0]} on"


@pytest.mark.parametrize("probe", PROBES, ids=[p.system for p in PROBES])
def test_the_probe_sounds_only_while_a_button_is_held(probe: Probe) -> None:
    system = systems.get(probe.system)
    ports = system.max_players
    b = 1 << system.joypad_ids[system.buttons.index("B")]
    with _emulator(probe) as emu:
        emu.run(np.zeros((WARM_UP, ports), np.uint16))
        emu.run(np.zeros((20, ports), np.uint16), audio=True)
        idle = emu.audio()
        emu.run(np.full((20, ports), b, np.uint16), audio=True)
        held = emu.audio()
    assert len(idle) > 0 and not idle.any(), "sound while nothing is held"
    assert held.astype(np.float64).std() > 1000, "no tone while B is held"
