"""A movie's input log costs time and memory in proportion to what the movie holds, never more.

Each test builds what issue 13 reported: a 100 MiB key line in a small zip (107 s and
3.6 GB before), 511 MiB of newlines in a 0.5 MB zip (> 5 GB, then MemoryError), a log
with no frames read as a 0-frame success. The budget for reading any movie is four
times its button array plus 50 MB, measured by tracemalloc here and by RSS in a fresh
process for the largest case.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from retrotool import movie
from retrotool.errors import MovieFormatError
from retrotool.movie import Movie

MiB = 1 << 20
SLACK = 50 * MiB
GENESIS_KEY = b"P1 Z|P1 X|P1 Y|P1 C|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Mode|P1 A|P1 B|"
SR_HEADER = b"MovieVersion Retro\nPlatform GEN\n"


def _zip(pieces: Iterable[bytes], header: bytes = SR_HEADER, level: int = 9, **more: bytes) -> bytes:
    """A .bk2 whose input log is ``pieces`` joined, deflated as it is written (never held whole)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        zf.writestr("Header.txt", header)
        with zf.open("Input Log.txt", "w", force_zip64=True) as entry:
            for piece in pieces:
                entry.write(piece)
        for name, data in more.items():
            zf.writestr(name.replace("__", " ").replace("_", "."), data)
    return buffer.getvalue()


def _measured(data: bytes) -> tuple[str, float, int]:
    """The error reading ``data`` raises, the CPU seconds and the peak traced bytes it took."""
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(MovieFormatError) as info:
            movie.from_bytes(data, "evil.bk2")
        return str(info.value), time.process_time() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _repeat(first: bytes, piece: bytes, times: int) -> Iterable[bytes]:
    yield first
    for _ in range(times):
        yield piece


