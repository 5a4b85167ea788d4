"""Hostile movies made at random but reproducibly, and the one check every one of them must pass.

Reading a movie may succeed or raise the project's error (any ``RetroToolError``);
anything else, more than ``MAX_SECONDS`` or more than ``MAX_BYTES`` of traced memory
is a finding. Two sources of cases share that check:

- :func:`corpus_case` mutates the example movies (``examples/*.bk2``,
  ``tests/data/movies/*.bk2``) byte by byte, seeded by the case number so any
  finding replays exactly: raw zip bytes, the bytes of one entry (re-zipped, so
  the CRC is right and the codec sees the damage), the set of entries, their
  names and compression, and retrotool.json values;
- the hypothesis strategies in ``test_fuzz_movies.py`` build movies field by field.

Run as a script it tallies a run (the numbers in benchmarks/RESULTS.md)::

    python tests/unit/movie_fuzzing.py --cases 20000 [--hypothesis 500]
    python tests/unit/movie_fuzzing.py --case 1234 --write case.bk2   # one case, to a file
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import re
import sys
import time
import tracemalloc
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrotool import movie
from retrotool.errors import RetroToolError

ROOT = Path(__file__).resolve().parents[2]
SEED_FILES = sorted((ROOT / "examples").glob("*.bk2")) + sorted((ROOT / "tests" / "data" / "movies").glob("*.bk2"))
MAX_SECONDS = 2.0
MAX_BYTES = 500 << 20
ROUND_TRIP_LIMIT = 64 << 10  # successful reads of smaller files are also written and read back
TEXT_ENTRIES = ("Input Log.txt", "Header.txt", "retrotool.json", "BizState 1.0")
TOKENS = (
    b"|", b".", b"\n", b"\r\n", b"\r", b"#", b"||", b"LogKey:", b"LogKey:#", b"P1 ", b"P2 ", b"P0 ", b"P9 ",
    b"P99999999999999999999 ", b"\xef\xbb\xbf", b"\xff", b"\x00", "²".encode(), "é".encode(), b"[Input]",
    b"[/Input]", b"    0,", b"-32768,", b"99999999999999999999,", b"Platform ", b"GEN", b"SNES", b"N64",
    b"MovieVersion ", b"Retro", b"BizHawk v2.0.0", b"StartsFromSavestate True", b"Up|", b"Power|", b"Reset|",
    b"0", b"2", b"9" * 30, b'"', b"{", b"}", b"[", b"]", b",", b":", b"null", b"true", b"-1", b"1e400",
    b'"core"', b'"/tmp/x.so"', b'"../../etc/hostname"', b'"checkpoints"', b'"options"', b'"meta"',
)
JSON_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**63, 2**64 + 1, 1.5, float("inf"), "", "x", "²", "/tmp/x.so", "./x.so",
    "../../etc/hostname", "a/b", "\x00", "a" * 5000, [], [1], ["a", "b"], {}, {"a": 1}, {"frame": 1},
    [{"frame": 0, "ram_sha256": "0" * 64, "screen_sha256": "0" * 64}], [{"frame": -1}], {"k": "v"},
)
COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
NAME_VARIANTS = (
    "Input Log.txt", "Input Log", "input log.txt", "Header.txt", "Header", "Core.bin", "Core", "Core.bin.zst",
    "BizState 1.0", "BizZip 1.0", "retrotool.json", "retrotool-ram.bin", "../Input Log.txt", "/Header.txt",
    "dir/Core.bin", "Comments.txt", "x" * 300, "Input Log.txt/", "ünïcode.txt",
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What reading one case did: ``error`` is empty, "refused" (the project's error) or a foreign exception.

    ``seconds`` is CPU time, ``peak`` the most memory tracemalloc saw allocated at once beyond what was before.
    """

    label: str
    error: str
    seconds: float
    peak: int

    @property
    def bad(self) -> bool:
        """Whether this case is a finding."""
        return self.error not in ("", "refused") or self.seconds >= MAX_SECONDS or self.peak >= MAX_BYTES


class BrokenMeta(Exception):
    """The reader returned meta that replay or verify would trip over (counted apart from the reader's own)."""


