"""The interactive recorder's parts without a window: key bindings, journal, movie builder, input state."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from retrotool import systems
from retrotool.errors import MovieFormatError, OutputExistsError, RetroToolError
from retrotool.movie import Checkpoint
from retrotool.record import journal, keys

pg = pytest.importorskip("pygame", reason="the recorder's input needs pygame-ce (the 'record' extra)")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _key_code(name: str) -> int:
    return pg.key.key_code(name)


@pytest.mark.filterwarnings("ignore:pygame.init")
@pytest.mark.parametrize("name", systems.names())
def test_default_bindings_give_every_button_a_key_and_never_share_one(name: str) -> None:
    system = systems.get(name)
    bindings = keys.load(system)
    pads, actions = bindings.resolve(_key_code)  # raises if a pad key is also a control
    for player in range(keys.KEYBOARD_PLAYERS):
        for button in system.buttons:
            assert bindings.keys_of(player, button), f"{name} player {player + 1} {button} has no key"
    shared = {code: targets for code, targets in pads.items() if len(targets) > 1}
    assert not shared, f"{name}: keys pressing several buttons: {shared}"
    assert set(actions.values()) == set(keys.ACTIONS)


@pytest.mark.filterwarnings("ignore:pygame.init")
def test_a_user_file_replaces_entries_and_mistakes_name_file_and_line(tmp_path: Path) -> None:
    genesis = systems.get("Genesis")
    mine = tmp_path / "keys.toml"
    mine.write_text('[hotkeys]\npause = "space"\n\n[Genesis.player1]\nA = ["j", "k"]\n\n[retropad.player1]\nUP = "w"\n')
    b = keys.load(genesis, mine)
    assert b.keys_of(-1, "pause") == ["space"] and b.keys_of(0, "A") == ["j", "k"]
    assert b.keys_of(0, "UP") == ["w"] and b.keys_of(0, "C") == ["c"]  # the rest stays as shipped
    cases = {
        '[Genesis.player1]\n\nA = "nosuchkey"\n': ":3: unknown key name 'nosuchkey'",
        '[Genesis.player1]\nB = "x"\nQ = "q"\n': ":3: Genesis has no button 'Q'",
        '[hotkeys]\njump = "j"\n': ":2: unknown control 'jump'",
        '# comment\n[Gameboy2.player1]\nA = "x"\n': ":2: unknown section [Gameboy2]",
        '[hotkeys]\nquit = "z"\n': "key 'z' is bound to player 1 A and to the quit control",
        '[Genesis.player1]\nA = 3\n': ":2: a binding is a key name or a list",
        '[Genesis.player1\n': "not valid TOML",
    }
    for text, needle in cases.items():
        mine.write_text(text)
        with pytest.raises(RetroToolError) as e:
            keys.load(genesis, mine).resolve(_key_code)
        assert needle in str(e.value) and "\n" not in str(e.value), (text, str(e.value))
        assert str(mine) in str(e.value) or "TOML" not in needle


def test_the_users_own_file_is_read_from_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "retrotool").mkdir()
    (tmp_path / "retrotool" / "keys.toml").write_text('[retropad.player1]\nB = "b"\n')
    assert keys.load(systems.get("Nes")).keys_of(0, "B") == ["b"]


def test_journal_round_trip_with_cuts_and_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "m.bk2.journal"
    header = {"system": "Test", "players": 2, "rerecords": 3, "game": "g"}
    c = [Checkpoint(f, f"{f:064x}", f"{f + 1:064x}") for f in (0, 5, 9)]
    with journal.Journal(path, header, b"state bytes") as j:
        j.rows(np.array([[1, 2], [3, 4], [5, 6]], np.uint16))
        j.checkpoint(c[0])
        j.rows(np.array([[0x10, 0], [0x20, 0], [0x40, 0xFFFF]], np.uint16))
        j.checkpoint(c[1])
        j.truncate(4)  # drops rows 4, 5 and the checkpoint at 5
        j.rows(np.array([[7, 7]], np.uint16))
    with open(path, "a") as f:
        f.write("0001 00")  # a crash in the middle of a line
    rec = journal.read(path)
    assert rec.state == b"state bytes" and rec.header["game"] == "g" and rec.torn
    assert rec.masks.tolist() == [[1, 2], [3, 4], [5, 6], [0x10, 0], [7, 7]]
    assert rec.checkpoints == (c[0],) and rec.rerecords == 4
    with pytest.raises(OutputExistsError, match="--recover"):
        journal.Journal(path, header, None)


class _Spy(dict):
    """A header value that, while the journal serialises its header, records what a reader sees at the path."""

    def __init__(self, path: Path) -> None:
        super().__init__(x=1)
        self.path, self.seen = path, []

    def items(self):  # called by json.dumps
        self.seen.append(self.path.read_text() if self.path.exists() else None)
        return super().items()


def test_a_journal_is_never_visible_without_its_header(tmp_path: Path) -> None:
    path = tmp_path / "m.bk2.journal"
    spy = _Spy(path)
    with journal.Journal(path, {"system": "Test", "players": 1, "spy": spy}, None) as j:
        assert spy.seen == [None]  # while the header was being written, there was no journal yet
        assert path.read_text().startswith(journal.MAGIC + "\n") and journal.read(path).masks.shape == (0, 1)
        j.rows(np.array([[1]], np.uint16))
    assert journal.read(path).masks.tolist() == [[1]]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_journal_that_appears_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "m.bk2.journal"

    class Appears(dict):
        def items(self):  # another recorder creates the journal after the first check
            path.write_text("someone else's journal\n")
            return super().items()

    with pytest.raises(OutputExistsError, match="--recover"):
        journal.Journal(path, {"system": "Test", "players": 1, "late": Appears(x=1)}, None)
    assert path.read_text() == "someone else's journal\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with journal.Journal(path, {"system": "Test", "players": 1}, None, force=True):
        pass
    assert journal.read(path).masks.shape == (0, 1)


def test_a_damaged_journal_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with journal.Journal(path, {"system": "Test", "players": 1}, None) as j:
        j.rows(np.array([[1], [2]], np.uint16))
    text = path.read_text().replace("0002\n", "00zz\n")
    path.write_text(text + "0003\n")
    with pytest.raises(MovieFormatError, match=r"line 4: damaged journal line '00zz'"):
        journal.read(path)
    path.write_text("hello\n")
    with pytest.raises(MovieFormatError, match="not a retrotool journal"):
        journal.read(path)


def _controls(system: str = "Test", players: int = 2):
    from retrotool.record.controls import Controls

    spec = systems.get(system)
    pads, actions = keys.load(spec).resolve(_key_code)
    opened = iter(range(100, 200))

    def open_pad(index: int):
        return object(), next(opened), f"pad{index}"

    return spec, Controls(pg, spec, players, pads, actions, open_pad=open_pad)


def _held(spec, row: np.ndarray, player: int = 0) -> list[str]:
    return [b for b, v in zip(spec.buttons, row[player]) if v]


@pytest.mark.filterwarnings("ignore:pygame.init")
def test_a_press_shorter_than_a_frame_still_lasts_one_frame() -> None:
    spec, c = _controls()
    down, up = pg.KEYDOWN, pg.KEYUP
    assert c.poll([pg.event.Event(down, key=pg.K_z), pg.event.Event(up, key=pg.K_z)]) == []
    assert _held(spec, c.row()) == ["B"]
    assert _held(spec, c.row()) == []
    c.poll([pg.event.Event(down, key=pg.K_RIGHT), pg.event.Event(down, key=pg.K_k)])
    assert _held(spec, c.row()) == ["RIGHT"] and _held(spec, c.row(), 1) == ["DOWN"]
    assert _held(spec, c.row()) == ["RIGHT"]
    c.poll([pg.event.Event(up, key=pg.K_RIGHT), pg.event.Event(pg.WINDOWFOCUSLOST)])
    assert not c.row().any()
    actions = c.poll([pg.event.Event(down, key=pg.K_F2), pg.event.Event(down, key=pg.K_TAB),
                      pg.event.Event(up, key=pg.K_TAB), pg.event.Event(pg.QUIT)])
    assert actions == ["save_state", "fast_forward", "fast_forward_end", "quit"]


@pytest.mark.filterwarnings("ignore:pygame.init")
def test_gamepads_come_and_go() -> None:
    spec, c = _controls("Genesis")
    ev = pg.event.Event
    c.poll([ev(pg.CONTROLLERDEVICEADDED, device_index=0), ev(pg.CONTROLLERDEVICEADDED, device_index=1),
            ev(pg.CONTROLLERDEVICEADDED, device_index=2)])
    assert [p.player for p in c.gamepads.values()] == [0, 1, None]
    assert c.notices[-1] == "gamepad pad2 plugged in; every player already has one"
    c.poll([ev(pg.CONTROLLERBUTTONDOWN, instance_id=100, button=pg.CONTROLLER_BUTTON_A),
            ev(pg.CONTROLLERBUTTONDOWN, instance_id=101, button=pg.CONTROLLER_BUTTON_B),
            ev(pg.CONTROLLERAXISMOTION, instance_id=101, axis=pg.CONTROLLER_AXIS_LEFTX, value=-30000),
            ev(pg.CONTROLLERBUTTONDOWN, instance_id=102, button=pg.CONTROLLER_BUTTON_A)])
    row = c.row()
    # Genesis B has RetroPad id 0 (bottom face), C id 8 (right face)
    assert _held(spec, row, 0) == ["B"] and _held(spec, row, 1) == ["LEFT", "C"]
    assert c.poll([ev(pg.CONTROLLERBUTTONDOWN, instance_id=100, button=pg.CONTROLLER_BUTTON_GUIDE)]) == ["pause"]
    c.poll([ev(pg.CONTROLLERDEVICEREMOVED, instance_id=100)])
    assert c.lost_pad and "player 1's gamepad (pad0) was unplugged" in c.notices[-1]
    assert not c.row()[0].any()
    c.poll([ev(pg.CONTROLLERDEVICEADDED, device_index=3)])
    assert c.gamepads[103].player == 0  # a new pad takes the free player


def test_builder_goes_on_across_runs_and_cuts_back_on_a_load(rom: Path, testcore: Path) -> None:
    from retrotool.emulator import Emulator
    from retrotool.record.builder import MovieBuilder
    from retrotool.record.take import Take
    from retrotool.replay import ArraySource

    spec = systems.get("Test")
    rows = np.zeros((25, 1, len(spec.buttons)), np.uint8)
    rows[:, 0, spec.index("RIGHT")] = 1
    with Emulator(testcore, rom, system=spec, ports=1) as emu:
        take = Take(emu, MovieBuilder(None, "g", rom.name, 10))
        take.play(ArraySource(rows[:7]))
        slot = take.save()
        take.play(ArraySource(rows[7:]))
        assert [c.frame for c in take.builder.checkpoints] == [0, 10, 20]
        take.load(slot)
        take.play(ArraySource(np.zeros((6, 1, len(spec.buttons)), np.uint8)))
        movie = take.finish()
    assert movie.frames == 13 and movie.header_value("rerecordCount") == "1"
    assert [c.frame for c in movie.checkpoints] == [0, 10, 12]
    # row 0 is stable-retro's reset frame: recorded released
    assert movie.buttons[1:7, 0, spec.index("RIGHT")].all() and not movie.buttons[7:].any()
    assert not movie.buttons[0].any()
