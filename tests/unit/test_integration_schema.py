"""data.json, scenario.json and metadata.json from anyone: every malformed one is one error naming file and key.

Each case below raised something else before (RecursionError, OverflowError,
TypeError, AttributeError, ValueError) or was silently taken (an infinite
reward, a bool address); every integration stable-retro ships still loads.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrotool import games, schema
from retrotool.errors import ContentError
from retrotool.variables import Variable, load_scenario, load_variables

VARIABLE = {"address": 16, "type": "<u4"}

BAD_DATA: list[tuple[Any, str]] = [
    ({"info": {"lives": {**VARIABLE, "mask": 1 << 64}}}, r"info.lives.mask: 18446744073709551616 is outside"),
    ({"info": {"lives": {**VARIABLE, "mask": -(1 << 63) - 1}}}, r"info.lives.mask: -9223372036854775809 is outside"),
    ({"info": {"lives": {**VARIABLE, "mask": 2.5}}}, r"info.lives.mask: expected an integer, got 2.5"),
    ({"info": {"lives": {"address": "16", "type": "<u4"}}}, r"info.lives.address: expected an integer, got \"16\""),
    ({"info": {"lives": {"address": True, "type": "<u4"}}}, r"info.lives.address: expected an integer, got true"),
    ({"info": {"lives": {"address": 16, "type": 4}}}, r"info.lives.type: expected a string, got 4"),
    ({"info": {"lives": {"address": 16, "type": "<u9"}}}, r"info.lives.type: \"<u9\" is not a type code: a byte order"),
    ({"info": {"lives": {"address": 16}}}, r"info.lives.type: missing"),
    ({"info": {"a b": 5}}, r"info\[\"a b\"\]: expected an object, got 5"),
    ({"info": []}, r"info: expected an object, got \[\]"),
    ([], r"expected an object, got \[\]"),
    ({}, r"info: missing"),
]

BAD_SCENARIO: list[tuple[Any, str]] = [
    ('{"reward": {"variables": {"score": {"reward": 1e400}}}}', r"reward.variables.score.reward: expected a finite"),
    ({"reward": {"variables": {"score": {"penalty": 10**400}}}}, r"reward.variables.score.penalty: expected a finite"),
    ({"reward": {"variables": {"score": {"reward": "1"}}}}, r"reward.variables.score.reward: expected a number"),
    ({"reward": {"variables": {"score": {"op": ["equal"]}}}}, r"reward.variables.score.op: expected a string"),
    ({"reward": {"variables": {"score": {"reference": None}}}}, r"reference: expected a number, got null"),
    ({"reward": {"variables": {"score": 3}}}, r"reward.variables.score: expected an object, got 3"),
    ({"reward": {"variables": ["score"]}}, r"reward.variables: expected an object"),
    ({"reward": {"time": {"reward": "abc"}}}, r"reward.time.reward: expected a number, got \"abc\""),
    ({"reward": {"time": 1}}, r"reward.time: expected an object, got 1"),
    ({"rewards": 5}, r"rewards: expected a list, got 5"),
    ({"rewards": [5]}, r"rewards\[0\]: expected an object, got 5"),
    ({"reward": None}, r"reward: expected an object, got null"),
    ({"done": {"condition": "most"}}, r"done.condition: \"most\" is not one of any, all"),
    ({"done": {"variables": {"lives": {"op": {"zero": 1}}}}}, r"done.variables.lives.op: expected a string"),
    ({"done": []}, r"done: expected an object"),
    ({"actions": [["UP"]]}, r"actions\[0\]\[0\]: expected a list, got \"UP\""),
    ({"actions": [[[1]]]}, r"actions\[0\]\[0\]\[0\]: expected a string, got 1"),
    ("scenario", r"expected an object, got \"scenario\""),
]


@pytest.mark.parametrize(("doc", "message"), BAD_DATA)
def test_a_malformed_data_json_is_one_error_naming_file_and_key(tmp_path: Path, doc: Any, message: str) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ContentError, match=f"^{tmp_path}/data.json: {message}"):
        load_variables(path)


@pytest.mark.parametrize(("doc", "message"), BAD_SCENARIO)
def test_a_malformed_scenario_json_is_one_error_naming_file_and_key(tmp_path: Path, doc: Any, message: str) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(doc if isinstance(doc, str) and doc.startswith("{") else json.dumps(doc))  # 1e400: as written
    with pytest.raises(ContentError, match=f"^{tmp_path}/scenario.json: .*{message}"):
        load_scenario(path)


@pytest.mark.parametrize("text", ["Infinity", "[NaN]", '{"a": -Infinity}'])
def test_json_constants_that_are_no_numbers_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(text)
    with pytest.raises(ContentError, match="scenario.json: cannot read JSON .*not a number JSON allows"):
        load_scenario(path)


@pytest.mark.parametrize("loader", [load_variables, load_scenario])
def test_deeply_nested_json_is_an_error_not_a_recursion_error(tmp_path: Path, loader: Any) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"info": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(ContentError, match="deep.json: its values are nested too deeply"):
        loader(path)


def test_a_huge_integration_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    with open(path, "wb") as f:
        f.truncate(1 << 30)  # 1 GB, sparse
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ContentError, match=r"data.json is 1,073,741,824 bytes; retrotool reads at most 4,194,304"):
        load_variables(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: nothing was read


def test_masks_of_the_top_bit_and_above_are_stable_retros_uint64(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"info": {"v": {"address": 0, "type": ">u8", "mask": 0xFFFF_FFFF_FFFF_FF0F}}}))
    variable = load_variables(path)["v"]
    raw = np.full((2, 8), 0xFF, np.uint8)
    assert variable.decode(raw).tolist() == [-241, -241]  # 0xFFFF_FFFF_FFFF_FF0F as int64
    assert variable.decode(raw[:1]).tolist() == [-241]
    assert Variable("w", 0, ">u8", -(1 << 63)).decode(raw).tolist() == [-(1 << 63)] * 2


def test_unknown_measurements_and_ops_are_stable_retros_defaults(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"reward": {"variables": {"score": {"measurement": "sideways", "op": "teleport"}}},
                                "done": {"variables": {"lives": {"measurement": "sideways"}}}}))
    scenario = load_scenario(path)
    assert scenario.reward_terms[0].measurement == "delta" and scenario.reward_terms[0].op == "teleport"
    assert scenario.done_terms[0].measurement == "absolute"


def test_every_integration_stable_retro_ships_still_loads() -> None:
    checked = 0
    for _, root in games.data_folders():
        for folder in sorted(root.glob("*-*")) if root.is_dir() else []:
            if (folder / "data.json").is_file():
                load_variables(folder / "data.json")
                checked += 1
            if (folder / "scenario.json").is_file():
                load_scenario(folder / "scenario.json")
            if (folder / "metadata.json").is_file():
                schema.load(folder / "metadata.json", games.METADATA_JSON, max_bytes=1 << 20)
    assert checked > 0
