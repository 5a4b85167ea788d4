"""stable-retro's action spaces, and turning an action into a row of buttons for the replay loop.

stable-retro's actions address the pad by *joypad id*: a MultiBinary action
has one flag per entry of its button array (`System.sr_pad`, with gaps
where a system has no button: NES bit 1), and bit i of the pad mask is flag
i. Its restricted modes work on groups of allowed combos, from the
scenario's `actions` or else the system's defaults (`System.actions`):

- FILTERED: a MultiBinary action whose buttons, within each group, do not
  form one of the group's combos loses that group's buttons;
- DISCRETE: one integer, a mixed-radix digit per group (player 1's first
  group lowest), choosing a combo in each;
- MULTI_DISCRETE: one digit per group.

stable-retro keeps the groups in a map keyed by the group's mask of buttons
and each group's combos in a set, so both are numbered in ascending order
of their masks (not in the file's order); a second group with the same
mask is dropped. Those orders are reproduced here, so index i means the
same buttons in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from retrotool.errors import ContentError, RetroToolError
from retrotool.systems import System

ENCODED = 4096  # actions remembered per env (a pad of 12 buttons has 4,096 MultiBinary actions)

class Actions(Enum):
    """`use_restricted_actions`: the same names and values as stable-retro's `retro.Actions`."""

    ALL = 0
    FILTERED = 1
    DISCRETE = 2
    MULTI_DISCRETE = 3


def action_mode(value: object) -> Actions:
    """An Actions member from ours, stable-retro's (same names), a name or a value."""
    name = getattr(value, "name", value)
    if isinstance(name, str) and name.upper() in Actions.__members__:
        return Actions[name.upper()]
    if isinstance(name, int) and not isinstance(name, bool) and name in {a.value for a in Actions}:
        return Actions(name)
    raise RetroToolError(f"use_restricted_actions={value!r} is not one of: {', '.join(Actions.__members__)}")


def combo_groups(system: System, groups: Sequence[Sequence[Sequence[str]]], source: str) -> list[list[int]]:
    """Groups of combos as pad masks, in stable-retro's order: groups by their mask, combos ascending."""
    pad = list(system.sr_pad)
    table: dict[int, list[int]] = {}
    for group in groups:
        masks = set()
        for combo in group:
            mask = 0
            for button in combo:
                if button not in pad:
                    known = " ".join(b for b in pad if b)
                    raise ContentError(f"{source}: actions name button {button!r}; {system.name} has {known}")
                mask |= 1 << pad.index(button)
            masks.add(mask)
        union = 0
        for mask in masks:
            union |= mask
        table.setdefault(union, sorted(masks))  # a second group of the same mask is ignored, as there
    return [table[key] for key in sorted(table)]


