"""`dump-dataset`: movies → a dataset folder, one episode per movie, resumable.

One episode is an ordinary replay (the one loop) with a `DatasetSink`
attached, run from the movie's start up to the episode's last row
(`datasets.episode`). `jobs` N is processes either way: with N movies or
more, N movies at a time (as `workers` N); with fewer, movies one after
another, each cut at its keyframes into segments replayed N at once and
joined into the very episode a whole replay makes (a movie without
keyframes replays whole). Many movies run `workers` at a time, each in a process of its own (cores keep
global state, and a core that crashes then ends only its movie), or as Ray
tasks (`executor="ray"`, one task per movie, each in a fresh worker process;
with `jobs` N and fewer movies, one task per segment; every node must see
the output folder). Only this process writes the
manifest: first (marked in progress, so a dump killed at any moment leaves
a folder that a re-run resumes), then after each episode, so it always
lists exactly the complete episode files, and a re-run skips the movies it
lists (matched by SHA-1). Episodes a stopped run finished but did not list
yet are removed (a re-run makes them again). A movie that fails is reported
and skipped; `strict` stops at the first, and so does a full disk.

Locally, movies run in processes forked from one zygote per worker
(`retrotool.isolation`): a fork per movie instead of an interpreter start.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from retrotool import interrupts, isolation, movie as bk2, outputs, playback
from retrotool.datasets import extras, folder as datasets, hf, lerobot, minari as to_minari
from retrotool.datasets.episode import Job, dump_episode, dump_in_segments
from retrotool.datasets.options import DatasetOptions, check_choice
from retrotool.errors import DatasetExistsError, DiskFullError, RetroToolError

log = logging.getLogger(__name__)


class OutputFormat(StrEnum):
    """--format: npz episodes, or those plus a Minari, Hugging Face or LeRobot dataset built from them."""

    NPZ = "npz"
    MINARI = "minari"
    HF = "hf"
    LEROBOT = "lerobot"


WorkerProgress = Callable[[int, str, int, int], None]  # (worker slot, movie name, rows done, rows total)
PROGRESS_EVERY = 0.2  # seconds between progress messages from a worker process
_EPISODE = re.compile(r".+-[0-9a-f]{10}\.npz")  # <movie>-<sha1[:10]>.npz


@dataclass(frozen=True, slots=True)
class Outcome:
    movie: Path
    record: dict[str, Any] | None  # the manifest entry of a written episode
    error: str | None = None
    resumed: bool = False  # already in the dataset: not run again
    disk_full: bool = False  # the error was a full disk (or quota)


@dataclass(frozen=True, slots=True)
class DumpResult:
    out: Path
    format: str
    outcomes: tuple[Outcome, ...]
    steps: int  # steps written by this run
    seconds: float
    minari: Path | None
    built: Path | None = None  # the hf or lerobot folder

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]


def movie_sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# -- the output folder -----------------------------------------------------------


def open_output(out: Path, fmt: str, options: DatasetOptions, force: bool) -> dict[str, Any]:
    """The manifest to continue, written (in progress) before anything else: a new one, or the folder's own.

    There is never a moment when the folder exists without a manifest: a new
    one is made under a temporary name with its manifest, then renamed; an
    old one replaced with force gets its new manifest before the rest goes.
    """
    fresh = {"kind": datasets.KIND, "version": datasets.VERSION, "format": str(fmt), "options": options.as_dict(),
             "state": datasets.IN_PROGRESS, "episodes": []}
    try:
        if not out.exists():
            _create(out, fresh)
            return fresh
        manifest, clear = _existing(out, fmt, fresh, force)
        manifest["state"] = datasets.IN_PROGRESS
        datasets.write_manifest(out, manifest)
        if clear:
            _empty(out, keep=datasets.MANIFEST)
    except OSError as e:
        raise RetroToolError(f"cannot prepare the dataset folder {out}: {e.strerror or e}") from None
    return manifest


def _create(out: Path, manifest: dict[str, Any]) -> None:
    """A new dataset folder, holding its manifest from the moment it appears."""
    if not out.parent.is_dir():
        raise RetroToolError(f"cannot create {out}: folder {out.parent} does not exist")
    work = outputs.temp_name(out)
    try:
        work.mkdir()
        datasets.write_manifest(work, manifest)
        work.rename(out)
    finally:
        outputs.discard_tree(work)  # gone already once renamed


def _existing(out: Path, fmt: str, fresh: dict[str, Any], force: bool) -> tuple[dict[str, Any], bool]:
    """The manifest to go on with, and whether what the folder holds must go (with force, or leftovers)."""
    if not out.is_dir():
        raise DatasetExistsError(f"{out} is a file; choose another output folder")
    outputs.sweep(out)  # what killed runs left
    manifest = datasets.read_manifest(out)
    if manifest is None:
        left = [p.name for p in out.iterdir()]
        if left and not all(_EPISODE.fullmatch(n) for n in left):
            raise DatasetExistsError(f"{out} is a folder that is not a retrotool dataset; choose another output folder")
        if left and not force:
            raise DatasetExistsError(f"{out} holds only episodes of a dump stopped before it had a manifest; "
                                     "pass --force to start it again")
        return fresh, True
    if force:
        return fresh, True
    if manifest["options"] != fresh["options"] or manifest["format"] != fmt:
        raise DatasetExistsError(
            f"{out} holds a dataset made with other options ({manifest['format']}, {manifest['options']}); "
            "pass --force to replace it, or choose another output folder"
        )
    drop_unlisted(out, manifest)
    return manifest, False


def _empty(folder: Path, keep: str) -> None:
    """Remove what a folder holds but `keep` (the folder stays: it may be a symlink the user made)."""
    for path in folder.iterdir():
        if path.name != keep:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def drop_unlisted(out: Path, manifest: dict[str, Any] | None = None) -> None:
    """Remove episode files the manifest (by default the one on disk) does not list: a stopped run's."""
    manifest = manifest if manifest is not None else datasets.read_manifest(out)
    if manifest is None:
        return
    listed = {r["file"] for r in manifest["episodes"]}
    for path in out.glob("*.npz"):
        if _EPISODE.fullmatch(path.name) and path.name not in listed:
            path.unlink(missing_ok=True)