def _use_meta(meta: Mapping[str, Any]) -> None:
    """What replay and verify take from ``meta`` (retrotool/jobs.py), as the reader promises it.

    A movie names its core by name only and its ROM by a plain file name; options map
    strings to strings. Raises TypeError or ValueError where a caller would go wrong.
    """
    options = meta.get("options", {})
    {str(k): str(v) for k, v in options.items()}  # noqa: B018  # a list or a string has no items()
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
        raise TypeError(f"options {options!r} are not strings")
    core = meta.get("core")
    if core is not None and not (isinstance(core, str) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_+-]{0,63}", core)):
        raise ValueError(f"core {core!r} is not a core name (a path would load any library)")
    rom = meta.get("rom_name")
    if rom is not None and not (isinstance(rom, str) and re.fullmatch(r"[^/\\\x00]{1,255}", rom) and rom.strip(".")):
        raise ValueError(f"rom_name {rom!r} is not a plain file name (it would read files elsewhere)")
    sha1 = meta.get("content_sha1")
    if sha1 is not None and not (isinstance(sha1, str) and re.fullmatch(r"[0-9a-f]{40}", sha1)):
        raise ValueError(f"content_sha1 {sha1!r} is not 40 hex digits")


def _use(m: movie.Movie, size: int) -> None:
    """What callers do with a movie they have read: any lazy parsing must fail as the reader would."""
    repr(m)
    m.checkpoints  # noqa: B018  # parses meta's checkpoints
    m.masks()
    try:
        _use_meta(m.meta)
    except Exception as exc:
        raise BrokenMeta(f"{type(exc).__name__}: {exc}") from exc
    if size <= ROUND_TRIP_LIMIT:
        try:
            data = movie.to_bytes(m)
        except RetroToolError:
            return  # e.g. a BizHawk state has no stable-retro form: refused with a message
        movie.from_bytes(data)


def check(data: bytes, label: str = "<case>") -> Outcome:
    """Read ``data`` as a movie and say how it went (tracemalloc must be tracing)."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    started = time.process_time()  # CPU time: other jobs on a shared machine do not make a case slow
    error = ""
    try:
        _use(movie.from_bytes(data, label), len(data))
    except RetroToolError:
        error = "refused"
    except BaseException as exc:  # noqa: BLE001  # MemoryError, RecursionError ... are findings too
        if isinstance(exc, KeyboardInterrupt):
            raise
        error = f"{type(exc).__name__}: {str(exc)[:200]}"  # BrokenMeta: the meta callers get is unusable
    seconds = time.process_time() - started
    return Outcome(label, error, seconds, tracemalloc.get_traced_memory()[1] - before)


def seeds() -> list[tuple[str, bytes]]:
    """The example movies the corpus mutates."""
    return [(p.name, p.read_bytes()) for p in SEED_FILES]


def entries_of(data: bytes) -> list[tuple[str, bytes, int]]:
    """Name, content and compression of every entry of a zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i), i.compress_type) for i in zf.infolist()]


def rezip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of ``entries`` as given (names, duplicates and compression included)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data, compression in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            zf.writestr(info, data, compresslevel=1 if compression == zipfile.ZIP_DEFLATED else None)
    return buffer.getvalue()


