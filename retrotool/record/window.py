"""A person playing: the input source that reads them, and the window they watch.

`Person` is the replay loop's input source: each time the loop wants a
frame it waits for that frame's time on the clock, takes every pending
keyboard and gamepad event, and hands over what is held right then, so
input is at most one frame old. Between frames it also carries out the
recorder's controls (pause, frame advance, speed, savestate slots and
writing them out as state files, screenshots, quit). Loading a slot or quitting ends the loop's run; `run`
then loads the slot into the take and starts the next run, so the one
replay loop drives the whole session.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrotool.errors import RetroToolError
from retrotool.integration import statefiles
from retrotool.record.controls import Controls
from retrotool.record.keys import ACTIONS, Bindings
from retrotool.record.take import Slot, Take
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo
from retrotool.view.display import Clock, Display, load_pygame
from retrotool.view.speaker import Speaker

log = logging.getLogger(__name__)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
FAST_FORWARD = 4.0
SLOTS = 10
STRETCH = 36_000  # frames per run of the loop when nothing ends it sooner (bounds per-run tables)
MESSAGE_SECONDS = 3.0
IDLE_SECONDS = 1 / 60  # how often a paused window looks at its events


class LiveView:
    """The sink a person watches: every frame in the window, its sound on the speaker."""

    def __init__(self, display: Display, speaker: Speaker | None, overlay: Callable[[], list[str]]) -> None:
        self.display = display
        self.speaker = speaker
        self.overlay = overlay
        self.muted = False  # not at normal speed: the sound would be wrong

    def needs(self, frames: int) -> Needs:
        return Needs(video="native", audio=self.speaker is not None)

    def open(self, info: ReplayInfo) -> None:
        """The window outlives each run of the loop; it is opened by the session."""

    def consume(self, batch: FrameBatch) -> None:
        if batch.video is not None:
            self.display.show(batch.video[-1], self.overlay())
        if self.speaker is not None and batch.audio is not None and not self.muted:
            self.speaker.push(batch.audio)

    def close(self, error: BaseException | None) -> None:
        """See open()."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Frame pacing of a session at normal speed (pauses and other speeds left out)."""

    starts: np.ndarray  # time.perf_counter() when each frame was handed to the loop (NaN: after a break)
    intervals: np.ndarray  # seconds between the starts of consecutive frames
    work: np.ndarray  # seconds each frame took to run, show, journal (before waiting for the next)
    underruns: int  # times the sound ran dry and restarted (0 without sound)

    @staticmethod
    def ms(seconds: np.ndarray) -> tuple[float, float]:
        """Mean and 99th percentile in milliseconds (0, 0 for none)."""
        if not len(seconds):
            return 0.0, 0.0
        return float(np.mean(seconds) * 1e3), float(np.percentile(seconds, 99) * 1e3)


