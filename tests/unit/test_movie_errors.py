"""Every way a movie file can be wrong gives a MovieFormatError that says what and where."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
import zstandard

from retrotool import movie
from retrotool.errors import MovieFormatError, OutputExistsError, RetroToolError
from retrotool.movie import Movie

GENESIS_KEY = "P1 Z|P1 X|P1 Y|P1 C|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Mode|P1 A|P1 B|"


def _bk2(log: str | bytes, header: str | bytes = "MovieVersion Retro\nPlatform GEN\n", **more: bytes) -> bytes:
    """A zip with the given log and header; ``more`` maps entry names (``/`` for ``.``) to bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Input Log.txt", log)
        zf.writestr("Header.txt", header)
        for name, data in more.items():
            zf.writestr(name.replace("__", " ").replace("_", "."), data)
    return buffer.getvalue()


def _log(*frames: str, key: str = GENESIS_KEY) -> str:
    return "\n".join(["[Input]", key, *frames, "[/Input]"])


def _error(data: bytes) -> str:
    with pytest.raises(MovieFormatError) as info:
        movie.from_bytes(data)
    return str(info.value)


def test_not_a_zip() -> None:
    assert "not a .bk2 movie" in _error(b"hello, this is text")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MovieFormatError, match="no such file"):
        movie.read(tmp_path / "nope.bk2")


def test_zip_without_input_log() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Header.txt", "Platform GEN\n")
    assert "no 'Input Log.txt' entry" in _error(buffer.getvalue())


def test_corrupt_deflate() -> None:
    data = bytearray(_bk2(_log("|..|............|" * 1)))
    start = data.index(b"Input Log.txt") + len("Input Log.txt")
    data[start : start + 8] = b"\xff" * 8
    assert "damaged" in _error(bytes(data)) or "not a .bk2" in _error(bytes(data))


def test_wrong_width_names_the_line() -> None:
    frames = ["|..|............|"] * 1232 + ["|..|...........|"]
    assert "Input Log.txt line 1235: expected 17 characters, found 16" in _error(_bk2(_log(*frames)))


def test_wrong_width_in_bizhawk_dialect() -> None:
    key = "LogKey:#Power|Reset|#P1 Up|P1 Down|P1 Left|P1 Right|P1 A|P1 B|P1 C|P1 Start|P1 X|P1 Y|P1 Z|P1 Mode|"
    message = _error(_bk2(_log("|..|............|", "|..|.......|", key=key), "Platform GEN\n"))
    assert "line 4: expected 17 characters, found 12" in message


def test_unknown_mnemonic_stable_retro() -> None:
    frames = ["|..|............|"] * 54 + ["|..|....Q.......|"]
    message = _error(_bk2(_log(*frames)))
    assert "Input Log.txt line 57, column 9: 'Q' is not a mnemonic of P1 Right" in message


def test_unknown_mnemonic_bizhawk() -> None:
    key = "LogKey:#Power|Reset|#P1 Up|P1 Down|P1 Left|P1 Right|P1 A|P1 B|P1 C|P1 Start|P1 X|P1 Y|P1 Z|P1 Mode|"
    message = _error(_bk2(_log("|..|Q...........|", key=key), "Platform GEN\n"))
    assert "line 3, column 5: 'Q' is not a mnemonic of P1 Up (expected 'U' or '.')" in message


def test_non_ascii_in_frames() -> None:
    assert "'\\xc3' is not a mnemonic" in _error(_bk2(_log("|..|é..........|")))


def test_logkey_of_another_system() -> None:
    key = "LogKey:#Reset|Power|#P1 Up|P1 Down|P1 Left|P1 Right|P1 Select|P1 Start|P1 Y|P1 B|P1 X|P1 A|P1 L|P1 R|"
    message = _error(_bk2(_log("|..|............|", key=key), "Platform GEN\n"))
    assert "LogKey names button 'Select' which system Genesis does not have" in message


def test_unprefixed_pad_button_is_not_a_console_control() -> None:
    key = "LogKey:#Up|Down|Left|Right|Start|Select|B|A|Power|"
    message = _error(_bk2(_log("|.........|", key=key), "Platform GEN\n"))
    assert "LogKey names button 'Up' without a player prefix, which system Genesis does not have" in message


def test_too_many_players() -> None:
    key = GENESIS_KEY + GENESIS_KEY.replace("P1", "P3")
    assert "names player 3, but Genesis has players 1 to 2" in _error(_bk2(_log(key=key)))


