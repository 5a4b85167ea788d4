"""Write the golden .bk2 files in this folder from hand-written text (formats.md grammar).

They are built with plain zipfile, never with retrotool's writer, so the reader is
tested against files shaped like the real tools' output. ``test_movie_golden.py``
checks that this script still reproduces the committed files byte for byte.

    python tests/data/movies/make_golden.py [OUTPUT_DIR]
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import zstandard

EPOCH = (1980, 1, 1, 0, 0, 0)
CORE_LIBRETRO = b"GENPLUS-GX 1.7.5" + bytes(range(48))
CORE_BIZHAWK = b"BizHawk GPGX core state " + bytes(range(40))

GENESIS_SR_LOG = (
    "[Input]\n"
    "P1 Z|P1 X|P1 Y|P1 C|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Mode|P1 A|P1 B|\n"
    "|..|............|\n"
    "|..|...C..D.....|\n"
    "|..|ZXYCRLDUSMAB|\n"
    "|..|.......U...B|\n"
    "[/Input]"
)
GENESIS_SR_HEADER = (
    "MovieVersion Retro\nAuthor ?\nemuVersion ?\nPlatform GEN\n"
    "GameName Airstriker-Genesis-v0\nSHA1 ?\nCore ?\nrerecordCount 1\n"
)
BIZHAWK_KEY = "LogKey:#Reset|Power|#P1 Up|P1 Down|P1 Left|P1 Right|P1 A|P1 B|P1 C|P1 Start|P1 X|P1 Y|P1 Z|P1 Mode|"
BIZHAWK_LOG = "\r\n".join(
    ["[Input]", BIZHAWK_KEY, "|..|............|", "|r.|U..R.B......|", "|..|...........M|", "[/Input]", ""]
)
BIZHAWK_HEADER = "\r\n".join(
    [
        "MovieVersion BizHawk v2.0.0",
        "emuVersion Version 2.9.1",
        "Platform GEN",
        "GameName Sonic The Hedgehog (W) (REV01)",
        "Author someone",
        "",
        "rerecordCount 42",
        "StartsFromSavestate True",
        "Core Genplus-gx",
        "SHA1 69E102855D4389C3FD1A8F3DC7D193F8EEE5FE5B",
        "Platform NES",
        "",
    ]
)
OLD_GB_LOG = (
    "[Input]\nLogKey:#Up|Down|Left|Right|Start|Select|B|A|Power|#\n"
    "|.........||\n|UDLRSsBA.||\n|....S....||\n|........P||\n[/Input]\n"
)
GBA_LOG = (
    "[Input]\nLogKey:#Tilt X|Tilt Y|Tilt Z|Light Sensor|Up|Down|Left|Right|Start|Select|B|A|L|R|Power|\n"
    "|    0,    0,    0,    0,...........|\n"
    "|-1234,   12,    0,  255,U.........P|\n"
    "|-32768,    7,    0,    0,......BAlr.|\n"
    "[/Input]\n"
)
SNES_TWO_PLAYER_LOG = (
    "[Input]\n"
    "P1 R|P1 L|P1 X|P1 A|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Select|P1 Y|P1 B|"
    "P2 R|P2 L|P2 X|P2 A|P2 Right|P2 Left|P2 Down|P2 Up|P2 Start|P2 Select|P2 Y|P2 B|\n"
    "|..|............|............|\n"
    "|..|r.........YB|.l.A........|\n"
    "|..|...A........|rlXARLDUSsYB|\n"
    "[/Input]"
)
NO_KEY_NES_LOG = "[Input]\n|..|........|\n|.P|UDLRSsBA|\n|r.|.....s..|\n[/Input]\n"


def _zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.compress_type = method
            zf.writestr(info, data)
    return buffer.getvalue()


def _text(name: str, text: str, bom: bool = False) -> tuple[str, bytes, int]:
    return name, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"), zipfile.ZIP_DEFLATED


def golden_files() -> dict[str, bytes]:
    """File name → bytes of every golden movie."""
    zstd = zstandard.ZstdCompressor(level=3).compress
    return {
        "sr_genesis.bk2": _zip(
            [
                _text("Input Log.txt", GENESIS_SR_LOG),
                _text("Header.txt", GENESIS_SR_HEADER),
                ("Core.bin", CORE_LIBRETRO, zipfile.ZIP_DEFLATED),
            ]
        ),
        "bizhawk_windows_genesis.bk2": _zip(
            [
                ("BizState 1.0", b"2\r\n", zipfile.ZIP_STORED),
                _text("BizVersion.txt", "Version 2.9.1\r\n"),
                _text("Header.txt", BIZHAWK_HEADER),
                _text("Comments.txt", "\r\n"),
                _text("Subtitles.txt", "\r\n"),
                _text("SyncSettings.json", '{"o":{}}\r\n'),
                _text("Input Log.txt", BIZHAWK_LOG, bom=True),
                ("Core.bin", zstd(CORE_BIZHAWK), zipfile.ZIP_STORED),
            ]
        ),
        "bizhawk_old_gb.bk2": _zip(
            [_text("Header.txt", "MovieVersion BizHawk v1.0.0\nPlatform GB\n"), _text("Input Log.txt", OLD_GB_LOG)]
        ),
        "bizhawk_gba_axes.bk2": _zip(
            [_text("Header.txt", "MovieVersion BizHawk v2.0.0\nPlatform GBA\n"), _text("Input Log.txt", GBA_LOG)]
        ),
        "sr_snes_two_players.bk2": _zip(
            [
                _text("Input Log.txt", SNES_TWO_PLAYER_LOG),
                _text("Header.txt", GENESIS_SR_HEADER.replace("GEN", "SNES")),
                ("Core.bin", b"#!s9xsnp:0009" + bytes(20), zipfile.ZIP_DEFLATED),
            ]
        ),
        "bizhawk_no_keyline_nes.bk2": _zip(
            [_text("Header.txt", "MovieVersion BizHawk v2.0.0\nPlatform NES\n"), _text("Input Log.txt", NO_KEY_NES_LOG)]
        ),
    }


def main() -> None:
    """Write the files into the given folder (default: this script's folder)."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    for name, data in golden_files().items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
