"""read(write(m)) == m for every system in both dialects, and the writer's exact layout."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
import zstandard

from retrotool import movie, systems
from retrotool.errors import MovieFormatError
from retrotool.movie import Movie
from retrotool.movie.header import bizhawk_header, sr_header

ALL = systems.names()
STATE = b"GENPLUS-GX 1.7.5" + bytes(range(256)) * 4


def _random(
    system: str, players: int, frames: int = 200, seed: int = 0, convention: movie.Convention = "stable-retro",
    **kwargs: object,
) -> Movie:
    """Random presses; under stable-retro's convention row 0 (its reset frame) is released, as its files hold it."""
    spec = systems.get(system)
    buttons = np.random.default_rng(seed).integers(0, 2, (frames, players, len(spec.buttons)), dtype=np.uint8)
    if convention == "stable-retro":
        buttons[0] = 0
    return Movie(system=system, buttons=buttons, meta={"core": "x", "checkpoints": []}, convention=convention,
                 **kwargs)  # type: ignore[arg-type]


def _normal(m: Movie, dialect: movie.Dialect) -> Movie:
    """m with the header the writer produces for the dialect."""
    spec = systems.get(m.system)
    if dialect == "stable-retro":
        return m.replace(header=sr_header(m.header, spec))
    return m.replace(header=bizhawk_header(m.header, spec, m.state is not None))


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _players(system: str) -> list[int]:
    return sorted({1, min(2, systems.get(system).max_players)})


@pytest.mark.parametrize("system", ALL)
@pytest.mark.parametrize("state", [None, STATE], ids=["power-on", "state"])
def test_stable_retro_round_trip(system: str, state: bytes | None) -> None:
    for players in _players(system):
        original = _normal(_random(system, players, state=state, header=(("GameName", "G-v0"),)), "stable-retro")
        assert movie.from_bytes(movie.to_bytes(original)) == original


@pytest.mark.parametrize("system", ALL)
def test_bizhawk_round_trip(system: str) -> None:
    for players in _players(system):
        original = _normal(_random(system, players, header=(("Author", "me"),), convention="bizhawk"), "bizhawk")
        assert movie.from_bytes(movie.to_bytes(original, "bizhawk")) == original


def test_bizhawk_round_trip_with_bizhawk_state_and_console() -> None:
    console = np.zeros((200, 2), np.uint8)
    console[5, 0] = console[9, 1] = 1
    original = _normal(
        _random("Genesis", 2, state=STATE, state_format="bizhawk", console=console, console_names=("Reset", "Power"),
                convention="bizhawk"),
        "bizhawk",
    )
    data = movie.to_bytes(original, "bizhawk")
    entries = _entries(data)
    assert list(entries)[:3] == ["BizState 1.0", "Header.txt", "Input Log.txt"]
    assert entries["BizState 1.0"] == b"2\n"
    assert zstandard.ZstdDecompressor().decompress(entries["Core.bin"]) == STATE
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.getinfo("Core.bin").compress_type == zipfile.ZIP_STORED
    assert b"StartsFromSavestate True" in entries["Header.txt"]
    assert movie.from_bytes(data) == original


def test_pce_five_players_round_trip_in_bizhawk() -> None:
    original = _normal(_random("PCEngine", 5, convention="bizhawk"), "bizhawk")
    assert movie.from_bytes(movie.to_bytes(original, "bizhawk")) == original


def test_cross_dialect_keeps_the_play() -> None:
    """A power-on stable-retro movie is a BizHawk one with the two frames of make() in front, and back."""
    for system in ALL:
        original = _random(system, _players(system)[-1])
        via_sr = movie.from_bytes(movie.to_bytes(original))
        via_bh = movie.from_bytes(movie.to_bytes(via_sr, "bizhawk"))
        assert via_bh.convention == "bizhawk" and via_bh.frames == original.frames + movie.MAKE_FRAMES, system
        assert not via_bh.buttons[: movie.MAKE_FRAMES].any(), system
        assert np.array_equal(via_bh.buttons[movie.MAKE_FRAMES :], original.buttons), system
        back = movie.from_bytes(movie.to_bytes(via_bh))
        assert back.convention == "stable-retro" and np.array_equal(back.buttons, original.buttons), system


