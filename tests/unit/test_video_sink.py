"""VideoSink fed synthetic batches: exact frames, ranges, and every way ffmpeg or the disk can fail.

Each failure must give a clear project error, leave no temporary file and no
ffmpeg process behind.
"""

from __future__ import annotations

import errno
import os
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from retrotool import systems
from retrotool.errors import EncoderError, OutputExistsError, RetroToolError
from retrotool.sinks.contract import AvInfo, FrameBatch, ReplayInfo
from retrotool.variables import Variable
from retrotool.video import sink as sink_module
from retrotool.video.sink import VideoSettings, VideoSink

SAMPLES = 735  # stereo samples per synthetic frame


def _info(players: int = 1) -> ReplayInfo:
    av = AvInfo(160, 144, 160, 144, 160 / 144, 59.922743, 44100.0, 2)
    return ReplayInfo("Test", systems.get("Test").buttons, 0, players, av, "fake", "1", "0" * 40, 2048)


def _video(n: int, h: int = 144, w: int = 160, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def drive(sink: VideoSink, video: np.ndarray, *, batch: int = 50, interrupt_at: int | None = None) -> None:
    """What the replay loop does: batches cut at the sink's snapshot rows, close with the error."""
    total = len(video)
    stops = sink.needs(total).snapshots
    sink.open(_info())
    try:
        row = 0
        while row < total:
            if interrupt_at is not None and row >= interrupt_at:
                raise KeyboardInterrupt
            end = min(row + batch, total)
            k = int(np.searchsorted(stops, row))
            if k < stops.size and stops[k] < end:
                end = int(stops[k]) + 1
            n = end - row
            audio = np.full((n * SAMPLES, 2), row % 1000, np.int16)
            snap = bytes(2048) if (end - 1) in stops else None
            values = {name: np.arange(row, end) for name in sink.needs(total).variables}
            sink.consume(FrameBatch(row, np.zeros((n, 1, 16), np.uint8), np.zeros((n, 1), np.uint16),
                                    video=video[row:end], audio=audio, ram=snap, values=values))
            row = end
    except BaseException as e:
        sink.close(e)
        raise
    sink.close(None)


def decode(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"], capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def test_lossless_odd_size_decodes_to_the_exact_frames(tmp_path: Path, ffmpeg_processes) -> None:
    video = _video(40, 145, 161)
    sink = VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings(lossless=True))
    drive(sink, video)
    assert np.array_equal(decode(tmp_path / "o.mp4", 161, 145), video)
    assert sink.size == (161, 145) and sink.frames_written == 40 and sink.samples_written == 40 * SAMPLES
    assert leftovers(tmp_path) == [] and ffmpeg_processes(os.getpid()) == []


def test_default_mp4_pads_odd_sizes_for_yuv420p(tmp_path: Path) -> None:
    sink = VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings(audio=False))
    drive(sink, np.full((10, 145, 161, 3), 128, np.uint8))
    assert sink.size == (162, 146)
    frames = decode(tmp_path / "o.mp4", 162, 146)
    assert len(frames) == 10 and abs(int(frames[0, 70, 80, 0]) - 128) <= 2


def test_range_crop_and_scale(tmp_path: Path) -> None:
    video = _video(120)
    sink = VideoSink(tmp_path / "o.mp4", "mp4",
                     VideoSettings(start=30, end=90, crop=(10, 20, 50, 40), scale=2, lossless=True))
    drive(sink, video, batch=64)
    frames = decode(tmp_path / "o.mp4", 100, 80)
    expected = video[30:90, 20:60, 10:60].repeat(2, axis=1).repeat(2, axis=2)
    assert np.array_equal(frames, expected)
    assert sink.samples_written == 60 * SAMPLES  # the batches were cut at the range's edges


def test_png_folder_and_audio_wav(tmp_path: Path) -> None:
    video = _video(12, 16, 20)
    sink = VideoSink(tmp_path / "frames", "png", VideoSettings(start=2, end=7))
    drive(sink, video, batch=5)
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [f"{i:08d}.png" for i in range(2, 7)] + ["audio.wav"]
    import imageio.v3 as iio

    assert np.array_equal(iio.imread(tmp_path / "frames" / "00000004.png"), video[4])
    with wave.open(str(tmp_path / "frames" / "audio.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (44100, 2, 5 * SAMPLES)


def test_refuses_to_overwrite_and_replaces_with_force(tmp_path: Path) -> None:
    (tmp_path / "o.mp4").write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="--force"):
        VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings())
    drive(VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings(), force=True), _video(5))
    assert (tmp_path / "o.mp4").read_bytes()[4:8] == b"ftyp"
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "notes.txt").write_text("mine")
    with pytest.raises(RetroToolError, match="not a folder of frames"):
        VideoSink(tmp_path / "frames", "png", VideoSettings(), force=True)


