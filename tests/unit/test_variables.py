"""data.json type codes and scenario.json rules, on hand-made address spaces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrotool.datasets.actions import DiscreteActions
from retrotool.errors import ContentError
from retrotool.memory import SMALL_BATCH, AddressSpace, Block, Watch
from retrotool.variables import Evaluator, Variable, load_scenario, load_variables


def space(data: bytes, start: int = 0x100, swap16: bool = False) -> AddressSpace:
    return AddressSpace([Block(start, np.frombuffer(data, np.uint8).copy(), swap16)])


TYPE_CODES = [
        ("|u1", b"\xff", 255),
        ("|i1", b"\xff", -1),
        (">u2", b"\x12\x34", 0x1234),
        ("<u2", b"\x12\x34", 0x3412),
        ("|u2", b"\x12\x34", 0x3412),  # "don't care" decodes little-endian
        (">i2", b"\xff\xfe", -2),
        (">u4", b"\x00\x01\x00\x02", 65538),
        (">d4", b"\x00\x12\x34\x56", 123456),
        ("<d2", b"\x34\x12", 1234),
        ("|d1", b"\x9a", 90),  # nibbles above 9 are taken mod 10
        (">n3", b"\x01\x02\xf3", 123),  # one digit per byte, high nibble ignored
        ("<n2", b"\x05\x07", 75),
        # mixed and native codes, with the values stable-retro gives (tests/e2e/test_variables_oracle.py checks all)
        ("><u4", b"\x12\x34\x56\x78", 0x34127856),
        ("<>u4", b"\x12\x34\x56\x78", 0x56781234),
        (">=u4", b"\x12\x34\x56\x78", 0x34127856),  # on a little-endian host
        ("<=u4", b"\x12\x34\x56\x78", 0x78563412),
        ("=u2", b"\x12\x34", 0x3412),
        ("><u3", b"\x12\x34\x56", 0x125634),
        ("<>u3", b"\x12\x34\x56", 0x345612),
        ("><u2", b"\x12\x34", 0x1234),
        ("<>u1", b"\x12", 0x12),
        ("><d4", b"\x12\x34\x56\x78", 34127856),
]


@pytest.mark.parametrize(("code", "raw", "expected"), TYPE_CODES)
def test_type_codes(code: str, raw: bytes, expected: int) -> None:
    assert Variable("v", 0x100, code).read(space(raw)) == expected
    rows = np.frombuffer(raw * 3, np.uint8).reshape(3, -1)  # many frames at once
    assert Variable("v", 0x100, code).decode(rows).tolist() == [expected] * 3


@pytest.mark.parametrize("swap16", [False, True])
def test_an_agents_few_frames_decode_as_a_long_batch_does(swap16: bool) -> None:
    """The per-step path (plain Python on byte slices) gives the numpy path's values, for every type code."""
    block = Block(0x100, np.zeros(8 * len(TYPE_CODES), np.uint8), swap16)
    variables = {f"v{i}": Variable(f"v{i}", 0x100 + 8 * i, code) for i, (code, _, _) in enumerate(TYPE_CODES)}
    watch = Watch(AddressSpace([block]), variables, SMALL_BATCH + 4, ram=False, key=None)
    rng = np.random.default_rng(0)
    assert watch.buffer is not None
    for frame in range(SMALL_BATCH + 4):  # what the host copies after each frame
        block.data[:] = rng.integers(0, 256, block.data.size)
        watch.buffer[frame] = np.concatenate(watch.spans)
    few, many = watch.values(SMALL_BATCH), watch.values(SMALL_BATCH + 4)
    assert {k: v.tolist() for k, v in few.items()} == {k: v[:SMALL_BATCH].tolist() for k, v in many.items()}


def test_mask_and_out_of_range() -> None:
    assert Variable("v", 0x100, "|u1", mask=0x0F).read(space(b"\xab")) == 0x0B
    assert Variable("v", 0x100, "|u1", mask=0x0F).decode(np.array([[0xAB], [0x1C]], np.uint8)).tolist() == [0x0B, 0x0C]
    huge = np.array([[0xFF] * 8] * 2, np.uint8)  # above int64: both paths wrap the same way
    assert Variable("v", 0, ">u8").decode(huge).tolist() == [-1, -1] == [Variable("v", 0, ">u8").decode(huge[:1])[0]] * 2
    assert Variable("v", 0x200, "|u1").read(space(b"\xab")) is None
    assert Variable("v", 0x100, ">u2").read(space(b"\xab")) is None  # runs past the block


def test_genesis_word_swap() -> None:
    # the core stores 68k words host-native: on x86 the byte at A sits at A^1
    raw = bytes([0x03, 0x00, 0x78, 0x56])
    s = space(raw, start=0xFF0000, swap16=True)
    assert Variable("lives", 0xFF0000, ">u2").read(s) == 3
    assert Variable("b", 0xFF0003, "|u1").read(s) == 0x78


