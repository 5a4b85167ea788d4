"""Rendering a replay to MP4 (H.264 + AAC), a GIF or a folder of PNGs.

Two streams, one mux. Frames go as raw RGB24 through a pipe to an ffmpeg
process that encodes while the emulator runs the next batch in C; the
core's int16 stereo goes into a WAV file (stdlib `wave`) in a work folder
beside the output. When the replay ends, one more ffmpeg call copies the
video and encodes the audio into the final MP4. No sockets, no sleeps, and
memory stays flat: frames stream, audio goes to disk.

Timing uses the core's exact rates: the frame rate goes to ffmpeg as a
rational (59922743/1000000, not 59.92) and becomes the MP4 track's time
scale, so every frame lasts exactly 1/fps; the audio keeps the core's exact
sample count, so the two streams stay in sync for any length of movie.

Everything is written in the work folder and moved into place only when
complete; an error or Ctrl-C kills ffmpeg and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from retrotool import outputs
from retrotool.errors import RetroToolError
from retrotool.pictures import fit
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo, Values
from retrotool.variables import Variable
from retrotool.video import ffmpeg
from retrotool.video.mux import AUDIO_WAV, VIDEO_MP4, mux, replace_folder, timescale, wav_rate
from retrotool.video.overlay import ButtonsOverlay, InfoOverlay

Kind = Literal["mp4", "gif", "png"]
PNG_PATTERN = "%08d.png"  # frame files are named by movie row
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True, slots=True)
class VideoSettings:
    """How to render (plain values, so it crosses process boundaries).

    `crop` is (x, y, w, h) in native pixels, applied before `scale`; rows
    start .. end-1 are kept (the replay still runs from row 0).
    """

    scale: int = 1
    crop: tuple[int, int, int, int] | None = None
    start: int = 0
    end: int | None = None
    audio: bool = True
    crf: int = 18
    preset: str = "superfast"  # x264's speed/size trade-off (ultrafast .. veryslow)
    lossless: bool = False
    buttons: bool = False  # draw the held buttons
    show_info: bool = False  # draw the game's RAM variables (needs them: `info`)
    encoder_threads: int = 0  # x264's threads per encoder; 0: x264's own choice (render() picks, see encoder_threads)

    def check(self, frames: int) -> int:
        """Validate against a movie of `frames` rows; returns the end row."""
        end = frames if self.end is None else self.end
        if self.scale < 1:
            raise RetroToolError(f"--scale must be at least 1, not {self.scale}")
        if not 0 <= self.crf <= 51:
            raise RetroToolError(f"--crf must be between 0 and 51 (x264's range), not {self.crf}")
        if self.preset not in X264_PRESETS:
            raise RetroToolError(f"unknown x264 preset {self.preset!r}; use one of {', '.join(X264_PRESETS)}")
        if self.crop is not None and (self.crop[0] < 0 or self.crop[1] < 0 or min(self.crop[2:]) < 1):
            raise RetroToolError(f"--crop {','.join(map(str, self.crop))}: x and y must be >= 0, w and h >= 1")
        if not 0 <= self.start < end <= frames:
            raise RetroToolError(
                f"frame range --start {self.start} --end {end} is empty or outside the movie's "
                f"{frames} frames (rows 0..{frames - 1})"
            )
        return end


@dataclass(frozen=True, slots=True)
class _Format:
    """ffmpeg's part of one output kind: codec/container arguments and extra filters."""

    output: tuple[str, ...]
    filters: str
    audio: Literal["mux", "wav", "none"]  # mux: a final ffmpeg call joins video and WAV into the file
    file: str
    even: bool = False  # the pixel format needs even sides: odd ones get a black row/column
    every: int = 1  # keep every N-th row of the range (from its first), shown N times as long


