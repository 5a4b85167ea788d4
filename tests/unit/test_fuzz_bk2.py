"""Hostile input: whatever the bytes, reading raises nothing but RetroToolError subclasses."""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from retrotool import movie
from retrotool.errors import RetroToolError
from retrotool.movie import Movie

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "movies"
FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT_ALPHABET = "|.#:P12 UDLRSsBAMrZ\n\r,-0379LogKey[]/Input\t\xe9"


def _seeds() -> list[bytes]:
    files = [p.read_bytes() for p in sorted(GOLDEN.glob("*.bk2"))]
    buttons = np.random.default_rng(0).integers(0, 2, (6, 2, 12), dtype=np.uint8)
    files.append(movie.to_bytes(Movie(system="Genesis", buttons=buttons, state=b"s", meta={"a": [1]})))
    files.append(movie.to_bytes(Movie(system="Genesis", buttons=buttons), "bizhawk"))
    return files


SEEDS = _seeds()


def _read_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(RetroToolError):
        movie.from_bytes(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _read_only_our_errors(data)


FLIPS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8)


@FUZZ
@given(st.sampled_from(SEEDS), FLIPS)
def test_flipped_bytes_in_the_zip(seed: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    _read_only_our_errors(bytes(data))


def _entries(seed: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(seed)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _rezip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buffer.getvalue()


@st.composite
def _edited(draw: st.DrawFn) -> bytes:
    entries = _entries(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(entries) - 1))
        name, data = entries[index]
        text = bytearray(data)
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 6))
        insert = draw(st.text(TEXT_ALPHABET, max_size=8)).encode("utf-8")
        text[at : at + cut] = insert
        entries[index] = (name, bytes(text))
    if draw(st.booleans()) and len(entries) > 1:
        entries.pop(draw(st.integers(0, len(entries) - 1)))
    return _rezip(entries)


@FUZZ
@given(_edited())
def test_edited_entries(data: bytes) -> None:
    _read_only_our_errors(data)


KEY_LINES = [
    "",
    "[Input]\n",
    "[Input]\nP1 Z|P1 X|P1 Y|P1 C|P1 Right|P1 Left|P1 Down|P1 Up|P1 Start|P1 Mode|P1 A|P1 B|\n",
    "[Input]\nP1 Up|P2 Up|P1 Pause|\n",
    "[Input]\nLogKey:#Power|Reset|#P1 Up|P1 Down|P1 Left|P1 Right|P1 A|P1 B|P1 C|P1 Start|\n",
    "[Input]\nLogKey:#Tilt X|Tilt Y|Up|Power|#\n",
    "[Input]\nLogKey:#P1 Up|P1 Run|#P2 B1|\n",
]


@FUZZ
@given(
    st.sampled_from(["Genesis", "Sms", "PCEngine", "GbAdvance", "Atari2600"]),
    st.sampled_from(["Retro", "BizHawk v2.0.0"]),
    st.sampled_from(KEY_LINES),
    st.text(TEXT_ALPHABET, max_size=120),
)
def test_random_input_logs(system: str, version: str, key: str, frames: str) -> None:
    header = f"MovieVersion {version}\nPlatform {system}\n"
    log = (key + frames).encode("utf-8")
    _read_only_our_errors(_rezip([("Input Log.txt", log), ("Header.txt", header.encode())]))
