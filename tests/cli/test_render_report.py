"""What `playback` says it wrote is what is in each file."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testgame.bk2"


def _frames(path: Path) -> int:
    """Pictures in a video file, counted by decoding it."""
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v",
                           "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True)
    return len(proc.stdout) // (144 * 160)


def test_each_output_reports_its_own_frames(cli, tmp_path: Path) -> None:
    proc = cli("playback", str(EXAMPLE), "--mp4", "o.mp4", "--gif", "o.gif", "--end", "61", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    said = dict(re.findall(r"wrote (o\.\w+) \((\d+) frames", proc.stdout))
    assert said == {"o.mp4": "61", "o.gif": "31"}, proc.stdout
    assert {name: str(_frames(tmp_path / name)) for name in said} == said


def test_rendering_options_without_an_output_are_an_error(cli, tmp_path: Path) -> None:
    for options, named in ((["--overlay", "buttons"], "--overlay"), (["--scale", "2", "--end", "5"], "--scale, --end")):
        proc = cli("playback", str(EXAMPLE), *options, cwd=tmp_path)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"{named}: only for a rendered video" in proc.stderr and "--mp4" in proc.stderr, proc.stderr
        assert not list(tmp_path.iterdir())