class Person:
    """The replay loop's input source while a person plays (see the module docstring)."""

    def __init__(
        self, take: Take, controls: Controls, view: LiveView, clock: Clock, bindings: Bindings,
        *, players: int, fps: float, screenshots: Path, events: Callable[[int], Iterable[Any]],
        states: Path | None = None, export_all: bool = False,
    ) -> None:
        self.take = take
        self.events = events  # the frame about to run -> pending events (pygame's queue, or a test's script)
        self.controls = controls
        self.view = view
        self.clock = clock
        self.bindings = bindings
        self.players = players
        self.frames = STRETCH
        self.fps = fps
        self.screenshots = screenshots  # path prefix: <prefix>-<frame>.png
        self.states = states or screenshots  # path prefix: <prefix>-slot<k>-frame<N>.state
        self.export_all = export_all  # every slot saved is written out too (--save-states)
        self.exported: list[Path] = []
        self.paused = self.help = self.quitting = False
        self._step = False  # one frame asked for while paused
        self.speed = 1.0
        self.fast = False
        self.slot = 1
        self.slots: dict[int, Slot] = {}
        self.loading: Slot | None = None
        self.saved: list[Path] = []
        self._messages: list[tuple[float, str]] = []
        self._starts: list[float] = []
        self._work: list[float] = []
        self._last = math.nan  # when the previous frame was handed out

    # -- the loop's side ----------------------------------------------------
    def read(self, start: int, n: int) -> np.ndarray:
        """The next frame's buttons, when its time comes; no rows ends the run."""
        done = time.perf_counter()
        normal = self.speed == 1.0 and not self.fast
        stepped = False
        while True:
            self._handle(self.controls.poll(self.events(self.take.frames)))
            if self.quitting or self.loading is not None:
                return np.zeros((0, self.players, len(self.take.system.buttons)), np.uint8)
            if not self.paused or self._step:
                stepped, self._step = self._step, False
                break
            self.view.display.redraw(self.overlay())
            time.sleep(IDLE_SECONDS)
        if not stepped:
            self.clock.tick()
            self._handle(self.controls.poll(self.events(self.take.frames)))  # what is held now, after the wait
        now = time.perf_counter()
        if normal and not stepped and not math.isnan(self._last):
            self._work.append(done - self._last)
            self._starts.append(now)
        else:
            self._starts.append(math.nan)  # a break in the pacing
        self._last = now
        return self.controls.row()[np.newaxis]

    # -- controls -------------------------------------------------------------
    def _handle(self, actions: list[str]) -> None:
        for text in self.controls.notices:
            self.say(text)
        self.controls.notices.clear()
        if self.controls.lost_pad:
            self.controls.lost_pad = False
            self._pause(True)
        for action in actions:
            getattr(self, f"_do_{action}")()

    def _pause(self, on: bool) -> None:
        if on == self.paused:
            return
        self.paused = on
        if not on:
            self.restart()

    def restart(self) -> None:
        """New pace (after a pause or at another speed): count from now, sound afresh."""
        speed = FAST_FORWARD if self.fast else self.speed
        self.clock.restart(self.fps * speed)
        self.view.muted = speed != 1.0
        if self.view.speaker is not None:
            self.view.speaker.clear()

    def _do_help(self) -> None:
        self.help = not self.help

    def _do_pause(self) -> None:
        self._pause(not self.paused)

    def _do_advance(self) -> None:
        if self.paused:
            self._step = True
        else:
            self._pause(True)

    def _do_slower(self) -> None:
        self._set_speed(-1)

    def _do_faster(self) -> None:
        self._set_speed(+1)

    def _set_speed(self, step: int) -> None:
        i = min(max(SPEEDS.index(self.speed) + step, 0), len(SPEEDS) - 1)
        self.speed = SPEEDS[i]
        self.say(f"speed {self.speed:g}x" + ("" if self.speed == 1.0 else " (no sound)"))
        self.restart()

    def _do_fast_forward(self) -> None:
        self.fast = True
        self.restart()

    def _do_fast_forward_end(self) -> None:
        self.fast = False
        self.restart()

    def _do_save_state(self) -> None:
        self.slots[self.slot] = self.take.save()
        self.say(f"saved slot {self.slot} at frame {self.take.frames}")
        if self.export_all:
            self._export(self.slot)

    def _do_export_state(self) -> None:
        if self.slot not in self.slots:
            self.say(f"slot {self.slot} is empty: save it first")
        else:
            self._export(self.slot)

    def _export(self, k: int) -> None:
        """Write a slot as a state file stable-retro reads, named by the frame it follows (as `state save --frame`)."""
        slot = self.slots[k]
        at = f"frame{slot.frame - 1:06d}" if slot.frame else "start"
        path = Path(f"{self.states}-slot{k}-{at}.state")
        if path in self.exported:
            self.say(f"slot {k} is in {path.name} already")
            return
        try:
            statefiles.write(path, slot.state)
        except RetroToolError as e:
            self.say(f"slot {k} not written: {e}")
            return
        self.exported.append(path)
        self.say(f"slot {k} written to {path.name}")

    def _do_load_state(self) -> None:
        slot = self.slots.get(self.slot)
        if slot is None:
            self.say(f"slot {self.slot} is empty: save it first")
        else:
            self.loading = slot

    def _do_previous_slot(self) -> None:
        self.slot = (self.slot - 1) % SLOTS
        self.say(f"slot {self.slot}" + ("" if self.slot in self.slots else " (empty)"))

    def _do_next_slot(self) -> None:
        self.slot = (self.slot + 1) % SLOTS
        self.say(f"slot {self.slot}" + ("" if self.slot in self.slots else " (empty)"))

    def _do_screenshot(self) -> None:
        import imageio.v3 as iio

        frame = self.view.display.last
        if frame is None:
            return
        path = Path(f"{self.screenshots}-{self.take.frames:06d}.png")
        iio.imwrite(path, frame)
        self.saved.append(path)
        self.say(f"screenshot {path.name}")

    def _do_quit(self) -> None:
        self.quitting = True

    def request_quit(self) -> None:
        """Save and quit at the next frame (Ctrl-C in the terminal)."""
        self.quitting = True

    # -- what the window says ---------------------------------------------------
    def say(self, text: str) -> None:
        """Show a message in the window for a few seconds (and log it)."""
        log.info("%s", text)
        self._messages.append((time.perf_counter() + MESSAGE_SECONDS, text))

    def overlay(self) -> list[str]:
        now = time.perf_counter()
        self._messages = [(t, m) for t, m in self._messages if t > now]
        lines = help_lines(self.bindings, self.players) if self.help else []
        if self.paused:
            lines.append(f"paused at frame {self.take.frames}")
        return lines + [m for _, m in self._messages]

    def run(self) -> None:
        """Play until the person quits; each slot loaded starts another run of the loop."""
        self.restart()
        while not self.quitting:
            self.take.play(self, [self.view], batch=1)
            slot, self.loading = self.loading, None
            if slot is not None:
                self.take.load(slot)
                self.say(f"loaded slot {self.slot}: back to frame {slot.frame} (re-record {self.take.builder.rerecords})")
                if slot.screen is not None:
                    self.view.display.show(slot.screen, self.overlay())
                self.restart()

    def timing(self) -> Timing:
        starts = np.array(self._starts)
        gaps = np.diff(starts)
        underruns = self.view.speaker.underruns if self.view.speaker is not None else 0
        return Timing(starts, gaps[~np.isnan(gaps)], np.array(self._work), underruns)


