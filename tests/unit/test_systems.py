"""System facts: lookups, masks, and the per-system tables of formats.md §4."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrotool import systems
from retrotool.errors import RetroToolError, UnknownSystemError
from retrotool.movie.layout import bizhawk_layout, sr_layout

SEED = ("Genesis", "Sms", "GameGear", "Nes", "Snes", "GameBoy", "GbColor", "GbAdvance", "PCEngine", "Atari2600")
SR_BUTTONS = {  # stable-retro's `buttons` arrays (formats.md §4), None = dead bit
    "Genesis": ["B", "A", "MODE", "START", "UP", "DOWN", "LEFT", "RIGHT", "C", "Y", "X", "Z"],
    "Sms": ["B", None, None, "PAUSE", "UP", "DOWN", "LEFT", "RIGHT", "A"],
    "GameGear": ["B", None, None, "START", "UP", "DOWN", "LEFT", "RIGHT", "A"],
    "Nes": ["B", None, "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT", "A"],
    "Snes": ["B", "Y", "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT", "A", "X", "L", "R"],
    "GameBoy": ["B", None, "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT", "A"],
    "GbColor": ["B", None, "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT", "A"],
    "GbAdvance": ["B", None, "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT", "A", None, "L", "R"],
    "PCEngine": ["II", "III", "SELECT", "RUN", "UP", "DOWN", "LEFT", "RIGHT", "I", "IV", "V", "VI"],
    "Atari2600": ["BUTTON", None, "SELECT", "RESET", "UP", "DOWN", "LEFT", "RIGHT"],
}
EXTRA_BUTTONS = {"PCEngine": [(12, "MODE")]}
SR_P1_COLUMNS = {  # what stable-retro writes, left to right (formats.md §4)
    "Genesis": "ZXYCRLDUSMAB",
    "Sms": "ARLDUB",
    "GameGear": "ARLDUSB",
    "Nes": "ARLDUSsB",
    "Snes": "rlXARLDUSsYB",
    "GameBoy": "ARLDUSsB",
    "GbColor": "ARLDUSsB",
    "GbAdvance": "rlARLDUSsB",
    "PCEngine": "RLDUs",
    "Atari2600": "RLDUsB",
}
BH_GROUPS = {  # BizHawk player-group mnemonics (formats.md §4); unprefixed systems include Power
    "Genesis": "UDLRABCSXYZM",
    "Sms": "UDLR12",
    "GameGear": "UDLR12S",
    "Nes": "UDLRSsBA",
    "Snes": "UDLRsSYBXAlr",
    "GameBoy": "UDLRSsBAP",
    "GbColor": "UDLRSsBAP",
    "GbAdvance": "UDLRSsBAlrP",
    "PCEngine": "UDLRsR21",
    "Atari2600": "UDLRB",
}


def test_names_cover_seed_systems_and_test() -> None:
    assert set(systems.names()) == {*SEED, "Test"}


@pytest.mark.parametrize("name", SEED)
def test_buttons_are_stable_retro_arrays_without_gaps(name: str) -> None:
    spec = systems.get(name)
    expected = [(i, b) for i, b in enumerate(SR_BUTTONS[name]) if b is not None]
    ours = list(zip(spec.joypad_ids, spec.buttons, strict=True))
    assert ours[: len(expected)] == expected
    # buttons beyond stable-retro's array: only PCE's MODE (id 12 switches a pad to 6 buttons),
    # in a column of its own that stable-retro ignores
    extra = EXTRA_BUTTONS.get(name, [])
    assert ours[len(expected) :] == extra
    assert all(not spec.button_info[spec.index(b)].sr_recorded for _, b in extra)


@pytest.mark.parametrize("name", SEED)
def test_stable_retro_columns_match_observed_order(name: str) -> None:
    columns = sr_layout(systems.get(name), 1).groups[1]
    recorded = [c.char for c in columns if systems.get(name).button_info[c.index].sr_recorded]
    assert "".join(recorded) == SR_P1_COLUMNS[name]


@pytest.mark.parametrize("name", SEED)
def test_bizhawk_group_matches_default_layout(name: str) -> None:
    spec = systems.get(name)
    layout = bizhawk_layout(spec, 1)
    group = layout.groups[-1] if spec.bizhawk.player_prefix else layout.groups[0]
    chars = "".join(c.char for c in group if c.kind != "axis")
    assert chars.startswith(BH_GROUPS[name])


@pytest.mark.parametrize("name", [*SEED, "Test"])
def test_extra_columns_are_ignored_by_stable_retro(name: str) -> None:
    spec = systems.get(name)
    keymap = {b.sr_char for b in spec.button_info if b.sr_recorded}
    for button in spec.button_info:
        if not button.sr_recorded:
            assert button.sr_char not in keymap, f"{name} {button.name} would be read by stable-retro"


def test_pce_run_is_not_right() -> None:
    pce = systems.get("PCEngine")
    assert pce.button_info[pce.index("RUN")].sr_char != "R"


def test_get_is_case_insensitive_and_unknown_lists_names() -> None:
    assert systems.get("gEnEsIs").name == "Genesis"
    with pytest.raises(UnknownSystemError, match="Atari2600, GameBoy"):
        systems.get("Dreamcast")


@pytest.mark.parametrize(
    ("platform", "name"),
    [
        ("GEN", "Genesis"),
        ("SNES", "Snes"),
        ("NES", "Nes"),
        ("A26", "Atari2600"),
        ("GameBoy", "GameBoy"),
        ("GB", "GameBoy"),
        ("GBC", "GbColor"),
        ("GbColor", "GbColor"),
        ("GBA", "GbAdvance"),
        ("SMS", "Sms"),
        ("Sms", "Sms"),
        ("GG", "GameGear"),
        ("GameGear", "GameGear"),
        ("PCE", "PCEngine"),
        ("PCEngine", "PCEngine"),
        ("Genesis", "Genesis"),
        ("Test", "Test"),
    ],
)
def test_from_platform(platform: str, name: str) -> None:
    assert systems.from_platform(platform).name == name


def test_from_platform_unknown() -> None:
    with pytest.raises(UnknownSystemError, match="unknown platform 'N64'"):
        systems.from_platform("N64")


def test_for_extension() -> None:
    assert [s.name for s in systems.for_extension(".BIN")] == ["Atari2600", "Genesis"]
    assert [s.name for s in systems.for_extension("sfc")] == ["Snes"]
    assert systems.for_extension("exe") == ()


def test_test_system() -> None:
    spec = systems.get("Test")
    assert spec.buttons == (
        "B",
        "Y",
        "SELECT",
        "START",
        "UP",
        "DOWN",
        "LEFT",
        "RIGHT",
        "A",
        "X",
        "L",
        "R",
        "L2",
        "R2",
        "L3",
        "R3",
    )
    assert spec.joypad_ids == tuple(range(16))
    assert (spec.max_players, spec.extensions, spec.cores) == (2, ("tst",), ("retrotool_testcore",))
    assert (spec.sr_platform, spec.bizhawk_platform) == ("Test", "Test")


def test_masks_use_joypad_ids() -> None:
    genesis = systems.get("Genesis")
    pressed = np.zeros((2, 1, 12), np.uint8)
    pressed[0, 0, genesis.index("START")] = 1
    pressed[1, 0, genesis.index("Z")] = 1
    masks = genesis.masks(pressed)
    assert masks.dtype == np.uint16
    assert masks.tolist() == [[1 << 3], [1 << 11]]
    sms = systems.get("Sms")
    assert sms.masks(np.ones((1, 7), np.uint8)).tolist() == [0b111111001]


@pytest.mark.parametrize("name", [*SEED, "Test"])
def test_masks_round_trip(name: str) -> None:
    spec = systems.get(name)
    pressed = np.random.default_rng(0).integers(0, 2, (100, 2, len(spec.buttons)), dtype=np.uint8)
    assert np.array_equal(spec.from_masks(spec.masks(pressed)), pressed)


def test_masks_reject_wrong_width() -> None:
    with pytest.raises(ValueError, match="Genesis has 12 buttons"):
        systems.get("Genesis").masks(np.zeros((3, 11), np.uint8))


def test_ram_facts() -> None:
    assert systems.get("Genesis").ram.rambase == 0xFF0000 and systems.get("Genesis").ram.byte_swap
    assert systems.get("Atari2600").ram.rambase == 0x80
    assert systems.get("Nes").ram.rambase is None


def test_import_does_no_io() -> None:
    code = "import retrotool.systems as s; print(s._load.cache_info().currsize)"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_missing_data_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(systems.resources, "data_dir", lambda installed, source: tmp_path)
    systems._load.cache_clear()
    systems._platform_table.cache_clear()
    try:
        with pytest.raises(RetroToolError, match="no system data found"):
            systems.get("Genesis")
    finally:
        monkeypatch.undo()
        systems._load.cache_clear()
        systems._platform_table.cache_clear()
