"""Every exception retrotool raises on purpose, in one place.

Callers (above all the CLI) catch :class:`RetroToolError` to turn any expected
failure into a short message, so each message must stand on its own: it names
what went wrong, where (file, frame) and, when there is one, the way out.

Hierarchy::

    RetroToolError
    ├── MovieFormatError      a .bk2 file cannot be read or a Movie cannot be written
    ├── UnknownSystemError    a system name or platform id retrotool does not know
    ├── CoreError             a libretro core is missing or failed
    ├── ContentError          a ROM or other content is missing or rejected
    ├── StateError            a savestate cannot be made or loaded
    ├── DesyncError           a replay diverged from its recorded checkpoints
    ├── KeyframeError         a movie's keyframes cannot serve this replay (another core build, damaged)
    ├── OutputExistsError     refusing to overwrite an existing output file
    ├── DiskFullError         an output cannot be written: no space left (or a quota reached)
    ├── EncoderError          ffmpeg or another encoder failed
    ├── DatasetExistsError    refusing to overwrite an existing dataset
    └── SearchError           a RAM search cannot go on as asked (nothing would be left, nothing to undo)
"""

from __future__ import annotations

__all__ = [
    "ContentError",
    "CoreError",
    "DatasetExistsError",
    "DesyncError",
    "DiskFullError",
    "EncoderError",
    "KeyframeError",
    "MovieFormatError",
    "OutputExistsError",
    "RetroToolError",
    "SearchError",
    "StateError",
    "UnknownSystemError",
]


class RetroToolError(Exception):
    """Base of every error retrotool raises deliberately."""


class MovieFormatError(RetroToolError):
    """A movie file is malformed, or a Movie cannot be expressed in the asked dialect."""


class UnknownSystemError(RetroToolError):
    """A system name, platform id or extension matches no known system."""


class CoreError(RetroToolError):
    """A libretro core could not be found, loaded or run."""


class ContentError(RetroToolError):
    """Game content (a ROM) is missing, unreadable or refused by the core."""


class StateError(RetroToolError):
    """A savestate could not be serialized or restored."""


class DesyncError(RetroToolError):
    """A replay no longer matches the checkpoints recorded with its movie."""


class KeyframeError(RetroToolError):
    """A movie's keyframes cannot serve this replay: another core or core version made them, or one is damaged."""


class OutputExistsError(RetroToolError):
    """An output file already exists and overwriting was not requested."""


class DiskFullError(RetroToolError):
    """No space left on the device (or a quota reached): writing more outputs there fails alike."""


class EncoderError(RetroToolError):
    """The video/audio encoder (ffmpeg) failed."""


class DatasetExistsError(RetroToolError):
    """A dataset directory already exists and overwriting was not requested."""


class SearchError(RetroToolError):
    """A RAM search step would leave no candidate, or there is no step to undo; the search is unchanged."""
