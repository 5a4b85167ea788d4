"""The probe ROMs as stable-retro custom integrations, and stable-retro itself in a subprocess."""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from retrotool import cores
from retrotool.errors import CoreError

ORACLE = Path(__file__).with_name("sr_oracle.py")
STATE_FRAMES = 45  # random frames before the integration state is saved


@dataclass(frozen=True)
class Probe:
    """A probe ROM (libretro_cores/roms) as a stable-retro integration.

    `variables`: data.json entries (name -> address in stable-retro's address
    space, type); the first is the probe's value for pad 1, which the scenario
    rewards (its rises) and ends on (when it is zero). `players`: pads
    stable-retro drives on this system (it has two at most).
    """

    system: str
    ext: str
    core: str
    players: int
    variables: dict[str, tuple[int, str]]

    @property
    def game(self) -> str:
        return f"Probe{self.system}-{self.system}"


def _types(address: int, first: str) -> dict[str, tuple[int, str]]:
    """The probe value under a few more type codes, so infos cover byte order, sign and BCD."""
    return {"pad": (address, first), "wide": (address, ">u4"), "signed": (address, "|i1"), "bcd": (address, "|d1"),
            "low_nibbles": (address, "<n2")}


PROBES = {
    p.system: p
    for p in (
        Probe("Genesis", "md", "genesis_plus_gx", 2, {**_types(0xFF0000, ">u2"), "pad2": (0xFF0002, ">u2")}),
        Probe("Sms", "sms", "genesis_plus_gx", 2, _types(0xC000, "<u2")),
        Probe("GameGear", "gg", "genesis_plus_gx", 1, _types(0xC000, "<u2")),
        Probe("Nes", "nes", "fceumm", 2, {**_types(0x0000, "|u1"), "pad2": (0x0001, "|u1")}),
        Probe("Snes", "sfc", "snes9x", 2, {**_types(0x7E0000, "<u2"), "pad2": (0x7E0002, "<u2")}),
        Probe("GameBoy", "gb", "gambatte", 1, _types(0xC000, "|u1")),
        Probe("GbColor", "gbc", "gambatte", 1, _types(0xC000, "|u1")),
        Probe("GbAdvance", "gba", "mgba", 1, _types(0x02000000, "<u2")),
        Probe("PCEngine", "pce", "mednafen_pce_fast", 2, {**_types(0xF80000, "|u1"), "pad2": (0xF80001, "|u1")}),
        Probe("Atari2600", "a26", "stella", 2, {**_types(0x80, "|u1"), "pad2": (0x81, "|u1")}),
    )
}


def oracle(verb: str, *args: object) -> list[list[object]]:
    """stable-retro's answer (sr_oracle.py) from a fresh process: cores keep globals."""
    proc = subprocess.run([sys.executable, str(ORACLE), verb, *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows: list[list[object]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return rows


def _integration(root: Path, probe: Probe) -> Path:
    """The folder stable-retro and retrotool both read: ROM, rom.sha, data.json, scenario.json, metadata.json."""
    rom = importlib.resources.files("retrotool") / "_roms" / probe.system / f"probe.{probe.ext}"
    if not rom.is_file():
        pytest.skip(f"the {probe.system} probe ROM was not built (its toolchain is missing)")
    folder = root / probe.game
    folder.mkdir(parents=True)
    data = rom.read_bytes()
    (folder / f"rom.{probe.ext}").write_bytes(data)
    hashed = data[16:] if probe.ext == "nes" else data  # Gym Retro's rule for NES: the iNES header is skipped
    (folder / "rom.sha").write_text(hashlib.sha1(hashed).hexdigest() + "\n")
    info = {name: {"address": address, "type": kind} for name, (address, kind) in probe.variables.items()}
    (folder / "data.json").write_text(json.dumps({"info": info}))
    scenario = {"reward": {"variables": {"pad": {"reward": 1.0}}},
                "done": {"variables": {"pad": {"op": "equal", "reference": 0}}}}
    (folder / "scenario.json").write_text(json.dumps(scenario))
    (folder / "metadata.json").write_text(json.dumps({"default_state": "Start"}))
    return folder


@pytest.fixture(scope="session")
def sr_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of the probe integrations, each with a Start.state stable-retro made after random play."""
    if importlib.util.find_spec("stable_retro") is None:
        pytest.skip("stable-retro (the 'cores' extra) is not installed")
    return tmp_path_factory.mktemp("sr-data")


@pytest.fixture
def integration(sr_data: Path, monkeypatch: pytest.MonkeyPatch):
    """integration(system) -> (probe, its folder, its core): made once per session, found by both tools."""
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(sr_data))

    def get(system: str) -> tuple[Probe, Path, Path]:
        probe = PROBES[system]
        try:
            core = cores.find(probe.core, origin="stable-retro").path
        except CoreError as e:
            pytest.skip(str(e))
        folder = sr_data / probe.game
        if not folder.is_dir():
            folder = _integration(sr_data, probe)
            oracle("state", sr_data, probe.game, probe.players, STATE_FRAMES, 1, folder / "Start.state")
            assert gzip.decompress((folder / "Start.state").read_bytes())
        return probe, folder, core

    monkeypatch.delenv("RETRO_DATA_PATH", raising=False)  # a user's own stable-retro data stays out
    return get
