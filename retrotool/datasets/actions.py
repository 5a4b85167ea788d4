"""Discrete action indexes for games whose scenario restricts actions.

A scenario's `actions` lists groups of allowed button combos (formats.md
§6.4), e.g. `[[[], ["UP"], ["DOWN"]], [[], ["A"], ["B"]]]`. Gym Retro's
`Actions.DISCRETE` numbers every choice of one combo per group, per player,
as one integer in a mixed radix: player 1's first group is the lowest digit,
then its next groups, then player 2's (stable-retro `RetroEnv.action_to_array`),
so `Discrete(prod(len(group)) ** players)`.

Recorded buttons become that index the way FILTERED mode sees them: within
a group, the buttons of the group that are held must equal one of its
combos; if they equal none, the group's buttons are cleared, which matches
the group's empty combo if it has one. A row no combo can express
(no empty combo to fall back on) gets index -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrotool.errors import ContentError

UNEXPRESSIBLE = -1


class DiscreteActions:
    """Maps rows of buttons (uint8 [n, players * buttons]) to discrete action indexes."""

    def __init__(self, groups: Sequence[Sequence[Sequence[str]]], buttons: Sequence[str], players: int,
                 source: str = "the scenario") -> None:
        self.groups = [[list(combo) for combo in group] for group in groups]
        self.players = players
        self.n_buttons = len(buttons)
        # per group: its button columns, its combos (bool [combos, columns]), the choice of a row no combo matches
        self._tables: list[tuple[np.ndarray, np.ndarray, int]] = []
        for g, group in enumerate(self.groups):
            if not group:
                raise ContentError(f"{source}: actions group {g} lists no combo")
            columns = sorted({self._column(buttons, b, source) for combo in group for b in combo})
            combos = np.array([[b in combo for b in (buttons[c] for c in columns)] for combo in group], np.bool_)
            combos = combos.reshape(len(group), len(columns))
            empty = np.flatnonzero(~combos.any(axis=1))  # FILTERED clears the group's buttons: its empty combo
            self._tables.append((np.array(columns, np.int64), combos, int(empty[0]) if empty.size else UNEXPRESSIBLE))
        self.n = int(np.prod([len(g) for g in self.groups])) ** players

    @staticmethod
    def _column(buttons: Sequence[str], name: str, source: str) -> int:
        if name not in buttons:
            raise ContentError(f"{source}: actions name button {name!r}; the system's buttons are {', '.join(buttons)}")
        return buttons.index(name)

    def index(self, actions: np.ndarray) -> np.ndarray:
        """int64 [n]: each row's discrete action, or -1 when no combo expresses it."""
        rows = actions.reshape(actions.shape[0], self.players, self.n_buttons)
        index = np.zeros(rows.shape[0], np.int64)
        ok = np.ones(rows.shape[0], np.bool_)
        radix = 1
        for p in range(self.players):
            for columns, combos, unmatched in self._tables:
                held = rows[:, p][:, columns] != 0
                match = np.all(held[:, None, :] == combos[None, :, :], axis=2)
                choice = np.where(match.any(axis=1), match.argmax(axis=1), unmatched)
                ok &= choice >= 0
                index += np.maximum(choice, 0) * radix
                radix *= combos.shape[0]
        return np.where(ok, index, UNEXPRESSIBLE)
