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
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Quirks:
    """What retrotool does differently for one core (libretro_cores/cores/quirks.json)."""

    stable_retro: bool = False  # answer its environment and read its input as stable-retro does
    options: tuple[tuple[str, str], ...] = ()  # core option answers pinned
    screen: tuple[tuple[str, tuple[int, int | None]], ...] = ()  # system -> stable-retro's observation size
    state_after_reload: bool = False  # stable-retro reloads the core before a state: no frames run first
    core_name: str | None = None  # the name the core gives itself (retro_get_system_info), as keyframes record it
    inexact_states: str | None = None  # why a replay from one of its savestates can differ (None: it cannot)
    latched_buttons: tuple[tuple[str, tuple[str, ...]], ...] = ()  # system -> port 1 buttons latched outside states

    def obs_size(self, system: str | None) -> tuple[int | None, int | None]:
        """(width, height) of stable-retro's observation on `system`; None: the core's base size."""
        size = dict(self.screen).get(system or "")
        return (None, None) if size is None else size


@functools.cache
def _quirk_table() -> dict[str, Quirks]:
    path = resources.data_dir("_cores", "libretro_cores/cores") / "quirks.json"
    raw: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: Quirks(
            stable_retro=entry.get("frontend") == "stable-retro",
            options=tuple((str(k), str(v)) for k, v in entry.get("options", {}).items()),
            screen=tuple((str(s), (int(wh[0]), None if wh[1] is None else int(wh[1])))
                         for s, wh in entry.get("screen", {}).items()),
            state_after_reload=bool(entry.get("state_after_reload", False)),
            core_name=entry.get("core_name"),
            inexact_states=entry.get("inexact_states"),
            latched_buttons=tuple((str(system), tuple(map(str, buttons)))
                                  for system, buttons in entry.get("latched_buttons", {}).items()),
        )
        for name, entry in raw.items()
        if not name.startswith("_")
    }


def quirks(core_file: Path) -> Quirks:
    """The quirks of a core file, by its base name (`genesis_plus_gx_libretro.so` -> genesis_plus_gx)."""
    name = core_file.name.removesuffix(_SUFFIX).removesuffix(".so")
    return _quirk_table().get(name, Quirks())


def named(core_name: str) -> Quirks:
    """The quirks of the core that names itself `core_name` (retro_get_system_info), or none.

    Keyframes name their core so, and this is how they are judged before
    any core is loaded.
    """
    return next((q for q in _quirk_table().values() if q.core_name == core_name), Quirks())


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


def at(path: Path) -> FoundCore:
    """A core file given by its path (the user's --core, a test's core)."""
    if path.name.startswith("_testcore."):
        return FoundCore(TEST_CORE, path, "retrotool")
    return FoundCore(path.name.removesuffix(_SUFFIX).removesuffix(".so"), path, "path")


def resolve(core: str | os.PathLike[str] | None, system: System) -> FoundCore:
    """A core given as a path, as a name, or (None) the system's preferred one."""
    if core is None:
        return for_system(system)
    path = Path(core)
    if path.suffix == ".so" or os.sep in str(core):
        if not path.is_file():
            raise CoreError(f"core file not found: {path}")
        return at(path)
    return find(str(core))
