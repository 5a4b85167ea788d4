"""Write a Movie as a .bk2 in stable-retro's dialect (default) or BizHawk's.

The stable-retro dialect copies what stable-retro itself writes, byte for byte
where it matters: entries ``Input Log.txt``, ``Header.txt``, ``Core.bin`` (all
deflate), the eight header lines, a key line without ``LogKey:`` in descending
joypad-id order, ``|..|`` before the player groups, LF, no final newline. Buttons
stable-retro does not record get extra columns at the end of each player group,
with characters stable-retro ignores, so nothing is lost for retrotool while
stable-retro still plays the file. Then come ``retrotool.json`` and the extras.

Headers are normalised for the dialect (see ``header.py``), so
``read(to_bytes(m)) == m`` holds for any movie whose header is already in that
form, e.g. one returned by ``read`` of a file written in the same dialect.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os

import numpy as np

from retrotool import outputs, systems
from retrotool.errors import MovieFormatError
from retrotool.movie import convention, schema
from retrotool.movie.header import bizhawk_header, format_header, sr_header
from retrotool.movie.inputlog import EncodedLog
from retrotool.movie.layout import SR_CONSOLE, Dialect, bizhawk_layout, sr_layout
from retrotool.movie.model import Movie
from retrotool.movie.zipio import ZipEntry, write_zip, zstd_compress

__all__ = ["to_bytes", "unrecorded_presses", "write"]

log = logging.getLogger(__name__)

SR_MAX_PLAYERS = 2  # stable-retro's MAX_PLAYERS; more overruns its key array
BIZHAWK_ZIP_VERSION = b"2\n"  # zip version 1.0.2: binary lumps are zstd streams
_RESERVED = frozenset(
    {"Input Log.txt", "Input Log", "Header.txt", "Header", "Core.bin", "Core", "Core.bin.zst"}
    | {"BizState 1.0", "BizZip 1.0", "retrotool.json"}
)


def _retrotool_json(movie: Movie, shift: int) -> ZipEntry:
    """The document the reader will check against the same schema: what it would refuse is not written."""
    doc = {"format": 1, "system": movie.system, "meta": convention.shift_checkpoints(movie.meta_json(), shift)}
    try:
        schema.validate(doc)
    except schema.SchemaError as exc:
        raise MovieFormatError(f"cannot write this movie's retrotool.json: {exc}") from exc
    data = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    if len(data) > schema.DOCUMENT_LIMIT:
        raise MovieFormatError(
            f"this movie's retrotool.json would be {len(data)} bytes, over the {schema.DOCUMENT_LIMIT} a reader "
            f"accepts ({len(movie.meta.get('checkpoints', ()))} checkpoints): record with fewer checkpoints"
        )
    return ZipEntry("retrotool.json", data)


def _extras(movie: Movie) -> list[ZipEntry]:
    clashes = sorted({name for name, _ in movie.extras} & _RESERVED)
    if clashes:
        raise MovieFormatError(f"extra entries {clashes} clash with entries the .bk2 writer makes itself")
    return [ZipEntry(name, data) for name, data in movie.extras]


def _stable_retro(movie: Movie, system: systems.System) -> tuple[list[ZipEntry], int]:
    rows = convention.rows(movie, "stable-retro")
    if rows.release_first:
        log.warning("row 0 is stable-retro's reset frame, which applies no buttons: writing it released")
    for button, player, frame in unrecorded_presses(movie, system):
        log.warning("stable-retro's movies cannot hold %s (player %d, first held in frame %d): stable-retro will "
                    "replay this movie without it and may desync", button, player + 1, frame)
    if movie.players > SR_MAX_PLAYERS:
        raise MovieFormatError(
            f"stable-retro replays at most {SR_MAX_PLAYERS} players; this movie has {movie.players} "
            "(write it with dialect='bizhawk')"
        )
    if movie.state is not None and movie.state_format == "bizhawk":
        raise MovieFormatError(
            "stable-retro cannot load a BizHawk core state; replace the movie's state with a libretro state first"
        )
    if movie.state is None and system.stable_retro:
        log.warning("writing a power-on movie without Core.bin: stable-retro refuses to load movies without one")
    dropped = [n for n in movie.console_names if n not in SR_CONSOLE]
    if dropped:
        log.warning("the stable-retro dialect has no column for console controls %s; presses are dropped", dropped)
    log_text = EncodedLog(
        sr_layout(system, movie.players), rows.buttons, rows.console, movie.console_names, rows.lead, rows.release_first
    )
    entries = [
        ZipEntry("Input Log.txt", log_text),
        ZipEntry("Header.txt", format_header(sr_header(movie.header, system))),
    ]
    if movie.state is not None:
        entries.append(ZipEntry("Core.bin", movie.state))
    return entries, rows.shift


def _bizhawk(movie: Movie, system: systems.System) -> tuple[list[ZipEntry], int]:
    rows = convention.rows(movie, "bizhawk")
    if movie.state is not None and movie.state_format == "libretro":
        raise MovieFormatError(
            "BizHawk cannot load libretro states, so a savestate-anchored movie cannot be written for BizHawk; "
            "only power-on movies (state=None) or BizHawk core states can"
        )
    layout = bizhawk_layout(system, movie.players, movie.console_names)
    entries = [
        ZipEntry("BizState 1.0", BIZHAWK_ZIP_VERSION),
        ZipEntry("Header.txt", format_header(bizhawk_header(movie.header, system, movie.state is not None))),
        ZipEntry("Input Log.txt", EncodedLog(
            layout, rows.buttons, rows.console, movie.console_names, rows.lead, rows.release_first
        )),
    ]
    if movie.state is not None:
        entries.append(ZipEntry("Core.bin", zstd_compress(movie.state), stored=True))
    return entries, rows.shift


def unrecorded_presses(movie: Movie, system: systems.System) -> list[tuple[str, int, int]]:
    """(button, player, first frame) of each held button stable-retro's movies drop (SMS Pause, 2600 Reset, ...)."""
    found: list[tuple[str, int, int]] = []
    if not system.stable_retro:
        return found
    for i, info in enumerate(system.button_info):
        if info.sr_recorded:
            continue
        for player in range(movie.players):
            held = np.flatnonzero(movie.buttons[:, player, i])
            if held.size:
                found.append((info.name, player, int(held[0])))
    return found


def _entries(movie: Movie, dialect: Dialect) -> list[ZipEntry]:
    """Every entry of the file, checked before anything is written; the input log is made as it is written."""
    system = systems.get(movie.system)
    if movie.frames == 0:
        raise MovieFormatError("a movie without frames cannot be written: readers refuse an input log with no frames")
    if dialect == "stable-retro":
        entries, shift = _stable_retro(movie, system)
    elif dialect == "bizhawk":
        entries, shift = _bizhawk(movie, system)
    else:
        raise ValueError(f"dialect must be 'stable-retro' or 'bizhawk', not {dialect!r}")
    return [*entries, _retrotool_json(movie, shift), *_extras(movie)]


def to_bytes(movie: Movie, dialect: Dialect = "stable-retro") -> bytes:
    """The .bk2 file for ``movie`` in ``dialect``, as bytes (deterministic for equal movies)."""
    buffer = io.BytesIO()
    write_zip(_entries(movie, dialect), buffer)
    return buffer.getvalue()


def write(
    movie: Movie, path: str | os.PathLike[str], *, dialect: Dialect = "stable-retro", force: bool = False
) -> None:
    """Write ``movie`` to ``path`` atomically; an existing file is replaced only with ``force``."""
    outputs.write_atomic(path, functools.partial(write_zip, _entries(movie, dialect)), force=force)
