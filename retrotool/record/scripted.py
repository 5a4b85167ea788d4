"""Recording a scripted input (an array of buttons) headless, as `retrotool record --input/--random` does."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from retrotool import movie as bk2, outputs, session
from retrotool.emulator import Rom
from retrotool.playback import RunResult
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, MovieBuilder
from retrotool.replay import ArraySource, replay
from retrotool.systems import System


def record(
    *, system: System, core: str | Path | None, rom: Path | Rom, buttons: np.ndarray, out: Path,
    start: bytes | None = None, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    options: dict[str, str] | None = None, force: bool = False, game: str | None = None,
    dialect: bk2.Dialect = "stable-retro", progress: Callable[[int, int], None] | None = None, rerecords: int = 0,
) -> RunResult:
    """Record `buttons` uint8 [frames, players, n_buttons] from `start` (None: power-on) into a movie.

    The movie follows stable-retro's convention: row 0 is the frame its
    reset() runs, recorded released. `game` is the movie's GameName
    (stable-retro looks it up as an integration name); default: the ROM's
    file name without extension. `rerecords` goes into the header (a
    recovered journal's count).
    """
    rom = Rom.of(rom)
    name = rom.path.name if rom.path is not None else "rom"
    game = game or Path(name).stem
    target = outputs.check_target(out, force)
    content = session.Content(system, rom, game, start)
    source = ArraySource(buttons)
    with session.open_session(content, core, players=source.players, options=options) as emulator:
        builder = MovieBuilder(start, game, name, checkpoint_every, rerecords=rerecords)
        t0 = time.perf_counter()
        done = replay(emulator, source, [builder], progress=progress, reset_row=True)
        builder.finish(emulator.obs_ram().tobytes(), emulator.obs_screen())
        movie = builder.movie(options).with_meta(core=emulator.core.name)
        bk2.write(movie, target, dialect=dialect, force=force)
        return RunResult.of(emulator, game, done, time.perf_counter() - t0, len(builder.checkpoints))
