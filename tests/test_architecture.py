"""Architecture rules, checked on the source with ``ast`` (nothing is imported):

1. No import cycle inside ``playground/``: module-level and function-level imports alike (a
   function-level import is how a cycle hides), relative imports resolved, and
   ``from playground.x import y`` counted as an import of the submodule ``playground.x.y`` when
   ``y`` is one (as import-linter / grimp count it).
2. Streamlit is imported only by the UI: ``app.py``, ``pages/`` and ``playground/ui/``.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "playground"

# Each entry is the set of modules of one cycle (a strongly connected component of the graph).
ALLOWED_CYCLES: set[frozenset[str]] = set()  # none: keep it that way

UI_PATHS = ("app.py", "pages/", "playground/ui/")
# The test harness drives the pages headless (streamlit.testing.AppTest); it is not the app.
HARNESS_PATHS = ("tests/", "bench/")
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"}


# --- the import graph ------------------------------------------------------------------------
def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package`` (``__init__`` = the package)."""
    out: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        if SKIP_DIRS & set(path.relative_to(root).parts):
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(module: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of the package that ``module`` imports anywhere in its file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(name: str) -> None:
        # the longest prefix of ``name`` that is one of our modules
        parts = name.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in modules:
                found.add(candidate)
                return
            parts.pop()

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            source = (_resolve_relative(module, is_package, node.level, node.module)
                      if node.level else node.module or "")
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                add(sub if sub in modules else source)
    found.discard(module)
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    files = module_files(root, package)
    names = set(files)
    return {m: imports_of(m, p, names) for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
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
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle through the component's first module: ``a -> b -> ... -> a``."""
    members = set(component)
    start = component[0]
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:  # breadth-first, inside the component only
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [*reversed(path), start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return component  # pragma: no cover - a component always has a cycle through each member


def _write(tmp: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return tmp


# --- the checker finds what it must ----------------------------------------------------------
def test_checker_sees_function_level_relative_and_submodule_imports(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "from pkg import a  # noqa\n",
        "pkg/a.py": "def f():\n    from pkg.sub import b\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/b.py": "from ..c import X\n",
        "pkg/c.py": "import os\nfrom . import a\nX = 1\n",
        "pkg/d.py": "from pkg import sub\nfrom pkg.c import X\n",
    })
    g = import_graph(root, "pkg")
    assert g["pkg"] == {"pkg.a"}
    assert g["pkg.a"] == {"pkg.sub.b"}  # function-level, and `b` is a submodule
    assert g["pkg.sub.b"] == {"pkg.c"}  # relative, two levels
    assert g["pkg.c"] == {"pkg.a"}  # `from . import a`
    assert g["pkg.d"] == {"pkg.sub", "pkg.c"}  # a package, and a name from a module
    comps = cycles(g)
    assert comps == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    path = cycle_path(g, comps[0])
    assert path[0] == path[-1] == "pkg.a" and len(path) == 4
    assert all(b in g[a] for a, b in zip(path, path[1:]))


def test_checker_passes_an_acyclic_package(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import Y\n",
        "pkg/b.py": "def f():\n    import pkg.c\n",
        "pkg/c.py": "import json\n",
    })
    g = import_graph(root, "pkg")
    assert g["pkg.a"] == {"pkg.b"} and g["pkg.b"] == {"pkg.c"}
    assert cycles(g) == []


# --- the rules on this repository ------------------------------------------------------------
def test_no_import_cycle_inside_playground():
    g = import_graph()
    assert "playground.build" in g and "playground.blocks.composite" in g
    found = cycles(g)
    unexpected = [c for c in found if frozenset(c) not in ALLOWED_CYCLES]
    messages = [" -> ".join(cycle_path(g, c)) for c in unexpected]
    assert not unexpected, "import cycle(s) inside playground/:\n" + "\n".join(messages)


def test_known_cycles_still_exist():
    """A cycle that is gone (or changed) must leave the allowances: they never outlive it."""
    found = {frozenset(c) for c in cycles(import_graph())}
    stale = [sorted(c) for c in ALLOWED_CYCLES if c not in found]
    assert not stale, f"no longer a cycle as listed, update ALLOWED_CYCLES: {stale}"


def _python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py")
                  if not SKIP_DIRS & set(p.relative_to(root).parts))


def streamlit_imports(path: Path) -> list[int]:
    """Line numbers of ``import streamlit...`` / ``from streamlit... import`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name == "streamlit" or a.name.startswith("streamlit.") for a in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module and (
                node.module == "streamlit" or node.module.startswith("streamlit.")):
            lines.append(node.lineno)
    return sorted(lines)


def test_streamlit_import_finder(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("import os\nimport streamlit as st\ndef f():\n    from streamlit.testing.v1 "
                 "import AppTest\nimport streamlitish\nx = 'import streamlit'\n")
    assert streamlit_imports(p) == [2, 4]


def test_streamlit_only_in_the_ui():
    allowed = UI_PATHS + HARNESS_PATHS
    offenders = []
    for path in _python_files(ROOT):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(allowed) or rel in allowed:
            continue
        offenders += [f"{rel}:{line}" for line in streamlit_imports(path)]
    assert not offenders, ("streamlit imported outside app.py, pages/ and playground/ui/: "
                           + ", ".join(offenders))
