"""`verify` on the test core: it counts the checkpoints it matched, and every kind of mismatch fails it."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrotool import movie as bk2, playback, systems
from retrotool.errors import DesyncError
from retrotool.movie import Checkpoint
from retrotool.record import scripted

WRONG = "0" * 64


@pytest.fixture
def recorded(tmp_path: Path, rom: Path, buttons) -> Path:
    """1,000 frames, checkpoints at 0, 100, ..., 900 and the last frame 999; the ROM beside it."""
    local_rom = tmp_path / rom.name
    local_rom.write_bytes(rom.read_bytes())
    out = tmp_path / "m.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=local_rom, buttons=buttons(1000, 2), out=out,
                checkpoint_every=100)
    return out


def _edited(path: Path, name: str, **change) -> Path:
    """A copy of the movie beside it with its buttons or checkpoints replaced."""
    movie = bk2.read(path)
    if "checkpoints" in change:
        movie = movie.with_checkpoints(change.pop("checkpoints"))
    out = path.with_name(name)
    bk2.write(movie.replace(**change), out)
    return out


def test_verify_reports_the_checkpoints_it_matched(recorded: Path, cli) -> None:
    result = playback.verify(recorded)
    assert (result.checkpoints, result.stored_checkpoints) == (11, 11)
    proc = cli("verify", recorded.name, cwd=recorded.parent)
    assert proc.returncode == 0 and "m.bk2: 11 of 11 checkpoints matched" in proc.stdout, proc.stdout
    assert "11 of 11 matched" in proc.stdout  # the summary's checkpoints row


@pytest.mark.parametrize("frame", [0, 500, 999])  # the first, one between, the last
@pytest.mark.parametrize("broken", ["ram_sha256", "screen_sha256"])
def test_a_checkpoint_wrong_only_in_ram_or_only_on_screen_fails(recorded: Path, frame: int, broken: str) -> None:
    stored = bk2.read(recorded).checkpoints
    edited = tuple(Checkpoint(**{**c.to_json(), broken: WRONG}) if c.frame == frame else c for c in stored)
    bad = _edited(recorded, "bad.bk2", checkpoints=edited)
    what = "RAM" if broken == "ram_sha256" else "screen"
    before = "the start" if frame == 0 else f"frame {max(c.frame for c in stored if c.frame < frame)}"
    with pytest.raises(DesyncError, match=rf"^desync at frame {frame}: {what} differ \(matched up to {before}\)"):
        playback.verify(bad)


def test_a_movie_cut_before_its_checkpoints_does_not_count_them(recorded: Path, cli) -> None:
    movie = bk2.read(recorded)
    short = _edited(recorded, "short.bk2", buttons=movie.buttons[:550])
    message = "only 6 of 11 checkpoints matched: the replay ended after 550 frames, before the checkpoint at frame 600"
    with pytest.raises(DesyncError, match=message):
        playback.verify(short)
    proc = cli("verify", str(short))
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    one_short = _edited(recorded, "one-short.bk2", buttons=movie.buttons[:999])
    with pytest.raises(DesyncError, match="only 10 of 11 checkpoints matched.*before the checkpoint at frame 999"):
        playback.verify(one_short)


def test_checkpoints_every_600_frames_by_default(tmp_path: Path, rom: Path, buttons) -> None:
    out = tmp_path / "d.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=rom, buttons=buttons(1250), out=out)
    assert [c.frame for c in bk2.read(out).checkpoints] == [0, 600, 1200, 1249]
