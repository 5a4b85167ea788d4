"""Game integrations: Gym Retro game folders, found by name or by ROM SHA-1.

A folder `<Name>-<System>[-vN]` holds `rom.sha` (SHA-1s of accepted ROMs),
`metadata.json` (default state), `data.json` (RAM variables),
`scenario.json` (reward / done), `*.state` (gzipped libretro states) and,
once imported, `rom.<ext>`. Folders are looked up in `$RETROTOOL_DATA_PATH`,
retrotool's own `data/`, then stable-retro's stable, experimental and
contrib folders when that package is installed. ROMs of commercial games are
never shipped: `import_roms` finds them by SHA-1 as Gym Retro's importer does.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import importlib.util
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from retrotool import resources, systems
from retrotool.errors import ContentError, StateError, UnknownSystemError
from retrotool.systems import System
from retrotool.variables import Evaluator, load_scenario, load_variables

MAX_ROM_BYTES = 32 << 20  # as Gym Retro: larger files are not ROMs of these systems
_VERSION = re.compile(r"-v\d+$")


def data_folders() -> list[tuple[str, Path]]:
    """(origin, root) pairs in lookup order; roots may not exist."""
    out = [("env", Path(p)) for p in os.environ.get("RETROTOOL_DATA_PATH", "").split(os.pathsep) if p]
    out.append(("retrotool", resources.data_dir("_data", "data")))
    spec = importlib.util.find_spec("stable_retro")
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations))) / "data"
        out += [(f"stable-retro {kind}", root / kind) for kind in ("stable", "experimental", "contrib")]
    return out


def system_of(folder_name: str) -> System | None:
    """The system a folder name ends with (`SuperMarioBros-Nes-v0` → Nes)."""
    base = _VERSION.sub("", folder_name)
    try:
        return systems.get(base.rsplit("-", 1)[-1]) if "-" in base else None
    except UnknownSystemError:
        return None


@dataclass(frozen=True, slots=True)
class Game:
    """One integration folder."""

    name: str
    system: System
    folder: Path
    origin: str

    @property
    def shas(self) -> tuple[str, ...]:
        text = (self.folder / "rom.sha").read_text(encoding="ascii", errors="replace")
        return tuple(line.strip().lower() for line in text.splitlines() if line.strip())

    def rom(self) -> Path | None:
        """The imported ROM file, if any."""
        for ext in self.system.extensions:
            path = self.folder / f"rom.{ext}"
            if path.is_file():
                return path
        return None

    def states(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.state") if not p.name.startswith("_"))

    def default_state(self) -> str | None:
        meta = self.folder / "metadata.json"
        if not meta.is_file():
            return None
        try:
            value = json.loads(meta.read_text(encoding="utf-8")).get("default_state")
        except (ValueError, AttributeError) as e:
            raise ContentError(f"{meta}: cannot read default_state ({e})") from None
        return str(value) if value else None

    def state(self, name: str | None = None) -> bytes:
        """A state's raw libretro bytes (the files are gzipped)."""
        name = name or self.default_state()
        if name is None:
            raise StateError(f"{self.name} has no default state; choose one of: {', '.join(self.states())}")
        path = self.folder / f"{name.removesuffix('.state')}.state"
        if not path.is_file():
            raise StateError(f"{self.name} has no state {name!r}; it has: {', '.join(self.states())}")
        return load_state_file(path)

    def evaluator(self) -> Evaluator | None:
        """RAM variables and rewards, or None when the folder has no data.json."""
        data = self.folder / "data.json"
        if not data.is_file():
            return None
        scenario = self.folder / "scenario.json"
        return Evaluator(load_variables(data), load_scenario(scenario) if scenario.is_file() else None)