class ActionMap:
    """One env's action space and the rows of canonical buttons its actions press.

    `encode(action)` gives its canonical buttons uint8 [players,
    len(system.buttons)] (the replay loop's order) and joypad masks. MultiBinary modes also take button names (["RIGHT", "B"]
    for player 1, or one list per player).
    """

    def __init__(self, system: System, mode: Actions, groups: list[list[int]], players: int) -> None:
        if not system.sr_pad:
            raise RetroToolError(f"system {system.name} has no stable-retro button layout (sr_pad in its data)")
        self.system, self.mode, self.groups, self.players = system, mode, groups, players
        self.pad = system.sr_pad
        self.width = len(self.pad)
        self._weights = (1 << np.arange(self.width)).astype(np.int64)
        ids = np.asarray(system.joypad_ids)
        self._to_row = np.zeros((1 << self.width, len(system.buttons)), np.uint8)  # pad mask -> canonical row
        masks = np.arange(1 << self.width)
        self._to_row[:] = (masks[:, None] >> ids[None, :]) & 1 & (ids[None, :] < self.width)
        self._filtered = self._filter_table() if groups else None
        self._encoded: dict[object, tuple[np.ndarray, np.ndarray]] = {}
        self.space = self._space()

    def _space(self) -> Any:
        from gymnasium import spaces

        sizes = [len(g) for g in self.groups]
        if self.mode == Actions.DISCRETE:
            return spaces.Discrete(int(np.prod(sizes, dtype=np.int64)) ** self.players)
        if self.mode == Actions.MULTI_DISCRETE:
            return spaces.MultiDiscrete(sizes * self.players)
        return spaces.MultiBinary(self.width * self.players)

    def _filter_table(self) -> np.ndarray:
        """stable-retro's filter of every pad mask: within each group, its buttons stay only if they are a combo."""
        masks = np.arange(1 << self.width, dtype=np.int64)
        kept = np.zeros_like(masks)
        for combos in self.groups:
            union = int(np.bitwise_or.reduce(np.array(combos, np.int64)))
            part = masks & union
            kept |= np.where(np.isin(part, combos), part, 0)
        return kept

    # -- an action -> pad masks ---------------------------------------------------
    def masks(self, action: Any) -> np.ndarray:
        """The pad mask of each player (int64 [players]) for an action of this space.

        A pad mask is also the libretro joypad mask: bit i is joypad id i.
        """
        if self.mode == Actions.DISCRETE:
            return np.array(self._discrete(action), np.int64)
        if self.mode == Actions.MULTI_DISCRETE:
            return np.array(self._multi_discrete(action), np.int64)
        masks = self._flags(action).reshape(self.players, self.width) @ self._weights
        return self._filtered[masks] if self.mode == Actions.FILTERED and self._filtered is not None else masks

    def encode(self, action: Any) -> tuple[np.ndarray, np.ndarray]:
        """The action as the replay loop takes it: canonical buttons uint8 [players, buttons], masks uint16 [players].

        An agent sends the same few actions again and again: array and
        integer actions are remembered (read-only results), up to ENCODED.
        """
        key = _key(action)
        known = self._encoded.get(key) if key is not None else None
        if known is not None:
            return known
        masks = self.masks(action)
        row, pads = self._to_row[masks], masks.astype(np.uint16)
        row.flags.writeable = pads.flags.writeable = False
        if key is not None and len(self._encoded) < ENCODED:
            self._encoded[key] = (row, pads)
        return row, pads

    def _flags(self, action: Any) -> np.ndarray:
        """bool [players * width]: the MultiBinary flags of an action (or of the buttons it names)."""
        if isinstance(action, np.ndarray):
            flags = action
        elif isinstance(action, str) or (isinstance(action, (list, tuple)) and action and
                                         all(isinstance(a, str) or _is_names(a) for a in action)):
            return self._names(action)
        else:
            flags = np.asarray(action)
        if flags.shape != (self.width * self.players,) or flags.dtype.kind not in "biuf":
            raise RetroToolError(
                f"an action must be {self.width * self.players} flags (MultiBinary), one per button of "
                f"{self._players_text()}{' '.join(b or '-' for b in self.pad)}; got {_describe(action)}"
            )
        return flags != 0

    def _names(self, action: Any) -> np.ndarray:
        per_player = [action] if isinstance(action, str) or all(isinstance(a, str) for a in action) else list(action)
        if len(per_player) > self.players:
            raise RetroToolError(f"an action names buttons for {len(per_player)} players; this env has {self.players}")
        flags = np.zeros((self.players, self.width), np.bool_)
        for p, names in enumerate(per_player):
            for name in [names] if isinstance(names, str) else names:
                upper = str(name).upper()
                if upper not in self.pad:
                    raise RetroToolError(f"{self.system.name} has no button {name!r}; its buttons are "
                                         f"{' '.join(b for b in self.pad if b)}")
                flags[p, self.pad.index(upper)] = True
        return flags.reshape(-1)

    def _discrete(self, action: Any) -> list[int]:
        value = _integer(action)
        if not 0 <= value < self.space.n:
            raise RetroToolError(f"a discrete action must be an integer in 0..{self.space.n - 1}; got {action!r}")
        masks = []
        for _ in range(self.players):
            mask = 0
            for combos in self.groups:
                mask |= combos[value % len(combos)]
                value //= len(combos)
            masks.append(mask)
        return masks

    def _multi_discrete(self, action: Any) -> list[int]:
        digits = np.asarray(action)
        n = len(self.groups)
        if digits.shape != (n * self.players,) or digits.dtype.kind not in "iu":
            raise RetroToolError(f"a multi-discrete action must be {n * self.players} integers, one combo index "
                                 f"per group ({', '.join(str(len(g)) for g in self.groups)} choices); got {_describe(action)}")
        masks = []
        for p in range(self.players):
            mask = 0
            for combos, digit in zip(self.groups, digits[p * n : (p + 1) * n].tolist()):
                if not 0 <= digit < len(combos):
                    raise RetroToolError(f"multi-discrete digit {digit} is outside 0..{len(combos) - 1}")
                mask |= combos[digit]
            masks.append(mask)
        return masks

    def meaning(self, action: Any) -> list[str] | list[list[str]]:
        """The buttons an action presses (stable-retro's `get_action_meaning`)."""
        names = [[b for i, b in enumerate(self.pad) if b and m >> i & 1] for m in self.masks(action).tolist()]
        return names[0] if self.players == 1 else names

    def _players_text(self) -> str:
        return "" if self.players == 1 else f"each of {self.players} players, player-major: "


def _is_names(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _integer(action: Any) -> int:
    array = np.asarray(action)
    if array.shape not in ((), (1,)) or array.dtype.kind not in "iu":
        raise RetroToolError(f"a discrete action must be one integer; got {_describe(action)}")
    return int(array.reshape(-1)[0])


def _describe(action: Any) -> str:
    array = np.asarray(action) if not isinstance(action, str) else None
    if array is None or array.dtype == object:
        return repr(action)[:80]
    return f"an array of shape {array.shape} and dtype {array.dtype}"


def _key(action: Any) -> object:
    """What identifies an array or integer action's encoding (its type, shape and bytes); None for other kinds."""
    if isinstance(action, np.ndarray):
        return action.dtype.str, action.shape, action.tobytes()
    if type(action) is int:
        return action
    return None
