"""The RAM search's pure parts: the layout, every type at every address, each condition, undo, the file, the recorder.

The oracle throughout is `variables.Variable`, the reader of data.json
variables, applied to one address at a time through `memory.AddressSpace`
(which also un-swaps Genesis words): the search must find exactly what a
variable at that address and type would read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrotool.errors import ContentError, SearchError
from retrotool.memory import AddressSpace, Block
from retrotool.ram import codes
from retrotool.ram.layout import Layout, Region
from retrotool.ram.recorder import RamRecorder
from retrotool.ram.search import Condition, Evidence, Search, Source
from retrotool.sinks.contract import AvInfo, FrameBatch, ReplayInfo
from retrotool.variables import Variable

MIXED = ("><u4", "<>u4", "><d4", "<>i4", "=u2", ">=u4", "<=u4", "|u2")
EVERY = codes.DEFAULT_TYPES + MIXED


def _space(swap: bool, rng: np.random.Generator) -> AddressSpace:
    """Two blocks, as on SNES/GBA (a gap between them), byte-swapped words when `swap` (Genesis on x86)."""
    return AddressSpace([Block(0x7E0000, rng.integers(0, 256, 64, dtype=np.uint8), swap16=swap),
                         Block(0x100, rng.integers(0, 256, 32, dtype=np.uint8), swap16=swap)])


def _obs(space: AddressSpace) -> np.ndarray:
    """The RAM observation: every block as stored, in address order (stable-retro's get_ram())."""
    return np.concatenate([b.data for b in space.blocks])


def _oracle(space: AddressSpace, code: str) -> dict[int, int]:
    """address -> value of type `code`, for every address where a variable of that type is readable."""
    out = {}
    for block in space.blocks:
        for address in range(block.start, block.start + block.data.size):
            value = Variable("v", address, code).read(space)
            if value is not None:
                out[address] = value
    return out


@pytest.mark.parametrize("swap", [False, True], ids=["plain", "genesis-words"])
def test_every_type_at_every_address_reads_as_a_data_json_variable(swap: bool) -> None:
    rng = np.random.default_rng(7)
    space = _space(swap, rng)
    layout = Layout.of(space)
    row = _obs(space)[layout.order()]
    addresses = layout.addresses()
    for code in EVERY:
        fits = np.flatnonzero(layout.fits(codes.size_of(code)))
        got = dict(zip(addresses[fits].tolist(), codes.decode(row, code, fits).tolist()))
        assert got == _oracle(space, code), code


def test_layout_columns_and_addresses_outside_ram() -> None:
    layout = Layout([Region(0xFF0000, 0x10000, True)])
    assert layout.column(0xFF0010, 4) == 0x10
    with pytest.raises(ContentError, match=r"0xfeffff .* outside this game's RAM, which is 0xff0000-0xffffff"):
        layout.column(0xFEFFFF)
    with pytest.raises(ContentError, match="outside"):
        layout.column(0xFFFFFE, 4)  # starts inside, ends outside
    assert Layout.from_json(layout.to_json()).to_json() == layout.to_json()


def _changed_oracle(rows: np.ndarray, code: str, layout: Layout) -> np.ndarray:
    """Per address-order column: does the value of `code` there differ at some row from row 0 (decoded)?"""
    fits = np.flatnonzero(layout.fits(codes.size_of(code)))
    first = codes.decode(rows[0], code, fits)
    moved = np.zeros(layout.size, np.bool_)
    for row in rows[1:]:
        moved[fits] |= codes.decode(row, code, fits) != first
    return moved


def test_changed_over_a_span_is_what_decoding_every_frame_says() -> None:
    """Digits compared mod 10 and high nibbles ignored: a byte can change while a BCD value does not."""
    rng = np.random.default_rng(3)
    layout = Layout([Region(0, 48), Region(0x1000, 16)])
    rows = np.tile(rng.integers(0, 256, layout.size, dtype=np.uint8), (6, 1))
    rows[2, 5] ^= 0xA0  # high nibble: 0x0? -> 0xA?: the same BCD digit, the same low digit
    rows[3, 9] = (rows[0, 9] & 0xF0) | ((rows[0, 9] + 1) & 0x0F)  # the low digit moves
    rows[4, 20] ^= 0x01
    rows[5, 50] ^= 0x80
    recorder = RamRecorder([], (0, 5), layout.order())
    recorder.open(_info(layout.size))
    recorder.consume(_batch(0, rows))
    changed = recorder.close(None).changed
    for code in EVERY:
        got = codes.changed(changed[codes.view_of(code)], codes.size_of(code), layout)
        assert np.array_equal(got, _changed_oracle(rows, code, layout)), code


def _info(size: int) -> ReplayInfo:
    av = AvInfo(1, 1, 1, 1, 1.0, 60.0, 44100.0, 0)
    return ReplayInfo("Test", ("B",), 100, 1, av, "t", "1", "0" * 40, size)


def _batch(start: int, rams: np.ndarray, snapshot: bool = False) -> FrameBatch:
    n = rams.shape[0]
    return FrameBatch(start=start, buttons=np.zeros((n, 1, 1), np.uint8), masks=np.zeros((n, 1), np.uint16),
                      ram=rams[-1].tobytes() if snapshot else None, rams=rams)


def test_the_recorder_takes_spans_that_straddle_batches_and_snapshots_in_address_order() -> None:
    layout = Layout([Region(0xFF0000, 16, True)])
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 256, (30, 16), dtype=np.uint8)
    rows[:, :8] = rows[10, :8]  # the first 8 stored bytes hold still over the span
    recorder = RamRecorder([12, 19], (10, 25), layout.order())
    recorder.open(_info(16))
    for start, stop in ((0, 12), (12, 13), (13, 19), (19, 20), (20, 30)):  # cut at the snapshot rows, as the loop does
        recorder.consume(_batch(start, rows[start:stop], snapshot=stop - 1 in (12, 19)))
    done = recorder.close(None)
    assert sorted(done.rows) == [12, 19]
    assert np.array_equal(done.rows[19], rows[19][layout.order()])
    expected = (rows[10:26] != rows[10]).any(axis=0)[layout.order()]
    assert np.array_equal(done.changed["byte"], expected)


