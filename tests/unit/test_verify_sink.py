"""The verify sink on hand-made frames: what counts as a match, and what it says otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrotool import outputs
from retrotool.errors import DesyncError, RetroToolError
from retrotool.movie import Checkpoint
from retrotool.sinks.checkpoints import every, pack_rams, ram_diff, ram_hash, screen_hash, unpack_rams
from retrotool.sinks.contract import FrameBatch, ReplayInfo
from retrotool.sinks.trace import TraceSink
from retrotool.sinks.verify import VerifySink
from retrotool.variables import Evaluator, Scenario, Term, Variable

FRAMES = 10


def _ram(frame: int) -> bytes:
    return bytes([frame, 0x40, 0x41, frame ^ 0xFF])


def _screen(frame: int) -> np.ndarray:
    return np.full((2, 3, 3), frame, np.uint8)


def _checkpoint(frame: int) -> Checkpoint:
    return Checkpoint(frame, ram_hash(_ram(frame)), screen_hash(_screen(frame)))


def _replay(sink: VerifySink, frames: int = FRAMES, ram=_ram, screen=_screen) -> None:
    """What the replay loop does: ask, open, a batch per snapshot row (and one for the rest), close."""
    rows = sink.needs(frames).snapshots.tolist()
    sink.open(None)  # type: ignore[arg-type]  # the sink keeps nothing of the replay's facts
    ends = sorted({*(r + 1 for r in rows), frames})
    start, error = 0, None
    try:
        for end in ends:
            snap = end - 1 in rows
            sink.consume(FrameBatch(
                start=start, buttons=np.zeros((end - start, 1, 1), np.uint8), masks=np.zeros((end - start, 1), np.uint16),
                ram=ram(end - 1) if snap else None, screen=screen(end - 1) if snap else None,
            ))
            start = end
    except BaseException as e:
        error = e
        raise
    finally:
        sink.close(error)


def test_every_checkpoint_matched_is_counted() -> None:
    sink = VerifySink([_checkpoint(f) for f in (0, 4, 9)])
    _replay(sink)
    assert (sink.matched, sink.stored, sink.last_good) == (3, 3, 9)


@pytest.mark.parametrize(("broken", "what"), [("ram", "RAM differ"), ("screen", "screen differ")])
@pytest.mark.parametrize("frame", [0, 4, 9])  # the first, one between, the last
def test_a_checkpoint_differing_only_in_ram_or_only_on_screen_is_a_desync(broken: str, what: str, frame: int) -> None:
    rams = [_ram(f) for f in (0, 4, 9)]
    sink = VerifySink([_checkpoint(f) for f in (0, 4, 9)], rams)

    def ram(f: int) -> bytes:
        return bytes([f ^ 1, *_ram(f)[1:]]) if broken == "ram" and f == frame else _ram(f)

    def screen(f: int) -> np.ndarray:
        return _screen(f) + 1 if broken == "screen" and f == frame else _screen(f)

    since = "the start" if frame == 0 else "frame 0" if frame == 4 else "frame 4"
    with pytest.raises(DesyncError) as e:
        _replay(sink, ram=ram, screen=screen)
    assert str(e.value).startswith(f"desync at frame {frame}: {what} (matched up to {since})")
    if broken == "ram":
        assert str(e.value).endswith(f"; 1 RAM bytes differ: 0x0000 expected 0x{frame:02x} got 0x{frame ^ 1:02x}")
    assert sink.matched == [0, 4, 9].index(frame)


def test_both_differing_are_named() -> None:
    sink = VerifySink([_checkpoint(3)])
    with pytest.raises(DesyncError, match=r"^desync at frame 3: RAM and screen differ \(matched up to the start\)$"):
        _replay(sink, ram=lambda f: b"\x00", screen=lambda f: _screen(f + 1))


def test_a_replay_ending_before_a_checkpoint_does_not_count_it() -> None:
    sink = VerifySink([_checkpoint(f) for f in (0, 4, 9, 12)])
    with pytest.raises(DesyncError, match=r"only 3 of 4 checkpoints matched: the replay ended after 10 frames, "
                                          r"before the checkpoint at frame 12"):
        _replay(sink)
    assert sink.matched == 3
    sink = VerifySink([_checkpoint(f) for f in (0, 4, 9)])
    with pytest.raises(DesyncError, match=r"only 2 of 3 checkpoints matched: the replay ended after 9 frames, "
                                          r"before the checkpoint at frame 9"):
        _replay(sink, frames=9)  # one frame short: the last checkpoint is never reached


def test_checkpoints_at_one_frame_are_each_checked() -> None:
    good = _checkpoint(4)
    _replay(sink := VerifySink([good, good]))
    assert sink.matched == sink.stored == 2
    with pytest.raises(DesyncError, match="desync at frame 4: screen differ"):
        _replay(VerifySink([good, Checkpoint(4, good.ram_sha256, "0" * 64)]))


def test_a_second_replay_counts_afresh() -> None:
    sink = VerifySink([_checkpoint(f) for f in (2, 5)])
    _replay(sink)
    _replay(sink)
    assert (sink.matched, sink.last_good) == (2, 5)


def test_rows_of_every_n_include_the_last() -> None:
    assert every(3, 10).tolist() == [0, 3, 6, 9]
    assert every(4, 10).tolist() == [0, 4, 8, 9]
    assert every(1, 3).tolist() == [0, 1, 2]
    assert every(5, 0).tolist() == []
    with pytest.raises(Exception, match="at least 1 frame"):
        every(0, 10)


def test_ram_diff_and_packed_rams() -> None:
    assert ram_diff(b"\x01\x02", b"\x01\x02\x03") == "RAM size differs: expected 2 bytes, got 3"
    a, b = bytes(range(12)), bytes([x ^ 0xFF if x % 2 else x for x in range(12)])
    text = ram_diff(a, b, limit=2)
    assert text == "6 RAM bytes differ: 0x0001 expected 0x01 got 0xfe, 0x0003 expected 0x03 got 0xfc (+4 more)"
    assert ram_diff(a, a) == "0 RAM bytes differ: "
    assert ram_diff(a, b, limit=6).endswith("0x000b expected 0x0b got 0xf4")  # exactly the limit: no "(+0 more)"
    assert ram_diff(bytes(9), bytes([1] * 9)).endswith("0x0007 expected 0x00 got 0x01 (+1 more)")  # 8 by default
    rams = [bytes([i, i * 2, 255 - i]) for i in range(5)]
    assert unpack_rams(pack_rams(rams), 5) == rams
    assert pack_rams(rams)[:3] == rams[0] and pack_rams(rams)[3:6] == bytes(x ^ y for x, y in zip(rams[0], rams[1]))
    assert unpack_rams(pack_rams(rams), 4) == [] and unpack_rams(b"", 0) == []
    assert pack_rams([b"\x01\x02", b"\x03\x04\x05", b"\x03\x04\x04"]) == b"\x01\x02\x03\x04\x05\x00\x00\x01"  # a new size starts afresh


def _trace(tmp_path, frames: int, every_n: int, values: dict[str, list[int]], scenario: Scenario | None,
           others: tuple[int, ...] = ()):
    """Run a TraceSink over `frames` rows the way the replay loop does; the JSON lines it wrote.

    `others`: rows where another sink asked for a snapshot (the batch carries RAM and screen there too).
    """
    variables = {name: Variable(name, i, "|u1") for i, name in enumerate(values)}
    sink = TraceSink(tmp_path / "t.jsonl", every_n=every_n, evaluator=Evaluator(variables, scenario))
    rows = sorted({*sink.needs(frames).snapshots.tolist(), *others})
    sink.open(ReplayInfo("Test", ("B",), frames, 1, None, "core", "1.0", "0" * 40, 4))  # type: ignore[arg-type]
    start = 0
    for end in sorted({*(r + 1 for r in rows), frames}):
        snap = end - 1 in rows
        sink.consume(FrameBatch(
            start=start, buttons=np.zeros((end - start, 1, 1), np.uint8), masks=np.zeros((end - start, 1), np.uint16),
            ram=_ram(end - 1) if snap else None, screen=_screen(end - 1) if snap else None,
            values={k: np.array(v[start:end], np.int64) for k, v in values.items()},
        ))
        start = end
    sink.close(None)
    return [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]


def test_a_trace_sums_rewards_between_its_lines_and_shows_done_and_info(tmp_path) -> None:
    score = [0, 1, 3, 3, 4, 9, 9, 10]
    over = [0, 0, 0, 1, 0, 0, 0, 1]
    scenario = Scenario(reward_terms=(Term("score", "delta", None, 0.0, 1.0, 0.0),), time_reward=0.0,
                        done_terms=(Term("over", "absolute", None, 0.0, 0.0, 0.0),), done_all=False)
    lines = _trace(tmp_path, 8, 3, {"score": score, "over": over}, scenario, others=(1, 4))
    assert [x["frame"] for x in lines] == [0, 3, 6, 7]
    assert [x["reward"] for x in lines] == [0.0, 3.0, 6.0, 1.0]  # the score's rise since the previous line
    assert [x["done"] for x in lines] == [False, True, False, True]  # of the line's own frame
    assert [x["info"] for x in lines] == [{"score": s, "over": o} for s, o in ((0, 0), (3, 1), (9, 0), (10, 1))]
    assert [(x["ram"], x["screen"]) for x in lines] == [(ram_hash(_ram(f)), screen_hash(_screen(f))) for f in (0, 3, 6, 7)]
    assert set(lines[0]) == {"frame", "reward", "done", "info", "ram", "screen"}


def test_a_trace_without_an_integration_has_hashes_only(tmp_path) -> None:
    sink = TraceSink(tmp_path / "t.jsonl")  # every row by default
    rows = sink.needs(3).snapshots.tolist()
    assert rows == [0, 1, 2]
    sink.open(None)  # type: ignore[arg-type]
    for f in rows:
        sink.consume(FrameBatch(start=f, buttons=np.zeros((1, 1, 1), np.uint8), masks=np.zeros((1, 1), np.uint16),
                                ram=_ram(f), screen=_screen(f)))
    sink.close(None)
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert lines == [{"frame": f, "ram": ram_hash(_ram(f)), "screen": screen_hash(_screen(f))} for f in rows]


def test_a_failed_trace_leaves_nothing(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = TraceSink(tmp_path / "t.jsonl")
    sink.needs(1)
    sink.open(None)  # type: ignore[arg-type]
    sink.close(RuntimeError("the core crashed"))
    assert list(tmp_path.iterdir()) == []

    def full(*args: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "commit", full)
    sink = TraceSink(tmp_path / "t.jsonl")
    sink.needs(1)
    sink.open(None)  # type: ignore[arg-type]
    with pytest.raises(RetroToolError, match=r"cannot write .*t.jsonl: No space left on device"):
        sink.close(None)
    assert list(tmp_path.iterdir()) == []
    TraceSink(tmp_path / "unopened.jsonl").close(None)  # closed before it opened: nothing to do, nothing written
    assert list(tmp_path.iterdir()) == []
