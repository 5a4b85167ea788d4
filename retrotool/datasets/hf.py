"""`dump-dataset --format hf`: the episodes as a Hugging Face `datasets` folder in `OUT/hf`.

`datasets.load_from_disk("OUT/hf")` opens it: Arrow files, one row per
observation (N+1 rows per episode of N steps, Minari's alignment):

    episode_index, step          int64: which episode, which observation in it (0..N)
    observation                  Image (PNG, lossless): the picture, when the dump has pictures
    observation.ram              uint8 [ram size]: system RAM, with --obs ram or both
    action                       uint8 [players * buttons]: the action taken at this observation (zeros at step N)
    discrete_action              int64: Gym Retro's discrete index, when the scenario restricts actions (-1 at step N)
    reward, terminated, truncated   what the action led to (0 / False at step N)
    is_last                      True at step N
    info.<name>                  int64: the game's RAM variables at this observation

Every episode's provenance (movie SHA-256 and SHA-1, ROM SHA-1, core and
version, scenario, frame skip and combine rule, the movie's keyframes) is in
`dataset.info.description`, as JSON: {"episodes": [...]}.

The PNGs are encoded while the movie replays (ISA-L's deflate, in a thread
beside the emulator) into `OUT/hf-parts`, kept for resuming; the Arrow
folder is built from them and the `.npz` episodes when the dump ends, in a
temporary folder renamed into place.
"""

from __future__ import annotations

import json
import queue
import shutil
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np

from retrotool import outputs
from retrotool.datasets.folder import Episode
from retrotool.datasets.lerobot import provenance, read_steps
from retrotool.datasets.sink import PictureWriter, WriterFactory
from retrotool.errors import RetroToolError
from retrotool.sinks.contract import ReplayInfo

try:
    from isal import isal_zlib as _zlib
except ImportError:  # no ISA-L: zlib writes the same PNGs, slower
    import zlib as _zlib  # type: ignore[no-redef]

HF_DIR = "hf"
SHARD = "data-00000-of-00001.arrow"  # one Arrow file, as `save_to_disk` names a single shard
PARTS = "hf-parts"
_PNG = b"\x89PNG\r\n\x1a\n"
_LEVEL = 1
BACKLOG = 4  # batches of pictures waiting for the encoder


def import_datasets() -> Any:
    """The `datasets` package, or an error naming the extra that installs it."""
    try:
        import datasets
    except ImportError:
        raise RetroToolError("--format hf needs the datasets package: pip install 'retrotool[hf]'") from None
    datasets.disable_progress_bars()  # the CLI shows its own
    return datasets


PACKAGES = ("datasets",)


def load_packages() -> None:
    """Everything the build imports (extras.prepare loads it while the movies replay)."""
    import_datasets()
    from datasets.arrow_writer import ArrowWriter  # noqa: F401 - the build's too


def png(picture: np.ndarray) -> bytes:
    """A uint8 [h, w, 3] (RGB) or [h, w, 1] (gray) picture as a PNG file (no filter, fast deflate)."""
    return _png(_scanlines(picture[np.newaxis])[0], picture.shape)


def _scanlines(pictures: np.ndarray) -> np.ndarray:
    """Pictures [n, h, w, c] as PNG scanlines [n, h, 1 + w*c]: each row after its filter byte (0: none). A copy."""
    n, h, w, c = pictures.shape
    rows = np.empty((n, h, 1 + w * c), np.uint8)
    rows[:, :, 0] = 0
    rows[:, :, 1:] = pictures.reshape(n, h, w * c)
    return rows


def _png(scanlines: np.ndarray, shape: tuple[int, ...]) -> bytes:
    h, w, c = shape
    header = struct.pack(">IIBBBBB", w, h, 8, 2 if c == 3 else 0, 0, 0, 0)
    idat = _zlib.compress(scanlines.data, _LEVEL)
    return _PNG + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", _zlib.crc32(kind + data) & 0xFFFFFFFF)


