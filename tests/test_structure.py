"""The package's shape (house style 6-7): no import cycle between photokosh's modules, counting
imports inside functions too, and no module importing another module's `_private` name.

Read with `ast` from every photokosh/**/*.py, so subpackages are checked as they appear.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "photokosh"


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("photokosh", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(module imported, name taken from it or None, line) for every import in `module`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found += _imports_of(node, module)
    return [(target, name, line) for target, name, line in found
            if target == "photokosh" or target.startswith("photokosh.")]


def _imports_of(node: ast.Import | ast.ImportFrom,
                module: str) -> list[tuple[str, str | None, int]]:
    if isinstance(node, ast.Import):
        return [(alias.name, None, node.lineno) for alias in node.names]
    base = node.module or ""
    if node.level:
        package = _package_of(module).split(".")
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([base] if base else []))
    found = []
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in MODULES:  # `from . import organize`: the module itself
            found.append((submodule, None, node.lineno))
        else:
            found.append((base, alias.name, node.lineno))
    return found


def _private_attributes(module: str) -> list[tuple[str, str, int]]:
    """(module, name, line) for every `mod._name` read off a photokosh module imported as a
    whole (`from . import thumbs` ... `thumbs._cut`)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias, (target, name, _) in zip(node.names, _imports_of(node, module),
                                                strict=True):
                plain = isinstance(node, ast.Import) and not alias.asname  # binds `photokosh`
                if name is None and target in MODULES and not plain:
                    bound[alias.asname or alias.name] = target
    return [(bound[node.value.id], node.attr, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in bound and node.attr.startswith("_")
            and not node.attr.startswith("__")]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in _imports(module):
            while target not in MODULES:  # `import photokosh.x.y` as a plain name
                target = target.rpartition(".")[0]
            if target != module:
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    graph = _graph()
    cycles = _cycles(graph)
    edges = [f"{a} -> {b}" for cycle in cycles for a in cycle for b in sorted(graph[a])
             if b in cycle]
    assert not cycles, "import cycles (module-level or inside functions):\n" + "\n".join(edges)


def test_no_module_imports_a_private_name_of_another():
    borrowed = []
    for module, path in MODULES.items():
        for target, name, line in _imports(module):
            private = name is not None and name.startswith("_") and not name.startswith("__")
            if private and target != module:
                borrowed.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} from {target}")
        for target, name, line in _private_attributes(module):
            if target != module:
                borrowed.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {target}.{name}")
    assert not borrowed, "private names imported from another module:\n" + "\n".join(borrowed)


def test_the_checks_see_cycles_and_private_names(tmp_path, monkeypatch):
    """The checks themselves: a made-up cycle and made-up borrowings are found, and the real
    graph has edges."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    fake = tmp_path / "fake.py"
    fake.write_text("from . import thumbs\nfrom .cluster import _relabel, cluster_faces\n\n"
                    "def f():\n    from .pipeline import sort_photos\n    return thumbs._cut\n")
    monkeypatch.setitem(MODULES, "photokosh.fake", fake)
    assert [(t, n) for t, n, _ in _imports("photokosh.fake")] == [
        ("photokosh.thumbs", None), ("photokosh.cluster", "_relabel"),
        ("photokosh.cluster", "cluster_faces"), ("photokosh.pipeline", "sort_photos")]
    assert _private_attributes("photokosh.fake") == [("photokosh.thumbs", "_cut", 6)]
    assert "photokosh.pipeline" in _graph()["photokosh.fake"]  # inside a function counts
    assert "photokosh.state" in _graph()["photokosh.pipeline"]
    assert ("photokosh.organize", None) in [(t, n) for t, n, _ in _imports("photokosh.pipeline")]


def test_the_readme_stage_table_names_every_module():
    """README's "How it works" names each module with its one job: a module added without a
    line there has no stated job (and no file may hold two: house style 5)."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:cli/|app/)?\w+\.py)`", section))
    files = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    assert files - named == set(), "modules the README's stage table does not name"
    assert named - files == set(), "the README's stage table names modules that do not exist"
    too_long = {f: n for f in files
                if (n := len((PACKAGE / f).read_text(encoding="utf-8").splitlines())) > 350}
    assert too_long == {}, "files past ~350 lines have two jobs: split them"
