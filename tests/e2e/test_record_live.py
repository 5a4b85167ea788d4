"""The interactive recorder end to end, without a screen: SDL's dummy drivers and scripted events.

Events are handed to the recorder at exact frames (the `events` hook of
`record_live`), so every test knows which frame each press must land on.
Each session starts by pressing "faster" twice: it runs at 4x, which also
shows that recording stays frame-exact at other speeds.
"""

from __future__ import annotations

import gzip
import logging
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie as bk2, playback, session, systems
from retrotool.emulator import Emulator
from retrotool.record import journal, live, recover as recovery, scripted
from retrotool.record.controls import Controls

pg = pytest.importorskip("pygame", reason="the interactive recorder needs pygame-ce (the 'record' extra)")

pytestmark = pytest.mark.filterwarnings("ignore:pygame.init")  # key names need no pygame.init()
TEST = systems.get("Test")


@pytest.fixture(autouse=True)
def _no_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


class Script:
    """Events for the recorder: at a frame, one batch per look at the event queue."""

    def __init__(self) -> None:
        self.at: dict[int, list[list[object]]] = defaultdict(list)
        self.add(0, _key("="), _key("="))  # 4x

    def add(self, frame: int, *events: object) -> Script:
        self.at[frame].append(list(events))
        return self

    def __call__(self, frame: int) -> list[object]:
        batches = self.at.get(frame)
        return batches.pop(0) if batches else []


def _key(name: str, down: bool = True) -> object:
    return pg.event.Event(pg.KEYDOWN if down else pg.KEYUP, key=pg.key.key_code(name))


def _tap(name: str) -> tuple[object, object]:
    return _key(name), _key(name, False)


def _start(rom: Path, players: int = 1) -> live.Start:
    return live.Start(session.game_content(rom=rom), None, players)


def _rows(frames: int, players: int = 1) -> np.ndarray:
    return np.zeros((frames, players, len(TEST.buttons)), np.uint8)


def _held_in_ram(movie: bk2.Movie, rom: Path, testcore: Path) -> np.ndarray:
    """Replay the movie; what the test core saw held each frame (RAM 0x20: port 0, 0x22: port 1)."""
    seen = []
    with Emulator(testcore, rom, ports=2) as emu:
        for masks in movie.masks():
            emu.run(masks[np.newaxis])
            seen.append(np.frombuffer(emu.ram[0x20:0x24].tobytes(), "<u2")[: movie.players])
    return np.array(seen)


def test_presses_land_on_their_frames_and_the_game_sees_them(tmp_path: Path, rom: Path, testcore: Path) -> None:
    script = Script().add(5, _key("right")).add(12, _key("right", False)).add(20, *_tap("z"))
    script.add(30, _key("x"), _key("k")).add(33, _key("x", False), _key("k", False)).add(40, _key("escape"))
    result = live.record_live(_start(rom, players=2), out=tmp_path / "m.bk2", events=script, checkpoint_every=10)

    expected = _rows(40, 2)
    expected[5:12, 0, TEST.index("RIGHT")] = 1
    expected[20, 0, TEST.index("B")] = 1
    expected[30:33, 0, TEST.index("A")] = 1
    expected[30:33, 1, TEST.index("DOWN")] = 1  # player 2's down key
    movie = bk2.read(result.movie)
    assert np.array_equal(movie.buttons, expected)
    assert np.array_equal(_held_in_ram(movie, rom, testcore), movie.masks())
    assert result.checkpoints == len(movie.checkpoints) == 5  # verified by a replay
    assert [c.frame for c in movie.checkpoints] == [0, 10, 20, 30, 39]
    assert movie.header_value("rerecordCount") == "0" and result.rerecords == 0
    assert not journal.journal_path(result.movie).exists()  # gone once the movie verified


