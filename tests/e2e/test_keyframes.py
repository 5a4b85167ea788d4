"""Keyframes on the test core: every parallel or seeking replay gives what the whole replay gives, byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from retrotool import movie as bk2, segments, systems
from retrotool.movie import keyframes
from retrotool.record import scripted

FRAMES = 3000


@pytest.fixture
def recorded(tmp_path: Path, rom: Path, buttons) -> Path:
    """3,000 frames with a checkpoint and a keyframe every 100 rows, the ROM beside it."""
    shutil.copy(rom, tmp_path / rom.name)
    out = tmp_path / "m.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=tmp_path / rom.name, buttons=buttons(FRAMES, 1, seed=5),
                    out=out, checkpoint_every=100)
    return out


def _ok(proc) -> str:
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stderr


def _trace(cli, movie: Path, name: str, *args: str) -> bytes:
    _ok(cli("playback", str(movie), "--trace", name, *args, cwd=movie.parent))
    return (movie.parent / name).read_bytes()


def test_a_recording_has_keyframes_and_parallel_replays_match_the_whole(cli, recorded: Path) -> None:
    kf = keyframes.of(bk2.read(recorded))
    assert kf is not None and kf.frames == tuple(range(99, FRAMES, 100))
    whole = _trace(cli, recorded, "a.jsonl")
    assert len(whole.splitlines()) == FRAMES
    assert _trace(cli, recorded, "b.jsonl", "--jobs", "2") == whole
    proc = cli("verify", recorded.name, "--jobs", "2", cwd=recorded.parent)
    assert "31 of 31 checkpoints matched" in proc.stdout and not _ok(proc)


def test_index_gives_a_movie_without_keyframes_the_same_ones(cli, recorded: Path) -> None:
    bare = recorded.parent / "bare.bk2"
    bk2.write(keyframes.with_keyframes(bk2.read(recorded), None), bare)
    assert keyframes.of(bk2.read(bare)) is None
    proc = cli("playback", bare.name, "--trace", "bare.jsonl", "--jobs", "2", cwd=recorded.parent)
    assert "has no keyframes, so it replays on one" in _ok(proc) and "retrotool index bare.bk2" in proc.stderr
    _ok(cli("index", str(bare), "-o", "indexed.bk2", "--keyframe-every", "100", cwd=recorded.parent))
    made, original = keyframes.of(bk2.read(recorded.parent / "indexed.bk2")), keyframes.of(bk2.read(recorded))
    assert made is not None and original is not None
    assert (made.frames, made.digests) == (original.frames, original.digests)  # the very states the recorder took
    assert _trace(cli, recorded.parent / "indexed.bk2", "i.jsonl", "--jobs", "2") == _trace(cli, recorded, "a.jsonl")


def test_a_damaged_keyframe_is_replayed_around_with_a_warning(cli, recorded: Path) -> None:
    movie = bk2.read(recorded)
    kf = keyframes.of(movie)
    assert kf is not None
    k = segments.plan(movie, 2)[-2].keyframe  # the keyframe the last segment but one starts from
    assert k is not None and k % keyframes.FULL_EVERY
    blob = bytearray(kf.blob)
    blob[sum(kf.sizes[:k]) + kf.sizes[k] // 2] ^= 0x55
    damaged = keyframes.Keyframes(kf.frames, kf.sizes, kf.digests, kf.state_size, kf.core, kf.core_version, bytes(blob))
    bad = recorded.parent / "bad.bk2"
    bk2.write(keyframes.with_keyframes(movie, damaged), bad)
    proc = cli("playback", str(bad), "--trace", "d.jsonl", "--jobs", "2", cwd=recorded.parent)
    assert f"keyframe {k} " in _ok(proc) and "damaged" in proc.stderr and f"from keyframe {k - 1}" in proc.stderr
    assert (recorded.parent / "d.jsonl").read_bytes() == _trace(cli, recorded, "a.jsonl")


def test_keyframes_of_another_core_version_are_refused_with_the_way_out(cli, recorded: Path) -> None:
    movie = bk2.read(recorded)
    meta = movie.meta_json()
    meta["keyframes"]["core_version"] = "0.9"
    other = recorded.parent / "other.bk2"
    bk2.write(movie.replace(meta=meta), other)
    proc = cli("verify", str(other), "--jobs", "2", cwd=recorded.parent)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "keyframes were made by" in proc.stderr and "without --jobs" in proc.stderr, proc.stderr
    _ok(cli("verify", str(other), cwd=recorded.parent))  # from its start it still plays


def test_seeking_and_parallel_renders_give_the_whole_renders_frames(cli, recorded: Path) -> None:
    here = recorded.parent
    _ok(cli("playback", str(recorded), "--png-dir", "all", "--no-audio", cwd=here))
    _ok(cli("playback", str(recorded), "--png-dir", "seek", "--start", "2150", "--end", "2260", "--no-audio", cwd=here))
    _ok(cli("playback", str(recorded), "--png-dir", "par", "--jobs", "2", "--no-audio", cwd=here))
    whole = {p.name: p.read_bytes() for p in (here / "all").glob("*.png")}
    assert len(whole) == FRAMES
    seek = {p.name: p.read_bytes() for p in (here / "seek").glob("*.png")}
    assert len(seek) == 110 and all(whole[name] == data for name, data in seek.items())
    assert {p.name: p.read_bytes() for p in (here / "par").glob("*.png")} == whole


def test_trace_lines_of_a_segment_start_where_the_whole_ones_do(cli, recorded: Path) -> None:
    """--trace-every counts from the movie's first row in every segment (not from the segment's)."""
    whole = _trace(cli, recorded, "e.jsonl", "--trace-every", "7")
    assert _trace(cli, recorded, "f.jsonl", "--trace-every", "7", "--jobs", "2") == whole
    assert [json.loads(line)["frame"] for line in whole.splitlines()][:3] == [0, 7, 14]


def test_a_movie_without_keyframes_renders_in_parts_from_states_made_ahead(cli, recorded: Path) -> None:
    here = recorded.parent
    bk2.write(keyframes.with_keyframes(bk2.read(recorded), None), here / "bare.bk2")
    _ok(cli("playback", "bare.bk2", "--png-dir", "all", "--no-audio", cwd=here))
    proc = cli("-v", "playback", "bare.bk2", "--png-dir", "par", "--no-audio", "--jobs", "2", cwd=here)
    assert "has no keyframes: one process replays it" in _ok(proc)
    whole = {p.name: p.read_bytes() for p in (here / "all").glob("*.png")}
    assert len(whole) == FRAMES and {p.name: p.read_bytes() for p in (here / "par").glob("*.png")} == whole
    assert keyframes.of(bk2.read(here / "bare.bk2")) is None  # the movie is left as it was


def test_segments_run_as_ray_tasks_with_the_same_result(cli, recorded: Path) -> None:
    pytest.importorskip("ray")
    here = recorded.parent
    proc = cli("verify", recorded.name, "--jobs", "2", "--executor", "ray", cwd=here)
    assert "31 of 31 checkpoints matched" in proc.stdout and not _ok(proc).count("Traceback")
    assert _trace(cli, recorded, "ray.jsonl", "--jobs", "2", "--executor", "ray") == _trace(cli, recorded, "a.jsonl")
    proc = cli("playback", recorded.name, "--png-dir", "p", "--executor", "ray", cwd=here)
    assert proc.returncode == 1 and "drop --executor ray" in proc.stderr


def test_a_cluster_started_elsewhere_sees_the_paths_as_the_command_does(
    cli, recorded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ray start` in another folder: the tasks' workers start there, and a relative movie path still works."""
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # a fresh machine has no token for Ray's token authentication
    ray = shutil.which("ray") or str(Path(sys.executable).parent / "ray")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = "6391"
    started = subprocess.run([ray, "start", "--head", "--port", port, "--num-cpus", "1", "--include-dashboard",
                              "false"], cwd=elsewhere, capture_output=True, text=True, timeout=180)
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        proc = cli("verify", recorded.name, "--jobs", "2", "--executor", "ray", "--address", f"127.0.0.1:{port}",
                   cwd=recorded.parent)
        _ok(proc)
        assert "31 of 31 checkpoints matched" in proc.stdout
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=180)