def test_unknown_platform_and_missing_platform() -> None:
    assert "unknown platform 'N64'" in _error(_bk2(_log(), "Platform N64\n"))
    assert "no Platform line" in _error(_bk2(_log(), "MovieVersion Retro\n"))


def test_bad_utf8_header() -> None:
    assert "Header.txt is not valid UTF-8" in _error(_bk2(_log(), b"Platform \xff\xfe\n"))


def test_bad_zstd_state() -> None:
    data = _bk2(_log(), "Platform GEN\nStartsFromSavestate True\n", BizState__1_0=b"2\n", Core_bin=b"not zstd")
    assert "should be zstd-compressed" in _error(data)


def test_truncated_zstd_state() -> None:
    frame = zstandard.ZstdCompressor().compress(bytes(1000))[:-6]
    data = _bk2(_log(), "Platform GEN\nStartsFromSavestate True\n", BizState__1_0=b"2\n", Core_bin=frame)
    assert "not valid zstd" in _error(data)


def test_savestate_flag_without_core() -> None:
    key = "LogKey:#P1 Up|"
    assert "StartsFromSavestate is True but there is no Core.bin" in _error(
        _bk2(_log(key=key), "Platform PCE\nStartsFromSavestate True\n")
    )


def test_bad_retrotool_json() -> None:
    assert "retrotool.json is not valid JSON" in _error(_bk2(_log(), retrotool_json=b"{nope"))
    data = _bk2(_log(), retrotool_json=b'{"system": "Dreamcast"}')
    assert "unknown system 'Dreamcast'" in _error(data)


def test_deeply_nested_retrotool_json() -> None:
    nested = b'{"meta": {"a": ' + b"[" * 900 + b"]" * 900 + b"}}"
    assert "nests deeper than 64 levels" in _error(_bk2(_log(), retrotool_json=nested))


def test_garbage_key_line() -> None:
    assert "line 2: expected a key line" in _error(_bk2("[Input]\nhello\n|..|............|\n"))


def _bomb(size: int) -> bytes:
    """A zip whose Input Log.txt inflates to ``size`` zero bytes, written in streaming fashion."""
    buffer = io.BytesIO()
    chunk = bytes(1 << 24)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("Header.txt", "Platform GEN\n")
        with zf.open("Input Log.txt", "w", force_zip64=True) as entry:
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return buffer.getvalue()


def test_zip_bomb_is_refused_quickly_and_without_memory() -> None:
    data = _bomb(1 << 30)
    assert len(data) < 8 << 20
    tracemalloc.start()
    started = time.perf_counter()
    message = _error(data)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "over the 536870912 byte limit" in message
    assert elapsed < 2 and peak < 64 << 20


def test_lying_sizes_are_checked_on_actual_bytes() -> None:
    data = bytearray(_bk2(_log("|..|............|"), "Platform GEN\n" + "x" * 5000))
    # shrink the declared size of Header.txt in the central directory: zipfile then fails its CRC
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    message = _error(bytes(data))
    assert "damaged" in message or "Header" in message


def test_output_exists(tmp_path: Path) -> None:
    target = tmp_path / "m.bk2"
    target.write_bytes(b"keep")
    m = Movie(system="Genesis", buttons=np.zeros((2, 1, 12), np.uint8), state=b"s")
    with pytest.raises(OutputExistsError, match=r"m\.bk2 already exists; pass --force to overwrite"):
        movie.write(m, target)
    assert target.read_bytes() == b"keep"
    movie.write(m, target, force=True)
    assert movie.read(target).state == b"s"
    assert os.listdir(tmp_path) == ["m.bk2"]


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    m = Movie(system="Genesis", buttons=np.zeros((2, 1, 12), np.uint8), state=b"s")
    with pytest.raises(RetroToolError, match=r"cannot write .*m\.bk2: No space left on device"):
        movie.write(m, tmp_path / "m.bk2")
    assert os.listdir(tmp_path) == []


def test_errors_before_writing_touch_nothing(tmp_path: Path) -> None:
    m = Movie(system="Genesis", buttons=np.zeros((2, 1, 12), np.uint8), state=b"s")
    with pytest.raises(MovieFormatError):
        movie.write(m, tmp_path / "m.bk2", dialect="bizhawk")
    assert os.listdir(tmp_path) == []
