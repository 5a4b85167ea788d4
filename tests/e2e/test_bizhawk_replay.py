"""BizHawk-written movies replay on real cores, checked against the input-probe ROMs.

The movies are written by hand from formats.md's grammar (CRLF, a
`#Reset|Power|` console group, old-style trailing `||`, an unprefixed
Game Boy group, analog fields, two players). What the probe sees each frame
is computed from the text itself, independently of retrotool's parser.
"""

from __future__ import annotations

import importlib.resources
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, playback, session
from retrotool.errors import StateError

pytestmark = pytest.mark.realcore
FRAMES = 240
WARMUP = 30  # released frames first: the probes start polling after their own set-up


def _probe(system: str, ext: str) -> Path:
    rom = importlib.resources.files("retrotool") / "_roms" / system / f"probe.{ext}"
    if not rom.is_file():
        pytest.skip(f"the {system} probe ROM was not built (its toolchain is missing)")
    with importlib.resources.as_file(rom) as path:
        return Path(path)


def _bk2(platform: str, logkey: str, lines: list[str], extra_header: str = "", core_bin: bytes | None = None) -> bytes:
    header = f"MovieVersion BizHawk v2.0.0\r\nPlatform {platform}\r\nGameName probe\r\n{extra_header}"
    log = "\ufeff[Input]\r\nLogKey:" + logkey + "\r\n" + "".join(x + "\r\n" for x in lines) + "[/Input]\r\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Header.txt", header)
        z.writestr("Input Log.txt", log.encode("utf-8"))
        z.writestr("Comments.txt", "")
        z.writestr("SyncSettings.json", "{}")
        if core_bin is not None:
            z.writestr("Core.bin", core_bin)
    return buf.getvalue()


def _pressed(rng: np.random.Generator, chars: str) -> list[str]:
    """Random groups of mnemonic characters ('.' = released), held for a few frames each."""
    out: list[str] = ["." * len(chars)] * WARMUP
    while len(out) < FRAMES:
        held = rng.integers(0, 2, size=len(chars)).astype(bool)
        out += ["".join(c if h else "." for c, h in zip(chars, held))] * int(rng.integers(1, 6))
    return out[:FRAMES]


def _probe_values(tmp_path: Path, data: bytes, rom: Path, offset: int, width: int) -> list[int]:
    path = tmp_path / "bizhawk.bk2"
    path.write_bytes(data)
    movie = bk2.read(path)
    assert movie.frames == FRAMES
    values = []
    with session.open_session(session.movie_content(movie, path, rom), players=movie.players) as emulator:
        assert emulator.system is not None and movie.convention == "bizhawk"  # every row applied, from power-on
        for k in range(movie.frames):
            emulator.run(emulator.system.masks(movie.buttons[k : k + 1]))
            values.append(int.from_bytes(emulator.ram[offset : offset + width].tobytes(), "little"))
    return values[WARMUP:]


def _bits(group: str, order: str) -> int:
    """The probe value for a group of mnemonics, bit i = order[i] held."""
    return sum(1 << i for i, c in enumerate(order) if c != "." and c in group)


def test_nes_two_players_with_console_group(tmp_path: Path) -> None:
    rom = _probe("Nes", "nes")
    keys = "UDLRSsBA"
    logkey = "#Reset|Power|#" + "|".join(f"P1 {k}" for k in (["Up", "Down", "Left", "Right", "Start", "Select", "B", "A"])) + "|#" \
        + "|".join(f"P2 {k}" for k in (["Up", "Down", "Left", "Right", "Start", "Select", "B", "A"])) + "|"
    rng = np.random.default_rng(1)
    p1, p2 = _pressed(rng, keys), _pressed(rng, keys)
    lines = [f"|..|{a}|{b}|" for a, b in zip(p1, p2)]
    got = _probe_values(tmp_path, _bk2("NES", logkey, lines), rom, 0, 2)
    # NES probe: byte 0 pad 1, byte 1 pad 2; bit 7..0 = A B Select Start Up Down Left Right
    order = "RLDUSsBA"  # bit 0 first
    assert got == [_bits(a, order) | _bits(b, order) << 8 for a, b in zip(p1[WARMUP:], p2[WARMUP:])]


def test_old_gameboy_movie_with_unprefixed_group_and_trailing_bars(tmp_path: Path) -> None:
    rom = _probe("GameBoy", "gb")
    logkey = "#Up|Down|Left|Right|Start|Select|B|A|Power|"
    pressed = _pressed(np.random.default_rng(2), "UDLRSsBA")
    lines = [f"|{g}.||" for g in pressed]  # old generators left an empty group behind
    got = _probe_values(tmp_path, _bk2("GB", logkey, lines), rom, 0, 1)
    order = "ABsSRLUD"  # GB probe bit 0..7: A B Select Start Right Left Up Down
    assert got == [_bits(g, order) for g in pressed[WARMUP:]]


def test_gba_movie_with_analog_fields(tmp_path: Path) -> None:
    rom = _probe("GbAdvance", "gba")
    logkey = "#Tilt X|Tilt Y|Tilt Z|Light Sensor|Up|Down|Left|Right|Start|Select|B|A|L|R|Power|"
    pressed = _pressed(np.random.default_rng(3), "UDLRSsBAlr")
    lines = [f"|    0,  -12,32767,  100,{g}.|" for g in pressed]
    got = _probe_values(tmp_path, _bk2("GBA", logkey, lines), rom, 0, 2)
    order = "ABsSRLUDrl"  # GBA probe bit 0..9: A B Select Start Right Left Up Down R L
    assert got == [_bits(g, order) for g in pressed[WARMUP:]]


def test_bizhawk_savestate_start_is_refused_clearly(tmp_path: Path) -> None:
    rom = _probe("Nes", "nes")
    logkey = "#Reset|Power|#P1 Up|P1 Down|P1 Left|P1 Right|P1 Start|P1 Select|P1 B|P1 A|"
    data = _bk2("NES", logkey, ["|..|........|"] * FRAMES, extra_header="StartsFromSavestate True\r\n",
                core_bin=b"BizHawk NesHawk state bytes")
    path = tmp_path / "anchored.bk2"
    path.write_bytes(data)
    with pytest.raises(StateError, match="BizHawk savestate.*power-on"):
        playback.run(path, rom=rom)
