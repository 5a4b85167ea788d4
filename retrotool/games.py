"""Game integrations: Gym Retro game folders, found by name or by ROM SHA-1.

A folder `<Name>-<System>[-vN]` holds `rom.sha` (SHA-1s of accepted ROMs),
`metadata.json` (default state), `data.json` (RAM variables),
`scenario.json` (reward / done), `*.state` (gzipped libretro states) and,
once imported, `rom.<ext>`. Folders are looked up in `$RETROTOOL_DATA_PATH`,
retrotool's own `data/`, then stable-retro's stable, experimental and
contrib folders when that package is installed. ROMs of commercial games are
never shipped: `import_roms` finds them by SHA-1 as Gym Retro's importer does.

A game name (a movie's GameName) and a state name (metadata.json's
`default_state`, `--state NAME`) are names, never paths (`retrotool.paths`),
and every file of a game is read only if it resolves inside its folder: a
movie or a folder shared by someone cannot make retrotool read elsewhere.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import io
import logging
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from retrotool import outputs, paths, resources, schema, systems
from retrotool.errors import ContentError, RetroToolError, StateError, UnknownSystemError
from retrotool.systems import MAX_ROM_BYTES, System
from retrotool.variables import MAX_FILE_BYTES, Evaluator, load_scenario, load_variables

log = logging.getLogger(__name__)

MAX_STATE_BYTES = 64 << 20  # a libretro state of these systems is at most a few MB; gunzipped, too
_MAX_SHA_LIST_BYTES = 1 << 20  # rom.sha: a few SHA-1s
_VERSION = re.compile(r"-v\d+$")
METADATA_JSON = schema.Obj({"default_state": schema.Maybe(schema.Str(re.compile(f"(?:{paths.NAME.pattern})?"), what="a state name (no folder)"))})


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
        """The SHA-1s of the ROMs this integration accepts (ContentError when rom.sha cannot be read)."""
        data = paths.read_bounded(self.file("rom.sha"), _MAX_SHA_LIST_BYTES, "SHA-1 list", ContentError)
        text = data.decode("ascii", errors="replace")
        return tuple(line.strip().lower() for line in text.splitlines() if line.strip())

    def file(self, name: str) -> Path:
        """A file of the folder; one that resolves (a symlink) outside it is refused."""
        path = paths.inside(self.folder, name)
        if path is None:
            raise ContentError(f"{self.folder / name} leads out of the game folder {self.folder} (a symlink?); "
                               "retrotool reads a game's files only from its own folder")
        return path

    def rom(self) -> Path | None:
        """The imported ROM file, if any."""
        for ext in self.system.extensions:
            if (self.folder / f"rom.{ext}").is_file():
                return self.file(f"rom.{ext}")
        return None

    def states(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.state") if not p.name.startswith("_"))

    def default_state(self) -> str | None:
        """metadata.json's `default_state`: a state name, never a path."""
        if not (self.folder / "metadata.json").is_file():
            return None
        meta = schema.load(self.file("metadata.json"), METADATA_JSON, max_bytes=MAX_FILE_BYTES, what="metadata.json")
        return meta.get("default_state") or None

    def state(self, name: str | None = None) -> bytes:
        """A state's raw libretro bytes (the files are gzipped), by its name (with or without `.state`)."""
        name = name or self.default_state()
        if name is None:
            raise StateError(f"{self.name} has no default state; choose one of: {', '.join(self.states())}")
        stem = name.removesuffix(".state")
        if not paths.is_name(stem):
            raise StateError(f"{name!r} is not a state name (letters, digits, _ . -); a state file is given by its path")
        if not (self.folder / f"{stem}.state").is_file():
            raise StateError(f"{self.name} has no state {name!r}; it has: {', '.join(self.states())}")
        return load_state_file(self.file(f"{stem}.state"))

    def evaluator(self) -> Evaluator | None:
        """RAM variables and rewards, or None when the folder has no data.json."""
        if not (self.folder / "data.json").is_file():
            return None
        scenario = self.file("scenario.json") if (self.folder / "scenario.json").is_file() else None
        return Evaluator(load_variables(self.file("data.json")), load_scenario(scenario) if scenario else None)