def test_loading_a_slot_cuts_the_movie_back_and_counts_a_rerecord(tmp_path: Path, rom: Path) -> None:
    script = Script().add(10, _key("f2")).add(12, _key("right")).add(20, _key("right", False))
    script.add(25, _key("f4"))  # back to frame 10: the presses of 12..19 are gone
    script.add(30, *_tap("z")).add(35, _key("f12")).add(36, _key("escape"))
    result = live.record_live(_start(rom), out=tmp_path / "m.bk2", events=script, checkpoint_every=10)
    movie = bk2.read(result.movie)
    expected = _rows(36)
    expected[30, 0, TEST.index("B")] = 1
    assert np.array_equal(movie.buttons, expected)
    assert movie.header_value("rerecordCount") == "1" and result.rerecords == 1
    assert result.checkpoints == 5  # 0, 10, 20, 30, 35: the replay from the start matches the session
    assert [p.name for p in result.screenshots] == ["m-000035.png"] and result.screenshots[0].is_file()


def test_pause_and_frame_advance_record_exactly_the_frames_advanced(tmp_path: Path, rom: Path) -> None:
    script = Script().add(5, _key("p")).add(5, _key("right")).add(5, _key("f"))  # paused: hold right, one frame
    script.add(6, _key("f")).add(7, _key("right", False), _key("f")).add(8, _key("p")).add(10, _key("escape"))
    result = live.record_live(_start(rom), out=tmp_path / "m.bk2", events=script)
    movie = bk2.read(result.movie)
    expected = _rows(10)
    expected[5:7, 0, TEST.index("RIGHT")] = 1
    assert np.array_equal(movie.buttons, expected)


def test_an_unplugged_gamepad_pauses_and_says_so(
    tmp_path: Path, rom: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Controls, "_open_sdl_pad", lambda self, index: (object(), 50 + index, "Test Pad"))
    ev = pg.event.Event
    script = Script().add(3, ev(pg.CONTROLLERDEVICEADDED, device_index=0))
    script.add(5, ev(pg.CONTROLLERBUTTONDOWN, instance_id=50, button=pg.CONTROLLER_BUTTON_A))
    script.add(8, ev(pg.CONTROLLERDEVICEREMOVED, instance_id=50))  # the button is never let go
    script.add(8, _key("p")).add(12, _key("escape"))  # paused at 8 until the pause key
    with caplog.at_level(logging.INFO, logger="retrotool.record.window"):
        result = live.record_live(_start(rom), out=tmp_path / "m.bk2", events=script)
    movie = bk2.read(result.movie)
    expected = _rows(12)
    expected[5:8, 0, TEST.index("B")] = 1
    assert np.array_equal(movie.buttons, expected)
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "gamepad Test Pad is player 1" in said and "player 1's gamepad (Test Pad) was unplugged" in said


def test_going_on_from_a_frame_of_an_existing_movie(tmp_path: Path, rom: Path, buttons) -> None:
    first = tmp_path / "first.bk2"
    scripted.record(system=TEST, core=None, rom=rom, buttons=buttons(100), out=first)
    start = live.start_from_movie(first, 60, None, rom, 1)
    result = live.record_live(start, out=tmp_path / "more.bk2", events=Script().add(70, _key("escape")))
    movie, before = bk2.read(result.movie), bk2.read(first)
    assert movie.frames == 70 and np.array_equal(movie.buttons[:60], before.buttons[:60])
    assert not movie.buttons[60:].any() and movie.header_value("rerecordCount") == "1"
    assert result.checkpoints >= 2


def test_a_crashed_session_is_recovered_from_its_journal(tmp_path: Path, rom: Path) -> None:
    script = Script().add(10, _key("left")).add(20, _key("f2")).add(25, _key("f4"))

    def crash_at_30(frame: int) -> list[object]:
        if frame == 30:
            raise RuntimeError("the power went out")
        return script(frame)

    with pytest.raises(RuntimeError, match="power"):
        live.record_live(_start(rom), out=tmp_path / "m.bk2", events=crash_at_30, checkpoint_every=7)
    kept = tmp_path / "m.bk2.journal"
    assert kept.is_file() and not (tmp_path / "m.bk2").exists()
    done = recovery.recover(kept)
    movie = bk2.read(done.movie)
    assert done.movie == tmp_path / "m.bk2" and done.frames == movie.frames == 30
    assert movie.buttons[10:, 0, TEST.index("LEFT")].all() and not movie.buttons[:10].any()
    assert done.rerecords == 1 and movie.header_value("rerecordCount") == "1"
    assert done.checkpoints == 5  # frames 0, 7, 14, 21, 28 replayed as they were played
    assert playback.verify(done.movie, rom=rom).checkpoints == len(movie.checkpoints)


