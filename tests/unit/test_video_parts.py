"""The pure parts of rendering: rates, resizing, settings checks, the font and the overlays."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from retrotool.errors import RetroToolError
from retrotool.pictures import fit
from retrotool.variables import Variable
from retrotool.video import font
from retrotool.video.mux import wav_rate
from retrotool.video.overlay import OFF, ON, ButtonsOverlay, InfoOverlay, short_name
from retrotool.video.sink import VideoSettings, rational


def test_rational_keeps_the_cores_exact_rate() -> None:
    assert rational(59.922743) == Fraction(59922743, 1000000)
    assert rational(60.0) == 60
    nes = 60.0988138974405
    assert abs(float(rational(nes)) - nes) < 1e-11  # ffmpeg's own parsing would keep 60.10


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(44100.0, (44100, 1, None)), (32040.5, (64081, 2, None)), (32040.25, (128161, 4, None))],
)
def test_wav_rate_is_exact_for_integer_and_simple_fractions(rate: float, expected) -> None:
    assert wav_rate(rate) == expected


def test_wav_rate_otherwise_corrects_the_tempo() -> None:
    hz, repeat, tempo = wav_rate(32040.123)
    assert (hz, repeat) == (32040, 1) and tempo is not None
    # played at the declared rate and sped up by tempo, the audio lasts exactly as long as at the true rate
    samples = 3600 * 32040.123
    assert abs(samples / (hz * tempo) - 3600) < 1e-9


def test_fit_resizes_by_nearest_neighbour() -> None:
    frames = np.arange(2 * 2 * 4 * 3, dtype=np.uint8).reshape(2, 2, 4, 3)
    big = fit(frames, 4, 8)
    assert big.shape == (2, 4, 8, 3)
    assert np.array_equal(big[:, ::2, ::2], frames) and np.array_equal(big[:, 1::2, 1::2], frames)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (VideoSettings(scale=0), "--scale"),
        (VideoSettings(crf=52), "--crf"),
        (VideoSettings(crop=(0, 0, 0, 10)), "--crop"),
        (VideoSettings(start=100), "--start 100 --end 100"),
        (VideoSettings(start=10, end=5), "empty"),
        (VideoSettings(end=101), "outside the movie's 100 frames"),
    ],
)
def test_settings_are_checked_against_the_movie(settings: VideoSettings, message: str) -> None:
    with pytest.raises(RetroToolError, match=message):
        settings.check(100)


def test_settings_end_defaults_to_the_movie_end() -> None:
    assert VideoSettings().check(100) == 100 and VideoSettings(start=5, end=50).check(100) == 50


def test_font_draws_every_glyph_and_marks_unknown_ones() -> None:
    mask = font.text_mask("A1")
    assert mask.shape == (5, 7) and not mask.flags.writeable
    assert not mask[:, 3].any()  # the blank column between glyphs
    assert np.array_equal(font.text_mask("a"), font.text_mask("A"))
    assert np.array_equal(font.text_mask("é"), font.text_mask("?"))
    assert font.text_mask("").shape == (5, 0)


def test_label_is_a_box_in_two_colours() -> None:
    image = font.label("B", (255, 255, 255), (0, 0, 0))
    assert image.shape == (7, 5, 3)
    lit = (image == 255).all(axis=2)
    assert np.array_equal(lit[1:6, 1:4], font.text_mask("B")) and not lit[0].any()


def test_short_names() -> None:
    assert [short_name(b) for b in ("UP", "START", "A", "L2", "SELECT", "III", "BUTTON")] == [
        "↑", "ST", "A", "L2", "SE", "III", "FI"
    ]


def _box_colours(frames: np.ndarray, overlay: ButtonsOverlay, button: int) -> list[tuple[int, ...]]:
    """The background colour of a button's box (its top-left pixel) in each frame."""
    y, x = next((y, x) for c, y, x in overlay._placed if c.button == button)
    return [tuple(int(v) for v in f[y, x]) for f in frames]


def test_buttons_overlay_lights_held_buttons_per_frame() -> None:
    buttons = ("B", "A", "START", "UP", "DOWN", "LEFT", "RIGHT")
    overlay = ButtonsOverlay(buttons, players=2, width=160, height=144)
    held = np.zeros((3, 2, len(buttons)), np.uint8)
    held[1, 0, 1] = 1  # frame 1: player 1 holds A
    frames = np.full((3, 144, 160, 3), 77, np.uint8)
    overlay.draw(frames, held)
    assert _box_colours(frames, overlay, 1)[:2] == [OFF[1], ON[1]]
    assert frames[:, :100].max() == 77 == frames[:, :100].min()  # the picture above is untouched
    # the D-pad comes first on each line
    first = [c.button for c, _, _ in overlay._placed if c.player == 0 and c.button >= 0][:4]
    assert [buttons[b] for b in first] == ["UP", "DOWN", "LEFT", "RIGHT"]


def test_buttons_overlay_wraps_and_clips_on_a_small_picture() -> None:
    buttons = tuple(f"B{i}" for i in range(12))
    overlay = ButtonsOverlay(buttons, players=1, width=40, height=12)
    rows = {y for _, y, _ in overlay._placed}
    assert len(rows) > 1  # wrapped
    frames = np.zeros((1, 12, 40, 3), np.uint8)
    overlay.draw(frames, np.ones((1, 1, 12), np.uint8))  # boxes below the picture are clipped, not an error


def test_info_overlay_draws_each_frames_values() -> None:
    variables = {"lives": Variable("lives", 0, "|u1"), "score": Variable("score", 1, "|u1"),
                 "gone": Variable("gone", 9, "|u1")}
    overlay = InfoOverlay(variables)
    frames = np.zeros((3, 40, 80, 3), np.uint8)
    overlay.draw(frames, {"lives": np.array([3, 3, 2]), "score": np.array([12, 12, 12])})
    assert frames[0, 1:8, 1:60].any() and frames[0, 9:16, 1:60].any() and frames[0, 17:24, 1:60].any()
    assert np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[1], frames[2])
    again = np.zeros((1, 40, 80, 3), np.uint8)
    overlay.draw(again, {"lives": np.array([3]), "score": np.array([12])})  # back to the first values
    assert np.array_equal(again[0], frames[0])
