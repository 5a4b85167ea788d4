"""The jobs behind `retrotool record` when a person plays, and behind `--recover`.

A live recording opens the game at its start (or at a frame of an existing
movie), journals every frame to disk while the person plays in a window,
then writes the movie with its checkpoints and verifies it by replaying it
in a fresh emulator; only then is the journal deleted. If anything goes
wrong on the way, the journal stays and `recover` turns it into the movie.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrotool import cores, games, jobs, movie as bk2, outputs, systems
from retrotool.emulator import Emulator
from retrotool.errors import ContentError, DesyncError, RetroToolError
from retrotool.record import journal as journals, keys, live
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, MovieBuilder
from retrotool.record.take import Take
from retrotool.replay import ArraySource, load_start

NO_DISPLAY = (
    "no display for the recorder's window ({why}); record without one from a script: "
    "`retrotool record --game GAME --input buttons.npy -o run.bk2` (or --random --frames N), "
    "or run the recorder under xvfb-run"
)


@dataclass(frozen=True, slots=True)
class LiveResult:
    """What a person's session left behind."""

    movie: Path | None  # None: nothing was played, so no movie was written
    frames: int
    rerecords: int
    duration: float  # seconds of game time
    checkpoints: int  # checkpoints the verifying replay matched (0: not verified)
    timing: live.Timing
    screenshots: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class Start:
    """Where a live recording begins: a game's start, or a frame of an existing movie."""

    content: jobs.Content
    core: str | Path | None
    players: int
    options: dict[str, str]
    movie: bk2.Movie | None = None  # --from: its first `frame` rows are replayed first
    frame: int = 0


def start_from_movie(path: Path, frame: int | None, core: str | Path | None, rom: Path | None, players: int) -> Start:
    """--from MOVIE [--frame N]: go on from row N (default: its end), re-recording what follows."""
    movie = bk2.convert(bk2.read(path), "stable-retro")  # what is recorded here follows stable-retro's convention
    if frame is not None and not 0 <= frame <= movie.frames:
        raise RetroToolError(f"--frame {frame} is outside {path}, which has {movie.frames} frames")
    system = systems.get(movie.system)
    rom_path = jobs.find_rom(movie, path, rom, jobs.integration(movie))
    game = movie.header_value("GameName") or rom_path.stem
    options = {str(k): str(v) for k, v in movie.meta.get("options", {}).items()}
    content = jobs.Content(system, rom_path, movie.state, game)
    wanted = core if core is not None else movie.meta.get("core")
    at = movie.frames if frame is None else frame
    return Start(content, wanted, max(players, movie.players), options, movie, at)


def check_display() -> None:
    """Fail early, with the way out, where no window can open."""
    if sys.platform.startswith("linux") and not os.environ.get("SDL_VIDEODRIVER"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise RetroToolError(NO_DISPLAY.format(why="DISPLAY is not set"))


def record_live(
    start: Start, *, out: Path | None = None, keys_file: Path | None = None, scale: int | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY, force: bool = False, verify: bool = True,
    events: Callable[[int], Iterable[Any]] | None = None,
) -> LiveResult:
    """Let a person play `start` in a window and record it (see the module docstring).

    `events(frame)` replaces pygame's event queue: it gets the number of the
    frame about to run and returns the events that arrived (tests script it).
    """
    check_display()
    content = start.content
    target = outputs.check_target(out or Path(f"{content.game}-{time.strftime('%Y%m%d-%H%M%S')}.bk2"), force)
    found = cores.resolve(start.core, content.system)
    window = live.Window(keys.load(content.system, keys_file), NO_DISPLAY)
    with contextlib.closing(window), Emulator(
        found.path, content.rom, ports=start.players, options=start.options, system=content.system
    ) as emulator:
        load_start(emulator, content.start)
        header = _journal_header(start, emulator, found, checkpoint_every)
        journal = journals.Journal(journals.journal_path(target), header, content.start, force=force)
        with _keeping(journal):
            rerecords = int(header["rerecords"])
            builder = MovieBuilder(
                content.start, content.game, content.rom.name, checkpoint_every, journal=journal, rerecords=rerecords
            )
            take = Take(emulator, content.system, builder)
            if start.movie is not None and start.frame:
                take.play(ArraySource(start.movie.buttons[: start.frame]))
            person = window.run(take, start.players, target, scale, events)
            movie = take.finish(start.options).with_meta(core=found.name)
            if movie.frames:
                bk2.write(movie, target, force=force)
            journal.close()
    if not movie.frames:  # quit before the first frame: nothing to keep
        journal.path.unlink(missing_ok=True)
    checkpoints = _verify(target, content.rom, journal.path) if verify and movie.frames else 0
    return LiveResult(
        target if movie.frames else None, movie.frames, builder.rerecords, movie.frames / emulator.av_info.fps,
        checkpoints, person.timing(), tuple(person.saved),
    )


def _verify(movie: Path, rom: Path, journal: Path) -> int:
    """Replay the written movie in a fresh emulator; the journal goes only once it matched."""
    try:
        checked = jobs.verify(movie, rom=rom).checkpoints
    except RetroToolError as e:
        raise type(e)(f"{movie} was written but does not replay as played: {e}; the journal {journal} is kept") from None
    journal.unlink(missing_ok=True)
    return checked


def _journal_header(start: Start, emulator: Emulator, found: cores.FoundCore, every: int) -> dict[str, Any]:
    content = start.content
    previous = (start.movie.header_value("rerecordCount") if start.movie is not None else None) or "0"
    cut = start.movie is not None and start.frame < start.movie.frames
    return journals.header(
        emulator, system=content.system.name, core=found.name, rom=content.rom, game=content.game,
        options=start.options, players=start.players, checkpoint_every=every,
        rerecords=(int(previous) if previous.isdigit() else 0) + cut,
    )


@contextlib.contextmanager
def _keeping(journal: journals.Journal) -> Iterator[None]:
    """On any failure (Ctrl-C included), close the journal and say how to get the play back."""
    try:
        yield
    except BaseException as e:
        journal.close()
        hint = f"your play is safe in {journal.path}: `retrotool record --recover {journal.path}`"
        if isinstance(e, RetroToolError):
            raise type(e)(f"{e}; {hint}") from None
        raise


# -- recovery --------------------------------------------------------------------


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
    jobs.record(
        system=system, core=core or header.get("core"), rom=_journal_rom(path, header, rom),
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
    sha1 = hashlib.sha1(candidate.read_bytes()).hexdigest()
    if sha1 != header.get("content_sha1"):
        raise ContentError(f"wrong ROM {candidate}: {path} was recorded with SHA-1 {header.get('content_sha1')}, this is {sha1}")
    return candidate
