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
from collections.abc import Iterator
from types import FrameType

EXIT_CODE = 128 + signal.SIGTERM  # what a shell reports for a process that SIGTERM ended


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no `except Exception` swallows it."""


def _raise(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once, clean-up or not
    raise Terminated()


def raise_on_sigterm() -> None:
    """From now on (main thread only), SIGTERM raises Terminated: for a process of retrotool's own (a job's)."""
    signal.signal(signal.SIGTERM, _raise)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM raises Terminated."""
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
