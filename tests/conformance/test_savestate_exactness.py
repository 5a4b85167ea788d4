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

from retrotool import cores, movie as bk2, playback, segments, session, systems
from retrotool.emulator import Emulator
from retrotool.errors import CoreError, DesyncError
from retrotool.movie import keyframes
from retrotool.record import scripted

SAVE_AT = (3, 5, 8, 45, 301)  # frames after which states are saved: start-up, then play (301: not a multiple of 4)
FRAMES = 120  # frames compared after each load
HISTORY = 7  # frames the "history" core runs from power-on before the load
REPLAYED_AFTER = (3, 100)  # re-record slots: during start-up, and in play
# Measured inexact on these probes (docs/formats.md has the table); every other system must be exact there.
# A fresh load is the keyframe path: there the table that decides is libretro_cores/cores/quirks.json.
INEXACT = {"history": {"GameBoy", "GbColor", "Sms"}, "re-record": {"GameBoy", "GbColor", "Sms"}}
Hashes = list[tuple[bytes, bytes]]


def _core(probe: Probe) -> cores.FoundCore:
    try:
        return cores.find(probe.core, origin="stable-retro")
    except CoreError as e:
        pytest.skip(str(e))


def _rom(probe: Probe) -> Path:
    """The probe by its path, as movies load it: cores read the file's extension (given only the bytes,
    genesis_plus_gx runs the Master System probe otherwise, its RAM differing from the first frames, and the
    Pause latch below went unseen)."""
    rom = importlib.resources.files("retrotool") / "_roms" / probe.system / f"probe.{probe.ext}"
    if not rom.is_file():
        pytest.skip(f"the {probe.system} probe ROM was not built (its toolchain is missing)")
    return Path(str(rom))


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
        self.system = probe.system
        self.masks = masks
        self.hashes: Hashes = []
        self.states: dict[int, bytes] = {}
        with _emulator(probe) as emulator:
            for a, b in zip((0, *save_at), (*save_at, len(masks))):
                self.hashes += _played(emulator, masks[a:b])
                if b in save_at:
                    self.states[b] = emulator.get_state()
        self.quirks = cores.named(emulator.core_name)

    def check(self, frame: int, emulator: Emulator) -> list[int]:
        """The frames after `frame` that differ when `emulator` (at that frame's state) plays on."""
        return _differ(self.hashes[frame : frame + FRAMES], _played(emulator, self.masks[frame : frame + FRAMES]))

    def latched(self, frame: int) -> bool:
        """Whether the last frame before `frame` held a button the core latches outside its states (port 1)."""
        system = systems.get(self.system)
        ids = [system.joypad_ids[system.index(b)] for b in dict(self.quirks.latched_buttons).get(self.system, ())]
        return any(int(self.masks[frame - 1, 0]) >> i & 1 for i in ids)


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


def _report(bad: dict[int, list[int]]) -> dict[int, str]:
    return {f: f"{len(d)} of {FRAMES} frames differ, the first at frame {d[0] + 1} after the load"
            for f, d in bad.items() if d}


def _outcome(case: str, ref: Reference, bad: dict[int, list[int]]) -> None:
    """Exact where the tables say so; inexact (at some save point) where they say not."""
    if case == "fresh":
        expected_inexact = ref.quirks.inexact_states is not None
        latched = {f: d for f, d in bad.items() if ref.latched(f)}
        if latched:  # keyframes after such rows are never used (segments.usable_keyframes)
            assert _report(latched), f"{ref.system}: the latched buttons made no difference: update quirks.json"
            bad = {f: d for f, d in bad.items() if f not in latched}
    else:
        expected_inexact = ref.system in INEXACT[case]
    report = _report(bad)
    if expected_inexact:
        assert report, f"{ref.system} was measured inexact ({case}) and is now exact: update the tables"
    else:
        assert not report, f"{ref.system} is not exact ({case}); by save frame: {report}"


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


@SYSTEMS
def test_segments_replayed_from_a_recordings_keyframes_match_its_checkpoints(system: str, tmp_path: Path) -> None:
    """The path itself: segments.run_range (open_at: a core loaded anew, the keyframe loaded) checks every
    row it outputs against the recording's checkpoints. A keyframe and a checkpoint after every row, so the
    first ones fall in the probes' start-up; only keyframes segments.usable_keyframes lets a replay use."""
    probe = PROBES[system]
    core, rom = _core(probe), _rom(probe)
    path = tmp_path / "m.bk2"
    buttons = np.random.default_rng(4).integers(0, 2, (60, probe.players, len(systems.get(system).buttons)), np.uint8)
    scripted.record(system=systems.get(system), core=str(core.path), rom=rom, buttons=buttons, out=path,
                    checkpoint_every=1)
    movie = bk2.read(path)
    index = keyframes.of(movie)
    assert index is not None and index.frames[:12] == tuple(range(12))
    usable = {k for k, _ in segments.usable_keyframes(movie)}
    content = session.movie_content(movie, path, rom)
    desyncs = {}
    for k in [*range(12), 40]:
        first = index.frames[k] + 2
        try:
            segments.run_range(movie, content, segments.Segment(first, first + 12, k), [], str(core.path))
        except DesyncError as e:
            desyncs[k] = str(e)
    if cores.named(index.core).inexact_states:
        assert not usable and desyncs, f"{index.core} replayed exactly from every keyframe: is it still inexact?"
    else:
        assert not {k: e for k, e in desyncs.items() if k in usable}


def test_a_master_system_replay_never_starts_after_a_row_holding_pause(caplog: pytest.LogCaptureFixture) -> None:
    """genesis_plus_gx latches Pause (port 1) outside its states: keyframes after rows holding it are left out."""
    for system, button, left_out in (("Sms", "PAUSE", True), ("Genesis", "START", False)):
        column = systems.get(system).index(button)
        buttons = np.zeros((3000, 2, len(systems.get(system).buttons)), np.uint8)
        buttons[1199, 0, column] = 1
        buttons[1799, 1, column] = 1  # port 2's Pause raises no NMI
        writer = keyframes.KeyframeWriter("Genesis Plus GX", "1")
        for frame in (599, 1199, 1799, 2399):
            writer.add(frame, bytes(64))
        movie = keyframes.with_keyframes(bk2.Movie(system=system, buttons=buttons, header=(("GameName", "g"),)),
                                         writer.keyframes())
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            starts = {s.keyframe for s in segments.plan(movie, 4)} | {segments.plan(movie, 1, start=1250)[0].keyframe}
        assert (1 not in starts) == left_out and {0, 2, 3} <= starts, system
        assert ("1 of the movie's 4 keyframes are not used: Genesis Plus GX keeps whether PAUSE was held outside "
                "its savestates" in caplog.text) == left_out
