"""`retrotool record --recover JOURNAL`: the journal of a session that died becomes its movie.

The journal holds every row and the checkpoints taken while playing; the
movie is recorded again from those rows (a scripted recording) and must
replay to the same checkpoints, or the recovery says where it differs.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrotool import games, movie as bk2, paths, systems
from retrotool.errors import ContentError, DesyncError, RetroToolError
from retrotool.record import journal as journals, scripted
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recovered:
    movie: Path
    frames: int
    rerecords: int
    checkpoints: int  # live checkpoints the replay matched
    torn: bool  # the journal's last line was cut short


def recover(
    path: Path, out: Path | None = None, *, core: str | Path | None = None, rom: Path | None = None, force: bool = False,
) -> Recovered:
    """Turn a journal into a movie, replaying it to check it against the checkpoints taken live."""
    rec = journals.read(path)
    header = rec.header
    if not len(rec.masks):
        raise RetroToolError(f"{path} holds no frames: there is nothing to recover")
    system = systems.get(str(header["system"]))
    target = out or (path.with_name(path.name[: -len(".journal")]) if path.name.endswith(".journal") else path.with_suffix(".bk2"))
    scripted.record(
        system=system, core=core or _journal_core(header), rom=_journal_rom(path, header, rom),
        buttons=system.from_masks(rec.masks), out=target, start=rec.state,
        checkpoint_every=int(header.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY)),
        options=dict(header.get("options") or {}), force=force, game=str(header.get("game") or "?"),
        rerecords=rec.rerecords,
    )
    replayed = {c.frame: c for c in bk2.read(target).checkpoints}
    matched = 0
    for played in rec.checkpoints:
        again = replayed.get(played.frame)
        if again is None:
            continue
        if again != played:
            raise DesyncError(
                f"{path}: the replay differs from the recorded play at frame {played.frame} "
                f"(matched {matched} checkpoints before); the movie was written anyway to {target}"
            )
        matched += 1
    return Recovered(target, len(rec.masks), rec.rerecords, matched, rec.torn)


def _journal_core(header: dict[str, Any]) -> str | None:
    """The core the journal names: a name, looked up where cores are installed; a path in a file is never loaded."""
    named = header.get("core")
    if named is not None and not paths.is_core_name(named):
        log.warning("ignoring the core %r the journal names: a file may name a core, not a path", str(named)[:80])
        return None
    return str(named) if named is not None else None


def _journal_rom(path: Path, header: dict[str, Any], rom: Path | None) -> Path:
    """The ROM the journal was recorded with: --rom, the path it names, or its game's."""
    candidate = rom or Path(str(header.get("rom_path", "")))
    if not candidate.is_file():
        game = header.get("game")
        found = None
        with contextlib.suppress(ContentError):
            found = games.find(str(game)).rom() if game else None
        if found is None:
            raise ContentError(f"{path} was recorded with the ROM {header.get('rom_path')}, which is gone; pass --rom PATH")
        candidate = found
    sha1, _ = games.file_sha1s(candidate)
    if sha1 != header.get("content_sha1"):
        raise ContentError(f"wrong ROM {candidate}: {path} was recorded with SHA-1 {header.get('content_sha1')}, this is {sha1}")
    return candidate
