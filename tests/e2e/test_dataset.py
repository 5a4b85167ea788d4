"""dump-dataset end to end on the test core: alignment, rewards, formats, many movies, failures.

The movies play TestGame-Test (shipped integration: `score` is the u32 at
RAM 0x10, the reward is its increase), so rewards can be checked against
RAM read by hand. Observation o_i is the picture after row start + i*K.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrotool import datasets, movie as bk2, playback, session
from retrotool.datasets import dump, npzip
from retrotool.datasets.sink import DatasetOptions
from retrotool.errors import DatasetExistsError, RetroToolError
from retrotool.record import scripted
from retrotool.replay import ArraySource, replay
from retrotool.sinks.checkpoints import screen_hash
from retrotool.sinks.contract import Needs

FRAMES = 240


def _record(path: Path, buttons: np.ndarray) -> Path:
    what = session.game_content(game="TestGame-Test")
    scripted.record(system=what.system, core=None, rom=what.rom, buttons=buttons, out=path, start=what.state,
                game=what.name)
    return path


@pytest.fixture
def movies(tmp_path: Path, buttons) -> list[Path]:
    folder = tmp_path / "movies"
    folder.mkdir()
    return [_record(folder / f"m{i}.bk2", buttons(FRAMES, 2, seed=i)) for i in range(2)]


class _Rams:
    """A sink keeping the system RAM after every row."""

    def __init__(self) -> None:
        self.rams: list[bytes] = []

    def needs(self, frames: int) -> Needs:
        return Needs(snapshots=np.arange(frames, dtype=np.int64))

    def open(self, info: object) -> None:
        pass

    def consume(self, batch) -> None:  # type: ignore[no-untyped-def]
        if batch.ram is not None:
            self.rams.append(batch.ram)

    def close(self, error: BaseException | None) -> None:
        pass


def _rams(movie: Path) -> list[bytes]:
    """System RAM after every row, replayed by hand."""
    m = bk2.read(movie)
    sink = _Rams()
    with session.open_session(session.movie_content(m, movie), players=m.players) as emulator:
        replay(emulator, ArraySource(m.buttons), [sink], reset_row=True)
    return sink.rams


def _score(ram: bytes) -> int:
    return int.from_bytes(ram[0x10:0x14], "little")


@pytest.mark.parametrize("start, skip", [(0, 1), (5, 4)])
def test_observations_are_playbacks_frames_and_rewards_come_from_ram(
    movies: list[Path], tmp_path: Path, start: int, skip: int
) -> None:
    movie = movies[0]
    trace = tmp_path / "trace.jsonl"
    playback.run(movie, trace=trace)
    screens = [json.loads(line)["screen"] for line in trace.read_text().splitlines()]
    result = dump.dump_dataset([movie], tmp_path / "ds", options=DatasetOptions(frame_skip=skip, start=start))
    assert not result.failed
    (ep,) = datasets.load(tmp_path / "ds")
    rows = start + skip * np.arange((FRAMES - 1 - start) // skip + 1)
    assert ep.observations.shape == (rows.size, 144, 160, 3) and ep.actions.shape == (rows.size - 1, 32)
    assert [screen_hash(o) for o in ep.observations] == [screens[r] for r in rows]
    scores = np.array([_score(r) for r in _rams(movie)])[rows]
    assert np.array_equal(ep.infos["score"], scores)
    assert np.array_equal(ep.rewards, np.diff(scores).astype(float)) and ep.rewards.sum() > 0
    buttons = bk2.read(movie).buttons.reshape(FRAMES, -1)
    for j in (0, rows.size - 2):  # the default rule: a button held in any of the step's rows
        assert np.array_equal(ep.actions[j], buttons[rows[j] + 1 : rows[j + 1] + 1].max(axis=0))
    assert not ep.terminations.any() and ep.truncations.tolist() == [False] * (rows.size - 2) + [True]


def test_combine_rules_and_picture_options(movies: list[Path], tmp_path: Path) -> None:
    buttons = bk2.read(movies[0]).buttons.reshape(FRAMES, -1)
    plain = next(iter(datasets.load(_dump(movies[0], tmp_path / "a", DatasetOptions()))))
    for rule, pick in (("first", lambda g: g[0]), ("last", lambda g: g[-1])):
        ep = next(iter(datasets.load(_dump(movies[0], tmp_path / rule, DatasetOptions(frame_skip=3, combine=rule)))))
        assert np.array_equal(ep.actions[7], pick(buttons[7 * 3 + 1 : 8 * 3 + 1]))
    small = DatasetOptions(crop=(8, 8, 144, 128), resize=(72, 32), grayscale=True)
    ep = next(iter(datasets.load(_dump(movies[0], tmp_path / "small", small))))
    assert ep.observations.shape == (FRAMES, 32, 72, 1)
    rgb = plain.observations[-1, 8:136:4, 8:152:2].astype(np.uint32)  # nearest neighbour: every 4th row, 2nd column
    luma = (rgb @ np.array([77, 150, 29]) + 128) >> 8
    assert np.array_equal(ep.observations[-1, :, :, 0], luma)
    ram = next(iter(datasets.load(_dump(movies[0], tmp_path / "ram", DatasetOptions(obs="both", frame_skip=10)))))
    assert ram.observations["ram"].shape == (24, 2048) and ram.observations["rgb"].shape == (24, 144, 160, 3)
    assert _score(ram.observations["ram"][-1].tobytes()) == ram.infos["score"][-1]
    every_row = np.array([np.frombuffer(r, np.uint8) for r in _rams(movies[0])])
    assert np.array_equal(ram.observations["ram"], every_row[0:FRAMES:10][:24])  # the RAM of each observed row


def _dump(movie: Path, out: Path, options: DatasetOptions, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    result = dump.dump_dataset([movie], out, options=options, **kwargs)
    assert not result.failed, result.failed
    return out


def test_minari_dataset_loads_and_matches_the_npz_episodes(
    movies: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    minari = pytest.importorskip("minari")
    out = tmp_path / "testgame-v0"
    result = dump.dump_dataset(movies, out, fmt="minari", workers=2, options=DatasetOptions(frame_skip=2))
    assert result.minari == out / "data" and not result.failed
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    ds = minari.load_dataset("testgame-v0")
    assert ds.total_episodes == 2 and ds.total_steps == 2 * ((FRAMES - 1) // 2)
    assert ds.observation_space.shape == (144, 160, 3) and ds.action_space.n == 32
    npz = list(datasets.load(out, "npz"))
    via_minari = list(datasets.load(out, "minari"))
    for a, b, episode in zip(npz, via_minari, ds.iterate_episodes()):
        assert len(episode) == a.actions.shape[0] == (FRAMES - 1) // 2
        assert np.array_equal(episode.observations[0], a.observations[0])
        assert np.array_equal(episode.observations[-1], a.observations[-1])
        for field in ("observations", "actions", "rewards", "terminations", "truncations"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
        assert a.infos.keys() == b.infos.keys() and all(np.array_equal(a.infos[k], b.infos[k]) for k in a.infos)


def test_restricted_actions_add_the_discrete_index(
    movies: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("minari")
    groups = [[[], ["UP"], ["DOWN"]], [[], ["A"], ["B"], ["A", "B"]]]
    scenario = tmp_path / "restricted.json"
    game = json.loads((Path(__file__).parents[2] / "data/TestGame-Test/scenario.json").read_text())
    scenario.write_text(json.dumps({**game, "actions": groups}))
    out = tmp_path / "restricted-v0"
    result = dump.dump_dataset(movies[:1], out, fmt="minari", scenario=scenario)
    assert not result.failed, result.failed
    (npz,) = datasets.load(out, "npz")
    (via_minari,) = datasets.load(out, "minari")
    assert npz.discrete_actions is not None and via_minari.discrete_actions is not None
    assert np.array_equal(npz.discrete_actions, via_minari.discrete_actions)
    assert "discrete_action" not in via_minari.infos
    buttons = datasets.read_manifest(out)["buttons"]
    # decode as stable-retro's DISCRETE mode does, per player: groups are digits of radix 3, then 4
    for action, index in zip(npz.actions, npz.discrete_actions):
        held = action.reshape(2, -1)
        want = []
        for p in range(2):
            for group in groups:
                columns = sorted({buttons.index(b) for combo in group for b in combo})
                chosen = {buttons[c] for c in columns if held[p, c]}
                want.append(next((i for i, combo in enumerate(group) if set(combo) == chosen), 0))
        digits = []
        for radix in (3, 4, 3, 4):
            digits.append(int(index) % radix)
            index //= radix
        assert digits == want
    assert len(set(npz.discrete_actions.tolist())) > 5  # the random movie uses many combos


def test_resume_skips_complete_episodes_and_refuses_other_output(movies: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "ds"
    dump.dump_dataset(movies[:1], out)
    first = next(out.glob("*.npz"))
    stamp = first.stat().st_mtime_ns
    result = dump.dump_dataset(movies, out)
    assert [o.resumed for o in result.outcomes] == [True, False] and first.stat().st_mtime_ns == stamp
    assert len(datasets.read_manifest(out)["episodes"]) == 2
    with pytest.raises(DatasetExistsError, match="other options.*--force"):
        dump.dump_dataset(movies, out, options=DatasetOptions(frame_skip=2))
    assert dump.dump_dataset(movies, out, options=DatasetOptions(frame_skip=2), force=True).steps > 0
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetExistsError, match="is a file"):
        dump.dump_dataset(movies, tmp_path / "file")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetExistsError, match="not a retrotool dataset"):
        dump.dump_dataset(movies, tmp_path / "other", force=True)


def test_failing_movies_are_reported_and_skipped(
    movies: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buttons
) -> None:
    data = tmp_path / "data"
    (data / "Missing-Test").mkdir(parents=True)
    (data / "Missing-Test" / "rom.sha").write_text("0" * 40 + "\n")
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(data))
    missing = tmp_path / "missing.bk2"
    movie = bk2.read(movies[0])
    # no SHA1 either: by it, the ROM would be found among the other games' (TestGame-Test's)
    header = tuple((k, "Missing-Test" if k == "GameName" else v) for k, v in movie.header if k != "SHA1")
    bk2.write(bk2.Movie(system="Test", buttons=movie.buttons, header=header), missing)
    crash = _crashing(tmp_path / "crash.bk2", buttons(FRAMES, 2, seed=9))
    result = dump.dump_dataset([missing, movies[0], crash], tmp_path / "ds", workers=2)
    errors = {o.movie.name: o.error for o in result.outcomes}
    assert errors["m0.bk2"] is None
    assert "retrotool import" in errors["missing.bk2"] and "died (SIGSEGV)" in errors["crash.bk2"]
    manifest = datasets.read_manifest(tmp_path / "ds")
    assert [e["movie"] for e in manifest["episodes"]] == [str(movies[0])]
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == sorted([manifest["episodes"][0]["file"], "manifest.json"])
    with pytest.raises(RetroToolError, match="--strict"):
        dump.dump_dataset([missing], tmp_path / "ds", strict=True)


def _crashing(path: Path, buttons: np.ndarray) -> Path:
    """A movie whose core segfaults 100 frames in (the test core's `testcore_crash_at` option)."""
    start = session.game_content(game="TestGame-Test").state or b""
    at = int.from_bytes(start[12:16], "little") + 100  # the frame counter (RAM 0x004) of the start state, + 100
    _record(path, buttons)  # recorded whole, then the switch set
    bk2.write(bk2.read(path).with_meta(options={"testcore_crash_at": str(at)}), path, force=True)
    return path


def _zygotes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "retrotool-zygote"]


