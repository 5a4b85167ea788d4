"""One movie → one episode file: replayed whole here, or in segments on many processes and joined.

A whole episode is an ordinary replay (the one loop) with a `DatasetSink`
attached, run from the movie's start up to --end (or its last row).

`dump-dataset --jobs N` cuts a movie with keyframes at them (`segments.plan`,
aligned so that every cut falls where a step ends) and replays the segments
N at once, each in a fresh process from its keyframe, with a sink of its
`Stretch`: it writes its observations and steps as pieces of each column
(deflate streams that end byte-aligned), with rewards measured from the RAM
variables before its first row. The pieces are then joined in row order
without inflating them (`npzip.join`), and the episode is the same, array
for array, as the whole replay's; the segments also verify the checkpoints
they pass. The pictures of `--format hf` and `lerobot` are written by each
segment too and joined after: the PNG files one after another, the videos
by stream copy (every piece starts on a key frame), so they decode to the
same frames. A movie without keyframes, or whose pictures change size within
the episode, is replayed whole instead (with a warning).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrotool import movie as bk2, outputs, playback, segments, session
from retrotool.datasets import hf, lerobot, npzip
from retrotool.datasets.options import DatasetOptions
from retrotool.datasets.sink import DatasetSink, Pieces, Stretch, WriterFactory, total
from retrotool.movie import keyframes as kfs
from retrotool.sinks.contract import ReplayInfo, Sink
from retrotool.variables import Evaluator

log = logging.getLogger(__name__)

NPZ, HF, LEROBOT = "npz", "hf", "lerobot"  # the formats whose episodes differ in what else they write


@dataclass(frozen=True, slots=True)
class Job:
    """One movie to dump: plain values, so it travels to a process or a Ray task."""

    movie: Path
    sha1: str
    target: Path
    options: DatasetOptions
    core: str | None = None
    rom: Path | None = None
    scenario: Path | None = None
    fmt: str = NPZ


def dump_episode(job: Job, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Replay one movie into its episode file; returns its manifest entry."""
    movie = bk2.read(job.movie)
    content = session.movie_content(movie, job.movie, job.rom)
    rows = job.options.check(movie.frames)
    sink = DatasetSink(job.target, job.options, content.evaluator(job.scenario), _writers(job, rows.size))
    end = job.options.end or movie.frames  # (rows after the last step's, up to end, are run but not written)
    _, done = playback.replay_movie(job.movie, [sink], movie=movie, content=content, core=job.core, rows=end,
                                    progress=progress)
    summary = done.results[0]
    assert isinstance(summary, dict), "DatasetSink returns its episode's summary"
    return _record(job, movie, content.name, done.info, sink.evaluator, summary)


def _record(job: Job, movie: bk2.Movie, game: str, info: ReplayInfo, evaluator: Evaluator | None,
            summary: dict[str, Any]) -> dict[str, Any]:
    """The manifest entry of an episode."""
    return {
        "movie": str(job.movie), "movie_sha1": job.sha1, "file": job.target.name, "game": game,
        "system": info.system, "core": info.core_name, "core_version": info.core_version,
        "content_sha1": info.content_sha1, "infos": sorted(evaluator.variables) if evaluator else [],
        "movie_sha256": _sha256(job.movie), "fps": info.av.fps,
        "scenario": str(job.scenario) if job.scenario else "the game's scenario.json",
        "keyframes": list(kf.frames) if (kf := kfs.of(movie)) is not None else [],
        "checkpoints": [c.frame for c in movie.checkpoints], **summary,
    }


def _writers(job: Job, observations: int, out: Path | None = None) -> list[WriterFactory]:
    """The picture writers of the output format (LeRobot's video, Hugging Face's PNGs), into `out`/<format>-parts.

    `out` is the dataset folder, or a segment's folder for its piece.
    """
    if job.options.obs == "ram":
        return []
    stem, out = job.target.stem, out or job.target.parent
    if job.fmt == LEROBOT:
        return [lerobot.writer_factory(out, stem, job.options.frame_skip, observations)]
    if job.fmt == HF:
        return [hf.writer_factory(out, stem)]
    return []


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# -- in segments -----------------------------------------------------------------