def _admit(manifest: dict[str, Any], record: dict[str, Any]) -> str | None:
    """Add an episode, unless its shapes differ from the dataset's (then: why not)."""
    shape = {"system": record["system"], "buttons": record["buttons"], "players": record["players"],
             "observation": {k: v[1:] for k, v in record["observations"].items()}, "infos": record["infos"],
             "discrete_actions": record.get("discrete_actions")}
    for key, value in shape.items():
        if key in manifest and manifest[key] != value:
            hint = " (use --resize/--crop to make pictures equal)" if key == "observation" else ""
            return f"{record['movie']}: its {key} {value} differs from the dataset's {manifest[key]}{hint}"
    manifest.update(shape)
    manifest["episodes"].append(record)
    return None


# -- running many movies -----------------------------------------------------------


def _episode(job: Job, report: isolation.Report) -> dict[str, Any]:
    """One movie's process: its episode, with progress reported every PROGRESS_EVERY seconds."""
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY or done == total:
            last = time.monotonic()
            report((done, total))

    return dump_episode(job, progress)


def _outcome(ended: isolation.Ended[Job]) -> Outcome:
    job = ended.arg
    if ended.died is not None:
        outputs.sweep(job.target.parent, job.target.name)  # what the dead process was writing
        return Outcome(job.movie, None, f"{job.movie}: the replay process died ({ended.died}); did the core crash?")
    if ended.error is not None:
        return Outcome(job.movie, None, str(ended.error), disk_full=isinstance(ended.error, DiskFullError))
    return Outcome(job.movie, ended.value, None)


