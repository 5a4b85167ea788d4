"""Rendering real replays: decoded MP4s have the movie's frames, duration and sound.

The test core is silent while START of port 0 is held, so a movie that holds
START for rows 100..179 must decode to silence there and to sound elsewhere.
The Airstriker tier (stable-retro's genesis_plus_gx) checks a real core.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from retrotool import movie as bk2, playback, session, systems
from retrotool.emulator import Emulator
from retrotool.errors import RetroToolError
from retrotool.record import scripted
from retrotool.session import load_start
from retrotool.video import render
from retrotool.video.sink import VideoSettings

FPS = 59.922743
FRAMES = 300
QUIET = (100, 180)  # rows with START held on port 0


def _core_samples(frames: int) -> int:
    """The test core's exact stereo sample count after `frames` frames since power-on (its README)."""
    return frames * 44100000000 // 59922743


def samples_after(rows: int) -> int:
    """Samples of a power-on movie's first `rows` rows (they follow the frames stable-retro's make() runs)."""
    return _core_samples(rows + bk2.MAKE_FRAMES) - _core_samples(bk2.MAKE_FRAMES)


@pytest.fixture
def movie(tmp_path: Path, rom: Path, buttons) -> Path:
    """A 300-row, 2-player test-core movie (ROM beside it) with START held on rows 100..179."""
    held = buttons(FRAMES, 2, seed=4)
    start = systems.get("Test").index("START")
    held[:, 0, start] = 0
    held[QUIET[0] : QUIET[1], 0, start] = 1
    (tmp_path / rom.name).write_bytes(rom.read_bytes())
    out = tmp_path / "m.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=tmp_path / rom.name, buttons=held, out=out)
    return out


def ffmpeg(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *args], capture_output=True, check=True)


