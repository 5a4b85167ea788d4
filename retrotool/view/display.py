"""A game window and a frame clock, shared by the replay viewer and the interactive recorder.

pygame-ce is an optional extra, imported only when a window opens. The
window keeps the core's aspect ratio (a Genesis picture is 320x224 pixels
shown about 4:3; cores change it with the video mode, so it is asked for
again whenever the picture changes size) and letterboxes the picture when
resized. The clock runs at the
core's exact frame rate (60.0988 fps, not 60) from `time.perf_counter`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from retrotool.errors import RetroToolError

MAX_AUTO_SCALE = 4
RESYNC_SECONDS = 0.25  # further behind the clock than this: restart it rather than rush
TEXT = (255, 255, 255)
TEXT_BOX = (0, 0, 0, 176)


def load_pygame(extra: str, what: str) -> ModuleType:
    """pygame-ce, or an error naming the extra that installs it (and no banner on stdout)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError:
        raise RetroToolError(f"{what} needs pygame-ce, which is not installed: pip install 'retrotool[{extra}]'") from None
    return pygame


def window_size(width: int, height: int, aspect: float, scale: int) -> tuple[int, int]:
    """The window for a width x height picture shown `scale` times as tall, at `aspect` (0: square pixels)."""
    h = height * scale
    return (round(h * aspect) if aspect > 0 else width * scale), h


def fitting_scale(pg: ModuleType, height: int) -> int:
    """The largest scale (up to 4) whose window is at most 80% of the desktop's height."""
    desktop = pg.display.get_desktop_sizes()[0][1]
    return max(1, min(MAX_AUTO_SCALE, int(desktop * 0.8) // max(height, 1)))


class Display:
    """One window showing frames, with optional lines of text over them.

    `scale` None fits the window to the screen.

    Drawn with SDL's renderer: the frame goes up as a texture at its own
    size and the renderer scales it (on the GPU where there is one), which
    costs far less than scaling and sending a window-sized picture.
    """

    def __init__(
        self, pg: ModuleType, title: str, scale: int | None, aspect: float | Callable[[], float] = 0.0,
        resizable: bool = False,
    ) -> None:
        self.pg = pg
        self.title = title
        self.scale = scale
        self.aspect_of = aspect  # 0: square pixels; a function: asked whenever the picture changes size
        self.aspect = 0.0
        self.resizable = resizable
        self.last: np.ndarray | None = None  # the frame on screen
        self._native: tuple[int, int] | None = None
        self._window: Any = None
        self._renderer: Any = None
        self._texture: Any = None
        self._font: Any = None
        self._text_key: tuple[str, ...] = ()
        self._text_texture: Any = None  # the lines of _text_key, drawn once: text changes seldom

    def open(self) -> None:
        self.pg.display.init()

    def show(self, frame: np.ndarray, lines: Sequence[str] = ()) -> None:
        """Draw a uint8 [h, w, 3] frame (scaled, letterboxed) and `lines` over it."""
        h, w = frame.shape[:2]
        if self._native != (w, h):
            self._resize(w, h)
        self._texture.update(self.pg.image.frombuffer(np.ascontiguousarray(frame), (w, h), "RGB"))
        renderer = self._renderer
        renderer.draw_color = (0, 0, 0, 255)
        renderer.clear()
        self._texture.draw(dstrect=self._fit(self._window.size, w, h))
        if lines:
            self._text(tuple(lines))
        renderer.present()
        self.last = frame

    def redraw(self, lines: Sequence[str] = ()) -> None:
        """Show the last frame again (while paused), with other text."""
        if self.last is not None:
            self.show(self.last, lines)

    def _resize(self, w: int, h: int) -> None:
        from pygame._sdl2 import video

        self.aspect = self.aspect_of() if callable(self.aspect_of) else self.aspect_of
        size = window_size(w, h, self.aspect, self.scale or fitting_scale(self.pg, h))
        if self._window is None:
            self._window = video.Window(self.title, size=size, resizable=self.resizable)
            self._renderer = video.Renderer(self._window, accelerated=-1, vsync=False)
        else:
            self._window.size = size
        self._texture = video.Texture(self._renderer, (w, h), streaming=True)
        self._native = (w, h)

    def _fit(self, size: tuple[int, int], w: int, h: int) -> Any:
        """The largest rectangle of the picture's shape inside the window, centred."""
        sw, sh = size
        aspect = self.aspect if self.aspect > 0 else w / h
        fw, fh = (sw, max(1, round(sw / aspect))) if sw / sh < aspect else (max(1, round(sh * aspect)), sh)
        return self.pg.Rect((sw - fw) // 2, (sh - fh) // 2, fw, fh)

    def _text(self, lines: tuple[str, ...]) -> None:
        if lines != self._text_key:
            self._text_key, self._text_texture = lines, self._text_picture(lines)
        self._text_texture.draw(dstrect=self.pg.Rect((0, 0), self._text_texture.get_rect().size))

    def _text_picture(self, lines: tuple[str, ...]) -> Any:
        """The lines in white on a translucent black box, as a texture."""
        from pygame._sdl2 import video

        pg = self.pg
        if self._font is None:
            pg.font.init()
            self._font = pg.font.Font(None, max(16, self._window.size[1] // 26))
        rendered = [self._font.render(line, True, TEXT) for line in lines]
        box = pg.Surface((max(r.get_width() for r in rendered) + 12, sum(r.get_height() for r in rendered) + 8),
                         pg.SRCALPHA)
        box.fill(TEXT_BOX)
        y = 4
        for r in rendered:
            box.blit(r, (6, y))
            y += r.get_height()
        return video.Texture.from_surface(self._renderer, box)

    def close(self) -> None:
        if self._font is not None:
            self.pg.font.quit()
            self._font = None
        if self._window is not None:
            self._window.destroy()
        self._window = self._renderer = self._texture = self._text_texture = None
        self._native, self._text_key = None, ()
        self.pg.display.quit()


class Clock:
    """Frame n after `restart` is due at the restart time + n / fps."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._start = time.perf_counter()
        self._count = 0

    def restart(self, fps: float | None = None) -> None:
        """Count from now (after a pause, or at another speed)."""
        self.fps = fps or self.fps
        self._start = time.perf_counter()
        self._count = 0

    def tick(self) -> float:
        """One frame went by: sleep until the next is due. Returns how late it already was (s)."""
        self._count += 1
        due = self._start + self._count / self.fps
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
            return 0.0
        if now - due > RESYNC_SECONDS:
            self._start = now - self._count / self.fps
        return now - due
