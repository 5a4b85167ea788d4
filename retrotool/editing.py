"""`retrotool edit`: cut and join movies (trim, truncate, concat, set-state), every output verified before it is in place.

An edited movie is a start (a state) and rows; what it plays must be what
the rows it came from played. So each edit plans the new movie (its state,
its rows, and the checkpoints of its sources that still apply, moved to their
new frame numbers), replays it once through the movie builder (fresh
checkpoints and keyframes, the carried checkpoints checked on the way),
writes it under a temporary name, replays that file against its own
checkpoints (`playback.verify`), and only then moves it into place.

stable-retro's convention shapes the cuts: row 0 of a movie is the frame its
`reset()` runs, with no button held. A movie cut to start at row A starts
from the state after row A - 1 ran, and its row 0 is row A, which
stable-retro runs released; so the frames stay the same only when row A
holds no button, and a cut where it does is refused, naming the nearest rows
that hold none. Joining A and B, B's row 0 becomes a row like any other,
released as it ran.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrotool import movie as bk2, outputs, playback, segments, session
from retrotool.emulator import Emulator
from retrotool.errors import DesyncError, KeyframeError, MovieFormatError, RetroToolError
from retrotool.integration import statefiles
from retrotool.movie import Checkpoint, convention, keyframes
from retrotool.movie.model import RAM_ENTRY
from retrotool.record.builder import DEFAULT_CHECKPOINT_EVERY, MovieBuilder
from retrotool.replay import ArraySource, replay
from retrotool.sinks.checkpoints import ram_diff, ram_hash, screen_hash, unpack_rams
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo, Sink
from retrotool.sinks.verify import VerifySink

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class EditError(RetroToolError):
    """An edit that would give a movie that does not play as its sources did (or cannot be made as asked)."""


@dataclass(frozen=True, slots=True)
class Edited:
    """A movie an edit wrote, verified: its rows, its fresh checkpoints and keyframes, what of its sources held."""

    movie: Path
    frames: int
    checkpoints: int  # checkpoints the new movie carries (made while it was replayed)
    keyframes: int
    carried: int  # checkpoints of the source(s) the new movie still matched
    stored: int  # checkpoints of the source(s) that fall in the new movie's frames
    start: str  # where the new movie starts, in words
    seconds: float


@dataclass(frozen=True, slots=True)
class _Options:
    out: Path
    force: bool
    core: str | Path | None
    rom: Path | None
    progress: Progress | None


def _options(out: Path, force: bool, core: str | Path | None, rom: Path | None, progress: Progress | None) -> _Options:
    """The options of an edit, an existing OUT refused (without --force) before anything is replayed."""
    outputs.check_target(out, force)
    return _Options(Path(out), force, core, rom, progress)


def trim(
    path: Path, out: Path, *, start: int = 0, end: int | None = None, force: bool = False,
    core: str | Path | None = None, rom: Path | None = None, progress: Progress | None = None,
) -> Edited:
    """Rows start .. end - 1 of a movie as a movie of their own, starting from the state before row `start`.

    The state is reached from the nearest keyframe before `start` (or the
    movie's start when it has none). The new frame k is the old frame
    start + k, checked against the old checkpoints that fall in the rows kept.
    """
    t0 = time.perf_counter()
    opts = _options(out, force, core, rom, progress)
    movie, content = _source(path, rom)
    end = movie.frames if end is None else end
    if not 0 <= start < end <= movie.frames:
        raise EditError(f"{path} has rows 0 to {movie.frames - 1}: --start {start} --end {end} keeps none of them "
                        f"(give 0 <= start < end <= {movie.frames})")
    if start == 0:
        cut, whence = _rows(movie, 0, end), "the movie's own start"
    else:
        _reset_row_released(movie, start, path)
        cut, whence = _state_at(movie, content, start, core)
        cut = _rows(cut, start, end)
    checks, rams = _carried(movie, start, end, -start)
    return _finish(cut, content, [VerifySink(checks, rams)] if checks else [], len(checks), whence, opts, t0)


def truncate(
    path: Path, out: Path, *, at: int, force: bool = False, core: str | Path | None = None, rom: Path | None = None,
    progress: Progress | None = None,
) -> Edited:
    """The movie's rows before `at` (what a re-record does): its start, checkpoints and keyframes before `at`."""
    return trim(path, out, start=0, end=at, force=force, core=core, rom=rom, progress=progress)


def concat(
    first: Path, second: Path, out: Path, *, force: bool = False, core: str | Path | None = None,
    rom: Path | None = None, progress: Progress | None = None,
) -> Edited:
    """`first`'s rows, then `second`'s: refused unless `second` starts from the state `first` ends in."""
    t0 = time.perf_counter()
    opts = _options(out, force, core, rom, progress)
    a, content = _source(first, rom)
    b = bk2.read(second)
    _same_game(a, b, first, second)
    if b.state is None:
        raise EditError(f"{second} starts at power-on, so it cannot follow the {a.frames} rows of {first}: "
                        f"only a movie that starts from the state {first} ends in can (`edit trim` makes one)")
    _check_join(a, b, content, core, first, second)
    tail = b.buttons.copy()
    if b.convention == "stable-retro":
        tail[0] = 0  # its reset frame ran released; in the joined movie it is an ordinary row
    names = tuple(sorted({*a.console_names, *b.console_names}))
    joined = a.replace(buttons=np.concatenate([a.buttons, tail]), console_names=names,
                       console=np.concatenate([_console(a, names), _console(b, names)]))
    checks_a, rams_a = _carried(a, 0, a.frames, 0)
    checks_b, rams_b = _carried(b, 0, b.frames, a.frames)
    checks = checks_a + checks_b
    rams = rams_a + rams_b if len(rams_a) == len(checks_a) and len(rams_b) == len(checks_b) else []
    return _finish(joined, content, [VerifySink(checks, rams)] if checks else [], len(checks),
                   f"{first}'s start", opts, t0)


def set_state(
    path: Path, state_file: Path, out: Path, *, allow_desync: bool = False, force: bool = False,
    core: str | Path | None = None, rom: Path | None = None, progress: Progress | None = None,
) -> Edited:
    """The movie's rows from another start state; refused unless its checkpoints all still match.

    A movie played from a state it was not recorded from desyncs unless the
    state is the same game moment; the replay counts the checkpoints that
    still hold. With `allow_desync` the movie is written anyway, with
    checkpoints of what it now plays. `force` only overwrites OUT: accepting
    a different game and replacing a file are two decisions.
    """
    t0 = time.perf_counter()
    opts = _options(out, force, core, rom, progress)
    movie, content = _source(path, rom)
    state = statefiles.read(Path(state_file)).data
    if movie.convention == "bizhawk":
        movie = convention.convert(movie, "stable-retro")  # a libretro state lives in stable-retro's files
    stored = movie.checkpoints
    tally = _Tally(stored)
    built = _build(movie.replace(state=state, state_format="libretro"), content, [tally], opts)
    if tally.matched < len(stored) and not allow_desync:
        raise EditError(_mismatch(path, state_file, tally, len(stored)))
    result = _write_verified(built, content, opts)
    kf = keyframes.of(built)
    return Edited(opts.out, built.frames, result.checkpoints, len(kf) if kf else 0, tally.matched, len(stored),
                  str(state_file), time.perf_counter() - t0)


def _mismatch(path: Path, state_file: Path, tally: _Tally, stored: int) -> str:
    if not stored:
        return (f"{path} carries no checkpoints, so whether it still plays from {state_file} cannot be checked; "
                "pass --allow-desync to write it anyway")
    return (f"from {state_file}, {tally.matched} of {stored} checkpoints of {path} still match (the first that does "
            f"not: frame {tally.first_bad}): the movie desyncs from this state; pass --allow-desync to write it anyway")


def _source(path: Path, rom: Path | None) -> tuple[bk2.Movie, session.Content]:
    movie = bk2.read(path)
    return movie, session.movie_content(movie, path, rom)


def _rows(movie: bk2.Movie, first: int, end: int) -> bk2.Movie:
    """The movie with only rows first .. end - 1 (start, header and meta as they are)."""
    return movie.replace(buttons=movie.buttons[first:end], console=movie.console[first:end],
                         console_names=movie.console_names)


def _console(movie: bk2.Movie, names: Sequence[str]) -> np.ndarray:
    """The movie's console columns laid out as `names` (columns it lacks are released)."""
    out = np.zeros((movie.frames, len(names)), np.uint8)
    for i, name in enumerate(movie.console_names):
        out[:, names.index(name)] = movie.console[:, i]
    return out


def _reset_row_released(movie: bk2.Movie, row: int, path: Path) -> None:
    """Refuse a cut whose first row holds a button: stable-retro would run it released (its reset frame)."""
    held = np.any(movie.buttons.reshape(movie.frames, -1), axis=1)
    if movie.console.size:
        held = held | np.any(movie.console, axis=1)
    if not held[row]:
        return
    free = np.flatnonzero(~held)
    before, after = free[free < row], free[free > row]
    near = [f"{int(r)}" for r in (before[-1:].tolist() + after[:1].tolist())]
    hint = f" (nearest rows that hold none: {' and '.join(near)})" if near else " (it has none that holds no button)"
    raise EditError(f"row {row} of {path} holds buttons, but a movie cut there starts with it as stable-retro's reset "
                    f"frame, which applies none: start at a row that holds no button{hint}")


def _state_at(movie: bk2.Movie, content: session.Content, row: int, core: str | Path | None) -> tuple[bk2.Movie, str]:
    """The movie starting from the state before `row` (found from its nearest keyframe), in stable-retro's convention."""
    emulator, whence = _open_before(movie, content, row, core)
    with emulator:
        state = emulator.get_state()
    return movie.replace(state=state, state_format="libretro", convention="stable-retro"), whence


def _open_before(movie: bk2.Movie, content: session.Content, row: int, core: str | Path | None) -> tuple[Emulator, str]:
    """An emulator that has just run row - 1 of the movie (the caller closes it), and how it got there in words.

    From the last keyframe of a frame before `row` (only the core's state is
    wanted, not a picture); keyframes this core cannot use (another core
    version) or that are damaged are passed over with a warning for a replay
    from the movie's start: a slower way to the same state.
    """
    kf = keyframes.of(movie)
    k = int(np.searchsorted(np.asarray(kf.frames), row, side="left")) - 1 if kf is not None else -1
    if kf is not None and k >= 0:
        try:
            emulator = segments.open_at(content, movie, row, k, core)
            return emulator, (f"the state before row {row} (from keyframe {k} at frame {kf.frames[k]}, "
                              f"{row - kf.frames[k] - 1} rows replayed)")
        except (KeyframeError, MovieFormatError) as e:
            log.warning("%s; replaying from the movie's start instead", e)
    emulator = segments.open_at(content, movie, row, None, core)
    return emulator, f"the state before row {row} (from the movie's start, {row} rows replayed)"


def _carried(movie: bk2.Movie, first: int, end: int, shift: int) -> tuple[list[Checkpoint], list[bytes]]:
    """The movie's checkpoints of frames first .. end - 1, moved `shift` frames, and their RAMs (or none)."""
    stored = movie.checkpoints
    rams = unpack_rams(dict(movie.extras).get(RAM_ENTRY, b""), len(stored))
    keep = [i for i, c in enumerate(stored) if first <= c.frame < end]
    return ([dataclasses.replace(stored[i], frame=stored[i].frame + shift) for i in keep],
            [rams[i] for i in keep] if rams else [])


def _same_game(a: bk2.Movie, b: bk2.Movie, first: Path, second: Path) -> None:
    """Refuse joining movies of different systems, player counts or ROMs."""
    for what, x, y in (("system", a.system, b.system), ("players", a.players, b.players),
                       ("ROM (SHA-1)", _rom_sha1(a), _rom_sha1(b))):
        if x is not None and y is not None and x != y:
            raise EditError(f"{first} and {second} cannot be joined: their {what} differ ({x} and {y})")


def _rom_sha1(movie: bk2.Movie) -> str | None:
    sha = movie.meta.get("content_sha1") or movie.header_value("SHA1")
    return str(sha).lower() if sha and sha != "?" else None


def _check_join(a: bk2.Movie, b: bk2.Movie, content: session.Content, core: str | Path | None, first: Path,
                second: Path) -> None:
    """Refuse `b` unless it starts where `a` ends: the same state, or the same next frame from a fresh core.

    `a` is replayed (from its last keyframe) to its end and goes on; `b`'s state is loaded
    in a fresh core as a replay of `b` loads it. Equal states join; otherwise
    the frame each runs next (`b`'s row 0, as `b` plays it) must give the same
    RAM and screen.
    """
    row = b.buttons[:1].copy()
    if b.convention == "stable-retro":
        row[:] = 0
    emulator, _ = _open_before(a, content, a.frames, core)
    with emulator:
        if emulator.get_state() == b.state:
            return
        assert emulator.system is not None, "open_session gives an emulator with its system"
        emulator.run(emulator.system.masks(row))
        ram_a, screen_a = emulator.obs_ram().tobytes(), emulator.obs_screen()
    ram_b, screen_b = _next_frame(dataclasses.replace(content, state=b.state, convention=b.convention), row, core)
    differ = ([] if ram_a == ram_b else [f"RAM ({ram_diff(ram_a, ram_b)})"]) + (
        [] if screen_hash(screen_a) == screen_hash(screen_b) else ["screen"])
    if differ:
        raise EditError(f"{second} does not start where {first} ends: the frame after {first}'s last row (frame "
                        f"{a.frames} of the joined movie, {second}'s frame 0) differs in {' and '.join(differ)}")


def _next_frame(start: session.Content, row: np.ndarray, core: str | Path | None) -> tuple[bytes, np.ndarray]:
    """RAM and screen after `row` ran from `start`'s state, loaded in a fresh core."""
    with session.open_session(start, core, players=row.shape[1]) as emulator:
        assert emulator.system is not None, "open_session gives an emulator with its system"
        emulator.run(emulator.system.masks(row))
        return emulator.obs_ram().tobytes(), emulator.obs_screen()


class _Tally:
    """A sink that counts the checkpoints a replay matches and goes on past those it misses (set-state's report)."""

    def __init__(self, checkpoints: Sequence[Checkpoint]) -> None:
        self.expected = {c.frame: (c.ram_sha256, c.screen_sha256) for c in checkpoints}
        self.matched = 0
        self.first_bad: int | None = None

    def needs(self, frames: int) -> Needs:
        return Needs(snapshots=np.array(sorted(f for f in self.expected if f < frames), dtype=np.int64))

    def open(self, info: ReplayInfo) -> None:
        self.matched, self.first_bad = 0, None

    def consume(self, batch: FrameBatch) -> None:
        expected = self.expected.get(batch.last)
        if expected is None or batch.ram is None or batch.screen is None:
            return
        if (ram_hash(batch.ram), screen_hash(batch.screen)) == expected:
            self.matched += 1
        elif self.first_bad is None:
            self.first_bad = batch.last

    def close(self, error: BaseException | None) -> int:
        return self.matched


def _cadence(movie: bk2.Movie) -> tuple[int, int]:
    """Rows between checkpoints and between keyframes: the movie's own, else the recorder's default."""
    def every(key: str, default: int) -> int:
        value = movie.meta.get(key)
        return value if type(value) is int and value >= 1 else default

    checkpoints = every("checkpoint_every", DEFAULT_CHECKPOINT_EVERY)
    return checkpoints, every("keyframe_every", checkpoints)


def _build(movie: bk2.Movie, content: session.Content, checks: Sequence[Sink], opts: _Options) -> bk2.Movie:
    """Replay the planned movie once: it gets fresh checkpoints and keyframes; `checks` see the same replay."""
    checkpoint_every, keyframe_every = _cadence(movie)
    builder = MovieBuilder(movie.state, content.name, "", checkpoint_every, keyframe_every=keyframe_every)
    start = dataclasses.replace(content, state=movie.state, convention=movie.convention)
    with session.open_session(start, opts.core, players=movie.players) as emulator:
        replay(emulator, ArraySource(movie.buttons), [builder, *checks], progress=opts.progress,
               reset_row=movie.convention == "stable-retro")
        builder.finish(emulator.obs_ram().tobytes(), emulator.obs_screen())
    made = builder.movie()
    extras = tuple((n, d) for n, d in movie.extras if n not in (RAM_ENTRY, keyframes.ENTRY))
    built = movie.with_checkpoints(tuple(builder.checkpoints)).replace(
        extras=extras + ((RAM_ENTRY, dict(made.extras)[RAM_ENTRY]),))
    built = built.with_meta(checkpoint_every=checkpoint_every, keyframe_every=keyframe_every)
    return keyframes.with_keyframes(built, keyframes.of(made))


def _finish(movie: bk2.Movie, content: session.Content, checks: list[Sink], stored: int, whence: str,
            opts: _Options, t0: float) -> Edited:
    """Build the planned movie (its carried checkpoints must all hold), write it verified, and say what it is."""
    try:
        built = _build(movie, content, checks, opts)
    except DesyncError as e:
        raise DesyncError(f"the edited movie does not play as its source did, so nothing was written: {e}") from None
    result = _write_verified(built, content, opts)
    kf = keyframes.of(built)
    return Edited(opts.out, built.frames, result.checkpoints, len(kf) if kf else 0, stored, stored, whence,
                  time.perf_counter() - t0)


def _write_verified(movie: bk2.Movie, content: session.Content, opts: _Options) -> playback.RunResult:
    """Write the movie under a temporary name, verify that file by replaying it, then move it into place."""
    target = outputs.check_target(opts.out, opts.force)
    tmp = outputs.temp_name(target)
    try:
        bk2.write(movie, tmp, dialect="bizhawk" if movie.convention == "bizhawk" else "stable-retro", force=True)
        try:
            result = playback.verify(tmp, core=opts.core, rom=content.rom.path)
        except DesyncError as e:
            raise DesyncError(f"the edited movie did not verify, so {target} was not written: {e}") from None
        outputs.commit(tmp, target, opts.force)
    except BaseException:
        outputs.discard(tmp)
        raise
    return result
