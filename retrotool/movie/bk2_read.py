"""Read a .bk2 of either dialect (stable-retro's or BizHawk's) into a Movie.

Entries are found by name with or without extension, as BizHawk does. The system
comes from ``retrotool.json`` when present, else from ``Header.txt``'s Platform.
The start anchor follows each dialect's own rule: stable-retro replays any
``Core.bin`` (a libretro state); BizHawk only when ``StartsFromSavestate True``
(a BizHawk core state), otherwise BizHawk ignores its ``Core.bin`` and so do we.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from retrotool import systems
from retrotool.errors import MovieFormatError, UnknownSystemError
from retrotool.movie.convention import pressed_in_reset_row
from retrotool.movie.header import Header, parse_header
from retrotool.movie.inputlog import DecodedLog, decode_pieces, decode_stream
from retrotool.movie.keyframes import ENTRY as KEYFRAMES_ENTRY
from retrotool.movie.layout import Dialect
from retrotool.movie.model import MAX_CHECKPOINT_RAM, RAM_ENTRY, Movie, StateFormat
from retrotool.movie.schema import DOCUMENT_LIMIT, SchemaError, validate
from retrotool.movie.zipio import Archive, MiB, open_archive, zstd_decompress

__all__ = ["from_bytes", "read"]

log = logging.getLogger(__name__)

INPUT_LOG_LIMIT = 512 * MiB
STATE_LIMIT = 64 * MiB
SMALL_LIMIT = 1 * MiB
EXTRA_LIMIT = 64 * MiB
EXTRAS_TOTAL_LIMIT = 256 * MiB
MAX_META_DEPTH = 64  # retrotool's own meta is shallow; deeper data would only exhaust the stack
_VERSION = re.compile(rb"[0-9]{1,4}")

_LUMPS = {
    "Input Log.txt": "input",
    "Input Log": "input",
    "Header.txt": "header",
    "Header": "header",
    "Core.bin": "core",
    "Core": "core",
    "Core.bin.zst": "core",
    "BizState 1.0": "bizstate",
    "BizZip 1.0": "bizzip",
    "retrotool.json": "retrotool",
}


@dataclass(frozen=True, slots=True)
class _Entries:
    """Entry names by role; ``extras`` are kept verbatim."""

    lumps: Mapping[str, str]
    extras: tuple[str, ...]


def _classify(names: tuple[str, ...]) -> _Entries:
    lumps: dict[str, str] = {}
    extras: list[str] = []
    for name in names:
        role = _LUMPS.get(name)
        if role is None or role in lumps:
            extras.append(name)
        else:
            lumps[role] = name
    return _Entries(lumps, tuple(extras))


def _small_text(archive: Archive, entries: _Entries, role: str, limit: int = SMALL_LIMIT) -> bytes | None:
    name = entries.lumps.get(role)
    return None if name is None else archive.read(name, limit)


def _zip_version(archive: Archive, entries: _Entries) -> int:
    """BizHawk's zip version tag; binary lumps are zstd streams when it is above 1."""
    for role in ("bizzip", "bizstate"):
        raw = _small_text(archive, entries, role)
        if raw is not None:
            text = raw.strip()
            if not _VERSION.fullmatch(text):  # ASCII digits only: str.isdigit() also takes '²'
                shown = text[:20].decode("utf-8", "replace")
                raise MovieFormatError(f"{archive.label}: {entries.lumps[role]!r} holds {shown!r}, not a version number")
            return int(text)
    return 0


def _retrotool_doc(archive: Archive, entries: _Entries) -> dict[str, Any]:
    """retrotool.json, parsed and checked against the schema (schema.py) as a whole."""
    raw = _small_text(archive, entries, "retrotool", DOCUMENT_LIMIT)
    if raw is None:
        return {}
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MovieFormatError(f"{archive.label}: retrotool.json is not valid JSON ({exc})") from exc
    if _depth(doc) > MAX_META_DEPTH:
        raise MovieFormatError(f"{archive.label}: retrotool.json nests deeper than {MAX_META_DEPTH} levels")
    try:
        validate(doc)
    except SchemaError as exc:
        raise MovieFormatError(f"{archive.label}: retrotool.json {exc}") from exc
    result: dict[str, Any] = doc
    return result


def _depth(value: Any) -> int:
    """Nesting depth of JSON data, measured without recursion (the data is untrusted)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _system(label: str, header: Header, doc: dict[str, Any]) -> systems.System:
    platform = next((v for k, v in header if k == "Platform"), None)
    try:
        if doc.get("system"):
            return systems.get(doc["system"])
        if platform is not None:
            return systems.from_platform(platform)
    except UnknownSystemError as exc:
        raise MovieFormatError(f"{label}: {exc}") from exc
    raise MovieFormatError(f"{label}: Header.txt has no Platform line, so the movie's system is unknown")


def _state(archive: Archive, entries: _Entries, header: Header, dialect: Dialect) -> tuple[bytes | None, StateFormat]:
    """The start state and its kind, per the dialect's anchoring rule."""
    name = entries.lumps.get("core")
    if dialect == "bizhawk":
        starts = next((v for k, v in header if k == "StartsFromSavestate"), "").strip().lower() == "true"
        if not starts:
            if name is not None:
                log.info("%s: ignoring %r because StartsFromSavestate is not True", archive.label, name)
            return None, "libretro"
        if name is None:
            raise MovieFormatError(f"{archive.label}: StartsFromSavestate is True but there is no Core.bin entry")
    if name is None:
        return None, "libretro"
    data = archive.read(name, STATE_LIMIT)
    if _zip_version(archive, entries) > 1 or name.endswith(".zst"):
        data = zstd_decompress(data, STATE_LIMIT, f"{archive.label}: entry {name!r}")
    return data, "bizhawk" if dialect == "bizhawk" else "libretro"


