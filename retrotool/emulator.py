"""Emulator: one libretro core with one game loaded.

It owns a native `Host`, lends it reusable buffers and returns frames as
numpy arrays. Cores keep global state, so a core file can be loaded once
per process; a second Emulator of the same core file loads a private copy
of the library (a temporary file) instead of sharing the first one's globals.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import numpy as np

from retrotool import cores, native
from retrotool.errors import ContentError, CoreError, RetroToolError, StateError
from retrotool.native import AvInfo
from retrotool.systems import System
from retrotool.variables import AddressSpace, Block, Variable

log = logging.getLogger(__name__)

# Real paths of core files currently loaded in this process.
_loaded_cores: set[Path] = set()


class Emulator:
    """A core plus a game. Use as a context manager; `close()` frees both.

    `options` override core options; the core's pinned options
    (libretro_cores/cores/quirks.json) apply first. `ram_block`: the
    system's `RamInfo.map_block`, system RAM for a core without SYSTEM_RAM.
    """

    def __init__(
        self,
        core: str | os.PathLike[str],
        rom: str | os.PathLike[str] | bytes,
        *,
        ports: int = 2,
        options: Mapping[str, str] | None = None,
        ram_block: int | None = None,
    ) -> None:
        if not 1 <= ports <= native.MAX_PORTS:
            raise RetroToolError(f"ports must be between 1 and {native.MAX_PORTS}, not {ports}")
        core_path = Path(core)
        if not core_path.is_file():
            raise CoreError(f"core not found: {core_path}")
        self.ports = ports
        self._ram_block = ram_block
        self._workdir = Path(tempfile.mkdtemp(prefix="retrotool-"))
        self._real_core = core_path.resolve()
        self._host: native.Host | None = None
        try:
            self._host = native.Host(self._private_copy(core_path), self._workdir, self._workdir)
            self._host.capture_stdout(True)
            for key, value in {**cores.pinned_options(core_path), **(options or {})}.items():
                self._host.set_option(key, value)
            self.content_sha1 = self._load(rom)
            for port in range(ports):
                self._host.set_port_device(port, native.DEVICE_JOYPAD)
            self.av_info: AvInfo = self._host.av_info()
        except BaseException:
            self.close()
            raise
        self.core_name, self.core_version, self.core_extensions, _ = self._host.core_info()
        self.frames_run = 0
        self._video = np.empty((0, 0), np.uint8)
        self._watch: Watch | None = None
        self._dims = np.empty((0, 2), np.uint16)
        self._power_on = self._capture_power_on()
        for line in self._host.read_log().splitlines():
            log.debug("core: %s", line)

    # -- setup -----------------------------------------------------------
    def _private_copy(self, core_path: Path) -> Path:
        """The core file itself, or a private copy when it is already loaded."""
        if self._real_core not in _loaded_cores:
            _loaded_cores.add(self._real_core)
            self._owns_core = True
            return core_path
        self._owns_core = False
        copy = self._workdir / core_path.name
        shutil.copyfile(core_path, copy)
        log.debug("core %s already loaded; using a private copy", core_path)
        return copy

    def _load(self, rom: str | os.PathLike[str] | bytes) -> str:
        if isinstance(rom, bytes):
            data, path = rom, None
        else:
            path = Path(rom)
            try:
                data = path.read_bytes()
            except OSError as e:
                raise ContentError(f"cannot read ROM {path}: {e.strerror}") from None
        try:
            self.host.load_game(path, data)
        except ContentError as e:
            where = f" {path}" if path else ""
            raise ContentError(f"the core refused the ROM{where}: {e}") from None
        return hashlib.sha1(data).hexdigest()

    def _capture_power_on(self) -> bytes | None:
        """State right after load, so power-on movies can replay more than once."""
        try:
            return self.host.serialize()
        except StateError:
            return None

    @property
    def host(self) -> native.Host:
        if self._host is None:
            raise RetroToolError("this emulator is closed")
        return self._host

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        if self._host is not None:
            self._host.close()
            self._host = None
            if getattr(self, "_owns_core", False):
                _loaded_cores.discard(self._real_core)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- running ---------------------------------------------------------
    def run(
        self, masks: np.ndarray, *, video: bool = False, audio: bool = False
    ) -> list[tuple[int, np.ndarray | None]]:
        """Run one frame per row of `masks` (uint16 [n, k], k <= ports; missing ports get 0).

        Returns the video as (first row, uint8 [k, h, w, 3]) segments of
        equal-sized frames (one segment unless the core changed resolution),
        or [(0, None)] when video is off. Audio is read with `audio()`.
        Arrays are views of a reused buffer: valid until the next run.
        """
        if masks.ndim != 2 or masks.shape[1] > self.ports:
            raise RetroToolError(f"masks must have shape [n, ports <= {self.ports}], not {masks.shape}")
        n = masks.shape[0]
        if masks.shape[1] < self.ports:
            masks = np.pad(masks, ((0, 0), (0, self.ports - masks.shape[1])))
        masks = np.ascontiguousarray(masks, dtype=np.uint16)
        if n == 0:
            return [(0, None)]
        frames = self._frame_buffers(n) if video else None
        try:
            self.host.run(masks, frames, self._dims[:n] if video else None, audio)
        except CoreError as e:
            raise CoreError(f"{e} (after frame {self.frames_run})") from None
        self.frames_run += n
        if frames is None:
            return [(0, None)]
        return self._segments(frames, self._dims[:n])

    def _frame_buffers(self, n: int) -> np.ndarray:
        frame_bytes = self.host.av_info().frame_bytes
        if self._video.shape[0] < n or self._video.shape[1] != frame_bytes:
            self._video = np.empty((n, frame_bytes), np.uint8)
            self._dims = np.empty((n, 2), np.uint16)
        return self._video[:n]

    @staticmethod
    def _segments(frames: np.ndarray, dims: np.ndarray) -> list[tuple[int, np.ndarray | None]]:
        change = np.flatnonzero(np.any(dims[1:] != dims[:-1], axis=1)) + 1
        bounds = [0, *change.tolist(), len(dims)]
        out: list[tuple[int, np.ndarray | None]] = []
        for a, b in zip(bounds, bounds[1:]):
            w, h = int(dims[a, 0]), int(dims[a, 1])
            out.append((a, frames[a:b, : w * h * 3].reshape(b - a, h, w, 3)))
        return out

    def audio(self) -> np.ndarray:
        """Audio of the last run as int16 [samples, 2] (a copy)."""
        return self.host.audio()

    def step(self, mask: int | np.ndarray = 0) -> None:
        """Run a single frame with one mask (all ports) or a mask per port."""
        masks = np.zeros((1, self.ports), np.uint16)
        masks[0, :] = mask
        self.run(masks)

    def reset(self) -> None:
        self.host.reset()

    # -- observation -----------------------------------------------------
    @property
    def ram(self) -> np.ndarray:
        """System RAM exactly as the core exposes it (a zero-copy view)."""
        view = self.host.memory(native.MEMORY_SYSTEM_RAM)
        if view is None and self._ram_block is not None:
            view = next((d.view for d in self.host.memory_map() if d.start == self._ram_block), None)
        if view is None:
            raise CoreError(f"core {self.core_name} exposes no system RAM")
        return view

    def address_space(self, system: System) -> AddressSpace:
        """The system's address space as data.json addresses see it (zero-copy views).

        Like Gym Retro: the core's memory map when it declares one, else
        system RAM placed at the system's RAM base.
        """
        blocks = [
            Block(d.start, d.view)
            for d in self.host.memory_map()
            if d.view is not None and not d.flags & native.MEMDESC_CONST
        ]
        if not blocks:
            swap = system.ram.byte_swap and sys.byteorder == "little"
            blocks = [Block(system.ram.rambase or 0, self.ram, swap16=swap)]
        return AddressSpace(blocks)

    def watch(self, system: System, variables: Mapping[str, Variable], rows: int, *, ram: bool = False) -> Watch:
        """Have the host record `variables` (and all system RAM if `ram`) after every frame.

        For runs of up to `rows` frames, until `unwatch()`. Variables outside
        the address space are left out (as Gym Retro's lookup_all does). The
        same request again (an agent's replay of one frame at a time) reuses
        the last watch's spans and buffer.
        """
        key = (system.name, tuple(variables.items()), rows, ram)
        if self._watch is None or self._watch.key != key:
            self._watch = Watch(self.address_space(system), variables, rows, self.ram if ram else None, key)
        self.host.watch_memory(self._watch.spans, self._watch.buffer)
        return self._watch

    def unwatch(self) -> None:
        self.host.watch_memory([], None)

    def screen(self) -> np.ndarray:
        """The last picture as uint8 [h, w, 3]."""
        return self.host.screen(self.host.av_info().frame_bytes)

    # -- states ----------------------------------------------------------
    def get_state(self) -> bytes:
        return self.host.serialize()

    def set_state(self, state: bytes) -> None:
        self.host.unserialize(state)

    def power_on(self) -> None:
        """Return to the state right after the game was loaded."""
        if self._power_on is None:
            self.host.reset()
        else:
            self.host.unserialize(self._power_on)


class Watch:
    """RAM after every frame, copied by the host (rh_watch_memory) instead of a C call per frame.

    A row of the buffer is the system RAM (when asked for), then the bytes of
    each readable variable.
    """

    def __init__(
        self, space: AddressSpace, variables: Mapping[str, Variable], rows: int, ram: np.ndarray | None,
        key: object,
    ) -> None:
        self.key = key  # what it was made for
        spans: list[np.ndarray] = [] if ram is None else [ram]
        self.has_ram = ram is not None
        self._ram_size = 0 if ram is None else ram.size
        self._fields: list[tuple[str, Variable, np.ndarray]] = []  # name, variable, its columns in a row
        stride = self._ram_size
        for name, var in variables.items():
            found = space.locate(var.address, var.size)
            if found is None:
                continue
            block, offsets = found
            lo, hi = int(offsets.min()), int(offsets.max()) + 1
            spans.append(block.data[lo:hi])
            self._fields.append((name, var, stride + offsets - lo))
            stride += hi - lo
        self._rows = np.empty((rows, max(stride, 1)), np.uint8)
        self.spans = spans
        self.buffer = self._rows if spans else None  # what the host fills

    def rams(self, n: int) -> np.ndarray:
        """uint8 [n, ram size]: the system RAM after each frame of the last run (a view, valid until the next)."""
        return self._rows[:n, : self._ram_size]

    def values(self, n: int) -> dict[str, np.ndarray]:
        """int64 [n] per readable variable, for the n frames of the last run."""
        rows = self._rows[:n]
        return {name: var.decode(rows[:, columns]) for name, var, columns in self._fields}
