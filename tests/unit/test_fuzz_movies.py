"""Fuzzing the .bk2 reader: only the project's error (or a movie), under 2 s and 500 MB per case.

Two sources (see movie_fuzzing.py): a seeded byte-mutation corpus of the example
movies, ``RETROTOOL_FUZZ_CASES`` cases (default 20,000, in chunks so a failure names
its case numbers), and hypothesis strategies that build movies field by field:
headers, key lines, frame lines, retrotool.json documents, zip entry names and
compression, ``RETROTOOL_FUZZ_EXAMPLES`` each (default 200). That is 21,000 cases, about
70 s of CPU, in every run of the suite; ``python tests/unit/movie_fuzzing.py --help``
runs and tallies them without failing.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tracemalloc
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

import movie_fuzzing as fz
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retrotool import movie, systems

CASES = int(os.environ.get("RETROTOOL_FUZZ_CASES", "20000"))
CHUNK = 2500
EXAMPLES = int(os.environ.get("RETROTOOL_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
SYSTEMS = ("Genesis", "Snes", "Nes", "GbAdvance", "GameBoy", "Atari2600", "PCEngine", "Sms", "Test")
PLATFORMS = ("GEN", "SNES", "NES", "GBA", "GB", "A26", "PCE", "SMS", "Test", "N64", "", "gen", "Genesis")
HEADER_KEYS = ("MovieVersion", "Platform", "StartsFromSavestate", "StartsFromSaveRam", "GameName", "SHA1", "Core")
VERSIONS = ("Retro", "BizHawk v2.0.0", "BizHawk v1.0.0", "", "Retro\x00")
ODD_TEXT = st.text(st.sampled_from("|.#:P12 UDLRSsBAMrZ\n\r,-0379²é\x00/\\[]{}\"'"), max_size=40)


@pytest.fixture(autouse=True)
def _traced() -> Iterator[None]:
    """Peak memory per case is measured by tracemalloc; logs of odd but valid movies are muted."""
    logging.disable(logging.WARNING)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    tracemalloc.stop()
    logging.disable(logging.NOTSET)


def _assert_fine(data: bytes) -> None:
    outcome = fz.check(data)
    assert not outcome.bad, outcome


@pytest.mark.parametrize("start", range(0, CASES, CHUNK))
def test_mutated_example_movies(start: int) -> None:
    """Each case is reproducible: ``python tests/unit/movie_fuzzing.py --case N --write case.bk2``."""
    outcomes = fz.run_corpus(min(CHUNK, CASES - start), start)
    assert not any(o.bad for o in outcomes), fz.summary(outcomes)


def _zip(log: bytes, header: bytes, *more: tuple[str, bytes, int]) -> bytes:
    return fz.rezip([("Input Log.txt", log, zipfile.ZIP_DEFLATED), ("Header.txt", header, zipfile.ZIP_DEFLATED),
                     *more])


@st.composite
def valid_logs(draw: st.DrawFn) -> tuple[str, bytes]:
    """A system and an input log as one of the writers makes it."""
    system = systems.get(draw(st.sampled_from(SYSTEMS)))
    frames = draw(st.integers(1, 30))
    if draw(st.booleans()):
        players = draw(st.integers(1, min(2, system.max_players)))
        dialect = "stable-retro"
    else:
        players = draw(st.integers(1, system.max_players)) if system.bizhawk.player_prefix else 1
        dialect = "bizhawk"
    buttons = np.random.default_rng(draw(st.integers(0, 99))).integers(
        0, 2, (frames, players, len(system.buttons)), dtype=np.uint8
    )
    buttons[0] = 0
    m = movie.Movie(system=system.name, buttons=buttons, convention=dialect)  # type: ignore[arg-type]
    data = movie.to_bytes(m, dialect)  # type: ignore[arg-type]
    return system.name, dict((n, d) for n, d, _ in fz.entries_of(data))["Input Log.txt"]


@st.composite
def headers(draw: st.DrawFn) -> bytes:
    """Header.txt of known and odd keys and values, any line ending, maybe a BOM or bad UTF-8."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(HEADER_KEYS) | ODD_TEXT,
                                    st.sampled_from(PLATFORMS + VERSIONS + ("True", "true", "False")) | ODD_TEXT),
                          max_size=10))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", ""]))
    text = "".join(f"{k} {v}{ending}" for k, v in pairs).encode("utf-8")
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe"])) + text


