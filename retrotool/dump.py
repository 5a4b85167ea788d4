"""`dump-dataset`: movies → a dataset folder, one episode per movie, resumable.

One episode is an ordinary replay (the one loop) with a `DatasetSink`
attached, run from the movie's start up to the episode's last row. Many
movies run `workers` at a time, each in a process of its own (cores keep
global state, and a core that crashes then ends only its movie), or as Ray
tasks (`executor="ray"`, one task per movie, each in a fresh worker process;
every node must see the output folder). Only this process writes the
manifest: after each episode, so it always lists exactly the complete
episode files, and a re-run skips the movies it lists (matched by SHA-1).
A movie that fails is reported and skipped; `strict` stops at the first.

Locally, each worker slot has a *zygote*: a process spawned when the dump
starts, which imports retrotool once and then forks a fresh child per movie.
A movie then costs a fork instead of an interpreter start and its imports
(about 0.3 s, more than replaying a short movie), and the zygote never loads
a core, so each child starts as clean as a spawned process would. Not
multiprocessing's forkserver: there is one per parent process, alive until
that exits, keeping the environment and working directory of its first use,
while users and tests change RETROTOOL_CORE_PATH, RETROTOOL_DATA_PATH and the
cwd between dumps. Zygotes start and end with each dump, so they see the
current ones, and none is left behind.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, NoReturn

from retrotool import datasets, jobs, movie as bk2, to_minari
from retrotool.errors import ContentError, DatasetExistsError, RetroToolError
from retrotool.replay import ArraySource, replay
from retrotool.sinks.dataset import DatasetOptions, DatasetSink, check_choice
from retrotool.variables import Evaluator, load_scenario, load_variables

log = logging.getLogger(__name__)



class OutputFormat(StrEnum):
    """--format: npz episodes, or those plus a Minari dataset built from them."""

    NPZ = "npz"
    MINARI = "minari"


class ExecutorKind(StrEnum):
    """--executor: local processes, or tasks on a Ray cluster."""

    LOCAL = "local"
    RAY = "ray"

WorkerProgress = Callable[[int, str, int, int], None]  # (worker slot, movie name, rows done, rows total)
PROGRESS_EVERY = 0.2  # seconds between progress messages from a worker process


@dataclass(frozen=True, slots=True)
class Job:
    """One movie to dump: plain values, so it travels to a process or a Ray task."""

    movie: Path
    sha1: str
    target: Path
    options: DatasetOptions
    core: str | None = None
    rom: Path | None = None
    scenario: Path | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    movie: Path
    record: dict[str, Any] | None  # the manifest entry of a written episode
    error: str | None = None
    resumed: bool = False  # already in the dataset: not run again


@dataclass(frozen=True, slots=True)
class DumpResult:
    out: Path
    format: str
    outcomes: tuple[Outcome, ...]
    steps: int  # steps written by this run
    seconds: float
    minari: Path | None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]


def movie_sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def evaluator_for(movie: bk2.Movie, scenario: Path | None) -> Evaluator | None:
    """The game's RAM variables and rules; `scenario` replaces its scenario.json."""
    game = jobs.integration(movie)
    if scenario is None:
        return game.evaluator() if game is not None else None
    data = game.folder / "data.json" if game is not None else None
    if data is None or not data.is_file():
        name = movie.header_value("GameName") or "?"
        raise ContentError(f"--scenario needs the game's RAM variables, but {name!r} has no integration with a data.json")
    return Evaluator(load_variables(data), load_scenario(scenario))


