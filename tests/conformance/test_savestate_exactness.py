"""Does a core's savestate hold all of its state? Measured per core: keyframes stand on it.

A movie's keyframes are core savestates; a segment replayed from one is right
only if nothing the core keeps outside its savestates matters. On each probe
ROM (the conformance suite's ten systems, each on its core) random presses of
the system's buttons (all a movie can hold) run for a while; states are saved
at several frames, the first ones among them (the probes set the screen up
then: gambatte's LCD is off), and RAM and screen hashes are kept for every
frame. Each state is then loaded and the same frames played:

- fresh: into a core just loaded, as a keyframe worker does (segments.open_at);
- history: into a core that first ran some frames from power-on, as a start
  from a state in stable-retro's convention (and stable-retro itself) does;
- re-record: into the core that saved it, after it played 200 other frames,
  as record/take.py does when a recording goes back to a slot.

Where a core is not exact on a fresh load its keyframes must not be used
(cores.inexact_states, from libretro_cores/cores/quirks.json): the test fails
when the table and the measurement disagree either way. docs/formats.md keeps
the table of results.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import PROBES, Probe

from retrotool import cores, movie as bk2, playback, segments, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError
from retrotool.movie import keyframes

SAVE_AT = (3, 5, 8, 45, 301)  # frames after which states are saved: start-up, then play (301: not a multiple of 4)
FRAMES = 120  # frames compared after each load
HISTORY = 7  # frames the "history" core runs from power-on before the load
REPLAYED_AFTER = (3, 100)  # re-record slots: during start-up, and in play
# Measured inexact on these probes (see docs/formats.md); every other case of every core must be exact.
INEXACT = {("history", "Gambatte"), ("re-record", "Gambatte")}
Hashes = list[tuple[bytes, bytes]]


def _core(probe: Probe) -> cores.FoundCore:
    try:
        return cores.find(probe.core, origin="stable-retro")
    except CoreError as e:
        pytest.skip(str(e))


def _rom(probe: Probe) -> bytes:
    rom = importlib.resources.files("retrotool") / "_roms" / probe.system / f"probe.{probe.ext}"
    if not rom.is_file():
        pytest.skip(f"the {probe.system} probe ROM was not built (its toolchain is missing)")
    return rom.read_bytes()


def _emulator(probe: Probe) -> Emulator:
    return Emulator(_core(probe), _rom(probe), system=systems.get(probe.system), ports=probe.players)


def _presses(probe: Probe, frames: int, seed: int) -> np.ndarray:
    system = systems.get(probe.system)
    held = np.random.default_rng(seed).integers(0, 2, (frames, probe.players, len(system.buttons)), np.uint8)
    return system.masks(held)


def _played(emulator: Emulator, masks: np.ndarray) -> Hashes:
    """RAM and screen hashes (the observation, as checkpoints hash it) after each frame of `masks`."""
    out = []
    for row in masks:
        emulator.run(row[None, :])
        out.append((hashlib.sha1(emulator.obs_ram().tobytes()).digest(),
                    hashlib.sha1(emulator.obs_screen().tobytes()).digest()))
    return out


def _differ(want: Hashes, got: Hashes) -> list[int]:
    return [i for i, (a, b) in enumerate(zip(want, got, strict=True)) if a != b]


class Reference:
    """One run from power-on: the hashes of every frame, and the states saved on the way."""

    def __init__(self, probe: Probe, masks: np.ndarray, save_at: tuple[int, ...]) -> None:
        self.masks = masks
        self.hashes: Hashes = []
        self.states: dict[int, bytes] = {}
        with _emulator(probe) as emulator:
            for a, b in zip((0, *save_at), (*save_at, len(masks))):
                self.hashes += _played(emulator, masks[a:b])
                if b in save_at:
                    self.states[b] = emulator.get_state()
        self.core_name = emulator.core_name

    def check(self, frame: int, emulator: Emulator) -> list[int]:
        """The frames after `frame` that differ when `emulator` (at that frame's state) plays on."""
        return _differ(self.hashes[frame : frame + FRAMES], _played(emulator, self.masks[frame : frame + FRAMES]))


@pytest.fixture(scope="module")
def references() -> dict[str, Reference]:
    return {}


def _reference(references: dict[str, Reference], system: str) -> Reference:
    if system not in references:
        probe = PROBES[system]
        references[system] = Reference(probe, _presses(probe, max(SAVE_AT) + FRAMES, 1), SAVE_AT)
    return references[system]


def _ids(probe: Probe) -> str:
    return f"{probe.system}-{probe.core}"


SYSTEMS = pytest.mark.parametrize("system", list(PROBES), ids=[_ids(p) for p in PROBES.values()])


def _outcome(case: str, ref: Reference, bad: dict[int, list[int]]) -> None:
    """Exact where the table says so; inexact (on some save point) where it says not."""
    report = {f: f"{len(d)} of {FRAMES} frames differ, the first at frame {d[0] + 1} after the load" for f, d in bad.items() if d}
    if (case, ref.core_name) in INEXACT or (case == "fresh" and cores.inexact_states(ref.core_name)):
        assert report, f"{ref.core_name} was measured inexact ({case}) and is now exact: update the table"
    else:
        assert not report, f"{ref.core_name} is not exact ({case}); by save frame: {report}"


@SYSTEMS
def test_a_state_loaded_into_a_fresh_core_plays_on_exactly(system: str, references: dict[str, Reference]) -> None:
    """The keyframe path: a core loaded anew, the state loaded, no frame run before it."""
    ref = _reference(references, system)
    bad = {}
    for frame in SAVE_AT:
        with _emulator(PROBES[system]) as emulator:
            emulator.set_state(ref.states[frame])
            bad[frame] = ref.check(frame, emulator)
    _outcome("fresh", ref, bad)


@SYSTEMS
def test_a_state_loaded_after_frames_from_power_on(system: str, references: dict[str, Reference]) -> None:
    ref = _reference(references, system)
    probe = PROBES[system]
    bad = {}
    for frame in SAVE_AT:
        with _emulator(probe) as emulator:
            emulator.run(_presses(probe, HISTORY, 3))
            emulator.set_state(ref.states[frame])
            bad[frame] = ref.check(frame, emulator)
    _outcome("history", ref, bad)


@SYSTEMS
def test_a_re_record_plays_on_as_the_straight_replay(system: str, references: dict[str, Reference]) -> None:
    """Play to a slot, save, play 200 other frames, load the slot, play on: as if the 200 never ran."""
    probe = PROBES[system]
    ref = Reference(probe, _presses(probe, max(REPLAYED_AFTER) + FRAMES, 1), REPLAYED_AFTER)
    bad = {}
    for frame in REPLAYED_AFTER:
        with _emulator(probe) as emulator:
            emulator.run(ref.masks[:frame])
            slot = emulator.get_state()
            emulator.run(_presses(probe, 200, 3))
            emulator.set_state(slot)
            bad[frame] = ref.check(frame, emulator)
    _outcome("re-record", ref, bad)


def test_mgba_keeps_its_turbo_clock_outside_its_states_but_no_movie_presses_turbo() -> None:
    """The self-test can fail: mGBA's libretro layer turns X, Y, L2, R2 into turbo A, B, L, R with a frame
    counter of its own (and L3, R3 into a solar sensor level), kept outside its savestates. With X held, a
    state loaded into a fresh core plays differently whenever the frames before it were not a multiple of 4.
    A GBA movie cannot hold those buttons: the system has none on those joypad ids."""
    probe = PROBES["GbAdvance"]
    assert not {1, 9, 12, 13, 14, 15} & set(systems.get("GbAdvance").joypad_ids)
    masks = _presses(probe, 301 + FRAMES, 1) | (1 << 9)  # X: mGBA's turbo A
    ref = Reference(probe, masks, (301,))
    with _emulator(probe) as emulator:
        emulator.set_state(ref.states[301])
        assert ref.check(301, emulator)


def test_keyframes_of_an_inexact_core_are_not_used(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """A movie whose keyframes gambatte made replays from its start, and says why; another core's are cut at."""
    system = systems.get("GameBoy")
    movie = bk2.Movie(system="GameBoy", buttons=np.zeros((3000, 1, len(system.buttons)), np.uint8),
                      header=(("GameName", "g"),))
    for core, cut in (("Gambatte", False), ("mGBA", True)):
        writer = keyframes.KeyframeWriter(core, "1")
        for frame in (599, 1199, 1799, 2399):
            writer.add(frame, bytes(64))
        with_keyframes = keyframes.with_keyframes(movie, writer.keyframes())
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            plan = segments.plan(with_keyframes, 2)
            ok = playback.parallel_ok(with_keyframes, tmp_path / "m.bk2")
        assert (len(plan) > 1, ok) == (cut, cut), core
        assert all(s.keyframe is None for s in plan) != cut
        assert ("Gambatte keeps part of its frame timing outside its savestates" in caplog.text) != cut
        assert ("keyframes are not used, it replays from its start" in caplog.text) != cut