class PngWriter:
    """An episode's pictures as PNGs, encoded in a thread into one file (and their offsets into another)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._work = outputs.temp_name(path)
        self._file = open(self._work, "xb")  # noqa: SIM115 - closed by finish/abandon
        self._offsets = [0]
        self._queue: queue.Queue[tuple[np.ndarray, tuple[int, ...]] | None] = queue.Queue(BACKLOG)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._encode, name=f"png-{path.stem}", daemon=True)
        self._thread.start()

    def write(self, frames: np.ndarray) -> None:
        if self._failure is not None:
            raise self._failure
        self._queue.put((_scanlines(frames), frames.shape[1:]))  # a copy: the caller reuses its buffer

    def _encode(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is None:
                scanlines, shape = item
                try:
                    for rows in scanlines:
                        data = _png(rows, shape)
                        self._file.write(data)
                        self._offsets.append(self._offsets[-1] + len(data))
                except BaseException as e:  # noqa: BLE001 - raised again in the writing thread
                    self._failure = e

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._file.close()

    def finish(self) -> None:
        self._stop()
        if self._failure is not None:
            raise self._failure
        np.save(self.path.with_suffix(".offsets.npy"), np.array(self._offsets, np.int64))
        outputs.commit(self._work, self.path)

    def abandon(self) -> None:
        self._stop()
        self._work.unlink(missing_ok=True)


def writer_factory(out: Path, stem: str) -> WriterFactory:
    """Make the episode's PNG writer at its first picture."""
    def make(info: ReplayInfo, shape: tuple[int, int, int], first: int) -> PictureWriter:
        parts = out / PARTS
        parts.mkdir(exist_ok=True)
        return PngWriter(parts / f"{stem}.png")

    return make


def join(pieces: list[Path], out: Path, stem: str) -> None:
    """The PNG files of an episode's segments (in row order) made into the one a whole replay writes."""
    path = out / PARTS / f"{stem}.png"
    path.parent.mkdir(exist_ok=True)
    work = outputs.temp_name(path)
    offsets = [np.zeros(1, np.int64)]
    with open(work, "xb") as joined:
        for piece in pieces:
            with open(piece, "rb") as f:
                shutil.copyfileobj(f, joined, 1 << 20)
            offsets.append(np.load(piece.with_suffix(".offsets.npy"))[1:] + offsets[-1][-1])
    np.save(path.with_suffix(".offsets.npy"), np.concatenate(offsets))
    outputs.commit(work, path)


# -- building the dataset ---------------------------------------------------------------


