"""End to end on the test core: emulator, host conversions, replay loop, record → playback → verify."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, playback, systems
from retrotool.emulator import Emulator
from retrotool.errors import ContentError, CoreError, DesyncError, OutputExistsError, StateError
from retrotool.record import scripted
from retrotool.replay import ArraySource, replay
from retrotool.variables import Variable

PROBE = 0x020  # test core RAM: u16 buttons held this frame, port 0 (then port 1)


def _record(tmp_path: Path, rom: Path, buttons: np.ndarray, name: str = "m.bk2", **kw) -> Path:
    """Record into tmp_path, with the ROM beside the movie (where playback looks for it)."""
    local_rom = tmp_path / rom.name
    if not local_rom.exists():
        local_rom.write_bytes(rom.read_bytes())
    out = tmp_path / name
    scripted.record(system=systems.get("Test"), core=None, rom=local_rom, buttons=buttons, out=out, **kw)
    return out


def test_every_button_reaches_the_core(testcore: Path, rom: Path) -> None:
    with Emulator(testcore, rom, ports=2) as emu:
        for bit in range(16):
            emu.step(np.array([1 << bit, 1 << (15 - bit)], np.uint16))
            probe = emu.ram[PROBE : PROBE + 4].view("<u2")
            assert probe.tolist() == [1 << bit, 1 << (15 - bit)]


def test_watched_variables_are_every_frames_ram(testcore: Path, rom: Path, buttons) -> None:
    system = systems.get("Test")
    masks = system.masks(buttons(300, 2))
    variables = {"p0": Variable("p0", PROBE, "<u2"), "p1": Variable("p1", PROBE + 2, ">u2"),
                 "gone": Variable("gone", 1 << 30, "|u1")}
    with Emulator(testcore, rom, system=system) as emu:
        expected = []
        for row in masks:
            emu.step(row)
            expected.append(emu.ram[PROBE : PROBE + 4].copy())
        emu.power_on()
        watch = emu.watch(variables, rows=200)
        emu.run(masks[:200])
        first = watch.values(200)
        emu.run(masks[200:])
        second = watch.values(100)
        with pytest.raises(CoreError, match="do not fit"):
            emu.run(masks[:201])
        emu.unwatch()
        emu.run(masks[:201])  # no longer watched: any batch size
    ram = np.array(expected)
    assert set(first) == {"p0", "p1"}  # an address outside the address space is left out
    assert np.concatenate([first["p0"], second["p0"]]).tolist() == ram[:, 0:2].view("<u2")[:, 0].tolist()
    assert np.concatenate([first["p1"], second["p1"]]).tolist() == ram[:, 2:4].view(">u2")[:, 0].tolist()
    assert masks[:, 0].tolist() == np.concatenate([first["p0"], second["p0"]]).tolist()


def test_batch_video_audio_and_dupes(testcore: Path, rom: Path) -> None:
    with Emulator(testcore, rom) as emu:
        (start, video), = emu.run(np.zeros((64, 2), np.uint16), video="native", audio=True)
        audio = emu.audio()
    assert start == 0 and video is not None and video.shape == (64, 144, 160, 3)
    # the core dupes every 16th frame: the picture must repeat the previous one
    assert np.array_equal(video[15], video[14]) and not np.array_equal(video[14], video[13])
    expected = 64 * 44100 / 59.922743
    assert abs(audio.shape[0] - expected) <= 1 and audio.dtype == np.int16 and np.abs(audio).max() > 0


@pytest.mark.parametrize("fmt", ["xrgb8888", "0rgb1555"])
def test_pixel_formats_convert_to_the_same_rgb(testcore: Path, rom: Path, fmt: str, buttons) -> None:
    masks = systems.get("Test").masks(buttons(200, 2))

    def frames(options: dict[str, str]) -> np.ndarray:
        with Emulator(testcore, rom, options=options) as emu:
            (_, video), = emu.run(masks, video="native")
            return video.copy()

    assert np.array_equal(frames({}), frames({"testcore_pixel_format": fmt}))


def test_two_emulators_of_one_core_in_one_process(testcore: Path, rom: Path, buttons) -> None:
    masks = systems.get("Test").masks(buttons(300, 2))
    with Emulator(testcore, rom) as a, Emulator(testcore, rom) as b:
        a.run(masks)
        b.run(masks[:150])
        assert not np.array_equal(a.ram, b.ram)
        b.run(masks[150:])
        assert np.array_equal(a.ram, b.ram)


def test_state_round_trip_and_wrong_size(testcore: Path, rom: Path, buttons) -> None:
    masks = systems.get("Test").masks(buttons(200, 2))
    with Emulator(testcore, rom) as emu:
        emu.run(masks[:100])
        state = emu.get_state()
        emu.run(masks[100:])
        after = emu.ram.copy()
        emu.set_state(state)
        emu.run(masks[100:])
        assert np.array_equal(emu.ram, after)
        with pytest.raises(StateError, match="2055 bytes.*2056"):
            emu.set_state(state[:-1])


def test_not_a_core_and_refused_rom(tmp_path: Path, testcore: Path, rom: Path) -> None:
    fake = tmp_path / "fake_libretro.so"
    fake.write_bytes(b"not an ELF file")
    with pytest.raises(CoreError, match="fake_libretro.so"):
        Emulator(fake, rom)
    bad = tmp_path / "bad.tst"
    bad.write_bytes(b"NOPE....")
    with pytest.raises(ContentError, match="refused"):
        Emulator(testcore, bad)


def test_record_playback_verify_and_trace(tmp_path: Path, rom: Path, buttons) -> None:
    movie_path = _record(tmp_path, rom, buttons(1000, 2), checkpoint_every=100)
    movie = bk2.read(movie_path)
    assert movie.frames == 1000 and movie.players == 2 and movie.state is None
    assert [c.frame for c in movie.checkpoints] == list(range(0, 1000, 100)) + [999]

    first = playback.run(movie_path, trace=tmp_path / "t1.jsonl")
    second = playback.run(movie_path, trace=tmp_path / "t2.jsonl")
    assert first.ram_sha256 == second.ram_sha256 and first.frames == 1000
    rows = [json.loads(line) for line in (tmp_path / "t1.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(1000))
    assert (tmp_path / "t1.jsonl").read_bytes() == (tmp_path / "t2.jsonl").read_bytes()
    # the trace agrees with the checkpoints recorded in the movie
    by_frame = {r["frame"]: r for r in rows}
    for c in movie.checkpoints:
        assert (by_frame[c.frame]["ram"], by_frame[c.frame]["screen"]) == (c.ram_sha256, c.screen_sha256)

    result = playback.verify(movie_path)
    assert (result.checkpoints, result.stored_checkpoints) == (11, 11)  # matched, of the movie's

    with pytest.raises(OutputExistsError):
        playback.run(movie_path, trace=tmp_path / "t1.jsonl")


def test_trace_every_n(tmp_path: Path, rom: Path, buttons) -> None:
    movie_path = _record(tmp_path, rom, buttons(250))
    playback.run(movie_path, trace=tmp_path / "t.jsonl", trace_every=100)
    frames = [json.loads(x)["frame"] for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert frames == [0, 100, 200, 249]


def test_verify_names_the_first_bad_frame_and_bytes(tmp_path: Path, rom: Path, buttons) -> None:
    movie_path = _record(tmp_path, rom, buttons(600), checkpoint_every=100)
    movie = bk2.read(movie_path)
    tampered = movie.buttons.copy()
    tampered[250, 0, 0] ^= 1  # one button, one frame
    bad = tmp_path / "bad.bk2"
    bk2.write(movie.replace(buttons=tampered), bad)
    with pytest.raises(DesyncError, match=r"desync at frame 300.*matched up to frame 200.*RAM bytes differ: 0x"):
        playback.verify(bad)


def test_movie_from_a_state(tmp_path: Path, testcore: Path, rom: Path, buttons) -> None:
    with Emulator(testcore, rom) as emu:
        emu.run(systems.get("Test").masks(buttons(77)), video=None)
        (tmp_path / "start.state").write_bytes(emu.get_state())
    movie_path = _record(tmp_path, rom, buttons(300, seed=5), start=(tmp_path / "start.state").read_bytes())
    movie = bk2.read(movie_path)
    assert movie.state is not None and len(movie.state) == 2056
    playback.verify(movie_path)


def test_wrong_rom_and_missing_rom(tmp_path: Path, rom: Path, buttons) -> None:
    mine = tmp_path / "mine.tst"  # a ROM no integration lists, so nothing finds it by its SHA-1
    mine.write_bytes(rom.read_bytes() + b"\n")
    movie_path = _record(tmp_path, mine, buttons(50))
    other = tmp_path / "other.tst"
    other.write_bytes(b"RTST another game")
    with pytest.raises(ContentError, match="wrong ROM.*SHA-1"):
        playback.run(movie_path, rom=other)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "m.bk2").write_bytes(movie_path.read_bytes())
    with pytest.raises(ContentError, match="needs its ROM"):
        playback.run(moved / "m.bk2")


def test_power_on_movie_replays_twice_in_one_emulator(testcore: Path, rom: Path, buttons) -> None:
    source = ArraySource(buttons(120))
    with Emulator(testcore, rom, system=systems.get("Test")) as emu:
        from retrotool.session import load_start

        load_start(emu, None)
        replay(emu, source, [])
        first = emu.ram.copy()
        load_start(emu, None)
        replay(emu, source, [])
        assert np.array_equal(first, emu.ram)