# Option sets per output kind; {crf}, {start} and {preset} are filled in.
_FORMATS: dict[str, _Format] = {
    # yuv420p plays everywhere but needs even sides
    "mp4": _Format(
        ("-c:v", "libx264", "-preset", "{preset}", "-crf", "{crf}", "-pix_fmt", "yuv420p"), "", "mux", VIDEO_MP4,
        even=True,
    ),
    # x264's RGB mode at qp 0 decodes to the exact RGB frames
    "lossless": _Format(
        ("-c:v", "libx264rgb", "-preset", "{preset}", "-qp", "0", "-pix_fmt", "rgb24"), "", "mux", VIDEO_MP4,
    ),
    # browsers show at most ~50 GIF frames a second: keep every second frame (chosen here, so the
    # count of frames written is the GIF's); one palette per frame (exact for games with <= 256
    # colours on screen), streamed
    "gif": _Format(
        ("-f", "gif"),
        "split[a][b];[a]palettegen=stats_mode=single:reserve_transparent=0[p];"
        "[b][p]paletteuse=new=1:dither=none", "none", "video.gif", every=2,
    ),
    "png": _Format(("-c:v", "png", "-f", "image2", "-start_number", "{start}"), "", "wav", f"frames/{PNG_PATTERN}"),
}


def encoder_threads(renders: int) -> int:
    """x264 threads for each of `renders` encoders running at once: the CPUs left beside their emulators.

    x264's own choice (1.5 threads per CPU) spends a quarter more CPU on
    frame threads than one thread does; on a small machine, where the
    emulators need the other CPUs, that makes a render slower (a 10-minute
    Genesis render on 2 CPUs: 17.5 s with x264's choice, 14.9-16.1 s with 1
    thread). With CPUs to spare, each encoder gets them.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cpus // max(1, renders) - 1)


def rational(rate: float) -> Fraction:
    """The core's rate as a fraction exact to ~1e-12 (ffmpeg itself would keep 4 digits)."""
    return Fraction(rate).limit_denominator(1_000_000)


@dataclass(frozen=True, slots=True)
class Written:
    """One output of a render and what is in it."""

    path: Path
    frames: int  # pictures in it: the rows of the range, or every second one in a GIF
    size: tuple[int, int] | None  # width x height, after scaling (and padding)
    rows: int  # rows of the range rendered
    samples: int  # stereo sample frames written (at the core's rate)


