"""Game folders retrotool may write: where new ones go, making one whole, and editing its JSON files and states.

New integrations go to the first folder of `$RETROTOOL_DATA_PATH`, else to
retrotool's own `data/` of a source checkout; never into an installed
package (stable-retro's data folders, or retrotool's own when installed), whose
files an upgrade would replace. A new folder is built under a temporary name
and renamed into place, so it appears whole or not at all. Edits rewrite one
file atomically and are checked by reading the result back as retrotool and
stable-retro read it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from retrotool import games, outputs, resources
from retrotool.errors import ContentError, OutputExistsError
from retrotool.integration import statefiles
from retrotool.systems import System
from retrotool.variables import OPS, check_type, load_scenario, load_variables

START_STATE = "Start"
EMPTY_SCENARIO: dict[str, Any] = {"reward": {"variables": {}}, "done": {"variables": {}}}


def installed_roots() -> list[Path]:
    """Data folders inside installed packages: stable-retro's, and retrotool's own when it is not a checkout."""
    roots = [root.parent for origin, root in games.data_folders() if origin.startswith("stable-retro")]
    own = resources.data_dir("_data", "data")
    if any(part in ("site-packages", "dist-packages") for part in own.resolve().parts):
        roots.append(own)
    return roots


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def check_writable(folder: Path) -> None:
    """Refuse a folder inside an installed package, saying where to write instead."""
    for root in installed_roots():
        if _inside(folder, root):
            raise ContentError(
                f"{folder} is inside an installed package ({root}), which retrotool does not change: copy the game "
                "folder into a folder of your own, named in $RETROTOOL_DATA_PATH (or retrotool's data/), and edit it there")


def writable_root(data: Path | None = None) -> Path:
    """Where a new game folder goes: `data`, else the first of $RETROTOOL_DATA_PATH, else retrotool's data/."""
    if data is None:
        env = [root for origin, root in games.data_folders() if origin == "env"]
        data = env[0] if env else resources.data_dir("_data", "data")
    check_writable(data)
    if not data.is_dir():
        raise ContentError(f"data folder {data} does not exist; create it (and name it in $RETROTOOL_DATA_PATH)")
    return data


def writable_game(name: str) -> games.Game:
    """An installed integration retrotool may edit."""
    game = games.find(name)
    check_writable(game.folder)
    return game