def test_ffmpeg_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.raises(EncoderError, match="cannot find ffmpeg.*pip install --force-reinstall imageio-ffmpeg"):
        drive(VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings()), _video(5))
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failing_shows_its_last_words_and_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ffmpeg_processes) -> None:
    fake = tmp_path / "fake-ffmpeg"
    fake.write_text("#!/bin/sh\necho 'starting up' >&2\necho 'Unknown encoder: codec exploded' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EncoderError) as caught:
        drive(VideoSink(out / "o.mp4", "mp4", VideoSettings()), _video(200), batch=20)
    text = str(caught.value)
    assert "Unknown encoder: codec exploded" in text and f"command: {fake}" in text and "-framerate 59922743/1000000" in text
    assert "\n" not in text
    assert list(out.iterdir()) == [] and ffmpeg_processes(os.getpid()) == []


def test_disk_full_while_writing_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ffmpeg_processes) -> None:
    def full(self: wave.Wave_write, data: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(wave.Wave_write, "writeframesraw", full)
    with pytest.raises(RetroToolError, match="cannot write the audio of .*o.mp4: No space left on device"):
        drive(VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings()), _video(30))
    assert list(tmp_path.iterdir()) == [] and ffmpeg_processes(os.getpid()) == []


def test_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(RetroToolError, match=r"cannot write .*o.mp4: Permission denied \(in folder"):
        drive(VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings()), _video(5))


def test_interrupt_kills_ffmpeg_and_removes_everything(tmp_path: Path, ffmpeg_processes) -> None:
    with pytest.raises(KeyboardInterrupt):
        drive(VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings()), _video(300), batch=50, interrupt_at=100)
    assert list(tmp_path.iterdir()) == [] and ffmpeg_processes(os.getpid()) == []


def test_info_overlay_needs_variables_and_asks_for_them(tmp_path: Path) -> None:
    with pytest.raises(RetroToolError, match="info overlay needs"):
        VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings(show_info=True))
    variables = {"score": Variable("score", 0, "|u1")}
    sink = VideoSink(tmp_path / "o.mp4", "mp4", VideoSettings(show_info=True, start=5, end=25), info=variables)
    assert sink.needs(40).variables == variables
    drive(sink, _video(40))
    assert sink.frames_written == 20


@pytest.mark.parametrize("batch", [7, 50])
def test_gif_keeps_every_second_row_and_counts_what_it_wrote(tmp_path: Path, batch: int) -> None:
    """Row k is one flat colour (k), so the decoded GIF tells which rows it holds; a still picture counts too."""
    video = np.repeat(np.arange(50, dtype=np.uint8), 144 * 160 * 3).reshape(50, 144, 160, 3)
    sink = VideoSink(tmp_path / "o.gif", "gif", VideoSettings(start=3, end=40))
    drive(sink, video, batch=batch)
    shown = decode(tmp_path / "o.gif", 160, 144)[:, 0, 0, 0].tolist()
    assert shown == list(range(3, 40, 2)) and sink.frames_written == len(shown) and sink.rows_rendered == 37
    still = VideoSink(tmp_path / "still.gif", "gif", VideoSettings(end=11))
    drive(still, np.zeros((20, 144, 160, 3), np.uint8), batch=batch)
    assert len(decode(tmp_path / "still.gif", 160, 144)) == still.frames_written == 6


@pytest.mark.parametrize(("cpus", "renders", "threads"), [(2, 1, 1), (2, 2, 1), (8, 1, 7), (8, 2, 3), (8, 8, 1), (1, 1, 1)])
def test_x264_gets_the_cpus_left_beside_the_emulators(monkeypatch: pytest.MonkeyPatch, cpus: int, renders: int,
                                                      threads: int) -> None:
    monkeypatch.setattr(sink_module.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert sink_module.encoder_threads(renders) == threads