class VideoSink:
    """Writes the rows `settings.start .. end-1` of a replay as one video output.

    `kind` is "mp4" (H.264 + AAC, or lossless RGB with `settings.lossless`),
    "gif", or "png" (a folder of frames named by row, plus audio.wav).
    """

    def __init__(
        self, target: str | Path, kind: Kind, settings: VideoSettings, *,
        info: Mapping[str, Variable] | None = None, force: bool = False, part: bool = False,
    ) -> None:
        if settings.show_info and info is None:
            raise RetroToolError("the info overlay needs the game's RAM variables (an integration)")
        self.target = outputs.check_target(target, force)
        if kind == "png" and self.target.exists() and not is_frames_folder(self.target):
            raise RetroToolError(f"{self.target} is not a folder of frames from retrotool; remove it or pick another --png-dir")
        if kind != "png" and self.target.is_dir():
            raise RetroToolError(f"{self.target} is a folder; give a file name for the {kind} output")
        self.kind = kind
        self.force = force
        self.part = part  # write a folder of this range's files, for join_parts
        self.settings = settings
        self.format = _FORMATS["lossless" if kind == "mp4" and settings.lossless else kind]
        self.rows_rendered = 0  # rows of the range seen
        self.frames_written = 0  # pictures in the output (a GIF keeps every second row)
        self.samples_written = 0
        self.size: tuple[int, int] | None = None  # output (width, height) once known
        self._end = 0
        self._work: Path | None = None
        self._encoder: ffmpeg.Ffmpeg | None = None
        self._wav: wave.Wave_write | None = None
        self._repeat = 1
        self._native: tuple[int, int] | None = None  # (h, w) of the first frame
        self._buttons: ButtonsOverlay | None = None
        self._info = InfoOverlay(info) if settings.show_info and info is not None else None
        self._replay: ReplayInfo | None = None

    # -- Sink protocol -------------------------------------------------------
    def needs(self, frames: int) -> Needs:
        """Video, audio, and batch cuts at the range's ends so audio splits on frame edges."""
        s = self.settings
        self._end = s.check(frames)
        rows = [self._end - 1] + ([s.start - 1] if s.start > 0 else [])
        audio = s.audio and self.format.audio != "none"
        variables = self._info.variables if self._info is not None else {}
        return Needs(video="native", audio=audio, snapshots=np.unique(np.array(rows, np.int64)), variables=variables)

    def open(self, info: ReplayInfo) -> None:
        self._replay = info
        self._work = outputs.temp_name(self.target)
        try:
            self._work.mkdir()
            if self.kind == "png":
                (self._work / "frames").mkdir()
            if self.settings.audio and self.format.audio != "none":
                self._open_wav(info.av.sample_rate)
        except OSError as e:
            self.close(e)
            raise RetroToolError(f"cannot write {self.target}: {e.strerror} (in folder {self.target.parent})") from None

    def consume(self, batch: FrameBatch) -> None:
        s = self.settings
        inside = s.start <= batch.last < self._end
        lo, hi = max(s.start - batch.start, 0), min(self._end - batch.start, batch.n)
        if batch.video is not None and lo < hi:
            self.rows_rendered += hi - lo
            every = self.format.every
            kept = slice(lo + (s.start - batch.start - lo) % every, hi, every)
            values = {k: v[kept] for k, v in (batch.values or {}).items()}
            frames = self._prepare(batch.video[kept], batch.buttons[kept], values)
            if frames.shape[0]:
                self._encoder_for(frames).write(frames.data)
                self.frames_written += frames.shape[0]
        if self._wav is not None and batch.audio is not None and inside:
            self._write_audio(batch.audio)

    def close(self, error: BaseException | None) -> Written | None:
        """Finish and move the output into place (returning what it holds), or (after an error) discard everything."""
        try:
            if error is None:
                self._finish()
                return Written(self.target, self.frames_written, self.size, self.rows_rendered, self.samples_written)
            return None
        except BaseException:
            if self._encoder is not None:
                self._encoder.kill()
            raise
        finally:
            if error is not None and self._encoder is not None:
                self._encoder.kill()
            with contextlib.suppress(RetroToolError):  # already closed unless we are failing anyway
                self._close_wav()
            if self._work is not None:
                outputs.discard_tree(self._work)
                self._work = None

    # -- frames --------------------------------------------------------------
    def _prepare(self, frames: np.ndarray, buttons: np.ndarray, values: Values) -> np.ndarray:
        """Same size as the first frame, cropped, overlays drawn, C-contiguous."""
        if self._native is None:
            self._native = (int(frames.shape[1]), int(frames.shape[2]))
            self._check_crop(*self._native)
        if frames.shape[1:3] != self._native:
            frames = fit(frames, *self._native)
        if self.settings.crop is not None:
            x, y, w, h = self.settings.crop
            frames = frames[:, y : y + h, x : x + w]
        if self.settings.buttons or self._info is not None:
            frames = frames.copy()  # never draw into the batch other sinks see
            if self.settings.buttons:
                self._buttons_overlay(frames).draw(frames, buttons)
            if self._info is not None:
                self._info.draw(frames, values)
        return np.ascontiguousarray(frames)

    def _check_crop(self, height: int, width: int) -> None:
        crop = self.settings.crop
        if crop is not None and (crop[0] + crop[2] > width or crop[1] + crop[3] > height):
            raise RetroToolError(
                f"--crop {','.join(map(str, crop))} does not fit the {width}x{height} picture "
                "(x + w and y + h must stay inside it)"
            )

    def _buttons_overlay(self, frames: np.ndarray) -> ButtonsOverlay:
        if self._buttons is None:
            assert self._replay is not None, "open() comes before consume()"
            buttons, players = self._replay.buttons, self._replay.players
            self._buttons = ButtonsOverlay(buttons, players, int(frames.shape[2]), int(frames.shape[1]))
        return self._buttons

    def _encoder_for(self, frames: np.ndarray) -> ffmpeg.Ffmpeg:
        """The encoder, started at the first frame (only then is the picture's size known)."""
        if self._encoder is not None:
            return self._encoder
        assert self._replay is not None and self._work is not None, "open() comes before consume()"
        height, width = int(frames.shape[1]), int(frames.shape[2])
        s = self.settings
        fps = rational(self._replay.av.fps) / self.format.every
        self.size = (width * s.scale, height * s.scale)
        filters = [f"scale=iw*{s.scale}:ih*{s.scale}:flags=neighbor"] if s.scale > 1 else []
        if self.format.even and (self.size[0] % 2 or self.size[1] % 2):
            filters.append("pad=ceil(iw/2)*2:ceil(ih/2)*2")
            self.size = (self.size[0] + self.size[0] % 2, self.size[1] + self.size[1] % 2)
        if self.format.filters:
            filters.append(self.format.filters)
        output = [arg.format(crf=s.crf, start=s.start, preset=s.preset) for arg in self.format.output]
        if s.encoder_threads and self.kind == "mp4":
            output += ["-threads", str(s.encoder_threads)]
        args = [
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", str(fps),
            "-i", "pipe:0", *(["-vf", ",".join(filters)] if filters else []), *output,
            *(timescale(fps) if self.kind == "mp4" else []), str(self._work / self.format.file),
        ]
        self._encoder = ffmpeg.Ffmpeg(args, feed=True)
        return self._encoder

    # -- audio ---------------------------------------------------------------
    def _wav_path(self) -> Path:
        assert self._work is not None, "open() comes before the audio"
        return self._work / ("frames" if self.kind == "png" else "") / AUDIO_WAV

    def _open_wav(self, rate: float) -> None:
        hz, self._repeat, _ = wav_rate(rate)
        wav = wave.open(str(self._wav_path()), "wb")  # noqa: SIM115 - closed by _close_wav
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(hz)
        self._wav = wav

    def _write_audio(self, audio: np.ndarray) -> None:
        assert self._wav is not None
        data = np.ascontiguousarray(audio, dtype="<i2")
        if self._repeat > 1:
            data = np.repeat(data, self._repeat, axis=0)
        try:
            self._wav.writeframesraw(data.data)
        except OSError as e:
            raise RetroToolError(f"cannot write the audio of {self.target}: {e.strerror}") from None
        self.samples_written += int(audio.shape[0])

    def _close_wav(self) -> None:
        wav, self._wav = self._wav, None
        if wav is None:
            return
        try:
            wav.close()
        except OSError as e:
            raise RetroToolError(f"cannot write the audio of {self.target}: {e.strerror}") from None

    # -- finishing -----------------------------------------------------------
    def _finish(self) -> None:
        if self._encoder is None or self._work is None or self._replay is None:
            raise RetroToolError(f"no frames reached {self.target}: the replay produced no video")
        self._encoder.finish()
        self._close_wav()
        try:
            if self.part:  # a segment of a render, joined by video/mux.py: its files as they are
                self._work.rename(self.target)
                self._work = None
                return
            if self.kind == "png":
                replace_folder(self._work / "frames", self.target, self.force)
                return
            final = self._work / self.format.file
            if self.format.audio == "mux":
                wav = self._wav_path() if self.samples_written else None
                final = mux(final, wav, self._work / "final.mp4", rational(self._replay.av.fps), self._replay.av.sample_rate)
            outputs.commit(final, self.target, self.force)
        except OSError as e:
            raise RetroToolError(f"cannot write {self.target}: {e.strerror}") from None


def is_frames_folder(path: Path) -> bool:
    """True for a folder that holds only what a png render writes (safe to replace with --force)."""
    return path.is_dir() and all(p.suffix == ".png" or p.name == AUDIO_WAV for p in path.iterdir())