def test_a_key_line_of_100_mib_is_refused_at_once() -> None:
    data = _zip(_repeat(b"[Input]\nLogKey:#", b"P1 Up|" * (1 << 16), 100 * MiB // (6 << 16)))
    assert len(data) < 400_000
    message, seconds, peak = _measured(data)
    assert message == "evil.bk2: Input Log.txt line 2: longer than 8192 bytes; no movie has such lines"
    assert seconds < 2 and peak < 20 * MiB, (seconds, peak / MiB)


@pytest.mark.parametrize("size", [100 * MiB, 511 * MiB])
def test_a_log_of_newlines_is_refused_at_once(size: int) -> None:
    chunk = b"\n" * (16 * MiB)
    data = _zip(_repeat(b"", chunk, size // len(chunk)), level=1)
    message, seconds, peak = _measured(data)
    assert "evil.bk2: Input Log.txt line 4097: 4097 lines so far are not frames" in message, message
    assert seconds < 2 and peak < 20 * MiB, (seconds, peak / MiB)


def test_blank_lines_between_frames_are_bounded_by_the_frames() -> None:
    frame = b"|..|............|\n"
    fine = _zip([b"[Input]\n", GENESIS_KEY, b"\n", (frame + b"\n") * 5000, b"\n" * 4000])
    assert movie.from_bytes(fine).frames == 5000
    message, _, _ = _measured(_zip([b"[Input]\n", GENESIS_KEY, b"\n", frame * 10, b"\n" * 70_000, frame]))
    assert "Input Log.txt line 4117: 4107 lines so far are not frames, more than 4096 beyond one per frame" in message


@pytest.mark.parametrize("log", [b"", b"[Input]\n[/Input]", b"[Input]\n" + GENESIS_KEY + b"\n[/Input]\n"])
def test_a_log_without_frames_is_an_error(log: bytes) -> None:
    message, _, _ = _measured(_zip([log]))
    assert message == "evil.bk2: 'Input Log.txt' holds no frames (no line starting with '|')"


def test_a_movie_without_frames_is_not_written() -> None:
    with pytest.raises(MovieFormatError, match="a movie without frames cannot be written"):
        movie.to_bytes(Movie(system="Genesis", buttons=np.zeros((0, 1, 12), np.uint8)))


def test_a_logkey_without_player_buttons() -> None:
    message, _, _ = _measured(_zip([b"[Input]\nLogKey:#Power|Reset|\n|..|\n"], b"Platform GEN\n"))
    assert message == "evil.bk2: Input Log.txt line 2: the key line names no player's buttons"


def test_key_lines_name_a_bounded_number_of_controls() -> None:
    console = b"".join(b"Knob %d|" % i for i in range(9))
    message, _, _ = _measured(_zip([b"[Input]\nLogKey:#" + console + b"#P1 Up|\n"], b"Platform GEN\n"))
    assert "the key line names 9 console controls, more than the 8 a movie may have" in message
    message, _, _ = _measured(_zip([b"[Input]\n" + b"P1 Up|" * 300 + b"\n"]))
    assert "the key line names 302 controls, more than the 256 a movie may have" in message  # with Reset, Power


def test_a_long_frame_line_is_refused() -> None:
    message, _, _ = _measured(_zip([b"[Input]\n", GENESIS_KEY, b"\n|..|" + b"." * 10_000 + b"|\n"]))
    assert message == "evil.bk2: Input Log.txt line 3: longer than 8192 bytes; no movie has such lines"


@pytest.mark.parametrize("version", ["²", "1²", "٣", "-1", "99999"])
def test_bizstate_holds_ascii_digits(version: str) -> None:
    data = _zip([b"[Input]\nLogKey:#P1 Up|\n|U|\n"], b"Platform PCE\nStartsFromSavestate True\n",
                BizState__1_0=version.encode(), Core_bin=b"state")
    message, _, _ = _measured(data)
    assert "'BizState 1.0' holds" in message and "not a version number" in message


def _long_movie(frames: int) -> Movie:
    buttons = np.random.default_rng(1).integers(0, 2, (frames, 2, 12), dtype=np.uint8)
    buttons[0] = 0
    return Movie(system="Genesis", buttons=buttons)


def _irregular(data: bytes) -> bytes:
    """The same log with an empty group after every frame line (old BizHawk): only the general decoder reads it."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    lines = entries["Input Log.txt"].split(b"\n")
    entries["Input Log.txt"] = b"\n".join(line + b"|" if line.startswith(b"|") else line for line in lines)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _lying(data: bytes) -> bytes:
    """The same file with the input log declaring 500 MiB in the central directory (it holds far less)."""
    out = bytearray(data)
    central = out.index(b"PK\x01\x02")
    assert out[central + 46 : central + 46 + 13] == b"Input Log.txt"
    out[central + 24 : central + 28] = (500 * MiB).to_bytes(4, "little")
    return bytes(out)


@pytest.mark.parametrize("shape", ["regular", "irregular", "lying size"])
def test_reading_costs_at_most_four_times_the_buttons(shape: str) -> None:
    """Before: the irregular log peaked at its text plus ~50 bytes per line of index arrays."""
    original = _long_movie(300_000)
    data = {"regular": lambda d: d, "irregular": _irregular, "lying size": _lying}[shape](movie.to_bytes(original))
    tracemalloc.start()
    back = movie.from_bytes(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.array_equal(back.buttons, original.buttons)
    assert peak <= 4 * back.buttons.nbytes + SLACK, (peak / MiB, back.buttons.nbytes / MiB)
    assert peak <= back.buttons.nbytes + back.console.nbytes + 16 * MiB, "the arrays grow in place, not by copies"


_RSS_SCRIPT = """
import re, sys
from retrotool import movie


def status(key):
    with open("/proc/self/status") as f:
        return int(re.search(key + r":\\s+(\\d+) kB", f.read()).group(1)) * 1024


data = open(sys.argv[1], "rb").read()
try:  # the peak so far becomes the current size (ru_maxrss would also count the parent the process forked from)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = status("VmRSS")
m = movie.from_bytes(data)
print(before, status("VmHWM"), m.buttons.nbytes)
"""


def test_peak_rss_of_reading_a_long_irregular_movie(tmp_path: Path) -> None:
    """In a fresh process: the growth of the peak RSS while reading stays within the budget."""
    path = tmp_path / "long.bk2"
    path.write_bytes(_irregular(movie.to_bytes(_long_movie(1_000_000))))
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path)], capture_output=True, text=True, check=True)
    before, after, buttons = map(int, out.stdout.split())
    assert after - before <= 4 * buttons + SLACK, ((after - before) / MiB, buttons / MiB)


def test_a_checkpoint_document_within_the_limit_round_trips() -> None:
    points = [{"frame": i, "ram_sha256": "a" * 64, "screen_sha256": "b" * 64} for i in range(15_000)]
    m = Movie(system="Genesis", buttons=np.zeros((15_000, 1, 12), np.uint8), meta={"checkpoints": points})
    assert len(movie.from_bytes(movie.to_bytes(m)).checkpoints) == 15_000
    too_many = m.with_meta(checkpoints=points * 2)
    with pytest.raises(MovieFormatError, match=r"over the 4194304 a reader accepts \(30000 checkpoints\)"):
        movie.to_bytes(too_many)


def main() -> None:
    """Print, for benchmarks/RESULTS.md, what reading each reported input costs in a fresh process."""
    cases = {
        "100 MiB key line": _zip(_repeat(b"[Input]\nLogKey:#", b"P1 Up|" * (1 << 16), 100 * MiB // (6 << 16))),
        "511 MiB of newlines": _zip(_repeat(b"", b"\n" * (16 * MiB), 511 // 16), level=1),
        "1,000,000 frames, 2 players": movie.to_bytes(_long_movie(1_000_000)),
        "the same, irregular lines": _irregular(movie.to_bytes(_long_movie(1_000_000))),
        "the same, size declared 500 MiB": _lying(movie.to_bytes(_long_movie(1_000_000))),
    }
    script = _RSS_SCRIPT.replace("m = movie.from_bytes(data)", (
        "import time\nstarted = time.process_time()\ntry:\n    m = movie.from_bytes(data, 'x.bk2')\n"
        "    n, out = m.buttons.nbytes, f'{m.frames} frames'\nexcept Exception as e:\n    n, out = 0, str(e)"
    )).replace('print(before, status("VmHWM"), m.buttons.nbytes)', (
        "print(f'{time.process_time() - started:.2f} | {(status(\"VmHWM\") - before) / 2**20:.1f} | "
        "{n / 2**20:.1f} | {out}')"
    ))
    with tempfile.TemporaryDirectory() as folder:
        for name, data in cases.items():
            path = Path(folder) / "case.bk2"
            path.write_bytes(data)
            run = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
            print(f"| {name} | {len(data) / 1000:,.0f} KB | {run.stdout.strip()} |")


if __name__ == "__main__":
    main()


def _with_ram_entry(checkpoints: int, ram_bytes: int) -> bytes:
    from retrotool import systems
    from retrotool.movie import Checkpoint
    from retrotool.movie.model import RAM_ENTRY

    genesis = systems.get("Genesis")
    made = Movie(system="Genesis", buttons=np.zeros((checkpoints * 10, 1, len(genesis.buttons)), np.uint8),
                 header=(("GameName", "g"),), extras=((RAM_ENTRY, bytes(ram_bytes)),))
    return movie.to_bytes(made.with_checkpoints(tuple(Checkpoint(i * 10, "0" * 64, "0" * 64)
                                                      for i in range(checkpoints))))


def test_checkpoint_rams_are_bounded_by_the_checkpoints_listed_not_a_fixed_cap() -> None:
    """A five-hour Genesis movie's checkpoint RAMs (118 MB) passed the old 64 MiB cap: we wrote what we could not read."""
    from retrotool.movie.model import MAX_CHECKPOINT_RAM, RAM_ENTRY

    back = movie.from_bytes(_with_ram_entry(1200, 1200 * 65536))
    assert len(dict(back.extras)[RAM_ENTRY]) == 1200 * 65536
    with pytest.raises(MovieFormatError, match="retrotool-ram.bin"):
        movie.from_bytes(_with_ram_entry(10, 10 * MAX_CHECKPOINT_RAM + EXTRA_ROOM))


EXTRA_ROOM = 80 * MiB  # past both the fixed cap and ten checkpoints' worth
