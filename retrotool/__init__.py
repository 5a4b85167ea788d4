"""retrotool: record, replay, render and mine libretro gameplay movies.

Importing retrotool loads no native library and touches no file; the first
Emulator loads the host.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("retrotool")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["Recorder", "__version__"]


def __getattr__(name: str) -> object:
    """`retrotool.Recorder` is imported on first use, so importing retrotool stays free."""
    if name == "Recorder":
        from retrotool.record.agent import Recorder

        return Recorder
    raise AttributeError(f"module 'retrotool' has no attribute {name!r}")
