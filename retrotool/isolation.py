"""Each job in a process of its own, started cheaply: zygotes.

Movies of many-movie commands (playback, render, dump-dataset) run each in a
fresh process: libretro cores keep global state, so a core must be loaded
fresh per movie, and a core that crashes must end only its own movie.

A `Zygote` is a process spawned once (a clean interpreter: the parent may
have threads and loaded cores) that imports retrotool and then forks a
child per job. A job then costs a fork (~10 ms) instead of an interpreter
start and its imports (~0.3 s, more than replaying a short movie), and the
zygote never loads a core, so each child starts as clean as a spawned
process would. Not multiprocessing's forkserver: there is one per parent
process, alive until that exits, keeping the environment and working
directory of its first use, while users and tests change
RETROTOOL_CORE_PATH, RETROTOOL_DATA_PATH and the cwd between calls. Zygotes
live as long as the caller keeps them (a `with` block), so they see the
current ones, and none is left behind.

Stopping is Ctrl-C's way whatever the signal: a job's process turns SIGTERM
into `interrupts.Terminated`, so its sinks remove their temporaries as
after Ctrl-C; a zygote sent SIGTERM passes it on to its job, waits for it
and ends; a zygote whose caller went away does the same (SIGKILL only when
the job has not ended within `GRACE` seconds). A caller stopped by SIGTERM
or Ctrl-C stops its zygotes that way, instead of waiting for their jobs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any, Generic, NoReturn, TypeVar

from retrotool import interrupts
from retrotool.errors import RetroToolError

A = TypeVar("A")
Report = Callable[[Any], None]  # a job's way to send progress messages to its caller
Job = Callable[[A, Report], Any]  # a module-level function (it travels by name), run in the child
GRACE = 10.0  # seconds a stopped job has to clean up before it is killed
_TERM = {signal.SIGTERM}


class ExecutorKind(StrEnum):
    """--executor: local processes, or tasks on a Ray cluster."""

    LOCAL = "local"
    RAY = "ray"


@dataclass(frozen=True, slots=True)
class Ended(Generic[A]):
    """How one job's process ended: a value, a project error, or death without either."""

    arg: A
    value: Any = None
    error: RetroToolError | None = None
    exit_code: int | None = None  # set when the process died without a result

    @property
    def died(self) -> str | None:
        """'SIGSEGV' or 'exit code 1' when the process died; None when it finished."""
        if self.exit_code is None:
            return None
        code = self.exit_code
        return signal.Signals(-code).name if code < 0 else f"exit code {code}"


def _forked(conn: Connection, fn: Job[Any], arg: Any, on_sigint: Callable[..., object] | int | None) -> NoReturn:
    """A job's process, forked from a zygote: run it, then leave without running the zygote's exit code."""
    code = 1
    try:
        signal.signal(signal.SIGINT, on_sigint)  # what a spawned process would have (SIG_IGN in a background job)
        interrupts.stop_job_on_signals(sigint=on_sigint != signal.SIG_IGN)  # Ctrl-C and SIGTERM stop a job, once
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _TERM)  # blocked by the zygote around the fork
        try:
            conn.send(("ok", fn(arg, lambda message: conn.send(("progress", message)))))
        except RetroToolError as e:
            conn.send(("error", e))
        code = 0
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except interrupts.Terminated:
        code = interrupts.EXIT_CODE
    except BaseException:  # noqa: BLE001 - a bug: shown, and this job fails as one whose process died
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)  # whatever happened, never return into the zygote's loop


class _Running:
    """The zygote's job process, and whether the zygote was told to stop (SIGTERM)."""

    pid: int | None = None
    stopping = False


def _on_sigterm(signum: int, frame: object) -> None:
    """In the zygote: pass SIGTERM on to the job (which cleans up and ends), then end; idle, end at once."""
    _Running.stopping = True
    if _Running.pid is None:
        raise SystemExit(0)
    with contextlib.suppress(ProcessLookupError):  # it has just ended
        os.kill(_Running.pid, signal.SIGTERM)


def _zygote(conn: Connection) -> None:
    """The zygote's process: forks one child per job it is sent, relays its messages, then its exit code.

    It ends when the parent closes `conn` or sends SIGTERM; a child still
    running then is stopped (see the module docstring), so nothing outlives
    the caller.
    """
    on_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the children; then `conn` closes
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _serve(conn, on_sigint)
    finally:  # leaving anyway: a SIGTERM now must not raise into the interpreter's exit (atexit handlers)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _serve(conn: Connection, on_sigint: Callable[..., object] | int | None) -> None:
    """The zygote's loop: one forked child per job, until the parent goes or SIGTERM comes."""
    while not _Running.stopping:
        try:
            fn, arg = conn.recv()
        except EOFError:
            return
        reader, writer = multiprocessing.Pipe(duplex=False)
        signal.pthread_sigmask(signal.SIG_BLOCK, _TERM)  # no SIGTERM between the fork and knowing the child
        pid = os.fork()  # the only other thread here is numpy's OpenBLAS pool, which OpenBLAS stops around a fork
        if pid == 0:
            reader.close()
            conn.close()
            _forked(writer, fn, arg, on_sigint)
        _Running.pid = pid
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _TERM)
        writer.close()
        parent_gone = not _relay(reader, conn)
        reader.close()
        status = _reap(pid, stop=parent_gone)
        _Running.pid = None
        if parent_gone:
            return
        conn.send(("exit", os.waitstatus_to_exitcode(status)))


