"""The streaming input-log decoder: it agrees with decode, steps aside for anything irregular, and stays lean."""

from __future__ import annotations

import itertools
import tracemalloc
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retrotool import movie, systems
from retrotool.errors import MovieFormatError
from retrotool.movie import Movie
from retrotool.movie.inputlog import DecodedLog, EncodedLog, decode, decode_stream
from retrotool.movie.layout import Dialect, bizhawk_layout, sr_layout
from retrotool.systems import System

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "movies"
MiB = 1 << 20
SYSTEMS = ["Genesis", "Snes", "Nes", "GbAdvance", "Atari2600", "PCEngine", "GameBoy", "Sms"]
EDITS = b"|.\r\n#:P12 UDLRSsBAMrZ,-0379[]/Input!"
Case = tuple[System, Dialect, bytes, list[int]]


def _stream(system: System, dialect: Dialect, text: bytes, cuts: Sequence[int] = ()) -> DecodedLog | None:
    """decode_stream fed ``text`` in pieces that end at ``cuts``, as an inflating reader would."""
    bounds = [0, *sorted(c % (len(text) + 1) for c in cuts), len(text)]
    return decode_stream((text[a:b] for a, b in itertools.pairwise(bounds)), len(text), system, dialect)


def _edit(draw: st.DrawFn, text: bytes) -> bytes:
    """``text`` with up to three short runs replaced by characters that matter to a log."""
    edited = bytearray(text)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(edited)))
        run = bytes(EDITS[i] for i in draw(st.lists(st.integers(0, len(EDITS) - 1), max_size=3)))
        edited[at : at + draw(st.integers(0, 3))] = run
    return bytes(edited)


@st.composite
def _logs(draw: st.DrawFn) -> Case:
    """A log as a writer of either dialect makes it, perhaps without its key line, with CRLF, a BOM,
    another ending and a few edits.

    "Eject" is a console control retrotool has no mnemonic for, so any character but '.' presses it.
    """
    system = systems.get(draw(st.sampled_from(SYSTEMS)))
    if draw(st.booleans()):
        layout = sr_layout(system, draw(st.integers(1, min(2, system.max_players))))
    else:
        players = draw(st.integers(1, system.max_players)) if system.bizhawk.player_prefix else 1
        console_names = draw(st.lists(st.sampled_from(["Reset", "Eject"]), unique=True))
        layout = bizhawk_layout(system, players, tuple(console_names))
    rng = np.random.default_rng(draw(st.integers(0, 1 << 16)))
    frames = draw(st.integers(0, 40))
    buttons = rng.integers(0, 2, (frames, layout.players, len(system.buttons)), dtype=np.uint8)
    console = rng.integers(0, 2, (frames, len(layout.console_names)), dtype=np.uint8)
    text = b"".join(EncodedLog(layout, buttons, console, layout.console_names))
    if draw(st.booleans()):
        text = b"[Input]\n" + text.split(b"\n", 2)[2]  # no key line: the platform's default layout applies
    if draw(st.booleans()):
        text = text.replace(b"\n", b"\r\n")
    if draw(st.booleans()):
        text = b"\xef\xbb\xbf" + text
    text = text.removesuffix(b"[/Input]") + draw(st.sampled_from([b"[/Input]", b"[/Input]\r\n", b"", b"\nFrame\n"]))
    cuts = draw(st.lists(st.integers(0, 1 << 12), max_size=6))
    default: Dialect = draw(st.sampled_from(["stable-retro", "bizhawk"]))  # matters only without a key line
    return system, default, _edit(draw, text), cuts


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_logs())
def test_stream_agrees_with_decode_or_steps_aside(case: Case) -> None:
    system, dialect, text, cuts = case
    streamed = _stream(system, dialect, text, cuts)
    try:
        expected = decode(text, system, dialect)
    except MovieFormatError:
        assert streamed is None  # only decode reports errors, naming the line
        return
    if streamed is not None:
        assert streamed.layout == expected.layout
        assert streamed.buttons.shape == expected.buttons.shape and np.array_equal(streamed.buttons, expected.buttons)
        assert streamed.console.shape == expected.console.shape and np.array_equal(streamed.console, expected.console)


@pytest.mark.parametrize("name", ["bizhawk_windows_genesis", "sr_genesis", "sr_snes_two_players"])
def test_files_as_writers_make_them_are_streamed(name: str) -> None:
    """CRLF with a BOM (BizHawk on Windows) and stable-retro's LF without a final newline."""
    with zipfile.ZipFile(GOLDEN / f"{name}.bk2") as zf:
        text = zf.read("Input Log.txt")
    system = movie.read(GOLDEN / f"{name}.bk2").system
    assert _stream(systems.get(system), "bizhawk", text) is not None


def test_irregular_lines_are_left_to_decode() -> None:
    """Axes wider than ``%5d`` and groups split where the key line has none need decode's rewrite."""
    with zipfile.ZipFile(GOLDEN / "bizhawk_gba_axes.bk2") as zf:
        axes = zf.read("Input Log.txt")
    assert _stream(systems.get("GbAdvance"), "bizhawk", axes) is None
    split = b"[Input]\nLogKey:#Up|Down|Left|Right|Start|Select|B|A|Power|\n|.........|\n|UDLR||SsBAP|\n"
    assert _stream(systems.get("GameBoy"), "bizhawk", split) is None


def test_encoded_length_is_known_up_front() -> None:
    system = systems.get("Snes")
    buttons = np.ones((70_001, 2, 12), np.uint8)
    log = EncodedLog(sr_layout(system, 2), buttons, np.zeros((70_001, 2), np.uint8), ("Reset", "Power"))
    assert len(log) == len(b"".join(log))


def test_reading_and_writing_a_long_movie_stay_lean() -> None:
    """Neither direction holds the log's text: beyond the buttons, the peak does not grow with the length.

    Before streaming, reading 200,000 frames peaked at the buttons plus ~31 MiB, writing at ~10 MiB.
    """
    buttons = np.random.default_rng(0).integers(0, 2, (200_000, 1, 12), dtype=np.uint8)
    buttons[0] = 0  # stable-retro's reset frame
    original = Movie(system="Genesis", buttons=buttons)
    for dialect in ("stable-retro", "bizhawk"):
        tracemalloc.start()
        data = movie.to_bytes(original, dialect)
        written = tracemalloc.get_traced_memory()[1] - len(data)
        tracemalloc.stop()
        tracemalloc.start()
        back = movie.from_bytes(data)
        read = tracemalloc.get_traced_memory()[1] - buttons.nbytes
        tracemalloc.stop()
        lead = movie.MAKE_FRAMES if dialect == "bizhawk" else 0  # the same play under BizHawk's convention
        assert np.array_equal(back.buttons[lead:], buttons)
        assert written < 4 * MiB and read < 6 * MiB, (dialect, written / MiB, read / MiB)
