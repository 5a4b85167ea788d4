"""Signals during a clean-up wait until it is done, then do what they would have done."""

from __future__ import annotations

import os
import signal

import pytest

from retrotool import interrupts


def test_a_signal_during_a_deferred_block_comes_right_after_it() -> None:
    steps = []
    with interrupts.sigterm_raises(), pytest.raises(interrupts.Terminated):
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("the clean-up went on")
            with interrupts.deferred():  # nested: the outer block still holds it
                steps.append("and on")
            steps.append("to its end")
        steps.append("never: Terminated comes first")
    assert steps == ["the clean-up went on", "and on", "to its end"]
    with pytest.raises(KeyboardInterrupt), interrupts.deferred():
        signal.raise_signal(signal.SIGINT)
        steps.append("Ctrl-C waited too")
    assert steps[-1] == "Ctrl-C waited too"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_jobs_first_signal_stops_it_and_the_next_ones_are_ignored() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        interrupts.stop_job_on_signals()
        with pytest.raises(interrupts.Terminated):
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)  # its clean-up is under way: ignored
        signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])
