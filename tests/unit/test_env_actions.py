"""stable-retro's action spaces for the env: pad layout, group order, filtering, discrete indexes, bad actions.

The orders and the filter are checked against stable-retro itself in
tests/conformance/test_gym_env.py; here against hand-worked cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from retrotool import systems
from retrotool.env.actions import ActionMap, Actions, action_mode, combo_groups
from retrotool.errors import ContentError, RetroToolError

GENESIS = systems.get("Genesis")
NES = systems.get("Nes")


def test_every_system_has_stable_retros_pad_and_default_actions() -> None:
    for name in systems.names():
        system = systems.get(name)
        assert system.sr_pad and system.actions, name
        for i, button in enumerate(system.sr_pad):  # the pad index is the joypad id
            if button is not None:
                assert system.joypad_ids[system.buttons.index(button)] == i


def test_groups_and_combos_come_in_stable_retros_order_not_the_files() -> None:
    # Genesis: B is bit 0, A bit 1, C bit 8; the file lists A before B
    groups = combo_groups(GENESIS, [[[], ["A"], ["B"], ["A", "B"], ["C"]], [[], ["LEFT"], ["RIGHT"]]], "test")
    assert groups == [[0, 64, 128], [0, 1, 2, 3, 256]]  # the LEFT/RIGHT group's mask (192) < the buttons' (259)


def test_a_second_group_with_the_same_buttons_is_dropped() -> None:
    assert combo_groups(GENESIS, [[[], ["UP"]], [["UP"], []], [[], ["B"]]], "test") == [[0, 1], [0, 16]]


def test_unknown_button_in_a_scenario_names_the_buttons() -> None:
    with pytest.raises(ContentError, match="'FIRE'.*Genesis has B A MODE"):
        combo_groups(GENESIS, [[[], ["FIRE"]]], "scenario.json")


def test_nes_pad_has_a_gap_at_bit_1() -> None:
    amap = ActionMap(NES, Actions.ALL, [], 1)
    assert amap.space.n == 9
    flags = np.zeros(9, np.uint8)
    flags[8] = 1  # A
    rows, masks = amap.encode(flags)
    assert masks.tolist() == [1 << 8]
    assert rows[0, NES.buttons.index("A")] == 1 and rows.sum() == 1


def test_filtered_keeps_a_groups_buttons_only_when_they_are_one_of_its_combos() -> None:
    groups = combo_groups(GENESIS, GENESIS.actions, "default")
    amap = ActionMap(GENESIS, Actions.FILTERED, groups, 1)
    up_down = np.zeros(12, np.uint8)
    up_down[[4, 5, 7, 0]] = 1  # UP and DOWN together (no combo), RIGHT, B
    assert amap.masks(up_down).tolist() == [(1 << 7) | 1]
    assert amap.masks(np.ones(12, np.uint8)).tolist() == [0]  # nothing is a combo when all is held


def test_discrete_is_a_mixed_radix_number_player_1s_first_group_lowest() -> None:
    groups = combo_groups(GENESIS, GENESIS.actions, "default")
    amap = ActionMap(GENESIS, Actions.DISCRETE, groups, 2)
    sizes = [len(g) for g in groups]
    assert amap.space.n == int(np.prod(sizes)) ** 2
    index = 2 + sizes[0] * (1 + sizes[1] * 3) + int(np.prod(sizes)) * 1
    p1 = groups[0][2] | groups[1][1] | groups[2][3]
    p2 = groups[0][1]
    assert amap.masks(index).tolist() == [p1, p2]
    assert amap.meaning(index) == [[b for i, b in enumerate(GENESIS.sr_pad) if p1 >> i & 1],
                                   [b for i, b in enumerate(GENESIS.sr_pad) if p2 >> i & 1]]


def test_multi_discrete_picks_a_combo_per_group() -> None:
    groups = combo_groups(GENESIS, GENESIS.actions, "default")
    amap = ActionMap(GENESIS, Actions.MULTI_DISCRETE, groups, 1)
    assert amap.masks(np.array([1, 2, 4])).tolist() == [groups[0][1] | groups[1][2] | groups[2][4]]


def test_actions_may_name_buttons() -> None:
    amap = ActionMap(GENESIS, Actions.ALL, [], 2)
    assert amap.masks(["right", "B"]).tolist() == [(1 << 7) | 1, 0]
    assert amap.masks([["A"], ["START"]]).tolist() == [2, 8]


@pytest.mark.parametrize(("mode", "action", "message"), [
    (Actions.ALL, np.zeros(11), r"12 flags \(MultiBinary\), one per button of B A MODE START.*shape \(11,\)"),
    (Actions.ALL, ["JUMP"], r"Genesis has no button 'JUMP'; its buttons are B A MODE"),
    (Actions.DISCRETE, 10**9, r"integer in 0\.\.\d+"),
    (Actions.DISCRETE, [1, 2], r"one integer"),
    (Actions.MULTI_DISCRETE, np.array([0, 0]), r"3 integers, one combo index per group \(3, 3, 14 choices\)"),
])
def test_a_bad_action_says_what_a_good_one_is(mode: Actions, action: object, message: str) -> None:
    amap = ActionMap(GENESIS, mode, combo_groups(GENESIS, GENESIS.actions, "default"), 1)
    with pytest.raises(RetroToolError, match=message):
        amap.masks(action)


def test_modes_by_ours_stable_retros_names_or_values() -> None:
    class Theirs:  # stands for stable_retro.Actions.DISCRETE: an Enum member of the same name
        name = "DISCRETE"

    assert action_mode(Theirs()) is Actions.DISCRETE
    assert action_mode("filtered") is Actions.FILTERED and action_mode(0) is Actions.ALL
    with pytest.raises(RetroToolError, match="ALL, FILTERED, DISCRETE, MULTI_DISCRETE"):
        action_mode("some")


def test_a_remembered_action_is_the_same_and_cannot_be_changed() -> None:
    amap = ActionMap(GENESIS, Actions.FILTERED, combo_groups(GENESIS, GENESIS.actions, "default"), 1)
    action = np.zeros(12, np.uint8)
    action[[7, 0]] = 1  # RIGHT, B
    row, masks = amap.encode(action)
    action[7] = 0  # the caller reuses its array: B alone is another action
    assert amap.encode(action)[1].tolist() == [1]
    assert amap.encode(action.astype(np.float32))[1].tolist() == [1]  # same flags, other type: same buttons
    again = amap.encode(np.array([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], np.uint8))
    assert again[0] is row and masks.tolist() == [(1 << 7) | 1]
    with pytest.raises(ValueError):
        row[0, 0] = 1  # shared by every step that sends it
