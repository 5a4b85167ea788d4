"""`dump-dataset --format lerobot`: the episodes in LeRobot's dataset layout (codebase v3.0), in `OUT/lerobot`.

    OUT/lerobot/meta/info.json                                features, fps, paths, counts
    OUT/lerobot/meta/stats.json                               statistics of every feature over all episodes
    OUT/lerobot/meta/tasks.parquet                            one task: playing the game
    OUT/lerobot/meta/episodes/chunk-000/file-000.parquet      one row per episode: its files, span, statistics
                                                              and provenance (retrotool/... columns)
    OUT/lerobot/data/chunk-CCC/file-FFF.parquet               one file per episode: a row per step
    OUT/lerobot/videos/observation.image/chunk-CCC/file-FFF.mp4   one video per episode

A row of an episode is one step: the observation before it (`observation.image`,
a video frame, and/or `observation.ram`), its action (`action`, MultiBinary
uint8, plus `discrete_action` when the scenario restricts actions), then
`next.reward`, `next.done` (terminated or truncated), `next.terminated`,
`next.truncated`, and the game's RAM variables at the observation
(`info.<name>`). The video has one frame more than the episode has rows:
the observation after the last step, which LeRobot's rows never point at.

Videos are H.264 in RGB, lossless (`libx264rgb -qp 0`): decoded frames are
the raw observation pictures (grayscale pictures are stored as three equal
channels). They are encoded while the movie replays, in an ffmpeg beside
the emulator (x264 on one thread: ~170 us a 320x224 frame, faster than
the cores it follows, where frame threads cost a quarter more CPU for the
same bytes), and kept in `OUT/lerobot-parts` (for resuming); the rest is
built from the `.npz` episodes when the dump ends, in a temporary folder
renamed into place. LeRobot's fps is an integer: the core's frame rate over
the frame skip, rounded (a Genesis game: 60).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from retrotool import outputs
from retrotool.datasets import npzip
from retrotool.datasets.folder import Episode, read_npz
from retrotool.datasets.sink import PictureWriter, WriterFactory
from retrotool.datasets.stats import Histogram, array_stats
from retrotool.errors import RetroToolError
from retrotool.sinks.contract import ReplayInfo
from retrotool.video.ffmpeg import Ffmpeg, concat_quoted, run as run_ffmpeg

LEROBOT_DIR = "lerobot"
PARTS = "lerobot-parts"
IMAGE = "observation.image"
CODEBASE_VERSION = "v3.0"
CHUNK_SIZE = 1000  # files per chunk folder, as LeRobot
SAMPLED_FRAMES = 200  # frames per episode counted into the picture statistics (about; every k-th frame)


def import_arrow() -> Any:
    """pyarrow's parquet module, or an error naming the extra that installs it."""
    try:
        import pandas  # noqa: F401 - the build writes tasks.parquet with it
        import pyarrow.parquet as pq
    except ImportError:
        raise RetroToolError("--format lerobot needs pyarrow and pandas: pip install 'retrotool[lerobot]'") from None
    return pq


PACKAGES = ("pyarrow", "pandas")  # what import_arrow needs (extras.prepare loads them while the movies replay)


def video_fps(fps: float, frame_skip: int) -> int:
    return max(1, round(fps / frame_skip))


def chunk_path(kind: str, index: int, suffix: str) -> str:
    return f"{kind}/chunk-{index // CHUNK_SIZE:03d}/file-{index % CHUNK_SIZE:03d}.{suffix}"


class Mp4Writer:
    """An episode's observation pictures as a lossless MP4, encoded by ffmpeg while the movie replays."""

    def __init__(self, path: Path, fps: int, shape: tuple[int, int, int], frames: int, first: int = 0) -> None:
        self.path, self.shape = path, shape
        self._work = outputs.temp_name(path)
        self._every = max(1, frames // SAMPLED_FRAMES)  # `frames`: the episode's; a segment's writer starts at `first`
        self._seen = first
        self.histogram = Histogram(3)
        h, w, _ = shape
        self._ffmpeg = Ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
                               "-c:v", "libx264rgb", "-qp", "0", "-preset", "ultrafast", "-threads", "1", "-f", "mp4",
                               str(self._work)],
                              feed=True)

    def write(self, frames: np.ndarray) -> None:
        rgb = np.repeat(frames, 3, axis=3) if frames.shape[3] == 1 else frames
        self._ffmpeg.write(rgb.data, owned=True)
        first = -self._seen % self._every
        if first < len(rgb):
            self.histogram.add(rgb[first :: self._every])
        self._seen += len(rgb)

    def finish(self) -> None:
        self._ffmpeg.finish()
        np.save(self.path.with_suffix(".hist.npy"), np.append(self.histogram.counts.ravel(), self.histogram.frames))
        outputs.commit(self._work, self.path)

    def abandon(self) -> None:
        self._ffmpeg.kill()
        self._work.unlink(missing_ok=True)


