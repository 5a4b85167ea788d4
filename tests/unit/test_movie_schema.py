"""retrotool.json is checked against one schema: every wrong field is a one-line MovieFormatError naming it."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrotool import movie
from retrotool.errors import MovieFormatError
from retrotool.movie import Movie
from retrotool.movie.schema import SchemaError, validate

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "movies"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOC: dict[str, Any] = {
    "format": 1,
    "system": "Genesis",
    "meta": {
        "recorder": "retrotool 0.1.0", "system": "Genesis", "core": "genesis_plus_gx", "core_library": "Genesis Plus GX",
        "core_version": "v1.7.4 ec7a6271", "content_sha1": "a8be7b0ca850119b167f9644e6a4a22e983d61a4",
        "rom_name": "rom.md", "options": {"genesis_plus_gx_bram": "per game"}, "checkpoint_every": 600,
        "checkpoints": [{"frame": 0, "ram_sha256": "1" * 64, "screen_sha256": "2" * 64}],
    },
}


def _with(doc: Any) -> bytes:
    """sr_genesis.bk2 with ``doc`` as its retrotool.json."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(GOLDEN / "sr_genesis.bk2") as source, zipfile.ZipFile(buffer, "w") as zf:
        for info in source.infolist():
            zf.writestr(info, source.read(info))
        zf.writestr("retrotool.json", json.dumps(doc) if not isinstance(doc, bytes) else doc)
    return buffer.getvalue()


def _changed(path: str, value: Any) -> dict[str, Any]:
    """DOC with the value at ``path`` (dotted; ``-`` deletes) replaced."""
    doc = copy.deepcopy(DOC)
    *parents, last = path.split(".")
    target: Any = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value == "-":
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


def _error(doc: Any) -> str:
    with pytest.raises(MovieFormatError) as info:
        movie.from_bytes(_with(doc), "m.bk2")
    message = str(info.value)
    assert "\n" not in message and message.startswith("m.bk2: retrotool.json ")
    return message.removeprefix("m.bk2: retrotool.json ")


def test_the_documents_retrotool_writes_are_valid() -> None:
    for path in EXAMPLES.glob("*.bk2"):
        with zipfile.ZipFile(path) as zf:
            validate(json.loads(zf.read("retrotool.json")))
    assert movie.from_bytes(_with(DOC)).meta["core"] == "genesis_plus_gx"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        # what issue 13 reported: each raised TypeError, ValueError or AttributeError somewhere
        ("meta.checkpoints", 5, "meta.checkpoints: must be a list, not a number"),
        ("meta.checkpoints", {"frame": 1}, "meta.checkpoints: must be a list, not an object"),
        ("meta.checkpoints", ["x"], "meta.checkpoints[0]: must be an object, not a string"),
        ("meta.options", ["a", "b"], "meta.options: must be an object, not a list"),
        ("meta.core", 7, "meta.core: must be a string, not a number"),
        # a movie names its core by name, never by a path (the library's constructor would run)
        ("meta.core", "/tmp/x.so", "meta.core: '/tmp/x.so' is not a core name such as genesis_plus_gx"),
        ("meta.core", "./x.so", "meta.core: './x.so' is not a core name"),
        ("meta.core", "genesis_plus_gx_libretro.so", "is not a core name"),
        ("meta.core", "..", "meta.core: '..' is not a core name"),
        ("meta.core", "C:\\cores\\x.dll", "is not a core name"),
        ("meta.core", "", "meta.core: '' is not a core name"),
        # a ROM is named by a plain file name, never a path out of the movie's folder
        ("meta.rom_name", "../../etc/hostname", "meta.rom_name: '../../etc/hostname' is not a plain file name"),
        ("meta.rom_name", "/etc/hostname", "is not a plain file name"),
        ("meta.rom_name", "..", "meta.rom_name: '..' is not a plain file name"),
        ("meta.rom_name", "a\x00b", "is not a plain file name"),
        ("meta.rom_name", "x" * 300, "meta.rom_name: is 300 characters long, more than 255"),
        ("meta.options.genesis_plus_gx_bram", 1, "meta.options.genesis_plus_gx_bram: must be a string, not a number"),
        ("meta.options", {f"k{i}": "v" for i in range(300)}, "meta.options: has 300 entries, more than 256"),
        ("meta.content_sha1", "A8BE" * 10, "meta.content_sha1: 'A8BEA8BE" ),
        ("meta.content_sha1", "abc", "is not 40 lowercase hex digits"),
        ("meta.checkpoints.0.frame", -1, "meta.checkpoints[0].frame: -1 is not in 0..1099511627776"),
        ("meta.checkpoints.0.frame", True, "meta.checkpoints[0].frame: must be an integer, not a boolean"),
        ("meta.checkpoints.0.frame", 1.0, "must be an integer, not a number"),
        ("meta.checkpoints.0.ram_sha256", "00", "meta.checkpoints[0].ram_sha256: '00' is not 64 lowercase hex digits"),
        ("meta.checkpoints.0.screen_sha256", "-", "meta.checkpoints[0]: lacks screen_sha256"),
        ("meta.checkpoint_every", 0, "meta.checkpoint_every: 0 is not in 1..1099511627776"),
        ("meta.checkpoint_every", 10**400, "meta.checkpoint_every: the number is not in 1..1099511627776"),
        ("meta.recorder", ["x"], "meta.recorder: must be a string, not a list"),
        ("meta.core_version", "v1\nFAKE", "meta.core_version: 'v1\\nFAKE' is not text without control characters"),
        ("meta.unknown", "x" * 70_000, "meta: holds more than 65536 bytes of keys retrotool does not know"),
        ("meta", [], "meta: must be an object, not a list"),
        ("format", 2, "format: 2 is not in 1..1"),
        ("system", 3, "system: must be a string, not a number"),
        ("system", "../x", "system: '../x' is not a system name"),
    ],
)
def test_a_wrong_field_is_named(path: str, value: Any, expected: str) -> None:
    assert expected in _error(_changed(path, value))


