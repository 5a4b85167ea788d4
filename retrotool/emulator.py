"""Emulator: one libretro core with one game loaded.

It owns a native `Host`, lends it reusable buffers and returns frames as
numpy arrays. Cores keep global state, so a core file can be loaded once
per process; a second Emulator of the same core file loads a private copy
of the library (a temporary file) instead of sharing the first one's globals.

What an agent sees is what stable-retro shows it: `obs_screen()` is its
`get_screen()` (its size per core and system, read from the core's buffer)
and `obs_ram()` its `get_ram()` (the core's memory map, or system RAM, block
by block in address order). `screen()` and `ram` are the raw forms: the
picture as the core presented it and RETRO_MEMORY_SYSTEM_RAM.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from retrotool import cores, native, paths
from retrotool.errors import ContentError, CoreError, RetroToolError
from retrotool.memory import AddressSpace, Block, Watch, map_blocks
from retrotool.sinks.contract import AvInfo, Picture, VariableLike
from retrotool.systems import MAX_ROM_BYTES, System

log = logging.getLogger(__name__)

# Real paths of core files currently loaded in this process.
_loaded_cores: set[Path] = set()


@dataclass(frozen=True, slots=True, eq=False)
class Rom:
    """A game's bytes, read once, with their SHA-1; `path` names it to the core (cores pick formats by name)."""

    path: Path | None
    data: bytes
    sha1: str

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Rom:
        rom = Path(path)
        data = paths.read_bounded(rom, MAX_ROM_BYTES, "ROM", ContentError)
        return cls(rom, data, hashlib.sha1(data).hexdigest())

    @classmethod
    def of(cls, rom: str | os.PathLike[str] | bytes | Rom) -> Rom:
        """A Rom from a path, from bytes, or as given."""
        if isinstance(rom, Rom):
            return rom
        if isinstance(rom, bytes):
            return cls(None, rom, hashlib.sha1(rom).hexdigest())
        return cls.read(rom)