def test_genesis_matches_stable_retro_layout_exactly() -> None:
    buttons = np.zeros((3, 1, 12), np.uint8)
    genesis = systems.get("Genesis")
    buttons[1, 0, [genesis.index("C"), genesis.index("DOWN")]] = 1
    header = (("GameName", "Airstriker-Genesis-v0"),)
    data = movie.to_bytes(Movie(system="Genesis", buttons=buttons, state=STATE, header=header))
    entries = _entries(data)
    assert list(entries) == ["Input Log.txt", "Header.txt", "Core.bin", "retrotool.json"]
    assert entries["Input Log.txt"].decode() == (
        "[Input]\n"
        "P1 Z|P1 X|P1 Y|P1 C|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Mode|P1 A|P1 B|\n"
        "|..|............|\n|..|...C..D.....|\n|..|............|\n"
        "[/Input]"
    )
    assert entries["Header.txt"].decode() == (
        "MovieVersion Retro\nAuthor ?\nemuVersion ?\nPlatform GEN\nGameName Airstriker-Genesis-v0\n"
        "SHA1 ?\nCore ?\nrerecordCount 1\n"
    )
    assert entries["Core.bin"] == STATE
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}


def test_two_player_key_line_follows_directly() -> None:
    text = _entries(movie.to_bytes(_random("Nes", 2, frames=1, state=STATE)))["Input Log.txt"].decode()
    assert text.splitlines()[1] == (
        "P1 A|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Select|P1 B|"
        "P2 A|P2 Right|P2 Left|P2 Down|P2 Up|P2 Start|P2 Select|P2 B|"
    )


def test_output_is_deterministic() -> None:
    m = _random("Snes", 2, state=STATE)
    assert movie.to_bytes(m) == movie.to_bytes(m.replace())


def test_console_reset_power_survive_stable_retro_dialect() -> None:
    console = np.zeros((200, 2), np.uint8)
    console[0, 0] = console[3, 1] = 1
    m = _normal(_random("Nes", 1, state=STATE, console=console, console_names=("Reset", "Power")), "stable-retro")
    data = movie.to_bytes(m)
    assert _entries(data)["Input Log.txt"].split(b"\n")[2].startswith(b"|r.|")
    assert movie.from_bytes(data) == m


def test_other_console_controls_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    console = np.ones((200, 1), np.uint8)
    m = _random("Atari2600", 1, state=STATE, console=console, console_names=("Toggle Left Difficulty",))
    with caplog.at_level(logging.WARNING):
        back = movie.from_bytes(movie.to_bytes(m))
    assert "Toggle Left Difficulty" in caplog.text
    assert back.console_names == ()
    via_bizhawk = movie.from_bytes(movie.to_bytes(m.replace(state=None), "bizhawk"))
    assert via_bizhawk.console_names == ("Toggle Left Difficulty",)


def test_atari_reset_and_select_use_bizhawk_console_switches() -> None:
    atari = systems.get("Atari2600")
    buttons = np.zeros((2, 2, len(atari.buttons)), np.uint8)
    buttons[1, 0, atari.index("RESET")] = 1
    buttons[1, 1, atari.index("SELECT")] = 1
    atari_movie = Movie(system="Atari2600", buttons=buttons, convention="bizhawk")
    log = _entries(movie.to_bytes(atari_movie, "bizhawk"))["Input Log.txt"].decode()
    key, _, second = log.splitlines()[1:4]
    assert key.startswith("LogKey:#Reset|Select|Power|Toggle Left Difficulty|Toggle Right Difficulty|#P1 Up|")
    assert "P1 Reset" not in key and "P2 Select" in key
    assert second.startswith("|r....|")


def test_power_on_stable_retro_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        data = movie.to_bytes(_random("Genesis", 1))
    assert "stable-retro refuses" in caplog.text
    assert "Core.bin" not in _entries(data)


def test_extras_and_meta_are_kept(tmp_path: Path) -> None:
    m = _random("Test", 2, state=STATE, extras=(("Comments.txt", b"hi\r\n"), ("blob.bin", bytes(300))))
    m = m.with_meta(options={"a": "b"}, content_sha1="00" * 20)
    for dialect in ("stable-retro", "bizhawk"):
        subject = m if dialect == "stable-retro" else m.replace(state=None, convention="bizhawk")
        subject = _normal(subject, dialect)  # type: ignore[arg-type]
        path = tmp_path / f"{dialect}.bk2"
        movie.write(subject, path, dialect=dialect)  # type: ignore[arg-type]
        assert movie.read(path) == subject
        assert movie.read(path.read_bytes()) == subject


