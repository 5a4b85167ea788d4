"""The optional packages of a dataset format: a missing one is said before any movie runs, the rest load meanwhile.

Importing `datasets` takes most of a second, pandas and pyarrow a fifth; the
replay leaves a CPU free for it, so the build at the end of a dump finds
them loaded.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable


def prepare(load: Callable[[], object], packages: tuple[str, ...]) -> None:
    """Call `load` now if one of `packages` is missing (it raises, naming the extra), else in a thread."""
    if any(importlib.util.find_spec(p) is None for p in packages):
        load()
    threading.Thread(target=_quietly, args=(load,), name=f"import-{'-'.join(packages)}", daemon=True).start()


def _quietly(load: Callable[[], object]) -> None:
    try:
        load()
    except Exception:  # noqa: BLE001 - the build loads them again and reports
        pass
