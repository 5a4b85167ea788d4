"""Every data.json type code decodes as stable-retro decodes it: stable-retro itself is the oracle.

In a fresh process stable-retro writes known bytes into Airstriker's RAM
(one byte at a time, `|u1`, so in address order) and reads them back with
every type code (its `GameData.memory.extract`) and, through a data.json,
with masks (`GameData.lookup_all`). Here the same bytes, in a plain address
space, go through `Variable.read` (one frame) and `Variable.decode` (many).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrotool.memory import AddressSpace, Block
from retrotool.variables import Variable, load_variables

BASE = 0xFF0100  # in Airstriker's 64 KiB of 68k RAM at 0xFF0000
PREFIXES = ("<", ">", "=", "|", "><", "<>", ">=", "<=")
CODES = [f"{p}{f}{w}" for p in PREFIXES for f in "uidn" for w in range(1, 9)]
PATTERNS = [
    bytes.fromhex("123456789abcdef0"),  # all bytes differ: any reordering shows
    bytes.fromhex("ffffffffffffffff"),  # sign extension, 64-bit wrap
    bytes.fromhex("8000000000000001"),
    bytes.fromhex("1234567890123456"),  # valid BCD
    bytes.fromhex("9afbac0d7e5f3ca1"),  # nibbles above 9
    *(bytes(np.random.default_rng(seed).integers(0, 256, 8, dtype=np.uint8)) for seed in range(3)),
]
MASKED = {  # name: (type, mask)
    "signed_low_byte": (">i2", 0xFF),
    "nibbles": (">u4", 0xF0F0),
    "mixed": ("><u4", 0x00FFFF00),
    "bcd": ("<d4", 0xFFFF),
    "wide": ("<i8", 0x7FFFFFFFFFFFFFFF),
    "top_bit": (">i8", 0x8000000000000000),  # masks are uint64 in stable-retro: 2**63 and above are masks too
    "all_bits_but_low": ("<u8", 0xFFFFFFFFFFFFFF0F),
    "negative": ("<u4", -113),  # Amidar-Atari2600's: a uint64 in stable-retro, so all bits above set
}

_STABLE_RETRO = r"""
import json, sys
import stable_retro as retro
base, patterns, codes, data = int(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
env = retro.make(game="Airstriker-Genesis-v0", render_mode=None)
env.reset()
memory = env.data.memory
env.data.load(data)
out = []
for pattern in patterns:
    for i, byte in enumerate(bytes.fromhex(pattern)):
        memory.assign(base + i, "|u1", byte)
    out.append({"codes": {c: memory.extract(base, c) for c in codes}, "masked": env.data.lookup_all(),
                "bytes": [memory.extract(base + i, "|u1") for i in range(8)]})
print(json.dumps(out))
"""


@pytest.fixture
def data_json(tmp_path: Path) -> Path:
    path = tmp_path / "data.json"
    info = {name: {"address": BASE, "type": code, "mask": mask} for name, (code, mask) in MASKED.items()}
    path.write_text(json.dumps({"info": info}))
    return path


@pytest.fixture
def stable_retros(data_json: Path, python_json) -> list[dict]:
    """stable-retro's values of every pattern: {"codes": {code: value}, "masked": {name: value}, "bytes"}."""
    pytest.importorskip("stable_retro")
    return python_json(_STABLE_RETRO, str(BASE), json.dumps([p.hex() for p in PATTERNS]), json.dumps(CODES),
                       str(data_json))


def test_every_type_code_decodes_as_in_stable_retro(stable_retros: list[dict]) -> None:
    assert [bytes(r["bytes"]) for r in stable_retros] == PATTERNS  # it wrote the bytes in address order
    rows = np.frombuffer(b"".join(PATTERNS), np.uint8).reshape(len(PATTERNS), 8)
    wrong = []
    for code in CODES:
        expected = [r["codes"][code] for r in stable_retros]
        variable = Variable("v", BASE, code)
        try:
            one = [variable.read(AddressSpace([Block(BASE, row.copy())])) for row in rows]  # an agent's step
            many = variable.decode(rows[:, : variable.size]).tolist()  # a replay's batch
        except Exception as e:  # listed with the other wrong codes
            one = many = [repr(e)]
        if one != expected or many != expected:
            wrong.append(f"{code}: stable-retro {expected}, one frame {one}, many {many}")
    assert not wrong, f"{len(wrong)} of {len(CODES)} type codes differ:\n" + "\n".join(wrong)


def test_masks_apply_as_in_stable_retro(stable_retros: list[dict], data_json: Path) -> None:
    variables = load_variables(data_json)
    for pattern, seen in zip(PATTERNS, stable_retros):
        space = AddressSpace([Block(BASE, np.frombuffer(pattern, np.uint8).copy())])
        assert {name: v.read(space) for name, v in variables.items()} == seen["masked"], pattern.hex()
