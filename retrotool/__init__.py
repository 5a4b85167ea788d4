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

__all__ = ["__version__"]