def dump_in_segments(job: Job, jobs: int, progress: Callable[[int, int], None] | None = None,
                     executor: str = "local", address: str | None = None) -> dict[str, Any]:
    """One movie (one `playback.parallel_ok` allows) into its episode file, in segments; its manifest entry.

    About 3 segments per job run `jobs` at once in local processes, or as
    Ray tasks (`executor` "ray", on the cluster at `address`, which must see
    the movie and the output folder). `progress(done, total)` counts segments. Should the pictures change size
    within the episode, it is replayed whole instead.
    """
    movie = bk2.read(job.movie)
    content = session.movie_content(movie, job.movie, job.rom)
    joined = _in_segments(job, movie, jobs, progress, (executor, address))
    if joined is None:
        return dump_episode(job)
    info, summary = joined
    return _record(job, movie, content.name, info, content.evaluator(job.scenario), summary)


def _in_segments(
    job: Job, movie: bk2.Movie, jobs: int, progress: Callable[[int, int], None] | None, where: tuple[str, str | None],
) -> tuple[ReplayInfo, dict[str, Any]] | None:
    """The episode made of segments replayed `jobs` at once; None when their pictures differ in size."""
    rows = job.options.check(movie.frames)
    plan = segments.plan(movie, jobs, start=int(rows[0]), end=int(rows[-1]) + 1, align=job.options.frame_skip)
    work = outputs.temp_name(job.target)
    try:
        work.mkdir()
        args = (job, movie.frames, work)
        done = segments.run_all([segments.Job(job.movie, seg, _piece_sinks, args, job.core, job.rom) for seg in plan],
                                jobs, progress, executor=where[0], address=where[1])
        pieces = [d.results[0] for d in done]
        assert all(isinstance(p, Pieces) for p in pieces), "a Stretch's DatasetSink returns its Pieces"
        return _join(job, pieces, work)  # type: ignore[arg-type]
    except OSError as e:
        raise outputs.write_error(job.target, e) from None
    finally:
        outputs.discard_tree(work)


def _piece_sinks(segment: segments.Segment, content: session.Content, job: Job, frames: int,
                 work: Path) -> list[Sink]:
    """A segment's sink (run in a worker): its stretch of the episode, as pieces in work/<first row>/."""
    stretch = Stretch(segment.first, segment.end, frames, work)
    writers = _writers(job, job.options.check(frames).size, work / f"{segment.first:012d}")
    return [DatasetSink(job.target, job.options, content.evaluator(job.scenario), writers, stretch)]


def _join(job: Job, pieces: Sequence[Pieces], work: Path) -> tuple[ReplayInfo, dict[str, Any]] | None:
    """The pieces joined in row order into the episode at `target` (and its pictures); its summary as a whole's."""
    target, first, last = job.target, pieces[0], pieces[-1]
    if any(p.native != first.native or len(p.pictures) != len(first.pictures) for p in pieces):
        log.warning("%s: the pictures change size within the episode, so it replays on one core", target.name)
        return None
    parts, observations = [], {}
    for i, (part, dtype, shape, _) in enumerate(first.columns):
        name, rows = part.name.removesuffix(".npy"), sum(p.columns[i][3] for p in pieces)
        parts.append(npzip.join([p.columns[i][0] for p in pieces], name, dtype, shape, rows, work / f"{name}.whole"))
        if name.startswith("observations"):
            observations[name] = [rows, *shape]
    assembled = work / "episode.npz"
    with open(assembled, "xb") as f:
        npzip.assemble(parts, f)
    join = lerobot.join if job.fmt == LEROBOT else hf.join
    for i in range(len(first.pictures)):  # in place before the episode, as a whole replay's writers are
        join([p.pictures[i] for p in pieces], target.parent, target.stem)
    outputs.commit(assembled, target)
    summary = {k: v for k, v in first.summary.items() if k != "terminated"}
    summary.update(observations=observations, native=list(first.native) if first.native else None,
                   total_reward=total(np.concatenate([p.rewards for p in pieces])),
                   terminated=last.summary["terminated"])
    return first.info, summary