class Emulator:
    """A core plus a game. Use as a context manager; `close()` frees both.

    `system` gives the facts of the console the game runs on (RAM base,
    byte order, stable-retro's screen size); without it the core's own
    memory map and sizes are used. `options` override core options; the
    core's quirks (libretro_cores/cores/quirks.json) apply first, among them
    whether the host answers the core as stable-retro does.
    """

    def __init__(
        self,
        core: str | os.PathLike[str] | cores.FoundCore,
        rom: str | os.PathLike[str] | bytes | Rom,
        *,
        system: System | None = None,
        ports: int = 2,
        options: Mapping[str, str] | None = None,
    ) -> None:
        if not 1 <= ports <= native.MAX_PORTS:
            raise RetroToolError(f"ports must be between 1 and {native.MAX_PORTS}, not {ports}")
        self.core = core if isinstance(core, cores.FoundCore) else cores.at(Path(core))
        core_path = self.core.path
        if not core_path.is_file():
            raise CoreError(f"core not found: {core_path}")
        self.ports = ports
        self.system = system
        self.quirks = cores.quirks(core_path)
        self._options = {**dict(self.quirks.options), **(options or {})}
        self.rom = Rom.of(rom)
        self.content_sha1 = self.rom.sha1
        self._workdir = Path(tempfile.mkdtemp(prefix="retrotool-"))
        self._core_path = core_path
        self._real_core = core_path.resolve()
        self._owns_core = False
        self._host: native.Host | None = None
        self._copies = 0
        try:
            self._host = self._open(self._first_copy(core_path))
        except BaseException:
            self.close()
            raise
        self.core_name, self.core_version, self.core_extensions, _ = self._host.core_info()
        self.frames_run = 0
        self._video = np.empty((0, 0), np.uint8)
        self._watch: Watch | None = None
        self._dims = np.empty((0, 2), np.uint16)
        self._obs_buffer = np.empty(0, np.uint8)

    # -- setup -----------------------------------------------------------
    def _first_copy(self, core_path: Path) -> Path:
        """The core file itself, or a private copy when it is already loaded."""
        if self._real_core not in _loaded_cores:
            _loaded_cores.add(self._real_core)
            self._owns_core = True
            return core_path
        log.debug("core %s already loaded; using a private copy", core_path)
        return self._private_copy()

    def _private_copy(self) -> Path:
        """A fresh copy of the core file: its globals start anew when it is loaded."""
        self._copies += 1
        copy = self._workdir / f"{self._copies}-{self._core_path.name}"
        shutil.copyfile(self._core_path, copy)
        return copy

    def _open(self, library: Path) -> native.Host:
        """Load the core and the game the way the core's frontend profile says."""
        profile = native.PROFILE_STABLE_RETRO if self.quirks.stable_retro else native.PROFILE_FULL
        host = native.Host(library, self._workdir, self._workdir, profile)
        try:
            host.capture_stdout(True)
            for key, value in self._options.items():
                host.set_option(key, value)
            self._load(host, self.rom)
            if not self.quirks.stable_retro:  # stable-retro never sets a port's device
                for port in range(self.ports):
                    host.set_port_device(port, native.DEVICE_JOYPAD)
            self.av_info: AvInfo = host.av_info()
            width, height = self.quirks.obs_size(self.system.name if self.system else None)
            host.set_obs_size(width or self.av_info.width, height or self.av_info.height)
        except BaseException:
            host.close()
            raise
        for line in host.read_log().splitlines():
            log.debug("core: %s", line)
        return host

    @staticmethod
    def _load(host: native.Host, rom: Rom) -> None:
        try:
            host.load_game(rom.path, rom.data)
        except ContentError as e:
            where = f" {rom.path}" if rom.path else ""
            raise ContentError(f"the core refused the ROM{where}: {e}") from None

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
        if self._owns_core:
            _loaded_cores.discard(self._real_core)
            self._owns_core = False
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- running ---------------------------------------------------------
    def run(
        self, masks: np.ndarray, *, video: Picture | None = None, audio: bool = False
    ) -> list[tuple[int, np.ndarray | None]]:
        """Run one frame per row of `masks` (uint16 [n, k], k <= ports; missing ports get 0).

        With `video` ("native": the pictures the core presented; "obs": the
        observation stable-retro shows) returns the pictures as (first row,
        uint8 [k, h, w, 3]) segments of equal-sized frames (one segment
        unless the core changed resolution), else [(0, None)]. Audio is read
        with `audio()`. Arrays are views of a reused buffer: valid until the
        next run.
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
        picture = native.PICTURE_OBS if video == "obs" else native.PICTURE_NATIVE
        try:
            self.host.run(masks, frames, self._dims[:n] if video else None, audio, picture)
        except CoreError as e:
            raise CoreError(f"{e} (after frame {self.frames_run})") from None
        self.frames_run += n
        if frames is None:
            return [(0, None)]
        return self._segments(frames, self._dims[:n])

    @property
    def frame_bytes(self) -> int:
        """Bytes of the largest RGB24 picture of either kind."""
        width, height = self.obs_size
        return max(self.host.av_info().frame_bytes, width * height * 3)

    def _frame_buffers(self, n: int) -> np.ndarray:
        frame_bytes = self.frame_bytes
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

    # -- observation -----------------------------------------------------
    @property
    def ram(self) -> np.ndarray:
        """System RAM exactly as the core exposes it (a zero-copy view): the raw form."""
        view = self.host.memory(native.MEMORY_SYSTEM_RAM)
        block = self.system.ram.map_block if self.system is not None else None
        if view is None and block is not None:
            view = next((b.data for b in map_blocks(self.host.memory_map()) if b.start == block), None)
        if view is None:
            raise CoreError(f"core {self.core_name} exposes no system RAM")
        return view

    def address_space(self) -> AddressSpace:
        """The address space data.json addresses and stable-retro's get_ram() see (zero-copy views).

        Like stable-retro: the core's memory map when it declares one, else
        system RAM placed at the system's RAM base; on systems whose data is
        stored in native 16-bit words (Genesis), every block is read through
        that overlay.
        """
        blocks = map_blocks(self.host.memory_map())
        if not blocks:
            rambase = self.system.ram.rambase if self.system is not None else None
            blocks = [Block(rambase or 0, self.ram)]
        swap = self.system is not None and self.system.ram.byte_swap and sys.byteorder == "little"
        return AddressSpace([Block(b.start, b.data, swap16=swap) for b in blocks])

    def obs_ram(self) -> np.ndarray:
        """stable-retro's get_ram(): every block of the address space in address order, concatenated (a copy)."""
        blocks = [b.data for b in self.address_space().blocks]
        return np.concatenate(blocks) if blocks else np.zeros(0, np.uint8)

    def watch(self, variables: Mapping[str, VariableLike], rows: int, *, ram: bool = False) -> Watch:
        """Have the host record `variables` (and the RAM observation if `ram`) after every frame.

        For runs of up to `rows` frames, until `unwatch()`. Variables outside
        the address space are left out (as Gym Retro's lookup_all does). The
        same request again (an agent's replay of one frame at a time) reuses
        the last watch's spans and buffer.
        """
        key = (tuple(variables.items()), rows, ram)
        if self._watch is None or self._watch.key != key:
            self._watch = Watch(self.address_space(), variables, rows, ram, key)
        self.host.watch_memory(self._watch.spans, self._watch.buffer)
        return self._watch

    def unwatch(self) -> None:
        self.host.watch_memory([], None)

    def screen(self) -> np.ndarray:
        """The last picture the core presented, as uint8 [h, w, 3]: the raw form."""
        return self.host.screen(self.frame_bytes)

    @property
    def obs_size(self) -> tuple[int, int]:
        """(width, height) of the observation picture."""
        width, height = self.quirks.obs_size(self.system.name if self.system else None)
        return width or self.av_info.width, height or self.av_info.height

    def obs_screen(self) -> np.ndarray:
        """stable-retro's get_screen() now, as a new uint8 [h, w, 3] array."""
        return self.host.obs_screen(*self.obs_size)

    # -- states ----------------------------------------------------------
    def get_state(self) -> bytes:
        return self.host.serialize()

    def set_state(self, state: bytes) -> None:
        self.host.unserialize(state)

    def power_on(self) -> None:
        """Load the core and the game anew, as right after this emulator was made.

        A fresh copy of the core file: its globals start over, so nothing
        that ran before can matter (a reset or a state saved at load could
        not promise that).
        """
        old, self._host = self.host, None
        self._watch = None
        old.close()
        self._host = self._open(self._private_copy())
        self.frames_run = 0


_SIZE_MASK = (1 << 64) - 1  # stable-retro computes region sizes in size_t
