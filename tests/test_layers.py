"""The library's shape: no import cycle between its packages, and the hub above the web service.

Each package of ``aphos_lib`` (``aphos_lib.db``, ``aphos_lib.web``, ...) and each top-level
module (``aphos_lib.photometry``) is one node; an import anywhere in it, at module level or
inside a function, is an edge. The imports are read from the source, so nothing is imported.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[1] / "aphos_lib"


def node(module: str) -> str:
    """``aphos_lib.db.catalogue`` -> ``aphos_lib.db``; ``aphos_lib.search`` stays itself."""
    return ".".join(module.split(".")[:2])


def imports() -> dict[tuple[str, str], list[str]]:
    """``{(importer node, imported node): ["file:line", ...]}`` over the whole library."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in LIBRARY.rglob("*.py"):
        relative = path.relative_to(LIBRARY.parent)
        if "migrations" in relative.parts:
            continue  # alembic's scripts, run by alembic alone
        importer = node(".".join(relative.with_suffix("").parts))
        for statement in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(statement, ast.ImportFrom) and statement.level == 0:
                names = [f"{statement.module}.{alias.name}" for alias in statement.names]
            elif isinstance(statement, ast.Import):
                names = [alias.name for alias in statement.names]
            else:
                continue
            for name in names:
                if name.startswith("aphos_lib.") and node(name) != importer:
                    edges[importer, node(name)].append(f"{relative}:{statement.lineno}")
    return edges


def cycles(edges) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm)."""
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    edges = {("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({("a", "b"): [], ("b", "c"): []}) == []


def test_no_package_imports_one_that_imports_it_back():
    edges = imports()
    assert ("aphos_lib.hub", "aphos_lib.web") in edges  # the reading works: a known import
    found = cycles(edges)
    where = {
        tuple(c): [f"{a} -> {b}: {edges[a, b][:3]}" for a in c for b in c if (a, b) in edges]
        for c in found
    }
    assert not found, where


def test_the_web_service_never_imports_the_hub():
    edges = imports()
    assert ("aphos_lib.web", "aphos_lib.hub") not in edges, edges.get(
        ("aphos_lib.web", "aphos_lib.hub")
    )


# SQL keywords as the code writes them (upper case) at the start of a statement or clause.
SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE|ALTER|GRANT|REVOKE|COPY \w+"
    r"|FROM \w+ (WHERE|JOIN)|WITH RECURSIVE)\b"
)


def sql_in(path: Path) -> list[int]:
    """Lines of ``path`` where a string (not a docstring) holds an SQL statement."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = set()
    for owner in ast.walk(tree):
        body = getattr(owner, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docstrings.add(id(body[0].value))
    return [
        item.lineno
        for item in ast.walk(tree)
        if isinstance(item, ast.Constant)
        and isinstance(item.value, str)
        and id(item) not in docstrings
        and SQL_WORDS.search(item.value)
    ]


def test_sql_is_written_in_the_query_layer_only():
    holding = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        relative = path.relative_to(LIBRARY.parent).as_posix()
        if relative.startswith(("aphos_lib/queries/", "aphos_lib/db/migrations/")):
            continue
        if lines := sql_in(path):
            holding[relative] = lines
    assert sql_in(LIBRARY / "queries" / "observers.py")  # the search sees SQL where it is
    assert not holding, f"SQL outside aphos_lib/queries/: {holding}"