def _run_local(jobs_: Sequence[Job], workers: int, progress: WorkerProgress | None) -> Iterator[Outcome]:
    def report(slot: int, job: Job, message: tuple[int, int]) -> None:
        if progress is not None:
            progress(slot, job.movie.name, *message)

    for ended in isolation.run_each(_episode, jobs_, workers, report):
        yield _outcome(ended)


def _ray_task(job: Job, report: isolation.Report) -> Outcome:
    return _run_here(job, None)


def _run_ray(jobs_: Sequence[Job], address: str | None) -> Iterator[Outcome]:
    for ended in isolation.ray_each(_ray_task, jobs_, address):
        yield ended.value if ended.error is None else Outcome(ended.arg.movie, None, f"{ended.arg.movie}: {ended.error}")


def dump_dataset(
    movies: Sequence[Path], out: Path, *, fmt: str = OutputFormat.NPZ, options: DatasetOptions | None = None,
    workers: int = 1, jobs: int = 1, executor: str = isolation.ExecutorKind.LOCAL, address: str | None = None, strict: bool = False,
    force: bool = False, core: str | None = None, rom: Path | None = None, scenario: Path | None = None,
    progress: Callable[[int, int], None] | None = None, worker_progress: WorkerProgress | None = None,
) -> DumpResult:
    """Dump every movie not yet in `out`; `progress(done, total)` counts movies."""
    options = options or DatasetOptions()
    check_choice(OutputFormat, fmt, "--format")
    check_choice(isolation.ExecutorKind, executor, "--executor")
    _check_parallelism(workers, jobs, executor)
    options.validate()
    if fmt == OutputFormat.HF:
        extras.prepare(hf.load_packages, hf.PACKAGES)  # a missing package is said before any movie runs
    elif fmt == OutputFormat.LEROBOT:
        extras.prepare(lerobot.import_arrow, lerobot.PACKAGES)
    manifest = open_output(out, fmt, options, force)
    todo, outcomes = _plan(movies, out, manifest, Job(Path(), "", Path(), options, core, rom, scenario, fmt))
    t0, steps = time.perf_counter(), 0
    try:
        with contextlib.closing(_runner(todo, executor, address, (workers, jobs), worker_progress)) as runner:
            for done, outcome in enumerate(runner, 1):
                outcome, steps = _collect(out, manifest, outcome, steps)
                outcomes.append(outcome)
                if progress is not None:
                    progress(done, len(todo))
                _stop_early(outcome, strict, len(manifest["episodes"]))
    finally:  # stopped or not: episodes finished meanwhile but not listed (on disk) go; a re-run makes them again
        with interrupts.deferred():
            drop_unlisted(out)
    minari = to_minari.build(out, manifest) if fmt == OutputFormat.MINARI and manifest["episodes"] else None
    builders = {OutputFormat.HF: hf.build, OutputFormat.LEROBOT: lerobot.build}
    built = builders[OutputFormat(fmt)](out, manifest) if fmt in builders and manifest["episodes"] else None
    manifest["state"] = datasets.COMPLETE
    datasets.write_manifest(out, manifest)
    return DumpResult(out, str(fmt), tuple(outcomes), steps, time.perf_counter() - t0, minari, built)


def _check_parallelism(workers: int, jobs: int, executor: str) -> None:
    for option, value in (("--workers", workers), ("--jobs", jobs)):
        if value < 1:
            raise RetroToolError(f"{option} must be at least 1, not {value}")
    if jobs > 1 and workers > 1:
        raise RetroToolError(f"--workers {workers} and --jobs {jobs} both set how many processes run: give one of them "
                             "(--jobs also cuts a movie into segments when there are fewer movies than processes)")