def load_state_file(path: Path) -> bytes:
    """A state's raw libretro bytes: a raw serialize dump or a gzipped integration `.state`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StateError(f"cannot read state {path}: {e.strerror}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise StateError(f"state {path} is a damaged gzip file: {e}") from None
    return data


def _scan(origin: str, root: Path) -> Iterator[Game]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        system = system_of(entry.name)
        if system is not None and os.path.isfile(os.path.join(entry.path, "rom.sha")):
            yield Game(entry.name, system, Path(entry.path), origin)


def all_games(system: System | None = None) -> list[Game]:
    """Every integration, first folder of a name winning, sorted by name."""
    found: dict[str, Game] = {}
    for origin, root in data_folders():
        for game in _scan(origin, root):
            if system is None or game.system == system:
                found.setdefault(game.name, game)
    return sorted(found.values(), key=lambda g: g.name.lower())


def lookup(name: str) -> Game | None:
    """An integration by folder name (`-vN` may be added or left out), or None."""
    wanted = {name, _VERSION.sub("", name), f"{_VERSION.sub('', name)}-v0"}
    for origin, root in data_folders():
        for candidate in sorted(wanted):
            folder = root / candidate
            system = system_of(candidate)
            if system is not None and (folder / "rom.sha").is_file():
                return Game(candidate, system, folder, origin)
    return None


def find(name: str) -> Game:
    """An integration by folder name, or an error that names the closest ones (a misspelling, another case)."""
    game = lookup(name)
    if game is not None:
        return game
    close = similar_names(name)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ContentError(f"no game integration named {name!r}{hint} (`retrotool games` lists them)")


def similar_names(name: str, n: int = 3) -> list[str]:
    """Installed integration names closest to `name`, ignoring case and `-vN`; a name without its system matches too."""
    def key(x: str) -> str:
        return _VERSION.sub("", x).lower()

    names: dict[str, list[str]] = {}
    for game in all_games():
        for k in (key(game.name), key(game.name).rsplit("-", 1)[0]):
            names.setdefault(k, []).append(game.name)
    wanted = key(name)
    keys = [wanted] if wanted in names else difflib.get_close_matches(wanted, names, n=n, cutoff=0.85)
    return list(dict.fromkeys(g for k in keys for g in names[k]))[:n]


def find_content(shas: Iterable[str], system: System, folders: Iterable[Path] = ()) -> Path | None:
    """A ROM file of `system` whose SHA-1 (plain or Gym Retro's) is one of `shas`, or None.

    Looked for, in order: the imported ROMs of the integrations that list
    one of the SHA-1s, the files with the system's extensions in `folders`
    (a movie's own folder), then in the `$RETROTOOL_DATA_PATH` folders.
    """
    wanted = {s.lower() for s in shas}
    for game in all_games(system):
        try:
            listed = not wanted.isdisjoint(game.shas)
        except OSError:
            continue
        rom = game.rom() if listed else None
        if rom is not None and _has_sha(rom, wanted):
            return rom
    roots = [*folders, *(root for origin, root in data_folders() if origin == "env")]
    for root in dict.fromkeys(roots):
        try:
            files = sorted(p for p in root.iterdir() if p.suffix[1:].lower() in system.extensions and p.is_file())
        except OSError:
            continue
        found = next((f for f in files if _has_sha(f, wanted)), None)
        if found is not None:
            return found
    return None


def _has_sha(path: Path, wanted: set[str]) -> bool:
    try:
        if path.stat().st_size > MAX_ROM_BYTES:
            return False
        data = path.read_bytes()
    except OSError:
        return False
    return not wanted.isdisjoint({hashlib.sha1(data).hexdigest(), rom_sha1(data, path.name)})


def rom_sha1(data: bytes, name: str) -> str:
    """SHA-1 as Gym Retro computes it: `.nes` files skip their 16-byte header."""
    return hashlib.sha1(data[16:] if name.lower().endswith(".nes") else data).hexdigest()


def _candidates(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file under paths, zip archives (nested too) opened."""
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            try:
                if f.stat().st_size > MAX_ROM_BYTES * 4:
                    continue
                data = f.read_bytes()
            except OSError:
                continue
            yield from _expand(f.name, data)


def _expand(name: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    if data[:4] == b"PK\x03\x04" and depth < 3:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    if not info.is_dir() and info.file_size <= MAX_ROM_BYTES:
                        yield from _expand(info.filename, z.read(info), depth + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError):
            return
    elif len(data) <= MAX_ROM_BYTES:
        yield name, data


def import_roms(paths: Iterable[Path], report: Callable[[Game, str], None] | None = None) -> list[Game]:
    """Copy every ROM under paths whose SHA-1 an integration lists into that folder."""
    index: dict[str, list[Game]] = {}
    for game in all_games():
        try:
            for sha in game.shas:
                index.setdefault(sha, []).append(game)
        except OSError:
            continue
    imported: list[Game] = []
    for name, data in _candidates(paths):
        for game in index.get(rom_sha1(data, name), []):
            target = game.folder / f"rom.{game.system.extensions[0]}"
            tmp = target.with_name(f".{target.name}.tmp")
            try:
                tmp.write_bytes(data)
                os.replace(tmp, target)
            except OSError as e:
                tmp.unlink(missing_ok=True)
                raise ContentError(f"cannot write {target}: {e.strerror}") from None
            imported.append(game)
            if report is not None:
                report(game, name)
    return imported

