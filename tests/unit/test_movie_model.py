"""The Movie value: validation, immutability, equality, derived data."""

from __future__ import annotations

import numpy as np
import pytest

from retrotool.errors import MovieFormatError
from retrotool.movie import Checkpoint, Movie


def _buttons(frames: int = 4, players: int = 1, width: int = 12) -> np.ndarray:
    return np.random.default_rng(frames).integers(0, 2, (frames, players, width), dtype=np.uint8)


def test_fields_are_normalised_and_read_only() -> None:
    source = _buttons()
    movie = Movie(system="genesis", buttons=source, header=[("GameName", "X")], meta={"a": [1, {"b": 2}]})
    assert movie.system == "Genesis"
    assert (movie.frames, movie.players) == (4, 1)
    assert movie.header == (("GameName", "X"),)
    with pytest.raises(ValueError):
        movie.buttons[0, 0, 0] = 1
    source[:] = 0  # the movie holds its own copy
    assert movie.buttons.any()
    assert movie.meta["a"][1]["b"] == 2
    with pytest.raises(TypeError):
        movie.meta["a"] = 3  # type: ignore[index]
    assert movie.meta_json() == {"a": [1, {"b": 2}]}


def test_equality_compares_arrays_by_value() -> None:
    a = Movie(system="Genesis", buttons=_buttons(), state=b"s")
    b = Movie(system="Genesis", buttons=_buttons(), state=b"s")
    assert a == b
    assert a != a.replace(state=b"t")
    assert a != a.replace(buttons=np.zeros_like(a.buttons))
    assert a != a.with_meta(core="x")
    assert a.__eq__(42) is NotImplemented


def test_power_on_movies_are_libretro() -> None:
    assert Movie(system="Nes", buttons=_buttons(width=8), state_format="bizhawk").state_format == "libretro"


def test_unpressed_console_columns_are_dropped_and_sorted() -> None:
    console = np.array([[0, 1, 0], [0, 0, 1]], np.uint8)
    movie = Movie(system="Nes", buttons=_buttons(2, width=8), console=console, console_names=("Reset", "Power", "A"))
    assert movie.console_names == ("A", "Power")
    assert movie.console.tolist() == [[0, 1], [1, 0]]
    plain = Movie(system="Nes", buttons=_buttons(2, width=8))
    assert plain == Movie(system="Nes", buttons=_buttons(2, width=8), console=np.zeros((2, 1)), console_names=("X",))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"buttons": np.zeros((2, 1, 11), np.uint8)}, "Genesis has 12 buttons"),
        ({"buttons": np.zeros((2, 3, 12), np.uint8)}, "1 to 2 players"),
        ({"buttons": np.full((2, 1, 12), 2, np.uint8)}, "only 0"),
        ({"buttons": np.zeros((2, 12), np.uint8)}, "3 dimensions"),
        (
            {"buttons": np.zeros((2, 1, 12), np.uint8), "console": np.zeros((3, 1)), "console_names": ("Reset",)},
            "shape",
        ),
        ({"buttons": np.zeros((2, 1, 12), np.uint8), "state_format": "snes9x"}, "state_format"),
    ],
)
def test_invalid_values_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Movie(system="Genesis", **kwargs)  # type: ignore[arg-type]


def test_meta_must_be_json() -> None:
    with pytest.raises(TypeError):
        Movie(system="Genesis", buttons=_buttons(), meta={"x": object()})


def test_checkpoints() -> None:
    movie = Movie(system="Genesis", buttons=_buttons())
    assert movie.checkpoints == ()
    points = (Checkpoint(10, "ab" * 32, "cd" * 32), Checkpoint(20, "ef" * 32, "01" * 32))
    with_points = movie.with_checkpoints(points)
    assert with_points.checkpoints == points
    stored = with_points.meta_json()["checkpoints"][0]
    assert stored == {"frame": 10, "ram_sha256": "ab" * 32, "screen_sha256": "cd" * 32}
    broken = movie.with_meta(checkpoints=[{"frame": -1}])
    with pytest.raises(MovieFormatError, match="malformed checkpoint"):
        _ = broken.checkpoints


def test_masks_and_header_value() -> None:
    movie = Movie(system="Genesis", buttons=_buttons(), header=(("GameName", "A"), ("Author", "B")))
    assert movie.masks().shape == (4, 1)
    assert movie.header_value("Author") == "B"
    assert movie.header_value("SHA1", "?") == "?"


def test_repr_summarises() -> None:
    text = repr(Movie(system="Genesis", buttons=_buttons(), state=bytes(10)))
    assert "frames=4" in text and "uint8[4, 1, 12]" in text and "10 B libretro" in text
    assert len(text) < 300


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Movie(system="Genesis", buttons=_buttons()))
