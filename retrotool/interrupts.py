"""SIGTERM stops a run the way Ctrl-C does.

Python's default for SIGTERM is to end the process at once, which skips every
`finally`: a render stopped that way (`kill`, `timeout`, a job scheduler)
left its hidden temporary folder behind. Raised as an exception instead, it
unwinds through the same clean-up as Ctrl-C (sinks discard their temporaries,
ffmpeg is killed) before the process exits.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

EXIT_CODE = 128 + signal.SIGTERM  # what a shell reports for a process that SIGTERM ended


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no `except Exception` swallows it."""


def _raise(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once, clean-up or not
    raise Terminated()


def _stop_once(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what comes next (the zygote passing a Ctrl-C on as SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # must not cut the clean-up short
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()


def stop_job_on_signals(sigint: bool = True) -> None:
    """In a job's process (main thread): the first SIGTERM (or SIGINT) stops it as Ctrl-C does; later ones are ignored.

    A job is sent both when the user presses Ctrl-C (to the whole process
    group) and its caller then stops its workers: the second must not
    interrupt the clean-up the first started. Its parent kills it if that
    takes too long.
    """
    if sigint:
        signal.signal(signal.SIGINT, _stop_once)
    signal.signal(signal.SIGTERM, _stop_once)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM wait until its end: a clean-up is never cut in the middle.

    A signal that came meanwhile is raised again right after the block, so
    it does what it would have done (an exception, or the process's end).
    Only the main thread runs signal handlers: elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: came.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(came):
            signal.raise_signal(signum)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM raises Terminated."""
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