def test_recorder_api_from_power_on_and_from_a_state_with_rerecords(tmp_path: Path) -> None:
    from retrotool import Recorder, playback

    with Recorder(game="TestGame-Test", out=tmp_path / "a.bk2", power_on=True) as rec:
        assert rec.frames == 1 and rec.observation is not None  # made: the reset frame ran (row 0), as env.reset()
        for i in range(30):
            obs = rec.step(["RIGHT"] if i % 2 else [])
        assert obs.shape == (144, 160, 3) and rec.frames == 31 and rec.ram[0x20] == 1 << 7  # the last frame held RIGHT
        slot = rec.save_state()
        for _ in range(10):
            rec.step(["B", "A"])
        rec.load_state(slot)
        rec.step(np.eye(len(rec.buttons), dtype=np.uint8)[rec.buttons.index("UP")])
    movie = bk2.read(tmp_path / "a.bk2")
    assert movie.state is None and movie.frames == 32 and movie.header_value("rerecordCount") == "1"
    assert movie.buttons[31, 0, TEST.index("UP")] == 1 and not movie.buttons[31, 0, TEST.index("B")]
    assert not movie.buttons[0].any()
    with Recorder(game="TestGame-Test", out=tmp_path / "b.bk2", players=2) as rec:
        rec.step(["START"], ["SELECT"])
        with pytest.raises(Exception, match="has no button 'JUMP'"):
            rec.step(["JUMP"])
    movie = bk2.read(tmp_path / "b.bk2")
    assert movie.state is not None and movie.players == 2 and movie.frames == 2
    assert movie.buttons[1, 0, TEST.index("START")] and movie.buttons[1, 1, TEST.index("SELECT")]
    assert playback.verify(tmp_path / "b.bk2").checkpoints == 2


def test_recorder_reports_reward_done_and_info_like_env_step(tmp_path: Path) -> None:
    from retrotool import Recorder

    with Recorder(game="TestGame-Test", out=tmp_path / "r.bk2") as rec:
        assert rec.frames == 1 and rec.reward == 0  # the reset frame ran: as in stable-retro, it earns nothing
        first, rewards = rec.info["score"], []
        for i in range(120):
            rec.step(["RIGHT", "A"] if i % 3 else ["B"])
            rewards.append(rec.reward)
            assert rec.info["score"] == int.from_bytes(rec.ram[0x10:0x14].tobytes(), "little")  # data.json: u32 at 0x10
        assert sum(rewards) == rec.info["score"] - first > 0 and not rec.done
        slot, at_slot = rec.save_state(), rec.info["score"]
        for _ in range(30):
            rec.step(["A"])
        rec.load_state(slot)
        rec.step(["B"])
        assert rec.reward == rec.info["score"] - at_slot  # measured from the loaded moment, not from before the jump


AGENT_KILLED = """
import os, signal
from retrotool import Recorder
rec = Recorder(game="TestGame-Test", out="agent.bk2", checkpoint_every=25)
for i in range(90):
    rec.step(["RIGHT"] if i % 2 else ["A"])
os.kill(os.getpid(), signal.SIGKILL)  # the agent dies: no close(), no movie
"""