def test_one_worker_goes_on_after_a_crash_and_leaves_no_process(movies: list[Path], tmp_path: Path, buttons) -> None:
    crash = _crashing(tmp_path / "crash.bk2", buttons(FRAMES, 2, seed=9))
    seen: list[tuple[int, str, int, int]] = []
    result = dump.dump_dataset([crash, *movies], tmp_path / "ds", worker_progress=lambda *a: seen.append(a))
    errors = {o.movie.name: o.error for o in result.outcomes}
    assert "died (SIGSEGV)" in (errors["crash.bk2"] or "") and errors["m0.bk2"] is None and errors["m1.bk2"] is None
    assert {s[0] for s in seen} == {0} and {(0, m.name, FRAMES, FRAMES) for m in movies} <= set(seen)
    assert not _zygotes()


def test_worker_processes_see_the_environment_and_cwd_of_each_dump(
    movies: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not dump.dump_dataset(movies, tmp_path / "a", workers=2).failed
    shadow = tmp_path / "data" / "TestGame-Test"  # found first, and its ROM is not imported
    shadow.mkdir(parents=True)
    (shadow / "rom.sha").write_text("0" * 40 + "\n")
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(tmp_path / "data"))
    monkeypatch.chdir(movies[0].parent)
    result = dump.dump_dataset([Path(m.name) for m in movies], Path("b"), workers=2)
    assert [o.error and "retrotool import" in o.error for o in result.outcomes] == [True, True]
    monkeypatch.delenv("RETROTOOL_DATA_PATH")
    assert not dump.dump_dataset([Path(m.name) for m in movies], Path("b"), workers=2).failed
    assert not _zygotes()


