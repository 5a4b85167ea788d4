"""data.json type codes and scenario.json rules, on hand-made address spaces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrotool.errors import ContentError
from retrotool.variables import AddressSpace, Block, Evaluator, Variable, load_scenario, load_variables


def space(data: bytes, start: int = 0x100, swap16: bool = False) -> AddressSpace:
    return AddressSpace([Block(start, np.frombuffer(data, np.uint8).copy(), swap16)])


@pytest.mark.parametrize(
    ("code", "raw", "value"),
    [
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
    ],
)
def test_type_codes(code: str, raw: bytes, value: int) -> None:
    assert Variable("v", 0x100, code).value(space(raw)) == value


def test_mask_and_out_of_range() -> None:
    assert Variable("v", 0x100, "|u1", mask=0x0F).value(space(b"\xab")) == 0x0B
    assert Variable("v", 0x200, "|u1").value(space(b"\xab")) is None


def test_genesis_word_swap() -> None:
    # the core stores 68k words host-native: on x86 the byte at A sits at A^1
    raw = bytes([0x03, 0x00, 0x78, 0x56])
    s = space(raw, start=0xFF0000, swap16=True)
    assert Variable("lives", 0xFF0000, ">u2").value(s) == 3
    assert Variable("b", 0xFF0003, "|u1").value(s) == 0x78


def test_malformed_data_json_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"info": {"lives": {"address": 5}}}))
    with pytest.raises(ContentError, match=r"data.json.*'lives'.*type"):
        load_variables(path)
    path.write_text("{not json")
    with pytest.raises(ContentError, match="data.json"):
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
    ev = Evaluator(load_variables(data), load_scenario(scenario))
    _, reward, done = ev.step(space(bytes([0, 3, 0])))
    assert reward == -0.5 and not done
    _, reward, done = ev.step(space(bytes([5, 2, 0])))
    assert reward == 5 * 2.0 + (-1) * 10.0 - 0.5 and not done
    info, reward, done = ev.step(space(bytes([5, 0, 1])))
    assert info == {"score": 5, "lives": 0, "over": 1} and done
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"done": {"condition": "most"}}))
    with pytest.raises(ContentError, match="bad.json.*condition"):
        load_scenario(bad)
