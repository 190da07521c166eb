"""The house stays one-way: every import of every module is read (AST, nothing executed) and
checked against the floors ``schema <- loaders <- extractors <- kg`` (each imports only the floors
below it), the rule that the graph core inside ``kg/`` never imports the extractors or the
applications, and the absence of module-level import cycles. docs/ARCHITECTURE.md draws the house.

The checker is a plain function over a source root, so the test can show it failing on a tiny
tree with deliberate bad imports (``tests/fixtures/layering``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import FIXTURES, REPO

FLOORS = {"schema": 1, "loaders": 2, "extractors": 3, "kg": 4}
"""Top-level package -> floor; a module may import its own floor and the floors below."""

KG_CORE = ("kg.store", "kg.cypher", "kg.build", "kg.export", "kg.bulk", "kg.query_guard", "kg.config", "kg.errors", "kg.records")
"""The graph core: it must not import the extractors or the applications."""

KG_APPLICATIONS = ("kg.cli", "kg.api", "kg.batch", "kg.interactions", "kg.diagnosis", "kg.jobs")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (or the package/module a name is imported from)
    line: int
    top_level: bool  # executed when the module is imported (not inside a function)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(root: Path, module: str) -> bool:
    return (root.joinpath(*module.split(".")) / "__init__.py").is_file()


def _exists(root: Path, module: str) -> bool:
    base = root.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _top_level_nodes(tree: ast.Module) -> set[int]:
    """ids of the import nodes that run at import time: module body, also inside if/try/with
    blocks, but not inside functions or classes' methods (lazy imports)."""
    out: set[int] = set()

    def walk(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                out.add(id(node))
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []) or []:
                        walk(child.body if isinstance(child, ast.ExceptHandler) else [child])
            elif isinstance(node, ast.ClassDef):
                walk(node.body)

    walk(tree.body)
    return out


def read_imports(root: Path) -> Iterator[Import]:
    """Every import of the project's packages under ``root``, with relative imports resolved and
    ``from package import submodule`` pointing at the submodule."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] not in FLOORS:
            continue
        module = _module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        eager = _top_level_nodes(tree)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*base_parts, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if _exists(root, sub) else base)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module" \
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                targets = [node.args[0].value]
            for target in targets:
                if target.split(".")[0] in FLOORS:
                    yield Import(module, target, node.lineno, id(node) in eager)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def floor_violations(root: Path) -> list[str]:
    """Imports against the floors, and graph-core imports of extractors or applications."""
    bad = []
    for imp in read_imports(root):
        src, dst = imp.module.split(".")[0], imp.target.split(".")[0]
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        if FLOORS[dst] > FLOORS[src]:
            bad.append(f"{where} (floor {dst} is above {src})")
        elif _within(imp.module, KG_CORE) and (dst == "extractors" or _within(imp.target, KG_APPLICATIONS)):
            bad.append(f"{where} (the graph core imports no extractor or application)")
    return bad


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of modules that import each other at import time (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in read_imports(root):
        if imp.top_level and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_imports_respect_the_floors() -> None:
    assert floor_violations(REPO) == []


def test_no_module_level_import_cycles() -> None:
    assert import_cycles(REPO) == []


def test_the_checker_fails_on_bad_imports() -> None:
    """The deliberately broken tree: schema imports kg, loaders imports extractors (lazily, which
    still counts), the graph core imports an application, and two modules import each other."""
    bad = FIXTURES / "layering"
    violations = floor_violations(bad)
    assert any(v.startswith("schema.records:") and "imports kg.build" in v for v in violations), violations
    assert any(v.startswith("loaders.reader:") and "imports extractors.ner" in v for v in violations), violations
    assert any(v.startswith("kg.build:") and "imports kg.cli" in v for v in violations), violations
    assert import_cycles(bad) == [["kg.cli.a", "kg.cli.b"]]
