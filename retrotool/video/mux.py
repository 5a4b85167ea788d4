"""From a render's streams to the user's file: the audio's WAV rate, the MP4 mux, and joining parts.

A render writes its video (H.264 in an MP4, or PNG files) and its sound (a
WAV) side by side in a work folder; `mux` makes the final MP4 of the two.
A render in segments (`render(..., jobs=N)`) writes one such folder per
segment; `join_parts` puts them together without re-encoding a frame: the
MP4s through ffmpeg's concat demuxer with stream copy (every part starts on
a keyframe of its own, so the joined stream decodes exactly as the parts
did), the WAVs' samples one after another, then one mux. PNG parts already
name their files by movie row, so they only move into one folder.
"""

from __future__ import annotations

import shutil
import wave
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from retrotool import outputs
from retrotool.errors import OutputExistsError, RetroToolError
from retrotool.video import ffmpeg

AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
AUDIO_WAV = "audio.wav"
VIDEO_MP4 = "video.mp4"
WAV_CHUNK = 1 << 16  # sample frames copied at a time when joining WAVs


def wav_rate(rate: float) -> tuple[int, int, float | None]:
    """(integer WAV rate, sample repeat, tempo fix) that plays `rate` Hz audio in real time.

    WAV rates are integers. A rate like 32040.5 Hz is stored exactly by
    repeating each sample (64081 Hz); any other fraction is stored at the
    nearest integer and sped up by `tempo` in the mux.
    """
    for repeat in (1, 2, 4):
        scaled = rate * repeat
        if abs(scaled - round(scaled)) < 1e-6:
            return round(scaled), repeat, None
    return round(rate), 1, rate / round(rate)


def timescale(fps: Fraction) -> list[str]:
    """MP4 time scale = the rate's numerator, so each frame lasts exactly `denominator` ticks."""
    return ["-video_track_timescale", str(fps.numerator)] if fps.numerator < 2**31 else []


def mux(video: Path, wav: Path | None, out: Path, fps: Fraction, sample_rate: float, *, concat: bool = False) -> Path:
    """Copy the video stream and encode the WAV (if any) as AAC into one MP4 at `out`.

    `concat`: `video` is a list file for ffmpeg's concat demuxer (the parts
    of a render in segments). The index goes to the front (+faststart), so
    players can start before the whole file has arrived.
    """
    inputs = [*(["-f", "concat", "-safe", "0"] if concat else []), "-i", str(video)]
    audio = ["-an"]
    if wav is not None:
        hz, _, tempo = wav_rate(sample_rate)
        inputs += ["-i", str(wav)]
        fix = ["-af", f"atempo={tempo:.12f}"] if tempo is not None else []
        rate = [] if hz in AAC_RATES else ["-ar", "48000"]
        # the "fast" AAC coder takes half the time of the default at 192k, where both sound alike
        audio = ["-map", "1:a", *fix, "-c:a", "aac", "-aac_coder", "fast", "-b:a", "192k", *rate]
    ffmpeg.run([*inputs, "-map", "0:v", "-c:v", "copy", *audio, *timescale(fps), "-movflags", "+faststart", str(out)])
    return out


def replace_folder(folder: Path, target: Path, force: bool) -> None:
    """Move a finished folder into place (an old one only goes with force)."""
    if target.exists():
        if not force:
            raise OutputExistsError(f"{target} already exists; pass --force to overwrite it")
        shutil.rmtree(target)
    folder.rename(target)


def join_parts(parts: Sequence[Path], target: Path, kind: str, fps: Fraction, sample_rate: float, force: bool) -> None:
    """The part folders of a render in segments (in row order) made into `target`, as one render would have."""
    work = outputs.temp_name(target)
    try:
        work.mkdir()
        frames = [p / "frames" if kind == "png" else p for p in parts]
        wavs = [f / AUDIO_WAV for f in frames if (f / AUDIO_WAV).exists()]
        if wavs and len(wavs) != len(parts):
            raise RetroToolError(f"cannot join the parts of {target}: some have sound and some not")
        wav = join_wavs(wavs, work / AUDIO_WAV) if wavs else None
        if kind == "png":
            for folder in frames:
                for png in sorted(folder.glob("*.png")):
                    png.rename(work / png.name)
            replace_folder(work, target, force)
            return
        listing = work / "parts.txt"
        listing.write_text("".join(f"file '{ffmpeg.concat_quoted(p / VIDEO_MP4)}'\n" for p in parts))
        outputs.commit(mux(listing, wav, work / "final.mp4", fps, sample_rate, concat=True), target, force)
    except OSError as e:
        raise RetroToolError(f"cannot write {target}: {e.strerror}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def join_wavs(wavs: Sequence[Path], out: Path) -> Path:
    """One WAV of the given ones' samples in order (all of one format: the parts of one render)."""
    with wave.open(str(out), "wb") as joined:
        for i, path in enumerate(wavs):
            with wave.open(str(path), "rb") as part:
                if i == 0:
                    joined.setparams(part.getparams())
                while chunk := part.readframes(WAV_CHUNK):
                    joined.writeframesraw(chunk)
    return out
