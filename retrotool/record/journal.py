"""The journal: a recording written to disk as it is played, so a crash loses at most a second.

A journal is an append-only text file. Its first two lines say what is
recorded (a magic line, then one JSON object: system, core, ROM SHA-1 and
name, game, start state in base64, core options, players, checkpoint
interval, rerecords so far); after that, one line per event:

    0010 0000                  a frame's input: libretro joypad masks, hex, one per player
    c 600 <ram> <screen>       a checkpoint: SHA-256 of RAM and screen after frame 600
    t 1234                     a savestate was loaded: the movie goes back to 1234 frames

Every line is flushed to the operating system as soon as it is written (a
killed process loses nothing) and a background thread fsyncs the file
every second (a power cut loses at most that second). A reader ignores a
last line cut short by the crash.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from retrotool import outputs
from retrotool.emulator import Emulator
from retrotool.errors import MovieFormatError, OutputExistsError, RetroToolError
from retrotool.movie import Checkpoint

MAGIC = "retrotool journal 1"
SYNC_SECONDS = 1.0


def header(
    emulator: Emulator, *, game: str, options: dict[str, str], players: int, checkpoint_every: int, rerecords: int,
) -> dict[str, Any]:
    """What a journal's second line says about the recording (all `recover` needs besides the rows)."""
    rom = emulator.rom.path
    return {
        "system": emulator.system.name if emulator.system is not None else "?", "core": emulator.core.name,
        "core_version": emulator.core_version, "content_sha1": emulator.content_sha1,
        "rom_name": rom.name if rom is not None else game, "rom_path": str(rom.resolve()) if rom is not None else "",
        "game": game, "options": options, "players": players, "checkpoint_every": checkpoint_every,
        "fps": emulator.av_info.fps, "rerecords": rerecords,
    }


def journal_path(movie: Path) -> Path:
    """Where the journal of a movie being recorded lives: beside it."""
    return movie.with_name(movie.name + ".journal")


def _create(path: Path, header: dict[str, Any], state: bytes | None, force: bool) -> IO[str]:
    """The journal, open for writing after its two header lines.

    The header is written under a temporary name and the file moved into
    place, so nobody (a reader polling for the journal, `--recover` after a
    crash) ever sees a journal without its header; without force the move
    refuses to replace a journal that appeared meanwhile.
    """
    doc = {**header, "state": None if state is None else base64.b64encode(state).decode("ascii")}
    tmp = outputs.temp_name(path)
    try:
        file = open(tmp, "x", encoding="ascii", newline="\n")
        try:
            file.write(f"{MAGIC}\n{json.dumps(doc, separators=(',', ':'))}\n")
            file.flush()
            outputs.commit(tmp, path, force)
        except BaseException:
            file.close()
            raise
        finally:
            outputs.discard(tmp)
    except OutputExistsError:
        raise _exists(path) from None
    except OSError as e:
        raise RetroToolError(f"cannot write the journal {path}: {e.strerror}") from None
    return file


def _exists(path: Path) -> OutputExistsError:
    return OutputExistsError(
        f"{path} exists: an unfinished recording? Turn it into a movie with "
        f"`retrotool record --recover {path}`, or pass --force to overwrite it"
    )


class Journal:
    """Writes a journal (see the module docstring); use as a context manager."""

    def __init__(self, path: Path, header: dict[str, Any], state: bytes | None, *, force: bool = False) -> None:
        if path.exists() and not force:
            raise _exists(path)
        self.path = path
        self._file: IO[str] = _create(path, header, state, force)
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_every_second, name="journal-fsync", daemon=True)
        self._syncer.start()

    def rows(self, masks: np.ndarray) -> None:
        self._write("".join(" ".join(f"{int(m):04x}" for m in row) + "\n" for row in masks))

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        self._write(f"c {checkpoint.frame} {checkpoint.ram_sha256} {checkpoint.screen_sha256}\n")

    def truncate(self, frames: int) -> None:
        self._write(f"t {frames}\n")

    def _write(self, text: str) -> None:
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as e:
            raise RetroToolError(f"cannot write the journal {self.path}: {e.strerror}") from None

    def _sync_every_second(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            try:
                os.fsync(self._file.fileno())
            except (OSError, ValueError):  # closed meanwhile
                return

    def close(self) -> None:
        """Flush, sync and close; the file stays until the movie is safely written."""
        if self._file.closed:
            return
        self._stop.set()
        self._syncer.join()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Recording:
    """What a journal holds, with every cut applied."""

    header: dict[str, Any]
    state: bytes | None
    masks: np.ndarray  # uint16 [frames, players]
    checkpoints: tuple[Checkpoint, ...]
    rerecords: int  # the header's count plus the cuts in the journal
    torn: bool  # the last line was cut short (the recorder was killed while writing it)


def read(path: Path) -> Recording:
    """Parse a journal; a damaged line other than the last is an error naming it."""
    try:
        text = path.read_text(encoding="ascii")
    except OSError as e:
        raise RetroToolError(f"cannot read the journal {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise MovieFormatError(f"{path} is not a retrotool journal (byte {e.start} is not text)") from None
    lines = text.split("\n")
    torn = lines[-1] != ""  # a complete file ends with a newline
    lines = lines[:-1]
    if len(lines) < 2 or lines[0] != MAGIC:
        raise MovieFormatError(f"{path} is not a retrotool journal (it must start with {MAGIC!r})")
    try:
        header = json.loads(lines[1])
        state = None if header.get("state") is None else base64.b64decode(header.pop("state"))
        players = int(header["players"])
    except (ValueError, KeyError, TypeError) as e:
        raise MovieFormatError(f"{path}, line 2: the journal's header is damaged ({e})") from None
    rows, checkpoints, cuts = _events(path, lines, players)
    masks = np.array(rows, np.uint16).reshape(len(rows), players)
    return Recording(header, state, masks, tuple(checkpoints), int(header.get("rerecords", 0)) + cuts, torn)


def _events(path: Path, lines: list[str], players: int) -> tuple[list[list[int]], list[Checkpoint], int]:
    rows: list[list[int]] = []
    checkpoints: list[Checkpoint] = []
    cuts = 0
    for number, line in enumerate(lines[2:], start=3):
        kind, _, rest = line.partition(" ")
        try:
            if kind == "c":
                frame, ram, screen = rest.split(" ")
                checkpoints.append(Checkpoint(int(frame), ram, screen))
            elif kind == "t":
                frames = int(rest)
                if not 0 <= frames <= len(rows):
                    raise ValueError(f"cut to {frames} frames, but only {len(rows)} were recorded")
                del rows[frames:]
                checkpoints = [c for c in checkpoints if c.frame < frames]
                cuts += 1
            else:
                row = [int(m, 16) for m in line.split(" ")]
                if len(row) != players:
                    raise ValueError(f"{len(row)} masks for {players} players")
                rows.append(row)
        except ValueError as e:
            raise MovieFormatError(f"{path}, line {number}: damaged journal line {line[:40]!r} ({e})") from None
    return rows, checkpoints, cuts