def create(root: Path, name: str, system: System, rom: bytes, rom_name: str, state: bytes) -> Path:
    """A new game folder: the ROM, rom.sha, data.json, scenario.json, metadata.json and Start.state."""
    folder = root / name
    if folder.exists():
        raise OutputExistsError(f"{folder} already exists: choose another --name, or remove that folder first")
    ext = rom_name.rsplit(".", 1)[-1].lower() if "." in rom_name else ""
    ext = ext if ext in system.extensions else system.extensions[0]
    work = outputs.temp_name(folder)
    try:
        work.mkdir()
        (work / f"rom.{ext}").write_bytes(rom)
        (work / "rom.sha").write_text(games.rom_sha1(rom, f"rom.{ext}") + "\n", encoding="ascii")
        for file, doc in (("data.json", {"info": {}}), ("scenario.json", EMPTY_SCENARIO),
                          ("metadata.json", {"default_state": START_STATE})):
            (work / file).write_text(_json(doc), encoding="utf-8")
        statefiles.write(work / f"{START_STATE}.state", state)
        os.rename(work, folder)  # fails if the folder appeared meanwhile
    except OSError as e:
        raise ContentError(f"cannot write {folder}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2) + "\n"


def _read(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ContentError(f"{path}: cannot read JSON ({e}); fix or remove it") from None


def _write_checked(path: Path, doc: Any) -> None:
    """Write a JSON file in place, atomically, once it reads back as retrotool (and stable-retro) read it."""
    scratch = outputs.temp_name(path)
    try:
        scratch.write_text(_json(doc), encoding="utf-8")
        (load_variables if path.name == "data.json" else load_scenario)(scratch)
        outputs.commit(scratch, path)
    finally:
        outputs.discard(scratch)


def set_variable(game: games.Game, name: str, address: int, code: str, mask: int | None = None) -> dict[str, Any]:
    """Add or change a data.json variable; returns its previous entry ({} if new)."""
    path = game.folder / "data.json"
    doc = _read(path, {"info": {}})
    info = doc.setdefault("info", {})
    before = dict(info.get(name) or {})
    info[name] = {"address": address, "type": check_type(code), **({"mask": mask} if mask is not None else {})}
    _write_checked(path, doc)
    return before


def remove_variable(game: games.Game, name: str) -> None:
    """Remove a data.json variable that no reward or done rule uses."""
    path = game.folder / "data.json"
    doc = _read(path, {"info": {}})
    if name not in doc.get("info", {}):
        raise ContentError(f"{game.name} has no variable {name!r}")
    users = [kind for kind, terms in _rules(game).items() if name in terms]
    if users:
        raise ContentError(f"{name!r} is used by the {' and '.join(users)} rules; remove it there first")
    del doc["info"][name]
    _write_checked(path, doc)


def _rules(game: games.Game) -> dict[str, dict[str, Any]]:
    doc = _read(game.folder / "scenario.json", {})
    reward = doc.get("reward") or (doc.get("rewards") or [{}])[0] or {}
    return {"reward": reward.get("variables") or {}, "done": (doc.get("done") or {}).get("variables") or {}}


def set_rule(
    game: games.Game, kind: str, variable: str, fields: Mapping[str, Any], *, remove: bool = False,
) -> dict[str, Any]:
    """Add, change (the fields given) or remove a reward or done rule of a variable; returns the rule now."""
    path = game.folder / "scenario.json"
    doc = _read(path, json.loads(json.dumps(EMPTY_SCENARIO)))
    block = _block(doc, kind)
    terms = block.setdefault("variables", {})
    if remove:
        if terms.pop(variable, None) is None:
            raise ContentError(f"{game.name}'s scenario has no {kind} rule for {variable!r}")
        _write_checked(path, doc)
        return {}
    known = load_variables(game.folder / "data.json") if (game.folder / "data.json").is_file() else {}
    if variable not in known:
        raise ContentError(f"{variable!r} is not a variable of {game.name}: add it first with "
                           f"`retrotool integrate var {game.name} {variable} ADDRESS TYPE`")
    if fields.get("op") is not None and fields["op"] not in OPS:
        raise ContentError(f"unknown op {fields['op']!r}; stable-retro's ops are {', '.join(OPS)}")
    term = {**(terms.get(variable) or {}), **{k: v for k, v in fields.items() if v is not None}}
    terms[variable] = term
    _write_checked(path, doc)
    return term


def set_scenario_field(game: games.Game, kind: str, key: str, value: Any) -> None:
    """reward.time.reward, or done.condition."""
    path = game.folder / "scenario.json"
    doc = _read(path, json.loads(json.dumps(EMPTY_SCENARIO)))
    block = _block(doc, kind)
    if key == "time":
        block["time"] = {"reward": value}
    else:
        block[key] = value
    _write_checked(path, doc)


def _block(doc: Any, kind: str) -> dict[str, Any]:
    """The scenario's reward block (player 1's, when it has one per player) or its done block."""
    if not isinstance(doc, dict):
        raise ContentError("scenario.json must hold a JSON object")
    if kind == "reward" and "reward" not in doc and isinstance(doc.get("rewards"), list) and doc["rewards"]:
        return doc["rewards"][0]  # type: ignore[no-any-return]
    return doc.setdefault(kind, {})  # type: ignore[no-any-return]


def add_state(game: games.Game, name: str, state: bytes, *, default: bool = False, force: bool = False) -> Path:
    """Write NAME.state into the game's folder (gzipped, as stable-retro reads it); `default` makes it the default."""
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ContentError(f"{name!r} is not a state name (a file name without .state, like Level2)")
    path = statefiles.write(game.folder / f"{name.removesuffix('.state')}.state", state, force=force)
    if default:
        set_default_state(game, name.removesuffix(".state"))
    return path


def set_default_state(game: games.Game, name: str) -> None:
    path = game.folder / "metadata.json"
    doc = _read(path, {})
    if not isinstance(doc, dict):
        raise ContentError(f"{path} must hold a JSON object")
    doc["default_state"] = name
    scratch = outputs.temp_name(path)
    try:
        scratch.write_text(_json(doc), encoding="utf-8")
        outputs.commit(scratch, path)
    finally:
        outputs.discard(scratch)