def _runner(
    todo: Sequence[Job], executor: str, address: str | None, parallel: tuple[int, int], progress: WorkerProgress | None,
) -> Generator[Outcome, None, None]:
    """The outcomes of the jobs as they end; closing it stops the jobs still running."""
    workers, jobs = parallel
    if jobs > 1 and len(todo) < jobs:
        yield from _run_in_segments(todo, jobs, progress, executor, address)
    elif executor == isolation.ExecutorKind.RAY:
        yield from _run_ray(todo, address)
    elif jobs > 1:  # enough movies to keep every process busy: whole movies side by side
        yield from _run_local(todo, jobs, progress)
    elif len(todo) == 1 and workers == 1:  # nothing to isolate from: run here, without a process's start-up
        yield _run_here(todo[0], progress)
    else:
        yield from _run_local(todo, workers, progress)


def _run_in_segments(
    todo: Sequence[Job], jobs: int, progress: WorkerProgress | None, executor: str, address: str | None,
) -> Iterator[Outcome]:
    """Movie after movie, each in segments (`jobs` at once, or as Ray tasks); one that cannot be cut replays whole."""
    for job in todo:
        try:
            cut = playback.parallel_ok(bk2.read(job.movie), job.movie)
        except RetroToolError as e:
            yield Outcome(job.movie, None, str(e))
            continue
        if cut:
            yield _run_here(job, progress, jobs, (executor, address))
        elif executor == isolation.ExecutorKind.RAY:
            yield from _run_ray([job], address)
        else:
            yield from _run_local([job], 1, progress)


def _collect(out: Path, manifest: dict[str, Any], outcome: Outcome, steps: int) -> tuple[Outcome, int]:
    """List a finished episode in the manifest (written at once), unless its shapes differ from the dataset's."""
    if outcome.record is None:
        return outcome, steps
    with interrupts.deferred():  # the manifest in memory and on disk list the same episodes
        why = _admit(manifest, outcome.record)
        if why is not None:
            (out / outcome.record["file"]).unlink(missing_ok=True)
            return Outcome(outcome.movie, None, why), steps
        datasets.write_manifest(out, manifest)
    return outcome, steps + outcome.record["steps"]


def _stop_early(outcome: Outcome, strict: bool, written: int) -> None:
    """--strict stops at the first failure; a full disk stops every dump (the next movies would fail alike)."""
    if outcome.error is None:
        return
    if outcome.disk_full:
        raise RetroToolError(f"{outcome.error}; the disk is full: free space and run the same command again to "
                             f"resume (the {written} episodes written are kept)")
    if strict:
        raise RetroToolError(f"{outcome.error} (--strict; the {written} episodes written are kept)")


def _plan(movies: Sequence[Path], out: Path, manifest: dict[str, Any], template: Job) -> tuple[list[Job], list[Outcome]]:
    """Jobs for the movies not in the dataset yet; outcomes for those that are."""
    done = {r["movie_sha1"]: r for r in manifest["episodes"]}
    todo: list[Job] = []
    outcomes: list[Outcome] = []
    for movie in movies:
        try:
            sha = movie_sha1(movie)
        except OSError as e:
            outcomes.append(Outcome(movie, None, f"cannot read movie {movie}: {e.strerror}"))
            continue
        if sha in done:
            outcomes.append(Outcome(movie, done[sha], None, resumed=True))
        elif all(j.sha1 != sha for j in todo):
            target = out / f"{movie.stem}-{sha[:10]}.npz"
            todo.append(Job(movie, sha, target, template.options, template.core, template.rom, template.scenario,
                            template.fmt))
    return todo, outcomes


def _run_here(job: Job, progress: WorkerProgress | None, jobs: int = 1,
              where: tuple[str, str | None] = (isolation.ExecutorKind.LOCAL, None)) -> Outcome:
    """One movie from this process (whole, or in segments: `where` = executor, address); a failure is its outcome."""

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(0, job.movie.name, done, total)

    try:
        record = dump_in_segments(job, jobs, report, *where) if jobs > 1 else dump_episode(job, report)
        return Outcome(job.movie, record, None)
    except RetroToolError as e:
        return Outcome(job.movie, None, str(e), disk_full=isinstance(e, DiskFullError))