def test_a_killed_worker_process_fails_its_movie_and_is_replaced(
    movies: list[Path], tmp_path: Path, buttons
) -> None:
    long = _record(tmp_path / "long.bk2", buttons(10 * FRAMES, 2, seed=5))  # many batches: killed in its first
    killed: list[int] = []

    def kill_the_zygote(slot: int, name: str, done: int, total: int) -> None:
        if not killed:
            killed.extend(p.pid for p in _zygotes() if p.pid is not None)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    result = dump.dump_dataset([long, movies[0]], tmp_path / "ds", worker_progress=kill_the_zygote)
    errors = {o.movie.name: o.error for o in result.outcomes}
    assert len(killed) == 1 and "died (SIGKILL)" in (errors["long.bk2"] or "") and errors["m0.bk2"] is None
    assert not _zygotes()


def test_disk_full_mid_episode_leaves_no_partial_file(
    movies: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ds"
    calls = {"n": 0, "fail_at": 0}
    real = npzip.Column._put

    def full_disk(self: npzip.Column, data: bytes) -> None:
        calls["n"] += 1
        if calls["fail_at"] and calls["n"] >= calls["fail_at"]:
            raise OSError(28, os.strerror(28))
        real(self, data)

    monkeypatch.setattr(npzip.Column, "_put", full_disk)
    dump.dump_dataset(movies[:1], out)  # counts the writes of one episode
    before = (out / datasets.MANIFEST).read_bytes()
    calls.update(fail_at=calls["n"] // 2, n=0)  # the disk fills halfway through the next one
    assert calls["fail_at"] > 2
    with pytest.raises(RetroToolError, match="No space left on device; the disk is full: free space and run"):
        dump.dump_dataset(movies, out)  # a full disk stops the dump: every next movie would fail alike
    after = json.loads((out / datasets.MANIFEST).read_bytes())
    assert after["episodes"] == json.loads(before)["episodes"] and after["state"] == "in progress"
    assert [p.name for p in out.iterdir() if p.name != datasets.MANIFEST] == [after["episodes"][0]["file"]]


def test_unknown_values_list_the_valid_ones(movies: list[Path], tmp_path: Path, cli) -> None:
    with pytest.raises(RetroToolError, match="rgb, ram, both"):
        dump.dump_dataset(movies, tmp_path / "a", options=DatasetOptions(obs="rbg"))  # type: ignore[arg-type]
    with pytest.raises(RetroToolError, match="npz, minari"):
        dump.dump_dataset(movies, tmp_path / "b", fmt="hdf5")
    proc = cli("dump-dataset", str(movies[0]), "-o", "c", "--combine", "or", cwd=tmp_path)
    assert proc.returncode == 2 and "'any', 'first', 'last'" in proc.stderr
    proc = cli("dump-dataset", str(movies[0]), "-o", "c", "--resize", "84", cwd=tmp_path)
    assert proc.returncode == 1 and "WxH" in proc.stderr
    proc = cli("dump-dataset", str(movies[0]), "-o", "d", "--frame-skip", "4", "--grayscale", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "59 " in proc.stdout and (tmp_path / "d" / "manifest.json").is_file()


def test_ray_executor_writes_the_same_episodes(movies: list[Path], tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    local = list(datasets.load(_dump(movies[0], tmp_path / "local", DatasetOptions(frame_skip=4))))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        result = dump.dump_dataset(movies, tmp_path / "ray", executor="ray", options=DatasetOptions(frame_skip=4))
    finally:
        ray.shutdown()
    assert not result.failed and len(result.outcomes) == 2
    remote = {e.movie: e for e in datasets.load(tmp_path / "ray")}
    assert np.array_equal(remote[str(movies[0])].observations, local[0].observations)
    assert np.array_equal(remote[str(movies[0])].rewards, local[0].rewards)


def test_behavior_cloning_example_learns() -> None:
    pytest.importorskip("torch")
    example = Path(__file__).resolve().parents[2] / "examples" / "behavior_cloning.py"
    proc = subprocess.run([sys.executable, str(example), "--steps", "100"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "testgame.bk2: loss" in proc.stdout  # the script itself fails unless every loss went down
