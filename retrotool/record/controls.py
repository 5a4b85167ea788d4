"""Turning keyboard and gamepad events into a frame's buttons and the recorder's actions.

State is kept from events rather than by asking the devices, for two
reasons: a press shorter than a frame (down and up between two frames) must
still reach the game for one frame, and tests can drive the recorder with
made-up events. Gamepads use SDL's game controller API, whose standard
layout maps one to one onto libretro's RetroPad; the system's buttons carry
their RetroPad ids, so every console works with every pad.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import numpy as np

from retrotool.systems import System

log = logging.getLogger(__name__)

STICK = 16384  # half the stick's travel, or of a trigger's, counts as pressed
# RetroPad ids of directions and triggers (libretro joypad ids)
UP, DOWN, LEFT, RIGHT, L2, R2 = 4, 5, 6, 7, 12, 13


def _pad_roles(pg: ModuleType) -> dict[int, int]:
    """SDL game controller button -> RetroPad id (same positions: bottom face = B, ...)."""
    return {
        pg.CONTROLLER_BUTTON_A: 0, pg.CONTROLLER_BUTTON_X: 1, pg.CONTROLLER_BUTTON_BACK: 2,
        pg.CONTROLLER_BUTTON_START: 3, pg.CONTROLLER_BUTTON_DPAD_UP: UP,
        pg.CONTROLLER_BUTTON_DPAD_DOWN: DOWN, pg.CONTROLLER_BUTTON_DPAD_LEFT: LEFT,
        pg.CONTROLLER_BUTTON_DPAD_RIGHT: RIGHT, pg.CONTROLLER_BUTTON_B: 8, pg.CONTROLLER_BUTTON_Y: 9,
        pg.CONTROLLER_BUTTON_LEFTSHOULDER: 10, pg.CONTROLLER_BUTTON_RIGHTSHOULDER: 11,
        pg.CONTROLLER_BUTTON_LEFTSTICK: 14, pg.CONTROLLER_BUTTON_RIGHTSTICK: 15,
    }


class _Pad:
    """One connected gamepad: its player and its RetroPad bits (held, and pressed since the last frame)."""

    def __init__(self, device: Any, name: str, player: int | None) -> None:
        self.device = device  # kept open while connected
        self.name = name
        self.player = player
        self.held = 0
        self.tapped = 0
        self.axes = 0  # bits the sticks and triggers hold

    def set(self, bit: int, down: bool) -> None:
        if down:
            self.held |= 1 << bit
            self.tapped |= 1 << bit
        else:
            self.held &= ~(1 << bit)


class Controls:
    """Feeds on pygame events; `row()` gives the next frame's buttons, `poll()` the actions asked for.

    `pads`: key code -> [(player, button index)]; `actions`: key code -> action
    (see keys.Bindings.resolve). `open_pad(device_index)` opens a gamepad
    and returns (device, instance id, name).
    """

    def __init__(
        self, pg: ModuleType, system: System, players: int, pads: dict[int, list[tuple[int, int]]],
        actions: dict[int, str], *, open_pad: Callable[[int], tuple[Any, int, str]] | None = None,
    ) -> None:
        self.pg = pg
        self.system = system
        self.players = players
        self.key_buttons = pads
        self.key_actions = actions
        self._open_pad = open_pad or self._open_sdl_pad
        self._roles = _pad_roles(pg)
        self._ids = np.asarray(system.joypad_ids, np.int64)
        self.down: set[int] = set()
        self.tapped: set[int] = set()
        self.gamepads: dict[int, _Pad] = {}
        self.notices: list[str] = []  # things to tell the player (pads plugged in or out)
        self.lost_pad = False  # a player's gamepad was unplugged since the last look

    # -- events ---------------------------------------------------------------
    def poll(self, events: Iterable[Any]) -> list[str]:
        """Take in pygame events; return the actions they ask for, in order."""
        pg = self.pg
        asked: list[str] = []
        for e in events:
            if e.type == pg.QUIT:
                asked.append("quit")
            elif e.type == pg.KEYDOWN:
                asked.extend(self._key(e.key, True))
            elif e.type == pg.KEYUP:
                asked.extend(self._key(e.key, False))
            elif e.type == pg.WINDOWFOCUSLOST:
                self.down.clear()  # key-ups that happen elsewhere never arrive
            elif e.type == pg.CONTROLLERDEVICEADDED:
                self._plugged(e.device_index)
            elif e.type == pg.CONTROLLERDEVICEREMOVED:
                self._unplugged(e.instance_id)
            elif e.type in (pg.CONTROLLERBUTTONDOWN, pg.CONTROLLERBUTTONUP):
                asked.extend(self._pad_button(e.instance_id, e.button, e.type == pg.CONTROLLERBUTTONDOWN))
            elif e.type == pg.CONTROLLERAXISMOTION:
                self._pad_axis(e.instance_id, e.axis, e.value)
        return asked

    def _key(self, key: int, down: bool) -> list[str]:
        action = self.key_actions.get(key)
        if action is not None:
            if action == "fast_forward":
                return ["fast_forward" if down else "fast_forward_end"]
            return [action] if down else []
        if down:
            self.down.add(key)
            self.tapped.add(key)
        else:
            self.down.discard(key)
        return []

    def _pad_button(self, instance: int, button: int, down: bool) -> list[str]:
        pad = self.gamepads.get(instance)
        if pad is None:
            return []
        if button == self.pg.CONTROLLER_BUTTON_GUIDE:
            return ["pause"] if down else []
        role = self._roles.get(button)
        if role is not None:
            pad.set(role, down)
        return []

    def _pad_axis(self, instance: int, axis: int, value: int) -> None:
        pad = self.gamepads.get(instance)
        if pad is None:
            return
        pg = self.pg
        pairs = {
            pg.CONTROLLER_AXIS_LEFTX: (LEFT, RIGHT), pg.CONTROLLER_AXIS_LEFTY: (UP, DOWN),
            pg.CONTROLLER_AXIS_TRIGGERLEFT: (None, L2), pg.CONTROLLER_AXIS_TRIGGERRIGHT: (None, R2),
        }
        low, high = pairs.get(axis, (None, None))
        for bit, on in ((low, value < -STICK), (high, value > STICK)):
            if bit is None:
                continue
            if on and not pad.axes >> bit & 1:
                pad.tapped |= 1 << bit
            pad.axes = pad.axes | 1 << bit if on else pad.axes & ~(1 << bit)

    # -- gamepads come and go ---------------------------------------------------
    def _open_sdl_pad(self, device_index: int) -> tuple[Any, int, str]:
        from pygame._sdl2 import controller

        device = controller.Controller(device_index)
        return device, device.as_joystick().get_instance_id(), device.name

    def _plugged(self, device_index: int) -> None:
        try:
            device, instance, name = self._open_pad(device_index)
        except self.pg.error as e:
            self.notices.append(f"a gamepad was plugged in but cannot be opened: {e}")
            return
        if instance in self.gamepads:
            return
        taken = {p.player for p in self.gamepads.values()}
        player = next((p for p in range(self.players) if p not in taken), None)
        self.gamepads[instance] = _Pad(device, name, player)
        if player is None:
            self.notices.append(f"gamepad {name} plugged in; every player already has one")
        else:
            self.notices.append(f"gamepad {name} is player {player + 1}")

    def _unplugged(self, instance: int) -> None:
        pad = self.gamepads.pop(instance, None)
        if pad is None or pad.player is None:
            return
        self.lost_pad = True
        self.notices.append(
            f"player {pad.player + 1}'s gamepad ({pad.name}) was unplugged: the game is paused; "
            "plug it back in, or press the pause key to go on with the keyboard"
        )

    # -- the next frame -----------------------------------------------------------
    def row(self) -> np.ndarray:
        """uint8 [players, n_buttons]: what is held now, plus anything pressed since the last row."""
        out = np.zeros((self.players, len(self.system.buttons)), np.uint8)
        for key in self.down | self.tapped:
            for player, button in self.key_buttons.get(key, ()):
                if player < self.players:
                    out[player, button] = 1
        self.tapped.clear()
        for pad in self.gamepads.values():
            if pad.player is not None:
                mask = pad.held | pad.tapped | pad.axes
                out[pad.player] |= ((mask >> self._ids) & 1).astype(np.uint8)
            pad.tapped = 0
        return out
