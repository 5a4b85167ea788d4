"""Watching a replay in a window at the game's own speed, with its sound.

Uses pygame-ce (the optional extra `view`), imported only when a window
is opened. Frames are shown on a clock that runs at the core's exact frame
rate; each batch's audio is queued on one mixer channel as the batch's first
frame appears, so sound and picture start together and play back to back.
Closing the window or pressing Esc or Q stops the replay like Ctrl-C.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo
from retrotool.view.display import Clock, Display, load_pygame
from retrotool.view.speaker import open_mixer


class WindowSink:
    """Shows rows start .. end-1, scaled by `scale` (nearest neighbour), in real time.

    Rows before `start` run as fast as the emulator can; so do rows after
    `end` (None: the movie's end), with the window already closed.
    """

    def __init__(self, scale: int = 2, title: str = "retrotool", start: int = 0, end: int | None = None) -> None:
        self.pg = load_pygame("view", "--view")
        self.scale = scale
        self.title = title
        self.start, self.end = start, end
        self.shown = 0
        self._display = Display(self.pg, title, scale)
        self._clock = Clock(60.0)
        self._channel: Any = None

    def needs(self, frames: int) -> Needs:
        """Batches cut at the range's ends, so each batch's audio is wholly inside or outside it."""
        self.end = frames if self.end is None else min(self.end, frames)
        cuts = [r for r in (self.start - 1, self.end - 1) if 0 <= r < frames]
        return Needs(video="native", audio=True, snapshots=np.unique(np.array(cuts, np.int64)))

    def open(self, info: ReplayInfo) -> None:
        pg = self.pg
        self._clock = Clock(info.av.fps)
        self._display.open()
        if open_mixer(pg, info.av.sample_rate, 1024, "playing without sound"):
            self._channel = pg.mixer.Channel(0)
        self.shown = 0

    def consume(self, batch: FrameBatch) -> None:
        end = self.end if self.end is not None else batch.last + 1  # needs() sets it
        lo, hi = max(self.start - batch.start, 0), min(end - batch.start, batch.n)
        if batch.video is None or lo >= hi:
            return
        if batch.audio is not None and self._channel is not None and batch.audio.size:
            self._queue(batch.audio)
        for frame in batch.video[lo:hi]:
            self._show(frame)
        if batch.start + hi == end:
            self.close(None)

    def close(self, error: BaseException | None) -> None:
        """Close the window (at the range's end, or when the replay ends or fails)."""
        if self._channel is not None:
            self.pg.mixer.quit()
            self._channel = None
        self._display.close()

    def _queue(self, audio: np.ndarray) -> None:
        sound = self.pg.mixer.Sound(buffer=np.ascontiguousarray(audio, dtype="<i2").tobytes())
        if self._channel.get_busy():
            self._channel.queue(sound)
        else:
            self._channel.play(sound)

    def _show(self, frame: np.ndarray) -> None:
        pg = self.pg
        for event in pg.event.get():
            if event.type == pg.QUIT or (event.type == pg.KEYDOWN and event.key in (pg.K_ESCAPE, pg.K_q)):
                raise KeyboardInterrupt
        self._display.show(frame)
        if self.shown == 0:
            self._clock.restart()  # the clock starts with the first frame shown
        self.shown += 1
        self._clock.tick()
