"""The verify sink on hand-made frames: what counts as a match, and what it says otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from retrotool.errors import DesyncError
from retrotool.movie import Checkpoint
from retrotool.sinks.checkpoints import every, pack_rams, ram_diff, ram_hash, screen_hash, unpack_rams
from retrotool.sinks.contract import FrameBatch
from retrotool.sinks.verify import VerifySink

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
    rams = [bytes([i, i * 2, 255 - i]) for i in range(5)]
    assert unpack_rams(pack_rams(rams), 5) == rams
    assert pack_rams(rams)[:3] == rams[0] and pack_rams(rams)[3:6] == bytes(x ^ y for x, y in zip(rams[0], rams[1]))
    assert unpack_rams(pack_rams(rams), 4) == [] and unpack_rams(b"", 0) == []
