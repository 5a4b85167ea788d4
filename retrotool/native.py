"""The only door to native code: loads the C host with ctypes and wraps it.

Everything that crosses into C goes through this module. The host keeps all
libretro callbacks in C, so Python crosses once per *batch* of frames; this
module only declares the `rh_*` signatures, turns status codes into
project exceptions (with the core's last log lines attached) and lends numpy
buffers to C. Buffers lent to C are owned by the caller for the whole call.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import logging
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import numpy as np

from retrotool.errors import ContentError, CoreError, RetroToolError, StateError
from retrotool.sinks.contract import AvInfo

log = logging.getLogger(__name__)

_c_uint8_p = ctypes.POINTER(ctypes.c_uint8)
_c_uint16_p = ctypes.POINTER(ctypes.c_uint16)
_c_int16_p = ctypes.POINTER(ctypes.c_int16)
_c_size_p = ctypes.POINTER(ctypes.c_size_t)
_c_char_pp = ctypes.POINTER(ctypes.c_char_p)

RH_OK = 0
RH_EINVAL, RH_ECORE, RH_ECONTENT, RH_ESTATE, RH_ENOMEM, RH_ESTATE_ORDER = -1, -2, -3, -4, -5, -6

MEMORY_SAVE_RAM, MEMORY_RTC, MEMORY_SYSTEM_RAM, MEMORY_VIDEO_RAM = 0, 1, 2, 3
DEVICE_NONE, DEVICE_JOYPAD = 0, 1
MAX_PORTS = 8
PROFILE_FULL, PROFILE_STABLE_RETRO = 0, 1  # how the host answers the core (rhost.h)
PICTURE_NATIVE, PICTURE_OBS = 0, 1  # what rh_run / rh_screen produce (rhost.h)


class _RhAv(ctypes.Structure):
    _fields_ = [
        ("base_width", ctypes.c_uint), ("base_height", ctypes.c_uint), ("max_width", ctypes.c_uint),
        ("max_height", ctypes.c_uint), ("aspect_ratio", ctypes.c_float), ("fps", ctypes.c_double),
        ("sample_rate", ctypes.c_double), ("pixel_format", ctypes.c_int),
    ]


class _RhMemdesc(ctypes.Structure):
    _fields_ = [
        ("flags", ctypes.c_uint64), ("ptr", ctypes.c_void_p), ("offset", ctypes.c_size_t), ("start", ctypes.c_size_t),
        ("select", ctypes.c_size_t), ("disconnect", ctypes.c_size_t), ("len", ctypes.c_size_t),
    ]


class _RhSpan(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


_P = ctypes.c_void_p  # rh_host *
# name: (restype, argtypes) for every rh_* symbol of rhost.h.
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "rh_open": (_P, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]),
    "rh_close": (None, [_P]),
    "rh_last_error": (ctypes.c_char_p, [_P]),
    "rh_core_name": (ctypes.c_char_p, [_P]),
    "rh_core_version": (ctypes.c_char_p, [_P]),
    "rh_core_extensions": (ctypes.c_char_p, [_P]),
    "rh_core_need_fullpath": (ctypes.c_int, [_P]),
    "rh_set_option": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p]),
    "rh_option_count": (ctypes.c_int, [_P]),
    "rh_option_get": (ctypes.c_int, [_P, ctypes.c_int, _c_char_pp, _c_char_pp, _c_char_pp]),
    "rh_capture_stdout": (ctypes.c_int, [_P, ctypes.c_int]),
    "rh_load_game": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]),
    "rh_av_info": (ctypes.c_int, [_P, ctypes.POINTER(_RhAv)]),
    "rh_set_obs_size": (ctypes.c_int, [_P, ctypes.c_uint, ctypes.c_uint]),
    "rh_set_port_device": (ctypes.c_int, [_P, ctypes.c_uint, ctypes.c_uint]),
    "rh_reset": (ctypes.c_int, [_P]),
    "rh_run": (
        ctypes.c_long,
        [_P, ctypes.c_size_t, _c_uint16_p, ctypes.c_uint, _c_uint8_p, ctypes.c_size_t, _c_uint16_p, ctypes.c_int,
         ctypes.c_int],
    ),
    "rh_set_frame_counter": (ctypes.c_int, [_P, ctypes.c_void_p]),
    "rh_watch_memory": (ctypes.c_int, [_P, ctypes.POINTER(_RhSpan), ctypes.c_uint, _c_uint8_p, ctypes.c_size_t]),
    "rh_audio": (_c_int16_p, [_P, _c_size_p]),
    "rh_screen": (
        ctypes.c_long, [_P, ctypes.c_int, _c_uint8_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint),
                        ctypes.POINTER(ctypes.c_uint)],
    ),
    "rh_serialize_size": (ctypes.c_size_t, [_P]),
    "rh_serialize": (ctypes.c_int, [_P, ctypes.c_void_p, ctypes.c_size_t]),
    "rh_unserialize": (ctypes.c_int, [_P, ctypes.c_void_p, ctypes.c_size_t]),
    "rh_memory": (ctypes.c_void_p, [_P, ctypes.c_uint, _c_size_p]),
    "rh_memory_map_count": (ctypes.c_int, [_P]),
    "rh_memory_map_get": (ctypes.c_int, [_P, ctypes.c_int, ctypes.POINTER(_RhMemdesc)]),
    "rh_log_read": (ctypes.c_size_t, [_P, ctypes.c_char_p, ctypes.c_size_t]),
}


def native_library_path(module: str) -> Path:
    """Path of a native library built into the package (`_rhost`, `_testcore`).

    The libraries are built as (empty) extension modules so that importlib
    finds them in wheel, editable and source-tree installs alike.
    """
    spec = importlib.util.find_spec(f"retrotool.{module}")
    if spec is None or spec.origin is None:
        raise CoreError(
            f"retrotool's native library {module} is not built; reinstall with `pip install .` "
            "(a C compiler is needed)"
        )
    return Path(spec.origin)


@functools.cache
def _lib() -> ctypes.CDLL:
    path = native_library_path("_rhost")
    lib = ctypes.CDLL(str(path))
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise CoreError(f"{path} lacks symbol {name}; rebuild retrotool") from None
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


MEMDESC_CONST = 1 << 0


@dataclass(frozen=True, slots=True, eq=False)
class MemoryDescriptor:
    """One region of the core's memory map (SET_MEMORY_MAPS), as the core declared it.

    `ptr` is the core's pointer (0: none); readers place and size regions by
    their own rules and view them with `memory_view`.
    """

    flags: int
    ptr: int
    offset: int
    start: int
    select: int
    disconnect: int
    length: int


def memory_view(address: int, length: int) -> np.ndarray:
    """A zero-copy uint8 view of `length` bytes of core memory at `address` (from a MemoryDescriptor)."""
    if not address or length <= 0:
        return np.zeros(0, np.uint8)
    return np.ctypeslib.as_array(ctypes.cast(address, _c_uint8_p), shape=(length,))


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


class Host:
    """One loaded core (one `rh_host`). Not thread-safe; one per core file."""

    def __init__(self, core_path: Path, system_dir: Path, save_dir: Path, profile: int = PROFILE_FULL) -> None:
        self._lib = _lib()
        err = ctypes.create_string_buffer(1024)
        handle = self._lib.rh_open(
            str(core_path).encode(), str(system_dir).encode(), str(save_dir).encode(), profile, err, len(err)
        )
        if not handle:
            raise CoreError(_text(err.value) or f"cannot open core {core_path}")
        self._h: int | None = handle
        self.core_path = core_path
        self._screen_buf = np.empty(0, np.uint8)

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        """Unload the game and the core. Safe to call twice."""
        if self._h is not None:
            self._lib.rh_close(self._h)
            self._h = None

    @property
    def handle(self) -> int:
        if self._h is None:
            raise RetroToolError("this emulator is closed")
        return self._h

    def _check(self, status: int, exc: type[RetroToolError], what: str) -> None:
        if status < 0:
            message = _text(self._lib.rh_last_error(self.handle)) or f"{what} failed (code {status})"
            raise exc(message)

    # -- core facts and options -----------------------------------------
    def core_info(self) -> tuple[str, str, str, bool]:
        """(name, version, valid extensions, needs a path)."""
        h = self.handle
        return (
            _text(self._lib.rh_core_name(h)),
            _text(self._lib.rh_core_version(h)),
            _text(self._lib.rh_core_extensions(h)),
            bool(self._lib.rh_core_need_fullpath(h)),
        )

    def set_option(self, key: str, value: str) -> None:
        self._check(self._lib.rh_set_option(self.handle, key.encode(), value.encode()), CoreError, "set option")

    def capture_stdout(self, on: bool) -> None:
        self._lib.rh_capture_stdout(self.handle, int(on))

    # -- game ------------------------------------------------------------
    def load_game(self, path: Path | None, data: bytes | None) -> None:
        buf = ctypes.create_string_buffer(data, len(data)) if data is not None else None
        name = str(path).encode() if path is not None else None
        status = self._lib.rh_load_game(self.handle, name, buf, len(data) if data is not None else 0)
        self._check(status, ContentError, "load game")

    def av_info(self) -> AvInfo:
        av = _RhAv()
        self._check(self._lib.rh_av_info(self.handle, ctypes.byref(av)), CoreError, "av info")
        return AvInfo(
            av.base_width, av.base_height, av.max_width, av.max_height,
            float(av.aspect_ratio), av.fps, av.sample_rate, av.pixel_format,
        )

    def set_obs_size(self, width: int, height: int) -> None:
        """Size of the observation picture (stable-retro's screen size for this core and system)."""
        self._check(self._lib.rh_set_obs_size(self.handle, width, height), CoreError, "observation size")

    def set_port_device(self, port: int, device: int) -> None:
        self._check(self._lib.rh_set_port_device(self.handle, port, device), CoreError, "set port device")

    # -- running ---------------------------------------------------------
    def run(
        self,
        masks: np.ndarray,
        video: np.ndarray | None = None,
        dims: np.ndarray | None = None,
        audio: bool = False,
        picture: int = PICTURE_NATIVE,
    ) -> None:
        """Run len(masks) frames; masks is C-contiguous uint16 [n, ports].

        video, when given, is a C-contiguous uint8 [n, frame_bytes] array that
        receives packed RGB24 pictures of kind `picture`; dims a uint16 [n, 2]
        array of (w, h).
        """
        n, ports = masks.shape
        out = video.ctypes.data_as(_c_uint8_p) if video is not None else None
        sizes = dims.ctypes.data_as(_c_uint16_p) if dims is not None else None
        frame_bytes = video.shape[1] if video is not None else 0
        status = self._lib.rh_run(self.handle, n, masks.ctypes.data_as(_c_uint16_p), ports, out, frame_bytes, sizes,
                                  picture, int(audio))
        self._check(status, CoreError, "run")

    def count_frames_into(self, counter: SharedCounter | None) -> None:
        """Have C count finished frames into `counter` (shared with a parent process)."""
        self._counter = counter  # C keeps the address: keep the object alive
        ptr = ctypes.addressof(counter.cell) if counter is not None else None
        self._check(self._lib.rh_set_frame_counter(self.handle, ptr), CoreError, "frame counter")

    def watch_memory(self, spans: list[np.ndarray], out: np.ndarray | None) -> None:
        """Have C copy `spans` (uint8 views of core memory) into `out` after every frame.

        Frame f of each later run fills row f of `out` (C-contiguous uint8
        [rows, sum of span sizes]) with the spans concatenated: per-frame RAM
        without a C call per frame. No spans (or out None) stops.
        """
        table = (_RhSpan * max(len(spans), 1))(*[_RhSpan(s.ctypes.data, s.size) for s in spans])
        self._watched = out  # C keeps the address: keep the buffer alive
        buf, cap = (out.ctypes.data_as(_c_uint8_p), out.nbytes) if out is not None and spans else (None, 0)
        self._check(self._lib.rh_watch_memory(self.handle, table, len(spans) if buf else 0, buf, cap),
                    CoreError, "watch memory")

    def audio(self) -> np.ndarray:
        """A copy of the last batch's audio as int16 [samples, 2]."""
        n = ctypes.c_size_t()
        ptr = self._lib.rh_audio(self.handle, ctypes.byref(n))
        if not ptr or n.value == 0:
            return np.zeros((0, 2), np.int16)
        return np.ctypeslib.as_array(ptr, shape=(n.value,)).reshape(-1, 2).copy()

    def screen(self, max_bytes: int, picture: int = PICTURE_NATIVE) -> np.ndarray:
        """The picture of kind `picture` now, as a new uint8 [h, w, 3] array."""
        if self._screen_buf.size < max_bytes:
            self._screen_buf = np.empty(max_bytes, np.uint8)
        w, h = ctypes.c_uint(), ctypes.c_uint()
        status = self._lib.rh_screen(
            self.handle, picture, self._screen_buf.ctypes.data_as(_c_uint8_p), self._screen_buf.size,
            ctypes.byref(w), ctypes.byref(h),
        )
        self._check(status, CoreError, "screen")
        return self._screen_buf[: w.value * h.value * 3].reshape(h.value, w.value, 3).copy()

    def obs_screen(self, width: int, height: int) -> np.ndarray:
        """The observation picture (width x height, as set by `set_obs_size`) as a new uint8 [h, w, 3] array.

        Its size is fixed, so C writes straight into the new array: no copy (an agent asks every frame).
        """
        out = np.empty((height, width, 3), np.uint8)
        w, h = ctypes.c_uint(), ctypes.c_uint()
        status = self._lib.rh_screen(self.handle, PICTURE_OBS, out.ctypes.data_as(_c_uint8_p), out.nbytes,
                                     ctypes.byref(w), ctypes.byref(h))
        self._check(status, CoreError, "screen")
        return out

    # -- states and memory ----------------------------------------------
    def serialize(self) -> bytes:
        size = self._lib.rh_serialize_size(self.handle)
        if size == 0:
            raise StateError(f"the core {self.core_path.name} cannot save states")
        buf = ctypes.create_string_buffer(size)
        self._check(self._lib.rh_serialize(self.handle, buf, size), StateError, "save state")
        return buf.raw

    def unserialize(self, data: bytes) -> None:
        buf = ctypes.create_string_buffer(data, len(data))
        self._check(self._lib.rh_unserialize(self.handle, buf, len(data)), StateError, "load state")

    def memory(self, region: int) -> np.ndarray | None:
        """A zero-copy uint8 view of a memory region, valid while the game is loaded."""
        size = ctypes.c_size_t()
        ptr = self._lib.rh_memory(self.handle, region, ctypes.byref(size))
        if not ptr or size.value == 0:
            return None
        return np.ctypeslib.as_array(ctypes.cast(ptr, _c_uint8_p), shape=(size.value,))

    def memory_map(self) -> list[MemoryDescriptor]:
        out = []
        d = _RhMemdesc()
        for i in range(self._lib.rh_memory_map_count(self.handle)):
            if self._lib.rh_memory_map_get(self.handle, i, ctypes.byref(d)) == RH_OK:
                out.append(MemoryDescriptor(d.flags, d.ptr or 0, d.offset, d.start, d.select, d.disconnect, d.len))
        return out

    def read_log(self) -> str:
        """Drain the core's log lines collected by the host."""
        buf = ctypes.create_string_buffer(65536)
        chunks = []
        while (n := self._lib.rh_log_read(self.handle, buf, len(buf))) > 0:
            chunks.append(buf.raw[:n])
            if n < len(buf) - 1:
                break
        return _text(b"".join(chunks))


class SharedCounter:
    """A uint64 in shared memory that the host counts frames into.

    A parent makes one (`SharedCounter()`), a child process attaches to it
    by name and hands it to `Host.count_frames_into`; when the child's core
    crashes, the parent reads the frame it got to.
    """

    def __init__(self, name: str | None = None) -> None:
        self._shm = SharedMemory(name) if name is not None else SharedMemory(create=True, size=8)
        self._owner = name is None
        buf = self._shm.buf
        if buf is None:
            raise RetroToolError("a shared frame counter has no memory; a retrotool bug")
        if self._owner:
            buf[:8] = bytes(8)
        self.cell = ctypes.c_uint64.from_buffer(buf)

    @property
    def name(self) -> str:
        return self._shm.name

    @property
    def value(self) -> int:
        return int(self.cell.value)

    def close(self) -> None:
        """Detach (and, for the process that made it, free it)."""
        del self.cell
        self._shm.close()
        if self._owner:
            self._shm.unlink()