def test_a_variable_is_read_only_where_a_block_holds_all_of_it() -> None:
    two = AddressSpace([Block(0x10, np.array([1, 2], np.uint8)), Block(0x20, np.array([3, 4], np.uint8))])
    assert Variable("v", 0x21, "|u1").read(two) == 4
    assert Variable("v", 0x11, ">u2").read(two) is None  # runs into the gap
    assert Variable("v", 0x0F, ">u2").read(two) is None  # starts before the first block
    odd = AddressSpace([Block(0xFF0000, np.array([0x22, 0x11, 0x33], np.uint8), swap16=True)])
    assert Variable("v", 0xFF0000, ">u2").read(odd) == 0x1122
    assert Variable("v", 0xFF0002, "|u1").read(odd) is None  # its word's other byte is missing


def test_malformed_data_json_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"info": {"lives": {"address": 5}}}))
    with pytest.raises(ContentError, match=r"data.json: info.lives.type: missing"):
        load_variables(path)
    cases = {
        json.dumps({"info": [1]}): r"info: expected an object, got \[1\]",
        json.dumps([]): r"expected an object, got \[\]",
        json.dumps({"info": {"lives": 5}}): "info.lives: expected an object, got 5",
        json.dumps({"info": {"lives": {"type": "|u1"}}}): "info.lives.address: missing",
        json.dumps({"info": {"lives": {"address": "5", "type": "|u1"}}}): 'info.lives.address: expected an integer, got "5"',
        json.dumps({"info": {"lives": {"address": 5, "type": 7}}}): "info.lives.type: expected a string, got 7",
        json.dumps({"info": {"lives": {"address": 5, "type": ">u9"}}}): 'info.lives.type: ">u9" is not a type code: a byte order',
        json.dumps({"info": {"lives": {"address": 5, "type": "|u1", "mask": "0xff"}}}): 'info.lives.mask: expected an integer, got "0xff"',
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(ContentError, match=message):
            load_variables(path)
    path.write_text(json.dumps({"info": {"lives": {"address": 5, "type": "<=u4", "mask": 255}}}))
    assert load_variables(path) == {"lives": Variable("lives", 5, "<=u4", 255)}
    path.write_text("{not json")
    with pytest.raises(ContentError, match="data.json: cannot read JSON"):
        load_variables(path)


def test_scenario_reward_penalty_time_and_done(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({
        "reward": {"variables": {"score": {"reward": 2.0}, "lives": {"penalty": 10.0}}, "time": {"reward": -0.5}},
        "done": {"condition": "all", "variables": {"lives": {"op": "zero"}, "over": {"op": "equal", "reference": 1}}},
    }))
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"info": {
        "score": {"address": 0x100, "type": "|u1"}, "lives": {"address": 0x101, "type": "|u1"},
        "over": {"address": 0x102, "type": "|u1"}}}))
    frames = {"score": [0, 5, 5], "lives": [3, 2, 0], "over": [0, 0, 1]}
    expected = ([-0.5, 5 * 2.0 + (-1) * 10.0 - 0.5, -2 * 10.0 - 0.5], [False, False, True])
    ev = Evaluator(load_variables(data), load_scenario(scenario))
    rewards, dones = ev.steps({k: np.array(v) for k, v in frames.items()}, 3)
    assert (rewards.tolist(), dones.tolist()) == expected
    ev = Evaluator(load_variables(data), load_scenario(scenario))  # frame by frame: deltas reach back
    one = [ev.steps({k: np.array(v[i : i + 1]) for k, v in frames.items()}, 1) for i in range(3)]
    assert ([float(r[0]) for r, _ in one], [bool(d[0]) for _, d in one]) == expected
    rewards, _ = ev.steps({"score": np.array([9])}, 1)  # unreadable variables add nothing
    assert rewards.tolist() == [4 * 2.0 - 0.5]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"done": {"condition": "most"}}))
    with pytest.raises(ContentError, match="bad.json.*condition"):
        load_scenario(bad)


def test_scenario_actions_give_gym_retros_discrete_index(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"actions": [[[], ["UP"], ["DOWN"]], [["A"], ["A", "B"]]]}))
    actions = load_scenario(scenario).actions
    assert actions == (((), ("UP",), ("DOWN",)), (("A",), ("A", "B")))
    buttons = ("A", "B", "UP", "DOWN")
    d = DiscreteActions(actions, buttons, players=2)
    assert d.n == (3 * 2) ** 2

    def row(*held: str) -> list[int]:
        return [int(b in held) for b in buttons]

    rows = np.array([row("A") + row("A"), row("UP", "A") + row("A"), row("DOWN", "A", "B") + row("A"),
                     row("A") + row("DOWN", "A", "B"), row("UP", "DOWN", "A") + row("A"), row() + row("A")], np.uint8)
    # player 1's groups are the low digits (radix 3, then 2), then player 2's (radix 6)
    # UP+DOWN matches no combo of group 0: cleared, which is its empty combo; no A at all: group 1 has no empty combo
    assert d.index(rows).tolist() == [0, 1, 2 + 3, 6 * (2 + 3), 0, -1]
    with pytest.raises(ContentError, match="'Z'.*buttons are A, B, UP, DOWN"):
        DiscreteActions([[["Z"]]], buttons, 1, "s.json")
    scenario.write_text(json.dumps({"actions": [["UP"]]}))
    with pytest.raises(ContentError, match=r"scenario.json: actions\[0\]\[0\]: expected a list, got \"UP\""):
        load_scenario(scenario)