def test_an_agent_killed_mid_recording_loses_nothing(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", AGENT_KILLED], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == -9 and not (tmp_path / "agent.bk2").exists()
    done = recovery.recover(tmp_path / "agent.bk2.journal")
    movie = bk2.read(done.movie)
    # the reset frame and 90 steps; checkpoints at frames 0, 25, 50, 75
    assert movie.frames == 91 and movie.buttons[2, 0, TEST.index("RIGHT")] == 1 and done.checkpoints == 4
    assert playback.verify(done.movie).checkpoints == len(movie.checkpoints)
    from retrotool import Recorder

    with Recorder(game="TestGame-Test", out=tmp_path / "fine.bk2") as rec:  # a clean close leaves no journal
        rec.step(["A"])
    assert (tmp_path / "fine.bk2").exists() and not (tmp_path / "fine.bk2.journal").exists()


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    return subprocess.run([sys.executable, "-m", "retrotool", "record", *args], capture_output=True, text=True,
                          cwd=tmp_path, env={**environ, **env}, timeout=120)


def test_bad_input_is_one_clear_line(tmp_path: Path, rom: Path) -> None:
    proc = _cli(tmp_path, "--rom", str(rom))
    assert proc.returncode == 1 and "no display" in proc.stderr and "--input" in proc.stderr
    assert "Traceback" not in proc.stderr
    (tmp_path / "m.bk2").write_bytes(b"mine")
    proc = _cli(tmp_path, "--rom", str(rom), "-o", "m.bk2", SDL_VIDEODRIVER="dummy")
    assert proc.returncode == 1 and "m.bk2 already exists; pass --force" in proc.stderr
    (tmp_path / "n.bk2.journal").write_text("left over")
    proc = _cli(tmp_path, "--rom", str(rom), "-o", "n.bk2", SDL_VIDEODRIVER="dummy")
    assert proc.returncode == 1 and "retrotool record --recover n.bk2.journal" in proc.stderr
    (tmp_path / "k.toml").write_text('[retropad.player1]\nB = "z"\nA = "ctrl-x"\n')
    proc = _cli(tmp_path, "--rom", str(rom), "-o", "k.bk2", "--keys-file", "k.toml", SDL_VIDEODRIVER="dummy")
    assert proc.returncode == 1 and "k.toml:3: unknown key name 'ctrl-x'" in proc.stderr
    assert not list(tmp_path.glob("k.bk2*"))  # nothing started
    proc = _cli(tmp_path, "--keys", "Snes")
    assert proc.returncode == 0 and "right shift" in proc.stdout and "save the movie and quit" in proc.stdout


def test_quitting_before_the_first_frame_leaves_nothing(tmp_path: Path, rom: Path) -> None:
    result = live.record_live(_start(rom), out=tmp_path / "m.bk2", events=lambda frame: [pg.event.Event(pg.QUIT)])
    assert result.movie is None and result.frames == 0 and list(tmp_path.iterdir()) == []


def test_savestate_slots_are_written_as_state_files_stable_retro_reads(tmp_path: Path, rom: Path) -> None:
    """--save-states DIR writes every slot saved (F2); F3 writes the current slot again; each is the state after
    the frame it names, the same bytes `retrotool state save MOVIE --frame N` makes."""
    from retrotool.integration import states

    (tmp_path / "states").mkdir()
    script = Script().add(10, _key("f2")).add(20, _key("f7")).add(21, _key("f2")).add(25, _key("f3"))
    script.add(26, _key("f6")).add(27, _key("f3")).add(30, _key("escape"))
    result = live.record_live(_start(rom), out=tmp_path / "m.bk2", events=script, save_states=tmp_path / "states")
    assert [p.name for p in result.states] == ["m-slot1-frame000009.state", "m-slot2-frame000020.state"]
    assert all(p.parent == tmp_path / "states" for p in result.states)  # F3 found them written: not again
    for path, frame in zip(result.states, (9, 20)):
        made = states.save(result.movie, frame=frame, out=tmp_path / f"f{frame}.state")
        assert gzip.decompress(path.read_bytes()) == made.state


def test_without_a_folder_f3_writes_beside_the_movie(tmp_path: Path, rom: Path) -> None:
    script = Script().add(5, _key("f3")).add(6, _key("f2")).add(8, _key("f3")).add(9, _key("escape"))
    result = live.record_live(_start(rom), out=tmp_path / "m.bk2", events=script)
    assert [p.name for p in result.states] == ["m-slot1-frame000005.state"] and result.states[0].parent == tmp_path