def _mutate_bytes(rng: random.Random, data: bytes, tokens: tuple[bytes, ...] = TOKENS) -> bytes:
    """One to four edits: flips, token or random-run inserts, deletions, duplications, truncation, a long run."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        op = rng.randrange(8)
        if op == 0 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op == 1:
            out[at:at] = rng.choice(tokens)
        elif op == 2:
            out[at : at + rng.randint(0, 8)] = rng.choice(tokens)
        elif op == 3:
            del out[at : at + rng.choice((1, 4, 64, 4096))]
        elif op == 4:
            span = bytes(out[at : at + rng.choice((1, 20, 200, 5000))])
            out[at:at] = span * rng.choice((1, 2, 50))
        elif op == 5:
            del out[at:]
        elif op == 6:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            out[at:at] = rng.choice((b"\n", b"|", b"x", b".", b"\x00", b"|..|")) * rng.choice((1000, 100_000, 1 << 20))
    return bytes(out)


def _json_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _json_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:4]):
            paths += _json_paths(child, (*path, index))
    return paths


def mutate_json(rng: random.Random, doc: Any) -> Any:
    """``doc`` with one value, key or container replaced by something of another type or shape."""
    path = rng.choice(_json_paths(doc))
    value = rng.choice(JSON_VALUES)
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if rng.random() < 0.2 and isinstance(parent, dict):
        parent[rng.choice(("core", "rom_name", "options", "checkpoints", "extra", "content_sha1"))] = value
    else:
        parent[path[-1]] = value
    return doc


def _mutate_entries(rng: random.Random, entries: list[tuple[str, bytes, int]]) -> list[tuple[str, bytes, int]]:
    """Edit entries: bytes of a (mostly textual) one, retrotool.json values, names, compression, the set."""
    for _ in range(rng.randint(1, 3)):
        if not entries:
            break
        op = rng.randrange(10)
        texts = [i for i, e in enumerate(entries) if e[0] in TEXT_ENTRIES]
        index = rng.choice(texts) if texts and op < 6 else rng.randrange(len(entries))
        name, data, compression = entries[index]
        if op < 5:
            entries[index] = (name, _mutate_bytes(rng, data), compression)
        elif op == 5 and name == "retrotool.json":
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            entries[index] = (name, json.dumps(mutate_json(rng, doc)).encode(), compression)
        elif op == 6:
            entries[index] = (rng.choice(NAME_VARIANTS), data, compression)
        elif op == 7:
            entries[index] = (name, data, rng.choice(COMPRESSIONS))
        elif op == 8:
            entries.pop(index)
        else:
            entries.insert(rng.randrange(len(entries) + 1), entries[index])
    return entries


def corpus_case(number: int, pool: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """Case ``number``: a mutated example movie, the same bytes every time."""
    rng = random.Random(number)
    name, seed = pool[number % len(pool)]
    if rng.random() < 0.25:
        return f"{name}#{number} (zip bytes)", _mutate_bytes(rng, seed)
    entries = [(n, d, c if n in TEXT_ENTRIES else zipfile.ZIP_STORED) for n, d, c in entries_of(seed)]
    return f"{name}#{number} (entries)", rezip(_mutate_entries(rng, entries))


def summary(outcomes: list[Outcome]) -> str:
    """Counts, the worst time and peak, and one example of every kind of finding."""
    if not outcomes:
        return "0 cases"
    bad = [o for o in outcomes if o.bad]
    kinds = Counter(o.error.split(":")[0] if o.error not in ("", "refused") else "slow or large" for o in bad)
    slowest = max(outcomes, key=lambda o: o.seconds)
    largest = max(outcomes, key=lambda o: o.peak)
    lines = [
        f"{len(outcomes)} cases: {sum(o.error == '' for o in outcomes)} read, "
        f"{sum(o.error == 'refused' for o in outcomes)} refused with the project's error, {len(bad)} findings "
        f"{dict(kinds)}",
        f"worst read time {slowest.seconds:.3f} s CPU ({slowest.label}); "
        f"worst peak traced memory {largest.peak / (1 << 20):.1f} MiB ({largest.label})",
    ]
    seen: set[str] = set()
    for o in bad:
        kind = o.error[:30]
        if kind not in seen and len(seen) < 12:
            seen.add(kind)
            lines.append(f"  e.g. {o.label}: {o.error or f'{o.seconds:.2f} s, {o.peak >> 20} MiB'}")
    return "\n".join(lines)


def run_corpus(cases: int, start: int = 0, progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Check corpus cases ``start`` to ``start + cases - 1`` (tracemalloc must be tracing)."""
    pool = seeds()
    outcomes = []
    for number in range(start, start + cases):
        label, data = corpus_case(number, pool)
        outcomes.append(check(data, label))
        if progress is not None:
            progress(number)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20_000, help="mutated example movies to read")
    parser.add_argument("--hypothesis", type=int, default=0, help="examples per structural strategy (0: none)")
    parser.add_argument("--case", type=int, help="make only this corpus case")
    parser.add_argument("--write", type=Path, help="with --case: write its bytes here")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # readers and writers warn about odd but valid movies
    warnings.simplefilter("ignore")  # zipfile warns about the duplicate names the corpus makes
    tracemalloc.start()
    if args.case is not None:
        label, data = corpus_case(args.case, seeds())
        if args.write:
            args.write.write_bytes(data)
        print(check(data, label))
        return 0
    outcomes = run_corpus(args.cases)
    print("corpus:", summary(outcomes))
    if args.hypothesis:
        import test_fuzz_movies  # the structural strategies; imported here to keep this module hypothesis-free

        structural = test_fuzz_movies.tally(args.hypothesis)
        print("structural:", summary(structural))
        outcomes += structural
        print("all:", summary(outcomes))
    return 1 if any(o.bad for o in outcomes) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