def dump_episode(job: Job, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Replay one movie into its episode file; returns its manifest entry."""
    movie = bk2.read(job.movie)
    sink = DatasetSink(job.target, job.options, evaluator_for(movie, job.scenario))
    last = int(job.options.check(movie.frames)[-1])
    emulator, system, found = jobs.open_emulator(movie, job.movie, job.core, job.rom)
    with emulator:
        replay(emulator, system, ArraySource(movie.buttons[: last + 1]), [sink], progress=progress)
    return {
        "movie": str(job.movie), "movie_sha1": job.sha1, "file": job.target.name,
        "game": movie.header_value("GameName") or "?", "system": system.name, "core": emulator.core_name,
        "core_version": emulator.core_version, "content_sha1": emulator.content_sha1,
        "infos": sorted(sink.evaluator.variables) if sink.evaluator else [], **sink.summary,
    }


# -- the output folder -----------------------------------------------------------


def open_output(out: Path, fmt: str, options: DatasetOptions, force: bool) -> dict[str, Any]:
    """The manifest to continue: a new one, or the folder's own when it was made the same way."""
    fresh = {"kind": datasets.KIND, "version": datasets.VERSION, "format": str(fmt), "options": options.as_dict(),
             "episodes": []}
    if not out.exists():
        if not out.parent.is_dir():
            raise RetroToolError(f"cannot create {out}: folder {out.parent} does not exist")
        out.mkdir()
        return fresh
    manifest = datasets.read_manifest(out) if out.is_dir() else None
    if manifest is None and out.is_dir() and not any(out.iterdir()):
        return fresh
    if force and manifest is not None:
        shutil.rmtree(out)
        out.mkdir()
        return fresh
    if manifest is None:
        what = "a file" if not out.is_dir() else "a folder that is not a retrotool dataset"
        raise DatasetExistsError(f"{out} is {what}; choose another output folder")
    if manifest["options"] != fresh["options"] or manifest["format"] != fmt:
        raise DatasetExistsError(
            f"{out} holds a dataset made with other options ({manifest['format']}, {manifest['options']}); "
            "pass --force to replace it, or choose another output folder"
        )
    _sweep(out, ".*.tmp-*")  # left by a run that was killed
    return manifest


def _sweep(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


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


def _child(conn: Connection, job: Job) -> None:
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY or done == total:
            last = time.monotonic()
            conn.send(("progress", done, total))

    try:
        conn.send(("ok", dump_episode(job, progress)))
    except RetroToolError as e:
        conn.send(("error", str(e)))


def _forked(conn: Connection, job: Job, on_sigint: Callable[..., object] | int | None) -> NoReturn:
    """A movie's process, forked from a zygote: run the job, then leave without running the zygote's exit code."""
    code = 1
    try:
        signal.signal(signal.SIGINT, on_sigint)  # what a spawned process would have: Ctrl-C stops a movie
        _child(conn, job)
        code = 0
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:  # noqa: BLE001 - a bug: shown, and this movie fails as one whose process died
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)  # whatever happened, never return into the zygote's loop


def _zygote(conn: Connection) -> None:
    """A worker slot's process: forks one child per job it is sent, relays its messages, then its exit code.

    The zygote never loads a core, so every child starts from the same clean
    state a spawned process would, minus the interpreter start and imports.
    It ends when the parent closes `conn`; a child still running then is
    killed, so nothing outlives the dump.
    """
    on_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the children; then `conn` closes
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        reader, writer = multiprocessing.Pipe(duplex=False)
        pid = os.fork()  # the only other thread here is numpy's OpenBLAS pool, which OpenBLAS stops around a fork
        if pid == 0:
            reader.close()
            conn.close()
            _forked(writer, job, on_sigint)
        writer.close()
        parent_gone = not _relay(reader, conn)
        reader.close()
        if parent_gone:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if parent_gone:
            return
        conn.send(("exit", os.waitstatus_to_exitcode(status)))


def _relay(reader: Connection, conn: Connection) -> bool:
    """Pass the child's messages on until it closes its end; False when the parent went away first.

    The child writes to a pipe of its own rather than to `conn`, so one that
    dies in the middle of a message cannot garble the slot's next movie.
    """
    while True:
        for ready in wait([reader, conn]):
            if ready is conn:  # the parent sends nothing during a job: this is its end closing
                return False
            try:
                message = reader.recv_bytes()
            except (EOFError, OSError):  # the child exited (or died in the middle of a message)
                return True
            try:
                conn.send_bytes(message)
            except OSError:
                return False


class Zygote:
    """One worker slot: a spawned process that forks a fresh process per movie (see the module docstring)."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # a clean interpreter: the parent may have threads and cores
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_zygote, args=(child,), name="retrotool-dump-zygote", daemon=True)
        self._proc.start()
        child.close()

    def run(self, job: Job, slot: int = 0, progress: WorkerProgress | None = None) -> Outcome:
        """One movie in a fresh process; a crash of the core becomes this movie's error."""
        if not self._proc.is_alive():  # killed from outside since its last movie
            self._start()
        message: tuple[Any, ...] | None = None
        code: int | None = None
        try:
            self._conn.send(job)
            while code is None:
                got = self._conn.recv()
                if got[0] == "progress":
                    if progress is not None:
                        progress(slot, job.movie.name, got[1], got[2])
                elif got[0] == "exit":
                    code = got[1]
                else:
                    message = got
        except (EOFError, OSError):  # the zygote itself died (killed from outside): report its end instead
            self.close()
        except BaseException:  # from `progress`: the child's remaining messages must not reach the next movie
            self.close()
            raise
        if message is None:
            _sweep(job.target.parent, f".{job.target.name}.tmp-*")  # what the dead process was writing
            code = code if code is not None else (self._proc.exitcode or 0)
            how = signal.Signals(-code).name if code < 0 else f"exit code {code}"
            return Outcome(job.movie, None, f"{job.movie}: the replay process died ({how}); did the core crash?")
        kind, value = message
        return Outcome(job.movie, value, None) if kind == "ok" else Outcome(job.movie, None, str(value))

    def close(self) -> None:
        """End the zygote (and a movie it still runs): closing its connection is its signal to exit."""
        self._conn.close()
        self._proc.join()


def _run_local(jobs_: Sequence[Job], workers: int, progress: WorkerProgress | None) -> Iterator[Outcome]:
    if not jobs_:
        return
    zygotes: list[Zygote] = []
    try:
        zygotes.extend(Zygote() for _ in range(min(workers, len(jobs_))))  # they start side by side
        free = list(enumerate(zygotes))

        def one(job: Job) -> Outcome:
            slot, zygote = free.pop()
            try:
                return zygote.run(job, slot, progress)
            finally:
                free.append((slot, zygote))

        with ThreadPoolExecutor(max_workers=len(zygotes), thread_name_prefix="dump") as pool:
            futures = [pool.submit(one, j) for j in jobs_]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        for zygote in zygotes:
            zygote.close()


def _ray_task(job: Job) -> Outcome:
    try:
        return Outcome(job.movie, dump_episode(job), None)
    except RetroToolError as e:
        return Outcome(job.movie, None, str(e))


def _run_ray(jobs_: Sequence[Job], address: str | None) -> Iterator[Outcome]:
    try:
        import ray
    except ImportError:
        raise RetroToolError("--executor ray needs Ray: pip install 'retrotool[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    task = ray.remote(max_calls=1)(_ray_task)  # a fresh worker process per movie: cores keep globals
    pending = {task.remote(j): j for j in jobs_}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        job = pending.pop(done[0])
        try:
            yield ray.get(done[0])
        except Exception as e:  # noqa: BLE001 - a task that died (a crashed core) fails only its movie
            yield Outcome(job.movie, None, f"{job.movie}: the Ray task failed ({type(e).__name__}: {str(e)[:200]})")


def dump_dataset(
    movies: Sequence[Path], out: Path, *, fmt: str = OutputFormat.NPZ, options: DatasetOptions | None = None,
    workers: int = 1, executor: str = ExecutorKind.LOCAL, address: str | None = None, strict: bool = False,
    force: bool = False, core: str | None = None, rom: Path | None = None, scenario: Path | None = None,
    progress: Callable[[int, int], None] | None = None, worker_progress: WorkerProgress | None = None,
) -> DumpResult:
    """Dump every movie not yet in `out`; `progress(done, total)` counts movies."""
    options = options or DatasetOptions()
    check_choice(OutputFormat, fmt, "--format")
    check_choice(ExecutorKind, executor, "--executor")
    if workers < 1:
        raise RetroToolError(f"--workers must be at least 1, not {workers}")
    options.validate()
    manifest = open_output(out, fmt, options, force)
    todo, outcomes = _plan(movies, out, manifest, Job(Path(), "", Path(), options, core, rom, scenario))
    t0, steps = time.perf_counter(), 0
    if executor == ExecutorKind.RAY:
        runner = _run_ray(todo, address)
    elif len(todo) == 1 and workers == 1:  # nothing to isolate from: run here, without a process's start-up
        runner = iter([_run_here(todo[0], worker_progress)])
    else:
        runner = _run_local(todo, workers, worker_progress)
    for done, outcome in enumerate(runner, 1):
        if outcome.record is not None:
            why = _admit(manifest, outcome.record)
            if why is None:
                datasets.write_manifest(out, manifest)
                steps += outcome.record["steps"]
            else:
                (out / outcome.record["file"]).unlink(missing_ok=True)
                outcome = Outcome(outcome.movie, None, why)
        outcomes.append(outcome)
        if progress is not None:
            progress(done, len(todo))
        if outcome.error is not None and strict:
            raise RetroToolError(f"{outcome.error} (--strict; the {len(manifest['episodes'])} episodes written are kept)")
    minari = to_minari.build(out, manifest) if fmt == OutputFormat.MINARI and manifest["episodes"] else None
    return DumpResult(out, str(fmt), tuple(outcomes), steps, time.perf_counter() - t0, minari)


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
            todo.append(Job(movie, sha, target, template.options, template.core, template.rom, template.scenario))
    return todo, outcomes


def _run_here(job: Job, progress: WorkerProgress | None) -> Outcome:
    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(0, job.movie.name, done, total)

    try:
        return Outcome(job.movie, dump_episode(job, report), None)
    except RetroToolError as e:
        return Outcome(job.movie, None, str(e))
