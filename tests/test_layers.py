"""The package's layering, read from the source (no import runs): the root holds only core modules,
no module imports from a higher layer, and the imports between the package's parts have no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "infantpose"

# Low to high. A part may import its own layer's parts and any lower layer's, never a higher one.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),  # the modules at the package root: numpy / OpenCV code every role shares
    ("datasets",),
    ("stages", "synth", "clinical"),
    ("runtime",),
    ("train", "evaluate"),
    ("export",),
    ("benchmarks", "apps"),
    ("cli",),
)
LAYER_OF = {part: i for i, parts in enumerate(LAYERS) for part in parts}
# Core modules: one job each, no role of their own (a new one is added here on purpose).
CORE = {
    "deidentify", "detection", "draw", "errors", "fileio", "filters", "geometry", "heatmaps", "imagesize",
    "metrics", "onnxfiles", "posture", "preprocess", "signals", "skeleton",
}  # fmt: skip


def _part(path: Path) -> str:
    """The part of the package a file belongs to: its sub-package, or "core" for a root module."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else "core"


def _imported_parts(path: Path) -> set[str]:
    """Parts of the package that ``path`` imports (at module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "infantpose":  # from infantpose import skeleton
                names += [f"infantpose.{a.name}" for a in node.names]
        for name in names:
            bits = name.split(".")
            if bits[0] != "infantpose" or len(bits) < 2:
                continue
            head = bits[1]
            if (PACKAGE / head).is_dir():
                found.add(head)
            elif (PACKAGE / f"{head}.py").is_file():
                found.add("core")
    return found


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")  # the facade is the top


def test_the_package_root_holds_only_core_modules() -> None:
    root = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert root == CORE, f"not core, move into a role's package: {sorted(root - CORE)}; gone: {sorted(CORE - root)}"
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert parts == set(LAYER_OF) - {"core"}, f"a package without a layer: {sorted(parts - set(LAYER_OF))}"


def test_no_module_imports_from_a_higher_layer() -> None:
    wrong = [
        f"{p.relative_to(PACKAGE.parent)} ({_part(p)}) imports {other}"
        for p in _sources()
        for other in _imported_parts(p)
        if LAYER_OF[other] > LAYER_OF[_part(p)]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_parts_import_each_other_without_a_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for p in _sources():
        edges.setdefault(_part(p), set()).update(_imported_parts(p) - {_part(p)})
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*path, node, nxt])}")
            if nxt not in seen:
                visit(nxt, [*path, node])
        seen[node] = 2

    for node in sorted(edges):
        if node not in seen:
            visit(node, [])


def test_the_layer_check_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself: a core module importing the runtime is reported."""
    f = PACKAGE / "skeleton.py"
    assert _part(f) == "core"
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from infantpose.runtime.pipeline import Pipeline\n    import infantpose.cli\n")
    assert _imported_parts(probe) == {"runtime", "cli"}