def load_state_file(path: Path) -> bytes:
    """A state's raw libretro bytes: a raw serialize dump or a gzipped integration `.state`, both bounded."""
    data = paths.read_bounded(path, MAX_STATE_BYTES, "state", StateError)
    if data[:2] != b"\x1f\x8b":
        return data
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip; stopped past the bound, so no gzip bomb
    try:
        raw = inflate.decompress(data, MAX_STATE_BYTES + 1)
    except zlib.error as e:
        raise StateError(f"state {path} is a damaged gzip file: {e}") from None
    if len(raw) > MAX_STATE_BYTES:
        raise StateError(f"state {path} unpacks to more than {MAX_STATE_BYTES:,} bytes: it is not a savestate")
    if not inflate.eof:
        raise StateError(f"state {path} is a damaged gzip file: it is cut short")
    return raw


def _scan(origin: str, root: Path) -> Iterator[Game]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        system = system_of(entry.name)
        if system is not None and os.path.isfile(os.path.join(entry.path, "rom.sha")):
            if entry.is_symlink() and paths.inside(root, entry.name) is None:
                log.warning("ignoring %s: a symlink leading out of the data folder %s", entry.path, root)
                continue
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
    """An integration by folder name (`-vN` may be added or left out), or None (also for what is not a name)."""
    if not paths.is_name(name):
        return None
    wanted = {name, _VERSION.sub("", name), f"{_VERSION.sub('', name)}-v0"}
    for origin, root in data_folders():
        for candidate in sorted(wanted):
            folder = paths.inside(root, candidate)
            system = system_of(candidate)
            if system is not None and folder is not None and (folder / "rom.sha").is_file():
                return Game(candidate, system, folder, origin)
    return None


def find(name: str) -> Game:
    """An integration by folder name, or an error that names the closest ones (a misspelling, another case)."""
    if not paths.is_name(name):
        raise ContentError(f"{name!r} is not a game name (letters, digits, _ . -, as `retrotool games` lists them)")
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
            rom = game.rom() if not wanted.isdisjoint(game.shas) else None
        except RetroToolError:
            continue
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
        return not wanted.isdisjoint(file_sha1s(path))
    except RetroToolError:
        return False


def rom_sha1(data: bytes, name: str) -> str:
    """SHA-1 as Gym Retro computes it: `.nes` files skip their 16-byte header."""
    return hashlib.sha1(data[16:] if name.lower().endswith(".nes") else data).hexdigest()


def file_sha1s(path: Path) -> tuple[str, str]:
    """(SHA-1, Gym Retro's SHA-1) of a ROM file, read in chunks; a file larger than any ROM is refused unread."""
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_ROM_BYTES:
                raise ContentError(f"{path} is larger than any ROM ({MAX_ROM_BYTES:,} bytes)")
            plain, gym = hashlib.sha1(), hashlib.sha1()
            head = f.read(16)
            plain.update(head)
            if not path.name.lower().endswith(".nes"):
                gym.update(head)
            while block := f.read(1 << 20):
                plain.update(block)
                gym.update(block)
    except OSError as e:
        raise ContentError(f"cannot read {path}: {e.strerror or e}") from None
    return plain.hexdigest(), gym.hexdigest()


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


def import_roms(found: Iterable[Path], report: Callable[[Game, str], None] | None = None) -> list[Game]:
    """Copy every ROM under paths whose SHA-1 an integration lists into that folder."""
    index: dict[str, list[Game]] = {}
    for game in all_games():
        try:
            for sha in game.shas:
                index.setdefault(sha, []).append(game)
        except RetroToolError:
            continue
    imported: list[Game] = []
    for name, data in _candidates(found):
        for game in index.get(rom_sha1(data, name), []):
            # under a fresh temporary name, made exclusively, then renamed: a planted symlink is never written through
            outputs.write_atomic(game.folder / f"rom.{game.system.extensions[0]}", lambda f: f.write(data), force=True)
            imported.append(game)
            if report is not None:
                report(game, name)
    return imported

