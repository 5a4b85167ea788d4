"""`retrotool record GAME`: a person plays in a window and the play becomes a movie.

A live recording opens the game at its start (or at a frame of an existing
movie), journals every frame to disk while the person plays in a window,
then writes the movie with its checkpoints and verifies it by replaying it
in a fresh emulator; only then is the journal deleted. If anything goes
wrong on the way, the journal stays and `record/recover.py` turns it into the
movie.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrotool import movie as bk2, outputs, playback, session
from retrotool.errors import RetroToolError
from retrotool.record import journal as journals, keys, window as windows
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, MovieBuilder
from retrotool.record.take import Take
from retrotool.replay import ArraySource

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
    timing: windows.Timing
    screenshots: tuple[Path, ...]
    states: tuple[Path, ...] = ()  # savestate slots written out as state files


@dataclass(frozen=True, slots=True)
class Start:
    """Where a live recording begins: a game's start, or a frame of an existing movie."""

    content: session.Content
    core: str | Path | None
    players: int
    movie: bk2.Movie | None = None  # --from: its first `frame` rows are replayed first
    frame: int = 0


def start_from_movie(path: Path, frame: int | None, core: str | Path | None, rom: Path | None, players: int) -> Start:
    """--from MOVIE [--frame N]: go on from row N (default: its end), re-recording what follows."""
    movie = bk2.convert(bk2.read(path), "stable-retro")  # what is recorded here follows stable-retro's convention
    if frame is not None and not 0 <= frame <= movie.frames:
        raise RetroToolError(f"--frame {frame} is outside {path}, which has {movie.frames} frames")
    at = movie.frames if frame is None else frame
    return Start(session.movie_content(movie, path, rom), core, max(players, movie.players), movie, at)


def check_display() -> None:
    """Fail early, with the way out, where no window can open."""
    if sys.platform.startswith("linux") and not os.environ.get("SDL_VIDEODRIVER"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise RetroToolError(NO_DISPLAY.format(why="DISPLAY is not set"))


def record_live(
    start: Start, *, out: Path | None = None, keys_file: Path | None = None, scale: int | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY, force: bool = False, verify: bool = True,
    events: Callable[[int], Iterable[Any]] | None = None, save_states: Path | None = None,
) -> LiveResult:
    """Let a person play `start` in a window and record it (see the module docstring).

    `events(frame)` replaces pygame's event queue: it gets the number of the
    frame about to run and returns the events that arrived (tests script it).
    `save_states`: a folder every savestate slot saved is also written to, as
    a state file stable-retro reads.
    """
    check_display()
    if save_states is not None and not save_states.is_dir():
        raise RetroToolError(f"--save-states {save_states}: no such folder")
    content = start.content
    target = outputs.check_target(out or Path(f"{content.name}-{time.strftime('%Y%m%d-%H%M%S')}.bk2"), force)
    window = windows.Window(keys.load(content.system, keys_file), NO_DISPLAY)
    with contextlib.closing(window), session.open_session(content, start.core, players=start.players) as emulator:
        header = journals.header(emulator, game=content.name, options=dict(content.options), players=start.players,
                                 checkpoint_every=checkpoint_every, rerecords=_rerecords(start))
        journal = journals.Journal(journals.journal_path(target), header, content.state, force=force)
        with _keeping(journal):
            builder = MovieBuilder(content.state, content.name, _rom_name(content), checkpoint_every, journal=journal,
                                   rerecords=int(header["rerecords"]))
            take = Take(emulator, builder)
            if start.movie is not None and start.frame:
                take.play(ArraySource(start.movie.buttons[: start.frame]))
            person = window.run(take, start.players, target, scale, events, save_states)
            movie = take.finish(dict(content.options)).with_meta(core=emulator.core.name)
            if movie.frames:
                bk2.write(movie, target, force=force)
            journal.close()
    if not movie.frames:  # quit before the first frame: nothing to keep
        journal.path.unlink(missing_ok=True)
    checkpoints = _verify(target, content, journal.path) if verify and movie.frames else 0
    return LiveResult(
        target if movie.frames else None, movie.frames, builder.rerecords, movie.frames / emulator.av_info.fps,
        checkpoints, person.timing(), tuple(person.saved), tuple(person.exported),
    )


def _rom_name(content: session.Content) -> str:
    return content.rom.path.name if content.rom.path is not None else content.name


def _rerecords(start: Start) -> int:
    """The rerecords of the movie gone on from, plus one when part of it is recorded again."""
    previous = (start.movie.header_value("rerecordCount") if start.movie is not None else None) or "0"
    cut = start.movie is not None and start.frame < start.movie.frames
    return (int(previous) if previous.isdigit() else 0) + cut


def _verify(movie: Path, content: session.Content, journal: Path) -> int:
    """Replay the written movie in a fresh emulator; the journal goes only once it matched."""
    try:
        checked = playback.verify(movie, rom=content.rom.path).checkpoints
    except RetroToolError as e:
        raise type(e)(f"{movie} was written but does not replay as played: {e}; the journal {journal} is kept") from None
    journal.unlink(missing_ok=True)
    return checked


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
