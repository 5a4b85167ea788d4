"""``Header.txt``: ``key value`` lines, parsed leniently and written per dialect."""

from __future__ import annotations

from collections.abc import Iterable

from retrotool.errors import MovieFormatError
from retrotool.systems import System

__all__ = ["Header", "bizhawk_header", "format_header", "parse_header", "sr_header"]

Header = tuple[tuple[str, str], ...]

BIZHAWK_MOVIE_VERSION = "BizHawk v2.0.0"
_BIZHAWK_OWN_KEYS = frozenset({"MovieVersion", "Platform", "StartsFromSavestate"})


def parse_header(text: bytes) -> Header:
    """Pairs in file order, as BizHawk reads them: split on the first space, first occurrence wins.

    Unlike stable-retro, a blank line does not end the header; lines without a value
    are skipped.
    """
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MovieFormatError(f"Header.txt is not valid UTF-8 (byte {exc.start}: {exc.reason})") from exc
    pairs: dict[str, str] = {}
    for line in decoded.replace("\r", "").split("\n"):
        key, _, value = line.partition(" ")
        if key and value:
            pairs.setdefault(key, value)
    return tuple(pairs.items())


def _value(header: Header, key: str, default: str) -> str:
    return next((v for k, v in header if k == key and v), default)


def sr_header(header: Header, system: System) -> Header:
    """The eight lines stable-retro writes, in its order.

    ``Platform`` comes from the system; ``GameName`` (which stable-retro's player passes
    to ``retro.make``, so it should be an installed integration name), ``Author``,
    ``emuVersion``, ``SHA1``, ``Core`` and ``rerecordCount`` are kept from ``header``
    when present, else stable-retro's placeholders ``?`` and ``1``.
    """
    return (
        ("MovieVersion", "Retro"),
        ("Author", _value(header, "Author", "?")),
        ("emuVersion", _value(header, "emuVersion", "?")),
        ("Platform", system.sr_platform),
        ("GameName", _value(header, "GameName", "?")),
        ("SHA1", _value(header, "SHA1", "?")),
        ("Core", _value(header, "Core", "?")),
        ("rerecordCount", _value(header, "rerecordCount", "1")),
    )


def bizhawk_header(header: Header, system: System, with_state: bool) -> Header:
    """BizHawk's version and platform first, the other keys kept (minus ``?`` placeholders)."""
    kept = tuple((k, v) for k, v in header if k not in _BIZHAWK_OWN_KEYS and v != "?")
    anchor = (("StartsFromSavestate", "True"),) if with_state else ()
    return (("MovieVersion", BIZHAWK_MOVIE_VERSION), ("Platform", system.bizhawk_platform), *kept, *anchor)


def format_header(pairs: Iterable[tuple[str, str]]) -> bytes:
    """``key value`` lines, LF-terminated; refuses pairs that would not read back the same."""
    lines = []
    for key, value in pairs:
        if not key or any(c in key for c in " \r\n") or not value or any(c in value for c in "\r\n"):
            raise MovieFormatError(f"header pair ({key!r}, {value!r}) cannot be written to Header.txt")
        lines.append(f"{key} {value}\n")
    return "".join(lines).encode("utf-8")