def build(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write `folder/hf` from the manifest's episodes; returns its path."""
    datasets = import_datasets()
    from datasets.arrow_writer import ArrowWriter

    target = folder.resolve() / HF_DIR
    work = outputs.temp_name(target)
    try:
        work.mkdir()
        features = _features(datasets, manifest)
        with ArrowWriter(features=features, path=str(work / SHARD)) as writer:
            for i, record in enumerate(manifest["episodes"]):
                writer.write_table(_table(folder, record, i, features))
            writer.finalize()
        _describe(datasets, work, json.dumps({"episodes": [provenance(r, manifest) for r in manifest["episodes"]]}))
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    except OSError as e:
        raise RetroToolError(f"cannot write the Hugging Face dataset {target}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _describe(datasets: Any, work: Path, description: str) -> None:
    """The two files beside the Arrow shard that make it a `save_to_disk` folder, as `datasets` writes them."""
    from datasets.utils.py_utils import asdict

    dataset = datasets.Dataset.from_file(str(work / SHARD))
    dataset.info.description = description
    state = {key: dataset.__dict__[key] for key in
             ("_fingerprint", "_format_columns", "_format_kwargs", "_format_type", "_output_all_columns")}
    state.update(_split=None, _data_files=[{"filename": SHARD}])
    info = asdict(dataset.info)
    (work / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    (work / "dataset_info.json").write_text(json.dumps({k: info[k] for k in sorted(info)}, indent=2), encoding="utf-8")


def _features(datasets: Any, manifest: dict[str, Any]) -> Any:
    value, sequence = datasets.Value, datasets.Sequence
    width = manifest["players"] * len(manifest["buttons"])
    spec: dict[str, Any] = {"episode_index": value("int64"), "step": value("int64")}
    observed = manifest["observation"]
    if any(not name.endswith("ram") for name in observed):
        spec["observation"] = datasets.Image()
    ram = observed.get("observations.ram") or (observed.get("observations") if manifest["options"]["obs"] == "ram"
                                                 else None)
    if ram is not None:
        spec["observation.ram"] = sequence(value("uint8"), length=ram[0])
    spec["action"] = sequence(value("uint8"), length=width)
    if manifest.get("discrete_actions"):
        spec["discrete_action"] = value("int64")
    spec.update(reward=value("float64"), terminated=value("bool"), truncated=value("bool"), is_last=value("bool"))
    spec.update({f"info.{name}": value("int64") for name in manifest.get("infos", [])})
    return datasets.Features(spec)


def _table(folder: Path, record: dict[str, Any], index: int, features: Any) -> Any:
    """One episode's rows (N+1) as an Arrow table of the dataset's schema."""
    import pyarrow as pa

    episode = read_steps(folder / record["file"], record["movie"])
    n = len(episode.actions)
    columns = _step_columns(episode, n)
    arrays: dict[str, Any] = {"episode_index": pa.array(np.full(n + 1, index, np.int64)),
                              "step": pa.array(np.arange(n + 1, dtype=np.int64))}
    if "observation" in features:
        arrays["observation"] = _images(folder / PARTS / f"{Path(record['file']).stem}.png", n + 1)
    for name in features:
        if name in columns:
            v = columns[name]
            arrays[name] = pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), v.shape[1]) if v.ndim == 2 else pa.array(v)
    return pa.table(arrays)


def _step_columns(episode: Episode, n: int) -> dict[str, np.ndarray]:
    """Per-observation columns: the step values padded with the last row's zeros (and -1 for a discrete action)."""
    def pad(values: np.ndarray, fill: Any = 0) -> np.ndarray:
        return np.concatenate([values, np.full((1, *values.shape[1:]), fill, values.dtype)])

    obs = episode.observations
    ram = obs.get("ram") if isinstance(obs, dict) else (obs if obs.ndim == 2 else None)
    columns = {"action": pad(episode.actions), "reward": pad(episode.rewards), "terminated": pad(episode.terminations),
               "truncated": pad(episode.truncations), "is_last": np.arange(n + 1) == n,
               **{f"info.{k}": v for k, v in episode.infos.items()}}
    if episode.discrete_actions is not None:
        columns["discrete_action"] = pad(episode.discrete_actions, -1)
    if ram is not None:
        columns["observation.ram"] = ram
    return columns


def _images(part: Path, rows: int) -> Any:
    import pyarrow as pa

    if not part.is_file():
        raise RetroToolError(f"{part} is missing: replace the dataset with --force to encode the pictures again")
    offsets = np.load(part.with_suffix(".offsets.npy"))
    if len(offsets) != rows + 1:
        raise RetroToolError(f"{part} holds {len(offsets) - 1} pictures, the episode {rows}: dump it again with --force")
    if offsets[-1] >= 2**31:  # Arrow's binary column (what an Image feature stores) has 32-bit offsets
        raise RetroToolError(f"{part}: an episode's PNGs pass 2 GiB; split the movie (--start/--end) or --resize")
    blobs = pa.BinaryArray.from_buffers(pa.binary(), rows, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                            pa.py_buffer(part.read_bytes())])
    return pa.StructArray.from_arrays([blobs, pa.nulls(rows, pa.string())], names=["bytes", "path"])
