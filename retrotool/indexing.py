"""`retrotool index MOVIE`: add keyframes (and checkpoints) to any movie, in one verified pass.

A movie from stable-retro, from BizHawk (power-on) or from an older retrotool
replays once from its start; its checkpoints, if it has any, are checked on
the way, and it gets checkpoints every `checkpoint_every` rows and a keyframe
(a full core state) every `keyframe_every` rows. Everything else it holds is
kept, and it stays in its dialect, so it still plays where it played.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retrotool import movie as bk2, session
from retrotool.errors import RetroToolError
from retrotool.movie import keyframes
from retrotool.movie.model import RAM_ENTRY
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, MovieBuilder
from retrotool.replay import ArraySource, replay
from retrotool.sinks.checkpoints import unpack_rams
from retrotool.sinks.contract import Sink
from retrotool.sinks.verify import VerifySink


@dataclass(frozen=True, slots=True)
class Indexed:
    movie: Path
    frames: int
    keyframes: int
    checkpoints: int
    verified: int  # checkpoints the movie had, matched on the way
    keyframe_bytes: int
    seconds: float


def index(
    path: Path, out: Path | None = None, *, in_place: bool = False, keyframe_every: int = DEFAULT_CHECKPOINT_EVERY,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY, force: bool = False, core: str | Path | None = None,
    rom: Path | None = None, progress: Callable[[int, int], None] | None = None,
) -> Indexed:
    """Write `path` with keyframes to `out` (or over itself with `in_place`, atomically)."""
    if (out is None) == (not in_place):
        raise RetroToolError("give -o OUT or --in-place (not both)")
    target = path if in_place else out
    assert target is not None, "checked above"
    movie = bk2.read(path)
    content = session.movie_content(movie, path, rom)
    builder = MovieBuilder(movie.state, content.name, "", checkpoint_every, keyframe_every=keyframe_every)
    sinks: list[Sink] = [builder]
    if movie.checkpoints:
        rams = unpack_rams(dict(movie.extras).get(RAM_ENTRY, b""), len(movie.checkpoints))
        sinks.append(VerifySink(movie.checkpoints, rams))
    t0 = time.perf_counter()
    with session.open_session(content, core, players=movie.players) as emulator:
        done = replay(emulator, ArraySource(movie.buttons), sinks, progress=progress,
                      reset_row=movie.convention == "stable-retro")
        builder.finish(emulator.obs_ram().tobytes(), emulator.obs_screen())
    made = builder.movie()
    indexed = keyframes.with_keyframes(
        movie.with_checkpoints(tuple(builder.checkpoints)).replace(
            extras=tuple((n, d) for n, d in movie.extras if n != RAM_ENTRY) + tuple(
                (n, d) for n, d in made.extras if n == RAM_ENTRY)),
        keyframes.of(made),
    )
    bk2.write(indexed, target, dialect="bizhawk" if movie.convention == "bizhawk" else "stable-retro",
              force=force or in_place)
    kf = keyframes.of(indexed)
    verified = done.results[1] if len(done.results) > 1 else 0
    return Indexed(target, movie.frames, len(kf) if kf else 0, len(builder.checkpoints),
                   verified if isinstance(verified, int) else 0, len(kf.blob) if kf else 0, time.perf_counter() - t0)