def writer_factory(out: Path, stem: str, frame_skip: int, frames: int) -> WriterFactory:
    """Make the episode's video writer at its first picture (`frames`: the observations it will get)."""
    def make(info: ReplayInfo, shape: tuple[int, int, int], first: int) -> PictureWriter:
        parts = out / PARTS
        parts.mkdir(exist_ok=True)
        return Mp4Writer(parts / f"{stem}.mp4", video_fps(info.av.fps, frame_skip), shape, frames, first)

    return make


def join(pieces: list[Path], out: Path, stem: str) -> None:
    """The videos of an episode's segments (in row order) made into one, without re-encoding a frame.

    Each piece starts on a key frame of its own, so ffmpeg's concat demuxer
    with stream copy gives a stream that decodes to the pieces' frames; the
    histograms add up to the whole replay's (each piece sampled the frames
    the whole would have).
    """
    path = out / PARTS / f"{stem}.mp4"
    path.parent.mkdir(exist_ok=True)
    work = outputs.temp_name(path)
    listing = work.with_suffix(".txt")
    try:
        listing.write_text("".join(f"file '{concat_quoted(p)}'\n" for p in pieces))
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-f", "mp4", str(work)])
        np.save(path.with_suffix(".hist.npy"), sum(np.load(p.with_suffix(".hist.npy")) for p in pieces))
        outputs.commit(work, path)
    finally:
        listing.unlink(missing_ok=True)
        work.unlink(missing_ok=True)


# -- building the dataset from the .npz episodes and the videos --------------------------


def build(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write `folder/lerobot` from the manifest's episodes; returns its path."""
    pq = import_arrow()
    target = folder.resolve() / LEROBOT_DIR
    work = outputs.temp_name(target)
    try:
        work.mkdir()
        fps = video_fps(manifest["episodes"][0]["fps"], manifest["options"]["frame_skip"])
        rows, totals, start = [], _Totals(), 0
        for i, record in enumerate(manifest["episodes"]):
            episode = read_steps(folder / record["file"], record["movie"])
            table, cols = _episode_table(episode, i, start, fps)
            (work / chunk_path("data", i, "parquet")).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, work / chunk_path("data", i, "parquet"))
            video = _place_video(folder, record, work, i) if _has_video(manifest) else None
            rows.append(_episode_row(i, start, len(episode.actions), fps, record, manifest, cols, video, totals))
            start += len(episode.actions)
        _write_meta(work, manifest, rows, totals, fps, start)
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    except OSError as e:
        raise RetroToolError(f"cannot write the LeRobot dataset {target}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def read_steps(path: Path, movie: str) -> Episode:
    """An `.npz` episode without its pictures (they come from the videos or PNGs): actions, rewards, infos, RAM."""
    pictures = [n for n in ("observations", "observations.rgb") if _is_picture(path, n)]
    episode = read_npz(path, movie, skip=pictures)
    return episode


def _is_picture(path: Path, name: str) -> bool:
    try:
        shape, _ = npzip.header(path, name)
    except KeyError:
        return False
    return len(shape) == 4


def _has_video(manifest: dict[str, Any]) -> bool:
    return manifest["options"]["obs"] != "ram"


def _place_video(folder: Path, record: dict[str, Any], work: Path, index: int) -> Histogram:
    """Link (or copy) the episode's video into place; returns its picture histogram."""
    part = folder / PARTS / f"{Path(record['file']).stem}.mp4"
    if not part.is_file():
        raise RetroToolError(f"{part} is missing: replace the dataset with --force to encode the videos again")
    dest = work / chunk_path(f"videos/{IMAGE}", index, "mp4")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(part, dest)
    except OSError:
        shutil.copyfile(part, dest)
    saved = np.load(part.with_suffix(".hist.npy"))
    histogram = Histogram(3)
    histogram.counts[:] = saved[:-1].reshape(3, 256)
    histogram.frames = int(saved[-1])
    return histogram


def _columns(episode: Episode) -> dict[str, np.ndarray]:
    """The per-step features of an episode, LeRobot's names (rows: its N steps)."""
    n = len(episode.actions)
    done = episode.terminations | episode.truncations
    cols = {"action": episode.actions, "next.reward": episode.rewards.astype(np.float32), "next.done": done,
            "next.terminated": episode.terminations, "next.truncated": episode.truncations}
    if episode.discrete_actions is not None:
        cols["discrete_action"] = episode.discrete_actions
    obs = episode.observations
    ram = obs.get("ram") if isinstance(obs, dict) else (obs if obs.ndim == 2 else None)
    if ram is not None:
        cols["observation.ram"] = ram[:n]
    cols.update({f"info.{k}": v[:n] for k, v in episode.infos.items()})
    return cols


def _episode_table(episode: Episode, index: int, start: int, fps: int) -> tuple[Any, dict[str, np.ndarray]]:
    """The episode's parquet table, and its columns as arrays."""
    import pyarrow as pa

    n = len(episode.actions)
    frame = np.arange(n, dtype=np.int64)
    cols = {**_columns(episode), "timestamp": (frame / fps).astype(np.float32), "frame_index": frame,
            "episode_index": np.full(n, index, np.int64), "index": start + frame, "task_index": np.zeros(n, np.int64)}
    arrays = {name: pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), v.shape[1]) if v.ndim == 2 else pa.array(v)
              for name, v in cols.items()}
    return pa.table(arrays), cols


