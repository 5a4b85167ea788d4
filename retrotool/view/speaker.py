"""Playing a core's sound as it is made, frame by frame, without crackle or drift.

Each frame's samples go to one pygame.mixer channel as short sounds: one
playing, the next queued behind it, so SDL_mixer joins them seamlessly on
its own thread and no Python code ever runs on the audio thread (a Python
audio callback can deadlock against the main thread when the device
closes). The sound card and the frame clock tick on different crystals, so
audio produced at exactly the core's rate slowly runs ahead of, or behind,
what the card plays; each frame's samples are stretched or squeezed by at
most half a percent (inaudible) to keep the audio waiting to be played near
a target: the "dynamic rate control" of emulator frontends. When the audio
runs dry (a pause, a stall) playback restarts once enough is waiting again,
so a gap is silence, never a stutter.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MIXER_BUFFER = 512  # samples SDL_mixer mixes at a time
TARGET_SECONDS = 0.07  # audio kept waiting to be played: the sound's delay behind the picture
# a sound must outlast the wait for the next frame (when the one before it ends, ours is looked at
# once a frame at most), so sounds are at least two frames long
MIN_SOUND_SECONDS = 0.035
MAX_STRETCH = 0.005  # the most a frame's audio is resampled


@contextlib.contextmanager
def _stderr_captured() -> Iterator[Callable[[], str]]:
    """The process's own stderr (file descriptor 2, where C libraries write) goes to a file within the block."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        yield lambda: ""
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield lambda: (captured.seek(0), captured.read().decode(errors="replace"))[1]
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def open_mixer(pg: ModuleType, sample_rate: float, buffer: int, without: str) -> bool:
    """Open pygame's mixer on the default output; False, and one warning (`no sound device; WITHOUT`), if none.

    ALSA writes each failed probe straight to stderr, eight lines on a machine
    without a sound card: they go to the debug log instead.
    """
    with _stderr_captured() as captured:
        try:
            pg.mixer.init(frequency=round(sample_rate), size=-16, channels=2, buffer=buffer)
            return True
        except pg.error as e:
            error = e
        finally:
            noise = captured()
    log.warning("no sound device; %s", without)
    log.debug("the sound device did not open: %s%s", error, f"\n{noise.strip()}" if noise.strip() else "")
    return False


class Speaker:
    """Streams int16 stereo samples to the default output; no sound (and a warning) if there is none."""

    def __init__(self, pg: ModuleType, sample_rate: float, without: str = "playing without sound") -> None:
        self.pg = pg
        self.rate = sample_rate
        self.target = int(sample_rate * TARGET_SECONDS)
        self.min_sound = int(sample_rate * MIN_SOUND_SECONDS)
        self.underruns = 0
        self._channel: Any = None
        self._pending: list[np.ndarray] = []  # resampled, not yet handed to the mixer
        self._pending_n = 0
        self._playing_n = 0  # samples in the sound playing now (0: none)
        self._playing_since = 0.0  # when it started, as far as we can tell (within a frame)
        self._queued: Any = None  # the sound waiting behind it
        self._queued_n = 0
        self._carry = 0.0  # the fraction of a sample carried from one frame to the next
        if open_mixer(pg, sample_rate, MIXER_BUFFER, without):
            self._channel = pg.mixer.Channel(0)

    @property
    def enabled(self) -> bool:
        return self._channel is not None

    def push(self, samples: np.ndarray) -> None:
        """Hand over one frame's audio (int16 [n, 2]), nudged towards the target delay."""
        if self._channel is None or not len(samples):
            return
        waiting = self.waiting()
        stretch = 1.0 + MAX_STRETCH * float(np.clip((self.target - waiting) / self.target, -1.0, 1.0))
        self._pending.append(self._resample(samples, stretch))
        self._pending_n += len(self._pending[-1])
        if waiting > 4 * self.target:  # far behind (the card stalled?): drop what waits here
            self._pending, self._pending_n = self._pending[-1:], len(self._pending[-1])
        self._hand_over()

    def waiting(self) -> int:
        """Samples not played yet: the rest of the playing sound, the queued one, ours."""
        channel = self._channel
        now = time.perf_counter()
        if self._queued is not None and channel.get_queue() is None:  # the queued sound has started
            self._playing_n, self._playing_since = self._queued_n, now
            self._queued, self._queued_n = None, 0
        if self._queued is None and self._playing_n and not channel.get_busy():  # ran dry
            self.underruns += 1
            self._playing_n = 0
        left = max(0, self._playing_n - int((now - self._playing_since) * self.rate)) if self._playing_n else 0
        return left + self._queued_n + self._pending_n

    def _hand_over(self) -> None:
        """Queue what waits here once the mixer's queue is free (after a gap, only with enough of it).

        Channel.queue plays at once on an idle channel; a queued sound is
        never replaced, so nothing is lost to a race with the mixer's thread.
        """
        if self._queued is not None or self._channel.get_queue() is not None:
            return
        idle = self._playing_n == 0
        if self._pending_n < (self.target if idle else self.min_sound):
            return
        data = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        sound = self.pg.mixer.Sound(buffer=np.ascontiguousarray(data, dtype="<i2").tobytes())
        self._channel.queue(sound)
        if idle:
            self._playing_n, self._playing_since = self._pending_n, time.perf_counter()
        else:
            self._queued, self._queued_n = sound, self._pending_n
        self._pending, self._pending_n = [], 0

    def _resample(self, samples: np.ndarray, stretch: float) -> np.ndarray:
        """Linear interpolation to len * stretch samples (the fraction carried to the next frame)."""
        n = len(samples)
        exact = n * stretch + self._carry
        m = int(exact)
        self._carry = exact - m
        if m == n or n < 2:
            return samples
        positions = np.linspace(0.0, n - 1, m)
        base = np.minimum(positions.astype(np.int64), n - 2)
        frac = (positions - base)[:, None]
        src = samples.astype(np.float32)
        return np.rint(src[base] * (1 - frac) + src[base + 1] * frac).astype(np.int16)

    def clear(self) -> None:
        """Stop and forget what waits (pause, another speed): the next push starts afresh."""
        if self._channel is not None:
            self._channel.stop()
        self._pending, self._pending_n = [], 0
        self._playing_n, self._queued, self._queued_n = 0, None, 0

    def close(self) -> None:
        if self._channel is not None:
            self._channel = None
            self.pg.mixer.quit()