@FUZZ
@given(valid_logs(), headers())
def test_headers(log: tuple[str, bytes], header: bytes) -> None:
    _assert_fine(_zip(log[1], header))


def _key_tokens(system: systems.System) -> st.SearchStrategy[str]:
    names = [*system.buttons, *(b.sr_name for b in system.button_info), *(b.bh_name for b in system.button_info)]
    console = [n for n, _ in system.bizhawk.console] + ["Eject", "Tilt X", "Power", "Reset"]
    player = st.sampled_from(["P0 ", "P1 ", "P2 ", "P5 ", "P9 ", "P99999999999999999999 ", "", "P1", "p1 "])
    named = st.builds(lambda p, n: p + n, player, st.sampled_from(names))
    return named | st.sampled_from(console) | ODD_TEXT


@st.composite
def key_line_logs(draw: st.DrawFn) -> tuple[str, bytes]:
    """A log whose key line is assembled from names (valid, repeated, unknown, any player), then frames."""
    system = systems.get(draw(st.sampled_from(SYSTEMS)))
    groups = draw(st.lists(st.lists(_key_tokens(system), max_size=16), max_size=6))
    if draw(st.booleans()):
        key = "LogKey:" + "".join("#" + "".join(t + "|" for t in g) for g in groups)
    else:
        key = "".join(t + "|" for g in groups for t in g)
    key *= draw(st.sampled_from([1, 1, 1, 50, 2000]))
    widths = [draw(st.integers(0, 20)) for _ in range(draw(st.integers(1, 6)))]
    line = "|" + "|".join("." * w for w in widths) + "|"
    frames = [line] * draw(st.integers(0, 5)) + draw(st.lists(ODD_TEXT, max_size=3))
    return system.name, "\n".join(["[Input]", key, *frames, "[/Input]"]).encode("utf-8")


@FUZZ
@given(key_line_logs(), st.sampled_from(VERSIONS))
def test_key_lines(log: tuple[str, bytes], version: str) -> None:
    system, text = log
    platform = systems.get(system).sr_platform
    _assert_fine(_zip(text, f"MovieVersion {version}\nPlatform {platform}\n".encode()))


@st.composite
def frame_line_logs(draw: st.DrawFn) -> tuple[str, bytes]:
    """A writer's log with frame lines edited: characters, pipes, axes, blank and very long lines, CR."""
    system, text = draw(valid_logs())
    lines = text.split(b"\n")
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 5))
        line = bytearray(lines[at])
        if op == 0 and line:
            line[draw(st.integers(0, len(line) - 1))] = draw(st.integers(0, 255))
        elif op == 1:
            line[draw(st.integers(0, len(line))):0] = draw(st.sampled_from([b"|", b"||", b"    0,", b"-99999,", b"\r"]))
        elif op == 2 and line:
            del line[draw(st.integers(0, len(line) - 1))]
        elif op == 3:
            other = draw(st.sampled_from([b"", b"|", b"||", b"Frame 1", b"|..|", b"\r"]))
            count = draw(st.sampled_from([1, 100, 20_000]))
            lines[at:at] = [other] * count if draw(st.booleans()) else [other * count]  # many lines or a long one
            continue
        elif op == 4 and len(line) < 1000:  # one long line (up to ~1 MB), not a product of several
            line *= draw(st.sampled_from([2, 1000, 60_000]))
        else:
            lines.insert(at, bytes(line))
        lines[at] = bytes(line)
    return system, b"\n".join(lines)


@FUZZ
@given(frame_line_logs(), st.sampled_from(VERSIONS))
def test_frame_lines(log: tuple[str, bytes], version: str) -> None:
    system, text = log
    platform = systems.get(system).sr_platform
    _assert_fine(_zip(text, f"MovieVersion {version}\nPlatform {platform}\n".encode()))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(fz.JSON_VALUES),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