class _Totals:
    """Rows of every feature (and picture histograms) across episodes, for stats.json."""

    def __init__(self) -> None:
        self.columns: dict[str, list[np.ndarray]] = {}
        self.histogram = Histogram(3)


def _episode_row(index: int, start: int, n: int, fps: int, record: dict[str, Any], manifest: dict[str, Any],
                 cols: dict[str, np.ndarray], video: Histogram | None, totals: _Totals) -> dict[str, Any]:
    chunk, file = index // CHUNK_SIZE, index % CHUNK_SIZE
    row: dict[str, Any] = {
        "episode_index": index, "tasks": [_task(manifest)], "length": n, "data/chunk_index": chunk,
        "data/file_index": file, "dataset_from_index": start, "dataset_to_index": start + n,
        "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
    }
    if video is not None:
        row.update({f"videos/{IMAGE}/chunk_index": chunk, f"videos/{IMAGE}/file_index": file,
                    f"videos/{IMAGE}/from_timestamp": 0.0, f"videos/{IMAGE}/to_timestamp": (n + 1) / fps})
        totals.histogram.merge(video)
        row.update({f"stats/{IMAGE}/{k}": v for k, v in video.stats(n).items()})
    for name, values in cols.items():
        if name != "observation.ram":  # 64 KiB wide on a Genesis: statistics of every byte would outweigh the data
            totals.columns.setdefault(name, []).append(values)
            row.update({f"stats/{name}/{k}": v for k, v in array_stats(values).items()})
    row.update({f"retrotool/{k}": v for k, v in provenance(record, manifest).items()})
    return row


def provenance(record: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """Where an episode came from: movie, ROM, core, scenario, frame skip and combine rule, keyframes."""
    options = manifest["options"]
    return {"movie": record["movie"], "movie_sha256": record.get("movie_sha256", ""),
            "movie_sha1": record["movie_sha1"], "rom_sha1": record["content_sha1"], "core": record["core"],
            "core_version": record["core_version"], "scenario": record.get("scenario", ""),
            "frame_skip": options["frame_skip"], "combine": options["combine"],
            "keyframes": list(record.get("keyframes", []))}


def _task(manifest: dict[str, Any]) -> str:
    games = sorted({r["game"] for r in manifest["episodes"]})
    return f"play {' / '.join(games)}"


def _features(manifest: dict[str, Any], fps: int, sample: Any) -> dict[str, Any]:
    """info.json's features: the video, then every parquet column with its numpy dtype and width."""
    features: dict[str, Any] = {}
    if _has_video(manifest):
        name = "observations.rgb" if "observations.rgb" in manifest["observation"] else "observations"
        h, w = manifest["observation"][name][:2]
        features[IMAGE] = {"dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channel"],
                           "info": {"video.height": h, "video.width": w, "video.codec": "h264", "video.pix_fmt": "gbrp",
                                    "video.is_depth_map": False, "video.fps": fps, "video.channels": 3,
                                    "has_audio": False}}
    buttons = [f"P{p + 1} {b}" for p in range(manifest["players"]) for b in manifest["buttons"]]
    for field in sample.schema:
        listed = hasattr(field.type, "list_size")
        kind = field.type.value_type if listed else field.type
        features[field.name] = {"dtype": np.dtype(kind.to_pandas_dtype()).name,
                                "shape": [field.type.list_size if listed else 1],
                                "names": buttons if field.name == "action" else None}
    return features


def _write_meta(work: Path, manifest: dict[str, Any], rows: list[dict[str, Any]], totals: _Totals, fps: int,
                frames: int) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    (work / "meta/episodes/chunk-000").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), work / "meta/episodes/chunk-000/file-000.parquet")
    pd.DataFrame({"task_index": [0]}, index=[_task(manifest)]).to_parquet(work / "meta/tasks.parquet")
    stats = {name: array_stats(np.concatenate(parts)) for name, parts in totals.columns.items()}
    if _has_video(manifest):
        stats[IMAGE] = totals.histogram.stats(frames)
    (work / "meta/stats.json").write_text(json.dumps(stats), encoding="utf-8")
    sample = pq.read_table(work / chunk_path("data", 0, "parquet"))
    info = {
        "codebase_version": CODEBASE_VERSION, "robot_type": None, "total_episodes": len(rows),
        "total_frames": frames, "total_tasks": 1, "chunks_size": CHUNK_SIZE, "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200, "fps": fps, "splits": {"train": f"0:{len(rows)}"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
        if _has_video(manifest) else None,
        "features": _features(manifest, fps, sample),
    }
    (work / "meta/info.json").write_text(json.dumps(info, indent=4), encoding="utf-8")


# -- reading it back (retrotool.datasets.load) ---------------------------------------------


def read_video(path: Path, shape: list[int]) -> np.ndarray:
    """Every frame of an MP4 as uint8 [n, h, w, 3] (ffmpeg decodes it)."""
    import imageio_ffmpeg

    h, w = shape[:2]
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=["-fps_mode", "passthrough"])
    next(reader)  # its metadata
    return np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader])