def test_the_document_must_be_an_object() -> None:
    assert _error([1, 2]) == "the document: must be an object, not a list"
    assert _error(None) == "the document: must be an object, not null"


@pytest.mark.parametrize("name", ["genesis_plus_gx", "retrotool_testcore", "mesen-s", "bsnes2014_accuracy"])
def test_core_names_of_libretro_cores_are_accepted(name: str) -> None:
    assert movie.from_bytes(_with(_changed("meta.core", name))).meta["core"] == name


def test_unknown_keys_are_kept_verbatim() -> None:
    m = movie.from_bytes(_with(_changed("meta.future", {"a": [1, 2]})))
    assert m.meta_json()["future"] == {"a": [1, 2]}


def test_bad_json_and_depth_are_still_named() -> None:
    with pytest.raises(MovieFormatError, match="retrotool.json is not valid JSON"):
        movie.from_bytes(_with(b"{nope"))
    with pytest.raises(MovieFormatError, match="retrotool.json is not valid JSON"):
        movie.from_bytes(_with(b'{"meta": {"checkpoint_every": 1' + b"0" * 5000 + b"}}"))


def test_schema_errors_say_where() -> None:
    with pytest.raises(SchemaError, match=r"^meta\.options key '\\x01': '\\x01' is not an option name$"):
        validate(_changed("meta.options", {"\x01": "v"}))


def test_the_writer_refuses_what_the_reader_would() -> None:
    m = Movie(system="Genesis", buttons=np.zeros((2, 1, 12), np.uint8), meta={"core": "/tmp/x.so"})
    with pytest.raises(MovieFormatError, match=r"cannot write this movie's retrotool.json: meta\.core: '/tmp/x.so'"):
        movie.to_bytes(m)


def test_checkpoints_of_the_wrong_type_given_through_the_api() -> None:
    m = Movie(system="Genesis", buttons=np.zeros((2, 1, 12), np.uint8), meta={"checkpoints": 5})
    with pytest.raises(MovieFormatError, match="meta.checkpoints must be a list, not int"):
        m.checkpoints  # noqa: B018
