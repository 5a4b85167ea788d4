"""Keyframes: full core states at chosen frames of a movie, so any stretch of it replays on its own.

They travel in a zip entry other readers ignore (`ENTRY`), indexed in the
movie's meta (`meta["keyframes"]`). Keyframe k holds the core's state after
row `frames[k]` ran. A replay from it runs the next row without output first
(so the core has shown a picture, which a dupe frame would show again) and
can compare that row with its checkpoint at once; its output starts with the
row after. States are XOR'd against the previous keyframe (a minute of play
changes little of a state) and zstd-compressed; every `FULL_EVERY`-th is
stored whole, so reaching any keyframe decodes at most that many.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import zstandard

from retrotool.errors import MovieFormatError
from retrotool.movie.model import Movie

__all__ = ["ENTRY", "FULL_EVERY", "Keyframes", "KeyframeWriter", "of", "with_keyframes"]

ENTRY = "retrotool-keyframes.bin"
FULL_EVERY = 16  # a whole state every 16 keyframes bounds the decoding chain
_LEVEL = 3
_MAX_STATE = 64 << 20


@dataclass(frozen=True, slots=True, eq=False)
class Keyframes:
    """The keyframes of a movie: which frames, for which core, and their compressed states."""

    frames: tuple[int, ...]
    sizes: tuple[int, ...]  # compressed bytes of each, in order in `blob`
    digests: tuple[str, ...]  # sha256 of each state, checked when it is decoded
    state_size: int
    core: str
    core_version: str
    blob: bytes

    def __len__(self) -> int:
        return len(self.frames)

    def for_row(self, row: int) -> int | None:
        """The last keyframe a replay whose output starts at `row` can start from (frame + 2 <= row), or None."""
        k = int(np.searchsorted(np.asarray(self.frames), row - 1, side="left")) - 1
        return k if k >= 0 else None

    def state(self, k: int) -> bytes:
        """Keyframe k's state; MovieFormatError names it when it does not decode to its digest."""
        first = k - k % FULL_EVERY
        offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        decoder = zstandard.ZstdDecompressor()
        state: np.ndarray | None = None
        for i in range(first, k + 1):
            try:
                raw = decoder.decompress(self.blob[offsets[i] : offsets[i + 1]], max_output_size=self.state_size)
            except zstandard.ZstdError as e:
                raise MovieFormatError(f"keyframe {i} (frame {self.frames[i]}) is damaged: {e}") from None
            data = np.frombuffer(raw, np.uint8)
            if data.size != self.state_size:
                raise MovieFormatError(f"keyframe {i} (frame {self.frames[i]}) is damaged: {data.size} bytes")
            state = data if state is None else state ^ data
        assert state is not None, "k >= first"
        out = state.tobytes()
        if hashlib.sha256(out).hexdigest() != self.digests[k]:
            raise MovieFormatError(f"keyframe {k} (frame {self.frames[k]}) does not match its digest: it is damaged")
        return out

    def meta(self) -> dict[str, Any]:
        """The index stored under meta["keyframes"] (the states go to the ENTRY zip entry)."""
        return {"codec": "xor-zstd", "full_every": FULL_EVERY, "core": self.core, "core_version": self.core_version,
                "state_size": self.state_size, "frames": list(self.frames), "sizes": list(self.sizes),
                "sha256": list(self.digests)}

    def cut(self, frames: int) -> Keyframes:
        """The keyframes of frames before `frames` (a movie cut back there)."""
        n = int(np.searchsorted(np.asarray(self.frames), frames, side="left"))
        return Keyframes(self.frames[:n], self.sizes[:n], self.digests[:n], self.state_size, self.core,
                         self.core_version, self.blob[: sum(self.sizes[:n])])


