"""Locating data files shipped with retrotool, the one way for every install mode.

In a wheel install the files sit inside the package (`retrotool/_systems`,
`_cores`, `_data`, `_roms`). In an editable install meson-python serves the
package through a loader whose resources are not plain folders, and in a
source checkout nothing is installed: there the files are read from the
source tree, where they are kept.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent


def data_dir(installed: str, source: str) -> Path:
    """`retrotool/<installed>` when it is a real folder, else `<checkout>/<source>`."""
    packaged = importlib.resources.files("retrotool") / installed
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return _SOURCE / source
