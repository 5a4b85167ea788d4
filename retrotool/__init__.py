"""retrotool: record, replay, render and mine libretro gameplay movies.

Importing retrotool loads no native library and touches no file; the first
Emulator loads the host. `retrotool.make` (and `make_vec`, `Actions`,
`State`, `Observations`) are stable-retro's names, from `retrotool.env`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("retrotool")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["Actions", "Observations", "Recorder", "State", "__version__", "make", "make_vec"]

_ENV = {"make", "make_vec", "Actions", "Observations", "State"}  # stable-retro's names, from retrotool.env


def __getattr__(name: str) -> object:
    """The exports are imported on first use, so importing retrotool stays free (no gymnasium, no library)."""
    if name == "Recorder":
        from retrotool.record.agent import Recorder

        return Recorder
    if name in _ENV:
        import retrotool.env

        return getattr(retrotool.env, name)
    raise AttributeError(f"module 'retrotool' has no attribute {name!r}")
