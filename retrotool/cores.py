"""Finding libretro core libraries.

Search order (first hit wins): `$RETROTOOL_CORE_PATH` (colon list of
folders), the cores bundled in the `stable-retro` wheel (the `cores`
extra), Debian/Ubuntu's libretro folder, RetroArch's user core folder. A
core is named by its base name (`genesis_plus_gx`), the file being
`<name>_libretro.so`; `retrotool_testcore` is the test core built with
retrotool itself.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from retrotool import native, resources
from retrotool.errors import CoreError
from retrotool.systems import System

TEST_CORE = "retrotool_testcore"
_SUFFIX = "_libretro.so"


@dataclass(frozen=True, slots=True)
class FoundCore:
    """A core library on disk and where it was found."""

    name: str
    path: Path
    origin: str  # "env", "stable-retro", "debian", "retroarch", "retrotool"


@functools.cache
def _quirks() -> dict[str, dict[str, object]]:
    """libretro_cores/cores/quirks.json: per-core pinned options and why."""
    path = resources.data_dir("_cores", "libretro_cores/cores") / "quirks.json"
    data: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def pinned_options(core_file: Path) -> dict[str, str]:
    """Core options retrotool always answers for this core file (by its base name)."""
    name = core_file.name.removesuffix(_SUFFIX).removesuffix(".so")
    options = _quirks().get(name, {}).get("options", {})
    return {str(k): str(v) for k, v in dict(options).items()}  # type: ignore[call-overload]


def search_path() -> list[tuple[str, Path]]:
    """(origin, folder) pairs in search order; folders may not exist."""
    out: list[tuple[str, Path]] = []
    for entry in os.environ.get("RETROTOOL_CORE_PATH", "").split(os.pathsep):
        if entry:
            out.append(("env", Path(entry)))
    bundled = _stable_retro_cores()
    if bundled is not None:
        out.append(("stable-retro", bundled))
    triplet = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    out.append(("debian", Path("/usr/lib") / triplet / "libretro"))
    out.append(("retroarch", Path.home() / ".config" / "retroarch" / "cores"))
    return out


@functools.cache
def _stable_retro_cores() -> Path | None:
    """The stable-retro wheel's core folder, found without importing it."""
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "cores"


# Where each core can come from: the `cores` extra or a Debian package.
_DEBIAN = {
    "fceumm": "libretro-fceumm",
    "nestopia": "libretro-nestopia",
    "gambatte": "libretro-gambatte",
    "mgba": "libretro-mgba",
    "mednafen_pce_fast": "libretro-beetle-pce-fast",
}
_EXTRA = {"genesis_plus_gx", "picodrive", "fceumm", "snes9x", "gambatte", "mgba", "mednafen_pce_fast", "stella"}


def install_hint(name: str) -> str:
    """How a user gets this core."""
    ways = []
    if name in _EXTRA:
        ways.append("pip install 'retrotool[cores]'")
    if name in _DEBIAN:
        ways.append(f"apt-get install {_DEBIAN[name]}")
    return " or ".join(ways) or "put <name>_libretro.so in a folder of RETROTOOL_CORE_PATH"


def find(name: str, origin: str | None = None) -> FoundCore:
    """Locate a core by base name (only in folders of `origin` if given), or raise CoreError listing where we looked."""
    if name == TEST_CORE:
        return FoundCore(name, native.native_library_path("_testcore"), "retrotool")
    looked = []
    for where, folder in search_path():
        if origin is not None and where != origin:
            continue
        candidate = folder / f"{name}{_SUFFIX}"
        looked.append(str(folder))
        if candidate.is_file():
            return FoundCore(name, candidate, where)
    raise CoreError(f"core {name} not found (looked in {', '.join(looked)}); install it: {install_hint(name)}")


def for_system(system: System) -> FoundCore:
    """The first installed core of the system's preference list."""
    for name in system.cores:
        try:
            return find(name)
        except CoreError:
            continue
    hints = "; ".join(f"{n}: {install_hint(n)}" for n in system.cores)
    raise CoreError(f"no core for {system.name} is installed ({hints}), or pass --core PATH")


def resolve(core: str | os.PathLike[str] | None, system: System) -> FoundCore:
    """A core given as a path, as a name, or (None) the system's preferred one."""
    if core is None:
        return for_system(system)
    path = Path(core)
    if path.suffix == ".so" or os.sep in str(core):
        if not path.is_file():
            raise CoreError(f"core file not found: {path}")
        return FoundCore(path.name.removesuffix(_SUFFIX).removesuffix(".so"), path, "path")
    return find(str(core))
