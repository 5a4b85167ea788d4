"""`retrotool ram search`: start, narrow, show and undo a RAM search over a movie, kept in a small file.

Each step replays the movie (deterministic, so the same RAM every time) up to
the last frame it reads, through a `RamRecorder`; nothing but the candidate
sets is stored. The file names the movie by path and SHA-256, and the core
and ROM it was replayed with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from retrotool import movie as bk2, playback, session
from retrotool.errors import ContentError, RetroToolError
from retrotool.ram.layout import Layout
from retrotool.ram.recorder import RamRecorder, Recorded
from retrotool.ram.search import SINCE_KINDS, VALUE_KINDS, Candidate, Condition, Evidence, Search, Source, Step

DEFAULT_FILE = Path("ram-search.json")
PREVIEW = 12  # candidates shown after a step that leaves this many or fewer
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Narrowed:
    before: int
    step: Step
    frames: list[int]  # the frames of `preview`'s values
    preview: list[Candidate]  # the candidates left, when few are


def start(
    movie: Path, *, file: Path = DEFAULT_FILE, types: tuple[str, ...], first: int | None = None,
    last: int | None = None, core: str | None = None, rom: Path | None = None, force: bool = False,
) -> Search:
    """A new search over `movie`'s RAM: every address (of `first`..`last`) under every type."""
    if file.exists() and not force:
        raise RetroToolError(f"a RAM search is under way in {file}; pass --force to start over, or --file OTHER.json")
    loaded = bk2.read(movie)
    source = Source(str(movie.resolve()), _sha256(movie), loaded.frames, core, str(rom.resolve()) if rom else None)
    content = session.movie_content(loaded, movie, rom)
    with session.open_session(content, core, players=loaded.players) as emulator:
        layout = Layout.of(emulator.address_space())
    search = Search.start(source, layout, types, first, last)
    search.save(file, force=force)
    return search


def condition(search: Search, asked: Mapping[str, int | None], frame: int | None, since: int | None) -> Condition:
    """The one condition asked for: a value kind with its value, or a look-back kind (True, or with its frame).

    `frame` defaults to the movie's last frame; `since` to the frame of the
    previous step (the start: frame 0).
    """
    given = {k: v for k, v in asked.items() if v is not None and v is not False}
    if not given:
        raise RetroToolError("give a condition: --equals V, --greater V, --decreased-since M, --changed, --unchanged, ...")
    if len(given) > 1:
        raise RetroToolError(f"give one condition per step, not {', '.join(f'--{k}' for k in given)}")
    (kind, value), = given.items()
    at = search.source.frames - 1 if frame is None else frame
    if kind in VALUE_KINDS:
        return Condition(kind, at, value=int(value))  # type: ignore[arg-type]
    base = kind.removesuffix("-since")
    if base not in SINCE_KINDS:
        raise RetroToolError(f"unknown condition --{kind}")
    if kind.endswith("-since") and since is not None:
        raise RetroToolError(f"--{kind} names its frame: leave out --since")
    back = int(value) if kind.endswith("-since") else since
    if back is None:
        back = next((s.frame for s in reversed(search.steps) if s.frame is not None and s.frame < at), 0)
    return Condition(base, at, since=back)  # type: ignore[arg-type]


def narrow(
    file: Path, asked: Mapping[str, int | None], *, frame: int | None = None, since: int | None = None,
    progress: Progress | None = None,
) -> Narrowed:
    """One step: replay to the frames the condition reads, keep what meets it, save (or refuse, saving nothing)."""
    search = Search.load(file)
    wanted = condition(search, asked, frame, since)
    wanted.check(search.source.frames)
    before = search.current.count
    recorded = _replay(search, wanted.frames(), wanted.span(), progress)
    step = search.narrow(wanted, Evidence(recorded.rows, recorded.changed))
    search.save(file, force=True)
    preview = search.candidates(recorded.rows, PREVIEW) if step.count <= PREVIEW else []
    return Narrowed(before, step, sorted(recorded.rows), preview)


def show(
    file: Path, *, frames: list[int] | None = None, limit: int = 50, progress: Progress | None = None,
) -> tuple[Search, list[int], list[Candidate]]:
    """The candidates left (the first `limit` by address) with their values at the steps' frames and `frames`."""
    search = Search.load(file)
    at = sorted({*search.frames(), *(frames or [])}) or [search.source.frames - 1]
    for f in at:
        if not 0 <= f < search.source.frames:
            raise ContentError(f"frame {f} is outside the movie, whose frames are 0 to {search.source.frames - 1}")
    recorded = _replay(search, at, None, progress)
    return search, at, search.candidates(recorded.rows, limit)


def undo(file: Path) -> tuple[Step, Search]:
    """Go back one step."""
    search = Search.load(file)
    removed = search.undo()
    search.save(file, force=True)
    return removed, search


def _replay(search: Search, frames: list[int], span: tuple[int, int] | None, progress: Progress | None) -> Recorded:
    """Replay the search's movie to the last of `frames`, recording what the step reads."""
    path, source = Path(search.source.movie), search.source
    if not path.is_file():
        raise ContentError(f"the movie of this search, {path}, is gone; start a new search")
    if _sha256(path) != source.sha256:
        raise ContentError(f"{path} changed since this search started; start a new search on it")
    movie = bk2.read(path)
    content = session.movie_content(movie, path, Path(source.rom) if source.rom else None)
    recorder = RamRecorder(frames, span, search.layout.order())
    with session.open_session(content, source.core, players=movie.players) as emulator:
        if Layout.of(emulator.address_space()).to_json() != search.layout.to_json():
            raise ContentError("this game's RAM is laid out otherwise than when the search started (another core?); "
                               "start a new search")
        done = playback.replay_rows(emulator, movie, [recorder], rows=max(frames) + 1, progress=progress)
    recorded = done.results[0]
    assert isinstance(recorded, Recorded), "RamRecorder returns what it recorded"
    return recorded


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