@pytest.mark.parametrize(
    ("dialect", "kwargs", "message"),
    [
        ("stable-retro", {"state": STATE, "state_format": "bizhawk"}, "stable-retro cannot load a BizHawk core state"),
        ("bizhawk", {"state": STATE}, "BizHawk cannot load libretro states"),
        ("stable-retro", {"extras": (("Header.txt", b""),)}, "clash"),
    ],
)
def test_writer_refusals(dialect: movie.Dialect, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(MovieFormatError, match=message):
        movie.to_bytes(_random("Genesis", 1, **kwargs), dialect)


def test_stable_retro_dialect_refuses_more_than_two_players() -> None:
    with pytest.raises(MovieFormatError, match="at most 2 players"):
        movie.to_bytes(_random("PCEngine", 3, state=STATE))


def test_header_values_must_be_writable() -> None:
    with pytest.raises(MovieFormatError, match="cannot be written"):
        movie.to_bytes(_random("Genesis", 1, state=STATE, header=(("GameName", "a\nb"),)))


def test_column_order_does_not_matter_for_stable_retro_files() -> None:
    """stable-retro decodes by character, so a build with another column order reads the same."""
    key = "P1 B|P1 A|P1 Mode|P1 Start|P1 Up|P1 Down|P1 Left|P1 Right|P1 C|P1 Y|P1 X|P1 Z|"
    log = f"[Input]\n{key}\n|..|B.....L.....|\n|..|.U.S........|\n[/Input]".encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Input Log.txt", log)
        zf.writestr("Header.txt", "Platform GEN\n")
    m = movie.from_bytes(buffer.getvalue())
    genesis = systems.get("Genesis")
    assert [genesis.buttons[i] for i in np.flatnonzero(m.buttons[0, 0])] == ["B", "LEFT"]
    assert [genesis.buttons[i] for i in np.flatnonzero(m.buttons[1, 0])] == ["START", "UP"]


def test_row_0_is_written_released_and_read_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """stable-retro's reset() never applies row 0: writers leave it released; a file that holds it is warned about."""
    pressed = _random("Nes", 1, state=STATE)
    pressed = pressed.replace(buttons=np.ones_like(pressed.buttons))
    with caplog.at_level(logging.WARNING):
        written = movie.from_bytes(movie.to_bytes(pressed))
    assert "writing it released" in caplog.text
    assert not written.buttons[0].any() and written.buttons[1:].all()
    log = "[Input]\nP1 A|P1 B|\n|..|AB|\n|..|A.|\n[/Input]".encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Input Log.txt", log)
        zf.writestr("Header.txt", "MovieVersion Retro\nPlatform NES\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        m = movie.from_bytes(buffer.getvalue())
    assert m.buttons[0].any() and movie.pressed_in_reset_row(m)  # kept as the file says; replays release it
    assert "never applies them" in caplog.text


def test_conversion_refuses_bizhawk_presses_stable_retro_cannot_give() -> None:
    early = _random("Nes", 1, convention="bizhawk")
    with pytest.raises(MovieFormatError, match="presses buttons in frame 0"):
        movie.convert(early, "stable-retro")
    late = early.replace(buttons=np.concatenate([np.zeros_like(early.buttons[:3]), early.buttons[3:]]))
    converted = movie.convert(late, "stable-retro")
    assert converted.frames == late.frames - movie.MAKE_FRAMES
    assert np.array_equal(converted.buttons, late.buttons[movie.MAKE_FRAMES :])
    # from a state nothing runs before row 0 in either convention: only row 0 must be released
    with pytest.raises(MovieFormatError, match="first 1 frames after its state"):
        movie.convert(early.replace(state=STATE), "stable-retro")


def test_conversion_moves_checkpoints_with_their_frames() -> None:
    checkpoint = movie.Checkpoint(10, "a" * 64, "b" * 64)
    m = _random("Genesis", 1).with_checkpoints((checkpoint,))
    bizhawk = movie.convert(m, "bizhawk")
    assert bizhawk.checkpoints == (movie.Checkpoint(10 + movie.MAKE_FRAMES, "a" * 64, "b" * 64),)
    assert movie.convert(bizhawk, "stable-retro").checkpoints == (checkpoint,)


def test_unrecorded_presses_name_the_button_and_its_first_frame(caplog: pytest.LogCaptureFixture) -> None:
    sms = systems.get("Sms")
    buttons = np.zeros((20, 1, len(sms.buttons)), np.uint8)
    buttons[7:9, 0, sms.index("PAUSE")] = 1
    m = Movie(system="Sms", buttons=buttons, state=STATE)
    assert movie.unrecorded_presses(m, sms) == [("PAUSE", 0, 7)]
    with caplog.at_level(logging.WARNING):
        movie.to_bytes(m)
    assert "cannot hold PAUSE (player 1, first held in frame 7)" in caplog.text