def help_lines(bindings: Bindings, players: int) -> list[str]:
    """The controls as short lines: each player's buttons, then the recorder's keys."""
    lines = []
    for p in range(players):
        pairs = [f"{b}={'/'.join(bindings.keys_of(p, b)) or '-'}" for b in bindings.system.buttons]
        lines.extend(_wrap(f"player {p + 1}: ", pairs))
    pairs = [f"{'/'.join(bindings.keys_of(-1, a))}: {what}" for a, what in ACTIONS.items() if bindings.keys_of(-1, a)]
    lines.extend(_wrap("", pairs))
    lines.append("gamepads: plug in at any time (first pad is player 1)")
    return lines


def _wrap(first: str, items: list[str], width: int = 64) -> list[str]:
    lines, line = [], first
    for item in items:
        if len(line) + len(item) > width and line.strip():
            lines.append(line.rstrip(", "))
            line = "  "
        line += item + ", "
    lines.append(line.rstrip(", "))
    return lines


class Window:
    """pygame with its display up and the key bindings checked.

    Made before anything is recorded, so that no display, or a key name
    pygame does not know, fails before a journal exists.
    """

    def __init__(self, bindings: Bindings, no_display: str) -> None:
        self.pg = pg = load_pygame("record", "the interactive recorder")
        self.bindings = bindings
        try:
            pg.display.init()
        except pg.error as e:
            raise RetroToolError(no_display.format(why=str(e))) from None
        try:
            self.pads, self.actions = bindings.resolve(pg.key.key_code)
        except BaseException:
            pg.display.quit()
            raise

    def run(
        self, take: Take, players: int, movie: Path, scale: int | None, events: Callable[[int], Iterable[Any]] | None,
        save_states: Path | None = None,
    ) -> Person:
        """Open the window, sound and pads; let the person play until they quit; close it all."""
        pg = self.pg
        av = take.emulator.av_info
        display = Display(
            pg, f"retrotool record - {movie.name} - F1: controls", scale,
            lambda: take.emulator.host.av_info().aspect_ratio, resizable=True,
        )
        display.open()
        speaker = Speaker(pg, av.sample_rate, without="recording without sound")
        try:
            screen = take.screen()
            if screen is not None:  # going on from a movie: show where
                display.show(screen)
            from pygame._sdl2 import controller

            controller.init()
            view = LiveView(display, speaker if speaker.enabled else None, list)
            person = Person(
                take, Controls(pg, take.system, players, self.pads, self.actions), view, Clock(av.fps),
                self.bindings, players=players, fps=av.fps, screenshots=movie.with_suffix(""),
                events=events or (lambda frame: pg.event.get()),
                states=save_states / movie.stem if save_states is not None else None, export_all=save_states is not None,
            )
            view.overlay = person.overlay
            person.say("F1: controls")
            with _quit_on_interrupt(person.request_quit):
                person.run()
            return person
        finally:
            speaker.close()
            display.close()

    def close(self) -> None:
        self.pg.display.quit()


@contextlib.contextmanager
def _quit_on_interrupt(request_quit: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C in the terminal saves and quits like the quit key (signals reach the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: request_quit())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