VALID_DOC: dict[str, Any] = {
    "format": 1,
    "system": "Genesis",
    "meta": {
        "recorder": "retrotool 0.1.0", "system": "Genesis", "core": "genesis_plus_gx",
        "core_library": "Genesis Plus GX", "core_version": "v1.7.4", "content_sha1": "a8" * 20, "rom_name": "rom.md",
        "options": {"genesis_plus_gx_bram": "per game"}, "checkpoint_every": 600,
        "checkpoints": [{"frame": 0, "ram_sha256": "1" * 64, "screen_sha256": "2" * 64}],
    },
}
META_KEYS = (*VALID_DOC["meta"], "frame", "ram_sha256", "screen_sha256", "unknown")


@st.composite
def retrotool_docs(draw: st.DrawFn) -> bytes:
    """retrotool.json: the valid document with values, keys or whole parts replaced by other JSON."""
    doc = copy.deepcopy(VALID_DOC)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "meta", "checkpoint", "options"]))
        value = draw(JSON)
        key = draw(st.sampled_from(META_KEYS) | st.text(max_size=6))
        if where == "top" and isinstance(doc, dict):
            doc[draw(st.sampled_from(["format", "system", "meta", key]))] = value
        elif where == "meta" and isinstance(doc, dict) and isinstance(doc.get("meta"), dict):
            doc["meta"][key] = value
        elif where == "checkpoint" and isinstance(doc, dict) and isinstance(doc.get("meta"), dict):
            doc["meta"]["checkpoints"] = [{**VALID_DOC["meta"]["checkpoints"][0], key: value}]
        elif isinstance(doc, dict) and isinstance(doc.get("meta"), dict):
            doc["meta"]["options"] = {key: value}
    if draw(st.integers(0, 20)) == 0:
        doc = draw(JSON)
    return json.dumps(doc).encode("utf-8")


@FUZZ
@given(retrotool_docs())
def test_retrotool_json(doc: bytes) -> None:
    log = fz.entries_of((fz.ROOT / "tests/data/movies/sr_genesis.bk2").read_bytes())
    _assert_fine(fz.rezip([*log, ("retrotool.json", doc, zipfile.ZIP_DEFLATED)]))


@st.composite
def containers(draw: st.DrawFn) -> bytes:
    """An example movie's entries renamed, duplicated, dropped, reordered and recompressed."""
    seed = draw(st.sampled_from(fz.SEED_FILES[2:]))  # the small ones: the container is what varies
    entries = fz.entries_of(seed.read_bytes())
    out = []
    for name, data, _ in entries:
        for _ in range(draw(st.integers(0, 2))):
            out.append((draw(st.sampled_from([name, *fz.NAME_VARIANTS]) | st.text(min_size=1, max_size=12)),
                        data, draw(st.sampled_from(fz.COMPRESSIONS))))
    return fz.rezip(draw(st.permutations(out)))


@FUZZ
@given(containers())
def test_zip_entries(data: bytes) -> None:
    _assert_fine(data)


STRATEGIES = {
    "headers": st.builds(lambda log, header: _zip(log[1], header), valid_logs(), headers()),
    "key lines": st.builds(
        lambda log, v: _zip(log[1], f"MovieVersion {v}\nPlatform {systems.get(log[0]).sr_platform}\n".encode()),
        key_line_logs(), st.sampled_from(VERSIONS),
    ),
    "frame lines": st.builds(
        lambda log, v: _zip(log[1], f"MovieVersion {v}\nPlatform {systems.get(log[0]).sr_platform}\n".encode()),
        frame_line_logs(), st.sampled_from(VERSIONS),
    ),
    "retrotool.json": st.builds(
        lambda doc: fz.rezip([*fz.entries_of((fz.ROOT / "tests/data/movies/sr_genesis.bk2").read_bytes()),
                              ("retrotool.json", doc, zipfile.ZIP_DEFLATED)]),
        retrotool_docs(),
    ),
    "zip entries": containers(),
}


def tally(examples: int) -> list[fz.Outcome]:
    """Every strategy's first ``examples`` cases (derandomized), checked but not asserted: for the report."""
    outcomes: list[fz.Outcome] = []
    for name, strategy in STRATEGIES.items():
        _tally_one(name, strategy, examples, outcomes)
    return outcomes


def _tally_one(name: str, strategy: st.SearchStrategy[bytes], examples: int, outcomes: list[fz.Outcome]) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(data: bytes) -> None:
        outcomes.append(fz.check(data, f"{name} #{len(outcomes)}"))

    run()
