"""The package's shape, checked so it cannot drift: import direction, the one native door, module and function sizes.

Layers, from the bottom (docs/architecture.md draws them): a module may import
modules of its own layer or below, never above. `retrotool/__init__.py` is the
curated public API: it imports its exports lazily, so it sits at the bottom
for whoever imports `__version__` from it, and its own lazy imports are not
edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "retrotool"

LAYERS: dict[str, int] = {
    # leaves: what everything may use
    "retrotool": 0, "retrotool.errors": 0, "retrotool.resources": 0, "retrotool.interrupts": 0,
    "retrotool.pictures": 0, "retrotool.sinks.contract": 0, "retrotool.outputs": 0, "retrotool.paths": 0,
    "retrotool.schema": 0, "retrotool.charts": 0,
    # data and formats
    "retrotool.systems": 1, "retrotool.movie": 1, "retrotool.integration.statefiles": 1,
    # the native door, and process isolation
    "retrotool.native": 2, "retrotool.isolation": 2,
    "retrotool.cores": 3, "retrotool.memory": 3, "retrotool.variables": 3,
    "retrotool.ram.layout": 3, "retrotool.ram.codes": 3, "retrotool.ram.search": 3,
    "retrotool.games": 4, "retrotool.emulator": 4, "retrotool.integration.folders": 4,
    "retrotool.session": 5, "retrotool.replay": 5,
    # sinks and the parts of the product's verbs
    "retrotool.sinks": 6, "retrotool.view": 6, "retrotool.video": 6, "retrotool.datasets": 6, "retrotool.record": 6,
    "retrotool.ram": 6, "retrotool.integration": 6, "retrotool.ahead": 6,
    "retrotool.playback": 7, "retrotool.catalog": 7, "retrotool.segments": 7,
    # the verbs themselves
    "retrotool.record.scripted": 8, "retrotool.record.live": 8, "retrotool.record.recover": 8,
    "retrotool.record.agent": 8, "retrotool.video.render": 8, "retrotool.datasets.dump": 8, "retrotool.indexing": 8,
    "retrotool.editing": 8, "retrotool.datasets.episode": 8,
    "retrotool.ram.hunt": 8, "retrotool.ram.watch": 8, "retrotool.integration.states": 8,
    "retrotool.integration.scaffold": 8, "retrotool.integration.check": 8,
    # Gymnasium environments: the parts (actions, arguments), then the env that steps the loop, then many envs
    "retrotool.env.actions": 6, "retrotool.env.options": 6, "retrotool.env.stepper": 8, "retrotool.env": 8,
    "retrotool.cli": 9, "retrotool.__main__": 10,
}
LEAVES = {  # module (or package) -> the only project modules it may import
    "retrotool.errors": set(),
    "retrotool.sinks.contract": set(),
    "retrotool.pictures": set(),
    "retrotool.paths": set(),
    "retrotool.schema": {"retrotool.paths"},
    "retrotool.movie": {"retrotool.errors", "retrotool.systems", "retrotool.outputs", "retrotool.movie"},
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    """The layer of the most specific prefix that names one."""
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:k]))
        if layer is not None:
            return layer
    raise AssertionError(f"{module} has no layer in LAYERS: add it (and to docs/architecture.md)")


def _imports(module: str) -> set[str]:
    """Project modules `module` imports (`from retrotool import x` names module x when there is one)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("retrotool"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if not base.startswith("retrotool"):
                continue
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


def _third_party(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    return names


def test_imports_point_down() -> None:
    upward = []
    for module in MODULES:
        if module == "retrotool":
            continue  # lazy exports
        for target in _imports(module):
            if _layer(target) > _layer(module):
                upward.append(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})")
    assert not upward, "imports that point up:\n" + "\n".join(sorted(upward))


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_only_what_they_may(leaf: str) -> None:
    allowed = LEAVES[leaf] | {"retrotool.errors"} if leaf != "retrotool.errors" else set()
    for module in (m for m in MODULES if m == leaf or m.startswith(leaf + ".")):
        extra = {t for t in _imports(module) if not any(t == a or t.startswith(a + ".") for a in allowed)}
        assert not extra, f"{module} is a leaf but imports {sorted(extra)}"


def test_the_sink_contract_needs_only_numpy() -> None:
    assert _third_party("retrotool.sinks.contract") - {"__future__", "collections", "dataclasses", "typing"} == {"numpy"}


def test_only_native_imports_ctypes() -> None:
    users = sorted(m for m in MODULES if "ctypes" in _third_party(m))
    assert users == ["retrotool.native"]


def test_nothing_but_the_entry_points_imports_the_cli() -> None:
    users = sorted(m for m in MODULES if any(t.startswith("retrotool.cli") for t in _imports(m)) and not m.startswith("retrotool.cli"))
    assert users == ["retrotool.__main__"]


def test_modules_and_functions_stay_small() -> None:
    offenders = []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            offenders.append(f"{path.relative_to(PACKAGE.parent)}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {length} lines")
    assert not offenders, f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function:\n" + "\n".join(offenders)