def _reap(pid: int, *, stop: bool) -> int:
    """The job's wait status; with `stop`, it is sent SIGTERM first, and SIGKILL after GRACE seconds."""
    if not stop:
        return os.waitpid(pid, 0)[1]
    if not _Running.stopping:  # once only: a second SIGTERM would end the job in the middle of its clean-up
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _relay(reader: Connection, conn: Connection) -> bool:
    """Pass the child's messages on until it closes its end; False when the parent went away first.

    The child writes to a pipe of its own rather than to `conn`, so one that
    dies in the middle of a message cannot garble the zygote's next job.
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
    """A spawned process that runs each job in a fresh fork of itself (see the module docstring)."""

    def __init__(self) -> None:
        self._stopped = False
        self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # a clean interpreter: the parent may have threads and cores
        with interrupts.deferred():  # a start cut short leaves a process reading half its instructions (a traceback)
            self._conn, child = ctx.Pipe()
            self._proc = ctx.Process(target=_zygote, args=(child,), name="retrotool-zygote", daemon=True)
            self._proc.start()
            child.close()

    def run(self, fn: Job[A], arg: A, on_report: Report | None = None) -> Ended[A]:
        """`fn(arg, report)` in a fresh process; its messages go to `on_report`."""
        if self._stopped:  # the caller is stopping: no job starts any more
            return Ended(arg, exit_code=interrupts.EXIT_CODE)
        if not self._proc.is_alive():  # killed from outside since its last job
            self._start()
        result: tuple[str, Any] | None = None
        code: int | None = None
        try:
            self._conn.send((fn, arg))
            while code is None:
                kind, value = self._conn.recv()
                if kind == "progress":
                    if on_report is not None:
                        on_report(value)
                elif kind == "exit":
                    code = value
                else:
                    result = (kind, value)
        except (EOFError, OSError):  # the zygote itself died (killed from outside): report its end instead
            self.close()
        except BaseException:  # from `on_report`: the child's remaining messages must not reach the next job
            self.close()
            raise
        if result is None:
            return Ended(arg, exit_code=code if code is not None else (self._proc.exitcode or 0))
        kind, value = result
        return Ended(arg, value=value) if kind == "ok" else Ended(arg, error=value)

    def stop(self) -> None:
        """Stop the job it runs the way Ctrl-C would, from any thread (a `run` waiting for it returns), and end."""
        self._stopped = True
        if self._proc.is_alive():
            self._proc.terminate()  # SIGTERM: passed on to the job

    def close(self) -> None:
        """End the zygote (and a job it still runs): closing its connection is its signal to exit."""
        self._conn.close()
        self._proc.join()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


SlotReport = Callable[[int, A, Any], None]  # (worker slot, job argument, message)


def run_each(fn: Job[A], args: Sequence[A], workers: int, on_report: SlotReport[A] | None = None) -> Iterator[Ended[A]]:
    """`fn(arg, report)` for every arg, each in a fresh process, `workers` at once; yields as they end."""
    if not args:
        return
    zygotes: list[Zygote] = []
    try:
        zygotes.extend(Zygote() for _ in range(min(workers, len(args))))  # they start side by side
        free = list(enumerate(zygotes))

        def one(arg: A) -> Ended[A]:
            slot, zygote = free.pop()
            try:
                report = (lambda message: on_report(slot, arg, message)) if on_report is not None else None
                return zygote.run(fn, arg, report)
            finally:
                free.append((slot, zygote))

        with ThreadPoolExecutor(max_workers=len(zygotes), thread_name_prefix="isolated") as pool:
            futures = [pool.submit(one, a) for a in args]
            try:
                for future in as_completed(futures):
                    yield future.result()
            except BaseException:  # stopped (SIGTERM, Ctrl-C, the caller closing us): so are the jobs, now
                for zygote in zygotes:
                    zygote.stop()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        for zygote in zygotes:
            zygote.close()


def _ray_call(fn: Job[A], arg: A, cwd: str) -> Any:
    """A task in its fresh worker: in the driver's folder, so that the paths it was given mean the same there."""
    try:
        os.chdir(cwd)
    except OSError as e:
        raise RetroToolError(f"a Ray worker on {os.uname().nodename} cannot enter {cwd} ({e.strerror}): the workers "
                             "must see the driver's files (one machine, or a shared filesystem)") from None
    return fn(arg, lambda message: None)  # progress messages stay on the worker


def ray_each(fn: Job[A], args: Sequence[A], address: str | None = None) -> Iterator[Ended[A]]:
    """`fn(arg, report)` for every arg as a Ray task, each in a fresh worker process; yields as they end.

    The workers must see the files the args name (one machine, or a shared
    filesystem); each task starts in the driver's working folder, so
    relative paths work on a cluster started elsewhere (`ray start`). A task that fails with a project error gives that error;
    any other failure (a crashed core takes its worker down) is named.
    """
    try:
        import ray
    except ImportError:
        raise RetroToolError("--executor ray needs Ray: pip install 'retrotool[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    task: Any = ray.remote(max_calls=1)(_ray_call)  # a fresh worker process per task: cores keep globals
    cwd = os.getcwd()
    pending = {task.remote(fn, a, cwd): a for a in args}
    while pending:
        (ready,), _ = ray.wait(list(pending), num_returns=1)
        arg = pending.pop(ready)
        try:
            yield Ended(arg, ray.get(ready))
        except Exception as e:  # noqa: BLE001 - whatever ended the task ends only its job
            cause = getattr(e, "cause", None)
            error = cause if isinstance(cause, RetroToolError) else RetroToolError(
                f"the Ray task failed ({type(e).__name__}: {str(e)[:200]})")
            yield Ended(arg, error=error)