def _extras(archive: Archive, entries: _Entries, meta: Mapping[str, Any]) -> tuple[tuple[str, bytes], ...]:
    """Other entries, verbatim. retrotool's own grow with the movie, so their bound is what its meta lists.

    The checkpoint RAMs take at most MAX_CHECKPOINT_RAM per checkpoint listed
    (a five-hour Genesis movie's are 118 MB: a fixed cap refused movies we
    wrote), the keyframes exactly the compressed sizes their index lists;
    anything else shares EXTRAS_TOTAL_LIMIT.
    """
    sized = {RAM_ENTRY: len(meta.get("checkpoints", ())) * MAX_CHECKPOINT_RAM,
             KEYFRAMES_ENTRY: sum(meta.get("keyframes", {}).get("sizes", ()))}
    result = []
    total = 0
    for name in entries.extras:
        data = archive.read(name, max(sized.get(name, 0), EXTRA_LIMIT))
        total += len(data) if name not in sized else 0
        if total > EXTRAS_TOTAL_LIMIT:
            raise MovieFormatError(f"{archive.label}: extra entries exceed {EXTRAS_TOTAL_LIMIT} bytes in total")
        result.append((name, data))
    return tuple(result)


def _input_log(archive: Archive, entries: _Entries, system: systems.System, header: Header) -> DecodedLog:
    name = entries.lumps.get("input")
    if name is None:
        raise MovieFormatError(f"{archive.label} has no 'Input Log.txt' entry; is it a .bk2 movie?")
    version = next((v for k, v in header if k == "MovieVersion"), "")
    default: Dialect = "stable-retro" if version.startswith("Retro") else "bizhawk"
    with contextlib.closing(archive.pieces(name, INPUT_LOG_LIMIT)) as pieces:
        decoded = decode_stream(pieces, archive.size(name), system, default)
    if decoded is None:  # irregular or malformed: inflated again for the decoder that reads any shape
        with contextlib.closing(archive.pieces(name, INPUT_LOG_LIMIT)) as pieces:
            try:
                decoded = decode_pieces(pieces, system, default)
            except MovieFormatError as exc:
                raise MovieFormatError(f"{archive.label}: {exc}") from exc
    return decoded


def _read_archive(archive: Archive) -> Movie:
    entries = _classify(archive.names)
    if "input" not in entries.lumps:
        raise MovieFormatError(f"{archive.label} has no 'Input Log.txt' entry; is it a .bk2 movie?")
    raw_header = _small_text(archive, entries, "header")
    try:
        header = parse_header(raw_header) if raw_header is not None else ()
    except MovieFormatError as exc:
        raise MovieFormatError(f"{archive.label}: {exc}") from exc
    doc = _retrotool_doc(archive, entries)
    system = _system(archive.label, header, doc)
    decoded = _input_log(archive, entries, system, header)
    state, state_format = _state(archive, entries, header, decoded.layout.dialect)
    if decoded.buttons.shape[0] == 0:  # checked last: any other problem of the file is the one to tell
        raise MovieFormatError(f"{archive.label}: {entries.lumps['input']!r} holds no frames (no line starting with '|')")
    if any(k == "StartsFromSaveRam" and v.strip().lower() == "true" for k, v in header):
        log.warning("%s starts from SaveRAM, which retrotool does not model; it replays from power-on", archive.label)
    movie = Movie(
        system=system.name,
        buttons=decoded.buttons,
        header=header,
        state=state,
        state_format=state_format,
        convention=decoded.layout.dialect,
        console=decoded.console,
        console_names=decoded.layout.console_names,
        extras=_extras(archive, entries, doc.get("meta", {})),
        meta=doc.get("meta", {}),
        _owned=True,
    )
    if pressed_in_reset_row(movie):
        log.warning(
            "%s: row 0 holds buttons, but it is the frame stable-retro's reset() runs, which never applies them; "
            "retrotool replays it released, as stable-retro does", archive.label,
        )
    return movie


def read(source: str | os.PathLike[str] | bytes) -> Movie:
    """Read a .bk2 from a path (or from bytes); any problem is a MovieFormatError naming the file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return from_bytes(bytes(source))
    with open_archive(source, os.fspath(source)) as archive:
        return _read_archive(archive)


def from_bytes(data: bytes, label: str = "<movie bytes>") -> Movie:
    """Read a .bk2 held in memory; ``label`` names it in error messages."""
    with open_archive(bytes(data), label) as archive:
        return _read_archive(archive)
