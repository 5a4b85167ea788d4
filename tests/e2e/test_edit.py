"""`retrotool edit` on the test core: what a cut or joined movie replays is what those rows of the whole replayed."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, systems
from retrotool.movie import keyframes
from retrotool.record import scripted

FRAMES = 3000
FREE = (700, 1400, 1450, 1500)  # rows that hold no button, so a cut may start there


@pytest.fixture
def recorded(tmp_path: Path, rom: Path, buttons) -> Path:
    """3,000 random frames with a checkpoint and a keyframe every 100 rows, the ROM beside it."""
    shutil.copy(rom, tmp_path / rom.name)
    rows = buttons(FRAMES, 1, seed=5)
    rows[list(FREE)] = 0
    out = tmp_path / "m.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=tmp_path / rom.name, buttons=rows, out=out,
                    checkpoint_every=100)
    return out


def _ok(proc) -> str:
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stdout


def _refused(proc) -> str:
    """The one-line error of a refused command (no traceback)."""
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2 and lines[0].startswith("error:"), proc.stderr
    return " ".join(lines)


def _seen(cli, movie: Path) -> list[tuple[str, str]]:
    """(RAM, screen) hashes after every row of the movie's replay."""
    trace = movie.with_suffix(".jsonl")
    _ok(cli("playback", str(movie), "--trace", str(trace), "--force"))
    return [(r["ram"], r["screen"]) for r in map(json.loads, trace.read_text().splitlines())]


def test_trim_replays_the_rows_it_keeps_from_the_nearest_keyframe(cli, recorded: Path) -> None:
    whole = _seen(cli, recorded)
    out = recorded.parent / "cut.bk2"
    said = _ok(cli("edit", "trim", str(recorded), "--start", "1450", "--end", "2345", "-o", str(out)))
    assert "from keyframe 13 at frame 1399, 50 rows replayed" in said and "9 of 9 checkpoints" in said
    cut = bk2.read(out)
    assert cut.frames == 895 and cut.state is not None
    assert np.array_equal(cut.buttons, bk2.read(recorded).buttons[1450:2345])
    kf = keyframes.of(cut)
    assert kf is not None and kf.frames == tuple(range(99, 895, 100))
    assert _seen(cli, out) == whole[1450:2345]
    assert "checkpoints matched" in _ok(cli("verify", str(out)))


def test_a_cut_must_start_on_a_row_without_buttons(cli, recorded: Path) -> None:
    movie = bk2.read(recorded)
    pressed = next(r for r in range(1501, FRAMES) if movie.buttons[r].any())
    out = recorded.parent / "cut.bk2"
    said = _refused(cli("edit", "trim", str(recorded), "--start", str(pressed), "-o", str(out)))
    assert f"row {pressed} of" in said and "reset frame" in said and "1500" in said
    assert not out.exists() and not list(recorded.parent.glob(".cut.bk2*"))


def test_truncate_keeps_the_rows_checkpoints_and_keyframes_before_n(cli, recorded: Path) -> None:
    whole = _seen(cli, recorded)
    out = recorded.parent / "short.bk2"
    _ok(cli("edit", "truncate", str(recorded), "--at", "1234", "-o", str(out)))
    short, movie = bk2.read(out), bk2.read(recorded)
    assert short.frames == 1234 and short.state == movie.state
    assert np.array_equal(short.buttons, movie.buttons[:1234])
    assert [c for c in short.checkpoints if c.frame < 1200] == [c for c in movie.checkpoints if c.frame < 1200]
    assert short.checkpoints[-1].frame == 1233
    made, original = keyframes.of(short), keyframes.of(movie)
    assert made is not None and original is not None
    assert (made.frames, made.digests) == (original.cut(1234).frames, original.cut(1234).digests)
    assert _seen(cli, out) == whole[:1234]


def test_the_two_halves_joined_replay_as_the_whole(cli, recorded: Path) -> None:
    whole = _seen(cli, recorded)
    folder = recorded.parent
    _ok(cli("edit", "trim", str(recorded), "--end", "1500", "-o", str(folder / "a.bk2")))
    _ok(cli("edit", "trim", str(recorded), "--start", "1500", "-o", str(folder / "b.bk2")))
    said = _ok(cli("edit", "concat", str(folder / "a.bk2"), str(folder / "b.bk2"), "-o", str(folder / "ab.bk2")))
    assert "3,000 frames" in said
    joined, movie = bk2.read(folder / "ab.bk2"), bk2.read(recorded)
    assert np.array_equal(joined.buttons, movie.buttons) and joined.state == movie.state
    assert set(movie.checkpoints) <= set(joined.checkpoints)  # the join's own, and those its halves' ends added
    assert _seen(cli, folder / "ab.bk2") == whole