class KeyframeWriter:
    """Compresses states as they come (a recorder keeps only the last raw one)."""

    def __init__(self, core: str, core_version: str) -> None:
        self.core, self.core_version = core, core_version
        self.frames: list[int] = []
        self.sizes: list[int] = []
        self.digests: list[str] = []
        self._parts: list[bytes] = []
        self._last: np.ndarray | None = None
        self._size = 0
        self._compressor = zstandard.ZstdCompressor(level=_LEVEL)

    def add(self, frame: int, state: bytes) -> None:
        if self.frames and frame <= self.frames[-1]:
            raise MovieFormatError(f"keyframes must come in order: frame {frame} after {self.frames[-1]}")
        data = np.frombuffer(state, np.uint8)
        if self._size and data.size != self._size:
            raise MovieFormatError("the core's state changed size between keyframes; keyframes cannot be delta-coded")
        self._size = data.size
        last = self._last
        if len(self.frames) % FULL_EVERY == 0:
            part = self._compressor.compress(state)
        elif last is not None:
            part = self._compressor.compress((data ^ last).tobytes())
        else:
            raise MovieFormatError("a keyframe's delta has no previous state; a retrotool bug")
        self.frames.append(frame)
        self.sizes.append(len(part))
        self.digests.append(hashlib.sha256(state).hexdigest())
        self._parts.append(part)
        self._last = data

    def cut(self, frames: int) -> None:
        """Drop the keyframes of frames from `frames` on (a re-record went back before them)."""
        keep = sum(f < frames for f in self.frames)
        if keep == len(self.frames):
            return
        del self.frames[keep:], self.sizes[keep:], self.digests[keep:], self._parts[keep:]
        self._last = np.frombuffer(self.keyframes().state(keep - 1), np.uint8) if keep else None

    def keyframes(self) -> Keyframes:
        return Keyframes(tuple(self.frames), tuple(self.sizes), tuple(self.digests), self._size, self.core,
                         self.core_version, b"".join(self._parts))


def with_keyframes(movie: Movie, keyframes: Keyframes | None) -> Movie:
    """The movie carrying `keyframes` (None: none), replacing any it had."""
    extras = tuple((n, d) for n, d in movie.extras if n != ENTRY)
    meta = {k: v for k, v in movie.meta_json().items() if k != "keyframes"}
    if keyframes is not None and len(keyframes):
        extras += ((ENTRY, keyframes.blob),)
        meta["keyframes"] = keyframes.meta()
    return movie.replace(extras=extras, meta=meta)


def of(movie: Movie) -> Keyframes | None:
    """The movie's keyframes, or None; a malformed index is a MovieFormatError."""
    index = movie.meta.get("keyframes")
    if index is None:
        return None
    blob = dict(movie.extras).get(ENTRY)
    try:
        frames = _ints(index["frames"])
        sizes = _ints(index["sizes"])
        digests = tuple(str(d) for d in index["sha256"])
        state_size, full_every = int(index["state_size"]), int(index["full_every"])
        core, version = str(index["core"]), str(index["core_version"])
    except (KeyError, TypeError, ValueError) as e:
        raise MovieFormatError(f"retrotool.json: malformed keyframe index ({e})") from None
    if blob is None or not (len(frames) == len(sizes) == len(digests)) or sum(sizes) != len(blob):
        raise MovieFormatError(f"the keyframes do not match their index (entry {ENTRY!r} missing or cut short)")
    if full_every != FULL_EVERY or index.get("codec") != "xor-zstd" or not 0 < state_size <= _MAX_STATE:
        raise MovieFormatError("the keyframes use a coding this retrotool does not read")
    if list(frames) != sorted(set(frames)) or (frames and frames[0] < 0):
        raise MovieFormatError("keyframe frames must be distinct, ascending and not negative")
    return Keyframes(frames, sizes, digests, state_size, core, version, blob)


def _ints(values: Sequence[Any]) -> tuple[int, ...]:
    if not isinstance(values, (list, tuple)) or not all(type(v) is int and v >= 0 for v in values):
        raise ValueError("expected a list of whole numbers")
    return tuple(values)
