"""Input log corner cases: line layout quirks both tools produce or tolerate."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import zstandard

from retrotool import movie, systems
from retrotool.errors import MovieFormatError
from retrotool.movie.inputlog import decode
from retrotool.movie.layout import parse_key_line, sr_layout

GENESIS = systems.get("Genesis")
KEY = "P1 Z|P1 X|P1 Y|P1 C|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Mode|P1 A|P1 B|"


def _pressed(buttons: np.ndarray, frame: int) -> list[str]:
    return [GENESIS.buttons[i] for i in np.flatnonzero(buttons[frame, 0])]


def test_non_frame_lines_between_frames_are_skipped() -> None:
    text = f"[Input]\n{KEY}\n|..|...........B|\n\nFrame 2\n|..|..........A.|\n|..|.........M..|\n[/Input]"
    decoded = decode(text.encode(), GENESIS, "stable-retro")
    assert [_pressed(decoded.buttons, f) for f in range(3)] == [["B"], ["A"], ["MODE"]]


def test_trailing_empty_groups_are_tolerated() -> None:
    text = f"[Input]\n{KEY}\n|..|...........B||\n|..|..........A.|||\n|..|.........M..|\n"
    decoded = decode(text.encode(), GENESIS, "stable-retro")
    assert [_pressed(decoded.buttons, f) for f in range(3)] == [["B"], ["A"], ["MODE"]]


def test_inner_empty_group_in_bizhawk_is_positional() -> None:
    key = "LogKey:#Up|Down|Left|Right|Start|Select|B|A|Power|"
    gameboy = systems.get("GameBoy")
    decoded = decode(f"[Input]\n{key}\n|UDLR||SsBAP|\n".encode(), gameboy, "bizhawk")
    assert decoded.buttons.sum() == 8 and decoded.console.tolist() == [[1]]


def test_wrong_number_of_groups_in_stable_retro() -> None:
    text = f"[Input]\n{KEY}\n|..|............|....|\n"
    with pytest.raises(MovieFormatError, match="line 3: expected 17 characters, found 22"):
        decode(text.encode(), GENESIS, "stable-retro")


def test_short_key_line_debris_is_ignored() -> None:
    layout = parse_key_line(systems.get("Test"), "P1 A|y:#Reset|Power|#", 2)
    assert [c.name for c in layout.groups[1]] == ["P1 A"]


def test_malformed_key_token() -> None:
    with pytest.raises(MovieFormatError, match="key-line entry 'Start' is not 'P<n> <button>'"):
        parse_key_line(GENESIS, "P1 A|Start|", 2)


def test_duplicate_logkey_name() -> None:
    with pytest.raises(MovieFormatError, match="names 'P1 Up' twice"):
        parse_key_line(GENESIS, "LogKey:#P1 Up|P1 Up|", 2)


def test_bad_axis_value() -> None:
    key = "LogKey:#Tilt X|Tilt Y|Tilt Z|Light Sensor|Up|Down|Left|Right|Start|Select|B|A|L|R|Power|"
    line = "|    0,   x0,    0,    0,...........|"
    with pytest.raises(MovieFormatError, match="line 3, column 8: axis 'Tilt Y'"):
        decode(f"[Input]\n{key}\n{line}\n".encode(), systems.get("GbAdvance"), "bizhawk")


def test_empty_log() -> None:
    decoded = decode(b"[Input]\n[/Input]", GENESIS, "stable-retro")
    assert decoded.buttons.shape == (0, 1, 12)
    assert decoded.layout == sr_layout(GENESIS, 1)


def test_large_non_contiguous_log_uses_chunked_gather() -> None:
    frames = 70_000
    lines = "".join("|..|...........B|\nFrame\n" if f % 2 else "|..|............|\n" for f in range(frames))
    decoded = decode(f"[Input]\n{KEY}\n{lines}[/Input]".encode(), GENESIS, "stable-retro")
    assert decoded.buttons[:, 0, 0].tolist() == [f % 2 for f in range(frames)]


def test_core_bin_zst_and_bizzip_tag() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Input Log.txt", "[Input]\nLogKey:#P1 Up|\n|U|\n")
        zf.writestr("Header.txt", "Platform PCE\nStartsFromSavestate True\n")
        zf.writestr("BizZip 1.0", "2\n")
        zf.writestr("Core.bin.zst", zstandard.ZstdCompressor().compress(b"core state"))
    m = movie.from_bytes(buffer.getvalue())
    assert (m.state, m.state_format) == (b"core state", "bizhawk")