def decode_video(path: Path, width: int, height: int) -> np.ndarray:
    raw = ffmpeg("-i", str(path), "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def decode_audio(path: Path) -> np.ndarray:
    raw = ffmpeg("-i", str(path), "-map", "0:a", "-f", "s16le", "-ac", "2", "-").stdout
    return np.frombuffer(raw, np.int16).reshape(-1, 2)


def packet_times(path: Path) -> dict[int, tuple[str, list[tuple[int, int]]]]:
    """Per stream: its time base and every packet's (pts, duration), as the MP4 stores them."""
    text = ffmpeg("-i", str(path), "-map", "0", "-c", "copy", "-f", "framemd5", "-").stdout.decode()
    out: dict[int, tuple[str, list[tuple[int, int]]]] = {}
    for stream, tb in re.findall(r"^#tb (\d+): (\S+)$", text, re.MULTILINE):
        out[int(stream)] = (tb, [])
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            out[int(fields[0])][1].append((int(fields[2]), int(fields[3])))
    return out


def _played(emu: Emulator, m: bk2.Movie) -> list[tuple[int, np.ndarray | None]]:
    """The movie's pictures as the core presents them, run by hand the way a replay runs it."""
    load_start(emu, m.state, m.convention)
    masks = systems.get("Test").masks(m.buttons)
    masks[0] = 0  # stable-retro's reset frame
    return emu.run(masks, video="native")


def emulator_frames(movie_path: Path, testcore: Path) -> np.ndarray:
    m = bk2.read(movie_path)
    with Emulator(testcore, movie_path.parent / "testgame.tst", ports=2) as emu:
        ((_, video),) = _played(emu, m)
        assert video is not None
        return video.copy()


def test_mp4_has_every_frame_the_exact_rate_and_the_cores_audio(movie: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    result = render.render(movie, render.Targets(mp4=tmp_path / "o.mp4"), progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (FRAMES, FRAMES)
    assert result.frames == FRAMES and result.size == (160, 144)
    assert result.audio_samples == samples_after(FRAMES)
    assert len(decode_video(tmp_path / "o.mp4", 160, 144)) == FRAMES
    # every frame lasts exactly 1/59.922743 s: no rounding of the rate, so no drift at any length
    streams = packet_times(tmp_path / "o.mp4")
    tb, video = streams[0]
    assert tb == "1/59922743" and {d for _, d in video} == {1000000} and len(video) == FRAMES
    tb, audio_packets = streams[1]
    assert tb == "1/44100" and sum(audio_packets[-1]) == samples_after(FRAMES)  # the audio ends with the video

    audio = decode_audio(tmp_path / "o.mp4").astype(np.float64)
    assert abs(len(audio) - samples_after(FRAMES)) < 735  # under one frame
    quiet = audio[samples_after(QUIET[0] + 5) : samples_after(QUIET[1] - 5)]
    loud = audio[samples_after(20) : samples_after(90)]
    assert np.sqrt((quiet**2).mean()) < 50 and np.sqrt((loud**2).mean()) > 1000


def test_lossless_decodes_to_the_emulators_frames(movie: Path, tmp_path: Path, testcore: Path) -> None:
    render.render(movie, render.Targets(mp4=tmp_path / "o.mp4"), VideoSettings(lossless=True))
    decoded = decode_video(tmp_path / "o.mp4", 160, 144)
    expected = emulator_frames(movie, testcore)
    assert decoded.shape == expected.shape
    for row in (0, FRAMES // 2, FRAMES - 1):
        assert np.array_equal(decoded[row], expected[row]), row


def test_a_core_that_narrows_its_picture_mid_movie(movie: Path, tmp_path: Path, testcore: Path) -> None:
    """testcore_narrow_from: 160x144 pictures, then 128x144 from frame 120 on (SET_GEOMETRY).

    Videos keep the first picture's size (later ones are resized to it, nearest neighbour).
    Datasets and traces take the observation, whose size is fixed when the game loads (as
    stable-retro's): for a core outside stable-retro's profile, what lies beyond the presented
    picture is black.
    """
    from retrotool import datasets
    from retrotool.datasets import dump
    from retrotool.pictures import fit
    from retrotool.sinks.checkpoints import screen_hash
    from retrotool.video import render

    narrow = tmp_path / "narrow.bk2"
    bk2.write(bk2.read(movie).with_meta(options={"testcore_narrow_from": "120"}), narrow)
    m = bk2.read(narrow)
    with Emulator(testcore, tmp_path / "testgame.tst", ports=2, options={"testcore_narrow_from": "120"}) as emu:
        segments = _played(emu, m)
        (first, wide), (cut, thin) = [(a, v.copy()) for a, v in segments]
    assert first == 0 and wide.shape[2] == 160 and thin.shape[2] == 128 and cut > 100
    expected = np.concatenate([wide, fit(thin, 144, 160)])
    observed = np.concatenate([wide, np.pad(thin, ((0, 0), (0, 0), (0, 32), (0, 0)))])

    render.render(narrow, render.Targets(mp4=tmp_path / "o.mp4"), VideoSettings(lossless=True))
    decoded = decode_video(tmp_path / "o.mp4", 160, 144)
    assert decoded.shape == expected.shape and np.array_equal(decoded, expected)

    assert not dump.dump_dataset([narrow], tmp_path / "ds").failed
    (episode,) = datasets.load(tmp_path / "ds")
    assert np.array_equal(episode.observations, observed)

    playback.run(narrow, trace=tmp_path / "t.jsonl")
    screens = [json.loads(line)["screen"] for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert screens[cut + 5] == screen_hash(observed[cut + 5]) and screens[5] == screen_hash(wide[5])


def test_range_cuts_video_and_audio_together(movie: Path, tmp_path: Path, testcore: Path) -> None:
    settings = VideoSettings(start=90, end=150, lossless=True)
    result = render.render(movie, render.Targets(mp4=tmp_path / "o.mp4"), settings)
    assert result.frames == 60 and result.audio_samples == samples_after(150) - samples_after(90)
    assert result.run.frames == 150 < bk2.read(movie).frames  # the rows after --end are never run
    decoded = decode_video(tmp_path / "o.mp4", 160, 144)
    assert np.array_equal(decoded, emulator_frames(movie, testcore)[90:150])
    audio = decode_audio(tmp_path / "o.mp4").astype(np.float64)
    head, tail = audio[: samples_after(8)], audio[samples_after(14) : samples_after(58)]
    assert np.sqrt((head**2).mean()) > 1000 and np.sqrt((tail**2).mean()) < 50  # START held from row 100


def test_no_ffmpeg_outlives_a_render(movie: Path, tmp_path: Path, ffmpeg_processes) -> None:
    render.render(movie, render.Targets(mp4=tmp_path / "a.mp4", gif=tmp_path / "a.gif"))
    assert ffmpeg_processes(os.getpid()) == []

    def interrupt(done: int, total: int) -> None:
        if done > 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render.render(movie, render.Targets(mp4=tmp_path / "b.mp4", png_dir=tmp_path / "b"),
                      progress=interrupt)
    assert ffmpeg_processes(os.getpid()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("m.")) == [
        "a.gif", "a.mp4", "testgame.tst"
    ]


def test_cli_renders_mp4_gif_and_pngs_in_one_replay(movie: Path, tmp_path: Path, cli) -> None:
    proc = cli("playback", "m.bk2", "--mp4", "o.mp4", "--gif", "o.gif", "--png-dir", "frames", "--start", "10",
               "--end", "70", "--scale", "2", "--crop", "0,8,160,128", "--overlay", "buttons", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote o.mp4 (60 frames, 320x256)" in proc.stdout
    assert len(decode_video(tmp_path / "o.mp4", 320, 256)) == 60
    gif = decode_video(tmp_path / "o.gif", 320, 256)
    assert len(gif) == 30  # every second frame
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert [p.name for p in pngs[:2]] == ["00000010.png", "00000011.png"] and len(pngs) == 60
    assert (tmp_path / "frames" / "audio.wav").is_file()


def test_cli_many_movies_report_the_failure_and_go_on(movie: Path, tmp_path: Path, cli) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("a", "b"):
        (batch / f"{name}.bk2").write_bytes(movie.read_bytes())
    (batch / "testgame.tst").write_bytes((tmp_path / "testgame.tst").read_bytes())
    (batch / "broken.bk2").write_bytes(b"not a movie")
    crash = bk2.read(movie).with_meta(options={"testcore_crash_at": "30"})  # the test core's SIGSEGV switch
    bk2.write(crash, batch / "crash.bk2")
    proc = cli("playback", "batch", "--mp4", "videos", "--end", "60", "--jobs", "2", cwd=tmp_path)
    assert proc.returncode == 1
    assert "2 of 4 movies failed" in proc.stderr and "broken.bk2" in proc.stdout
    assert "renderprocessdied(SIGSEGV)" in re.sub(r"[\s│]", "", proc.stdout)  # the table folds long cells
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == ["a.mp4", "b.mp4"]
    assert len(decode_video(tmp_path / "videos" / "a.mp4", 160, 144)) == 60


def test_cli_errors_are_short_and_leave_nothing(movie: Path, tmp_path: Path) -> None:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "retrotool", "playback", "m.bk2", *args], cwd=tmp_path,
                              capture_output=True, text=True, env={**os.environ, **env}, timeout=120, check=False)

    missing = run("--mp4", "o.mp4", IMAGEIO_FFMPEG_EXE=str(tmp_path / "no-ffmpeg"))
    assert missing.returncode == 1 and "cannot start ffmpeg" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "o.mp4").write_bytes(b"old")
    exists = run("--mp4", "o.mp4")
    assert exists.returncode == 1 and "--force" in exists.stderr
    no_folder = run("--mp4", "nowhere/o.mp4")
    assert no_folder.returncode == 1 and "folder nowhere does not exist" in no_folder.stderr
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.fixture
def tmpfs(tmp_path: Path):
    """tmpfs(options) -> a freshly mounted tmpfs folder (skips where mounting is not allowed)."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        where.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.may_skip_in_ci  # mounting needs a privilege a CI container may not have
@pytest.mark.parametrize(("options", "message"), [("ro,size=1m", "Read-only file system"),
                                                  ("size=64k", "No space left on device")])
def test_read_only_or_full_disk(movie: Path, tmpfs, options: str, message: str, cli) -> None:
    folder = tmpfs(options)
    for extra in ([], ["--no-audio"]):  # audio fills the disk first; without it, ffmpeg does
        proc = cli("playback", str(movie), "--mp4", str(folder / "o.mp4"), *extra)
        assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert list(folder.iterdir()) == []


def test_view_plays_in_real_time(movie: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    t0 = time.perf_counter()
    result = render.render(movie, render.Targets(view=True), VideoSettings(start=200, end=245))
    took = time.perf_counter() - t0
    assert result.run.frames == 245 < FRAMES and 44 / FPS <= took < 5  # the rows after --end are never run


def test_view_without_pygame_says_how_to_install_it(movie: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)
    with pytest.raises(RetroToolError, match=r"pip install 'retrotool\[view\]'"):
        render.render(movie, render.Targets(view=True))


def test_info_overlay_without_an_integration_is_a_clear_error(movie: Path, tmp_path: Path) -> None:
    with pytest.raises(RetroToolError, match="--overlay info needs the RAM variables of testgame"):
        render.render(movie, render.Targets(mp4=tmp_path / "o.mp4"), VideoSettings(show_info=True))
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.realcore
def test_airstriker_lossless_frames_and_sound(tmp_path: Path) -> None:
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("stable-retro (the 'cores' extra) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    game, core = root / "data" / "stable" / "Airstriker-Genesis-v0", root / "cores" / "genesis_plus_gx_libretro.so"
    if not core.is_file() or not (game / "rom.md").is_file():
        pytest.skip("stable-retro has no genesis_plus_gx core or Airstriker game")
    genesis = systems.get("Genesis")
    start = gzip.decompress((game / "Level1.state").read_bytes())
    from retrotool.record.sources import random_buttons

    held = random_buttons(genesis, 240, 1, seed=5)
    scripted.record(system=genesis, core=str(core), rom=game / "rom.md", buttons=held, out=tmp_path / "air.bk2", start=start)
    result = render.render(tmp_path / "air.bk2", render.Targets(mp4=tmp_path / "air.mp4"),
                           VideoSettings(lossless=True), rom=game / "rom.md")
    width, height = result.size or (0, 0)
    decoded = decode_video(tmp_path / "air.mp4", width, height)
    with Emulator(core, game / "rom.md", system=genesis, ports=1) as emu:
        load_start(emu, start)
        ((_, video),) = emu.run(genesis.masks(held), video="native", audio=True)
        sound = emu.audio()
    assert decoded.shape == video.shape
    for row in (0, 120, 239):
        assert np.array_equal(decoded[row], video[row]), row
    audio = decode_audio(tmp_path / "air.mp4")
    assert result.audio_samples == len(sound) and abs(len(audio) - len(sound)) < 736
    assert np.abs(audio).max() > 1000


def test_ctrl_c_in_a_terminal_stops_ffmpeg_and_leaves_nothing(tmp_path: Path, rom: Path, buttons, ffmpeg_processes) -> None:
    """SIGINT to the foreground process group (what Ctrl-C does) reaches Python, which kills ffmpeg."""
    (tmp_path / rom.name).write_bytes(rom.read_bytes())
    scripted.record(system=systems.get("Test"), core=None, rom=tmp_path / rom.name, buttons=buttons(20000),
                out=tmp_path / "long.bk2")
    proc = subprocess.Popen([sys.executable, "-m", "retrotool", "playback", "long.bk2", "--mp4", "o.mp4"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)
    encoders: list[int] = []
    deadline = time.monotonic() + 30
    while not encoders and time.monotonic() < deadline and proc.poll() is None:
        encoders = ffmpeg_processes(proc.pid)
        time.sleep(0.05)
    assert encoders, "ffmpeg never started"
    os.killpg(proc.pid, signal.SIGINT)  # to the process group, as a terminal's Ctrl-C
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in stderr
    assert not [pid for pid in encoders if Path(f"/proc/{pid}").exists()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.bk2", "testgame.tst"]


def _session(sid: int) -> list[int]:
    """Processes of a session (a terminal's job and everything it started)."""
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.getsid(int(proc.name)) == sid:
                out.append(int(proc.name))
        except (ProcessLookupError, PermissionError):
            continue
    return out


def test_ctrl_c_during_many_renders_ends_every_process(tmp_path: Path, rom: Path, buttons, ffmpeg_processes) -> None:
    """Ctrl-C with two movies rendering in their zygotes' children: all of them stop, nothing is left."""
    (tmp_path / rom.name).write_bytes(rom.read_bytes())
    for name in ("a", "b"):
        scripted.record(system=systems.get("Test"), core=None, rom=tmp_path / rom.name, buttons=buttons(20000),
                    out=tmp_path / f"{name}.bk2")
    proc = subprocess.Popen([sys.executable, "-m", "retrotool", "playback", "a.bk2", "b.bk2", "--mp4", "videos",
                             "--jobs", "2"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(set(ffmpeg_processes(None)) & set(_session(proc.pid))) == 2:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the two encoders never ran")
    os.killpg(proc.pid, signal.SIGINT)  # to the process group, as a terminal's Ctrl-C
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in stderr, stderr
    deadline = time.monotonic() + 10
    while _session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _session(proc.pid), "processes outlived the interrupted render"
    assert not list((tmp_path / "videos").iterdir())  # no video, no temporary file


def _default_sigint() -> None:
    """Background jobs of a shell start with SIGINT ignored; a terminal's foreground job does not."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_info_overlay_draws_the_integrations_variables(tmp_path: Path, buttons) -> None:
    """A movie of the shipped TestGame-Test integration: --overlay info needs no hook from the caller."""
    what = session.game_content(game="TestGame-Test")
    movie = tmp_path / "g.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=what.rom, buttons=buttons(60), out=movie,
                start=what.state, game=what.name)
    plain, info = tmp_path / "plain", tmp_path / "info"
    render.render(movie, render.Targets(png_dir=plain), VideoSettings())
    render.render(movie, render.Targets(png_dir=info), VideoSettings(show_info=True))
    a = np.asarray(iio.imread(sorted(plain.glob("*.png"))[30]))
    b = np.asarray(iio.imread(sorted(info.glob("*.png"))[30]))
    differs = np.argwhere(np.any(a != b, axis=2))
    assert differs.size and differs[:, 0].min() < 10 and differs[:, 1].min() < 10  # text at the top left