def _search(types: tuple[str, ...], frames: int = 10) -> Search:
    layout = Layout([Region(0x80, 32)])
    return Search.start(Source("m.bk2", "0" * 64, frames), layout, types)


def _kept(search: Search, code: str) -> list[int]:
    return (search.layout.addresses()[np.flatnonzero(search.current.candidates[code])]).tolist()


def test_value_and_look_back_conditions_read_each_candidate_as_its_type() -> None:
    search = _search(("|u1", "|i1", ">u2", "<d2"))
    before, after = np.zeros(32, np.uint8), np.zeros(32, np.uint8)
    before[4], after[4] = 0x05, 0xFB  # |i1: 5 -> -5; |u1: 5 -> 251
    before[10:12], after[10:12] = (0x12, 0x34), (0x12, 0x35)  # >u2 0x1234 -> 0x1235; <d2 3412 -> 3512
    evidence = Evidence({3: before, 7: after})
    search.narrow(Condition("decreased", 7, since=3), evidence)
    assert _kept(search, "|i1") == [0x84] and _kept(search, "|u1") == [] and _kept(search, ">u2") == []
    search.undo()
    search.narrow(Condition("equals", 7, value=3512), evidence)
    assert _kept(search, "<d2") == [0x8A] and search.current.count == 1


def test_a_step_that_leaves_nothing_is_refused_and_undo_goes_back() -> None:
    search = _search(("|u1",))
    rows = Evidence({5: np.arange(32, dtype=np.uint8)})
    search.narrow(Condition("greater", 5, value=20), rows)
    assert search.current.count == 11
    with pytest.raises(SearchError, match=r"no candidate is equals 99 at frame 5 \(of the 11 left\); the search keeps"):
        search.narrow(Condition("equals", 5, value=99), rows)
    assert search.current.count == 11 and len(search.steps) == 2  # kept
    assert search.undo().what == "greater 20 at frame 5" and search.current.count == 32
    with pytest.raises(SearchError, match="nothing to undo"):
        search.undo()


@pytest.mark.parametrize(("condition", "message"), [
    (Condition("equals", 10, value=1), "outside the movie, whose frames are 0 to 9"),
    (Condition("increased", 4, since=4), "4 is not before 4"),
    (Condition("equals", 3, value=1 << 64), "fits in 64 bits"),
])
def test_conditions_are_checked(condition: Condition, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        _search(("|u1",)).narrow(condition, Evidence({}))


def test_the_search_file_round_trips_and_is_small(tmp_path: Path) -> None:
    search = _search(codes.DEFAULT_TYPES)
    search.narrow(Condition("less", 1, value=3), Evidence({1: np.arange(32, dtype=np.uint8)}))
    path = tmp_path / "s.json"
    search.save(path, force=False)
    again = Search.load(path)
    assert [s.what for s in again.steps] == ["start", "less 3 at frame 1"] and again.types == search.types
    for code in search.types:
        assert np.array_equal(again.current.candidates[code], search.current.candidates[code])
    assert path.stat().st_size < 20_000
    doc = json.loads(path.read_text())
    doc["version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ContentError, match="not a RAM search file"):
        Search.load(path)
    with pytest.raises(ContentError, match="ram search start"):
        Search.load(tmp_path / "none.json")


def test_type_codes_are_checked() -> None:
    assert codes.parse_types(" >u2, |d1 ,>u2") == (">u2", "|d1")
    assert codes.parse_types(None) == codes.DEFAULT_TYPES
    with pytest.raises(ContentError, match=r"unknown type code '>x2': a type is a byte order"):
        codes.parse_types(">u2,>x2")
    with pytest.raises(ContentError, match="unknown type code '<u9'"):
        codes.parse_types("<u9")


def test_start_within_an_address_range() -> None:
    layout = Layout([Region(0x80, 32)])
    search = Search.start(Source("m", "0", 5), layout, ("|u1", ">u2"), 0x90, 0x93)
    assert _kept(search, "|u1") == [0x90, 0x91, 0x92, 0x93] and _kept(search, ">u2") == [0x90, 0x91, 0x92, 0x93]
    with pytest.raises(ContentError, match="outside this game's RAM"):
        Search.start(Source("m", "0", 5), layout, ("|u1",), 0x10, None)