def test_halves_that_do_not_meet_are_refused_naming_the_frame(cli, recorded: Path) -> None:
    folder = recorded.parent
    _ok(cli("edit", "trim", str(recorded), "--end", "1400", "-o", str(folder / "a.bk2")))
    _ok(cli("edit", "trim", str(recorded), "--start", "1500", "-o", str(folder / "b.bk2")))
    said = _refused(cli("edit", "concat", str(folder / "a.bk2"), str(folder / "b.bk2"), "-o", str(folder / "ab.bk2")))
    assert "does not start where" in said and "frame 1400 of the joined movie" in said and "RAM" in said
    assert not (folder / "ab.bk2").exists()
    said = _refused(cli("edit", "concat", str(folder / "a.bk2"), str(recorded), "-o", str(folder / "ab.bk2")))
    assert "starts at power-on" in said


def test_set_state_counts_the_checkpoints_that_still_match(cli, recorded: Path) -> None:
    folder = recorded.parent
    _ok(cli("edit", "trim", str(recorded), "--start", "1500", "-o", str(folder / "b.bk2")))
    _ok(cli("edit", "trim", str(recorded), "--start", "700", "-o", str(folder / "c.bk2")))
    b = bk2.read(folder / "b.bk2")
    same, other = folder / "same.state", folder / "other.state"
    same.write_bytes(gzip.compress(b.state or b""))
    other.write_bytes(gzip.compress(bk2.read(folder / "c.bk2").state or b""))
    said = _ok(cli("edit", "set-state", str(folder / "b.bk2"), str(same), "-o", str(folder / "s.bk2")))
    assert f"{len(b.checkpoints)} of {len(b.checkpoints)} checkpoints" in said
    said = _refused(cli("edit", "set-state", str(folder / "b.bk2"), str(other), "-o", str(folder / "o.bk2")))
    assert f"0 of {len(b.checkpoints)} checkpoints" in said and "frame 0" in said and "--allow-desync" in said
    assert not (folder / "o.bk2").exists()
    said = _refused(cli("edit", "set-state", str(folder / "b.bk2"), str(other), "-o", str(folder / "o.bk2"), "--force"))
    assert "--allow-desync" in said and not (folder / "o.bk2").exists()  # --force only overwrites OUT
    said = _ok(cli("edit", "set-state", str(folder / "b.bk2"), str(other), "-o", str(folder / "o.bk2"),
                   "--allow-desync"))
    assert bk2.read(folder / "o.bk2").state == bk2.read(folder / "c.bk2").state
    assert "checkpoints matched" in _ok(cli("verify", str(folder / "o.bk2")))


def test_no_overwrite_without_force_and_a_bad_path_is_one_line(cli, recorded: Path) -> None:
    out = recorded.parent / "kept.bk2"
    out.write_bytes(b"mine")
    said = _refused(cli("edit", "truncate", str(recorded), "--at", "300", "-o", str(out)))
    assert "already exists" in said and "--force" in said and out.read_bytes() == b"mine"
    _ok(cli("edit", "truncate", str(recorded), "--at", "300", "-o", str(out), "--force"))
    assert bk2.read(out).frames == 300
    said = _refused(cli("edit", "trim", str(recorded.parent / "nope.bk2"), "--end", "10", "-o", str(out.with_name("n.bk2"))))
    assert "nope.bk2" in said
    said = _refused(cli("edit", "trim", str(recorded), "--start", "20", "--end", "10", "-o", "x.bk2"))
    assert "rows 0 to 2999" in said


def test_keyframes_of_another_core_version_are_passed_over_for_a_replay_from_the_start(cli, recorded: Path) -> None:
    movie = bk2.read(recorded)
    meta = movie.meta_json()
    meta["keyframes"]["core_version"] = "0.9"
    other = recorded.parent / "other.bk2"
    bk2.write(movie.replace(meta=meta), other)
    proc = cli("edit", "trim", str(other), "--start", "1450", "--end", "1700", "-o", str(recorded.parent / "cut.bk2"))
    said = _ok(proc)
    warned = " ".join(proc.stderr.split())
    assert "keyframes were made by" in warned and "replaying from the movie's start instead" in warned
    assert "from the movie's start, 1450 rows replayed" in said
    assert _seen(cli, recorded.parent / "cut.bk2") == _seen(cli, recorded)[1450:1700]
