"""The package layout stays as docs/ARCHITECTURE.md draws it: each subpackage imports only
the layers its row of the table allows, code outside a subpackage goes through its
``__init__`` (its public face), there are no import cycles, and no module grows past 250
lines. Read from the source with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

RAG = Path(__file__).resolve().parent.parent / "rag"
APP = RAG.parent / "app.py"
FOUNDATION = {"config", "errors", "models", "hashing", "registry", "text", "tuning", "__version__"}
ALLOWED = {  # the table in docs/ARCHITECTURE.md
    "ingest": set(),
    "index": {"ingest"},
    "retrieve": {"index"},
    "llm": set(),
    "answer": {"ingest", "index", "retrieve", "llm"},
    "engine": {"ingest", "index", "retrieve", "llm", "answer"},
    "evaluate": {"ingest", "index", "retrieve", "llm", "answer", "engine"},
    "serve": {"ingest", "index", "retrieve", "llm", "answer", "engine"},
    "testing": {"index", "llm"},
    "cli": {"ingest", "index", "retrieve", "llm", "answer", "engine", "evaluate", "serve"},
}
SUBPACKAGES = {p.name for p in RAG.iterdir() if (p / "__init__.py").exists()}
MAX_LINES = 250


def _module(path: Path) -> list[str]:
    parts = list(path.relative_to(RAG.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(path: Path) -> list[tuple[list[str], int]]:
    """Every ``rag`` module ``path`` imports from, as dotted parts, with the line number:
    ``from ..answer import x`` is ``rag.answer`` (the public face), ``from ..answer.compose
    import x`` is ``rag.answer.compose`` (an inner module); ``from . import a`` names ``a``."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            if target[0] != "rag":
                continue
            if target == ["rag"] or (node.module is None and target == package):  # from . import a
                out += [(target + [a.name], node.lineno) for a in node.names]
            else:
                out.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name.split("."), node.lineno) for a in node.names if a.name.split(".")[0] == "rag"]
    return out


def _layer(parts: list[str]) -> str:
    return parts[1] if len(parts) > 1 else "rag"


SOURCES = sorted(RAG.rglob("*.py"))


def test_each_layer_imports_only_what_the_table_allows():
    wrong = []
    for path in SOURCES:
        own = _layer(_module(path))
        if own in FOUNDATION or own == "rag":
            allowed = FOUNDATION
        elif own == "__main__":
            allowed = {"cli"}
        else:
            allowed = FOUNDATION | ALLOWED[own] | {own}
        for target, line in imports(path):
            if _layer(target) not in allowed:
                wrong.append(f"{path.relative_to(RAG.parent)}:{line} ({own}) imports {'.'.join(target)}")
    assert not wrong, "imports the table does not allow:\n" + "\n".join(wrong)


def test_outside_code_uses_each_subpackages_public_face():
    wrong = []
    for path in SOURCES + [APP]:
        own = _layer(_module(path)) if path != APP else "app"
        for target, line in imports(path):
            layer = _layer(target)
            if layer in SUBPACKAGES and layer != own and len(target) > 2:
                wrong.append(f"{path.relative_to(RAG.parent)}:{line} imports {'.'.join(target)}")
    assert not wrong, "reaches past a subpackage's __init__:\n" + "\n".join(wrong)


def test_no_import_cycles_between_layers():
    graph = defaultdict(set)
    for path in SOURCES:
        own = _layer(_module(path))
        for target, _ in imports(path):
            if _layer(target) != own:
                graph[own].add(_layer(target))

    def visit(node, stack):
        if node in stack:
            pytest.fail("import cycle: " + " -> ".join(stack[stack.index(node):] + [node]))
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, stack + [node])

    for node in sorted(graph):
        visit(node, [])


def test_modules_stay_small():
    big = [f"{p.relative_to(RAG.parent)}: {n} lines" for p in SOURCES
           if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not big, f"over {MAX_LINES} lines:\n" + "\n".join(big)


def test_the_package_never_imports_gradio():
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(name.split(".")[0] == "gradio" for name in names), path


def test_the_checker_sees_a_violation(tmp_path):
    """The rules above are not vacuous: a relative import reaching into another layer's
    inner module is found, with its line."""
    bad = RAG / "ingest" / "_layout_probe.py"
    try:
        bad.write_text("from ..answer.pipeline import answer\nfrom . import text\n")
        found = imports(bad)
        assert (["rag", "answer", "pipeline"], 1) in found and (["rag", "ingest", "text"], 2) in found
        assert imports(RAG / "ingest" / "__init__.py")  # and it reads real files too
        assert _layer(found[0][0]) not in FOUNDATION | ALLOWED["ingest"]
    finally:
        bad.unlink()


def test_every_third_party_import_is_named_in_requirements():
    """A package the code imports directly must be installed by requirements.txt itself, not
    arrive by luck as another package's dependency."""
    import importlib.metadata as md
    import re
    import sys

    named = set()
    for line in (RAG.parent / "requirements.txt").read_text().splitlines():
        m = re.match(r"\s*([A-Za-z0-9_.\-]+)", line.split("#")[0])
        if m:
            named.add(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    dists = md.packages_distributions()
    missing = set()
    local = {p.stem for p in RAG.parent.glob("*.py")}  # app.py and the UI modules beside it
    for path in SOURCES + sorted(RAG.parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                top = name.split(".")[0]
                if top == "rag" or top in local or top in sys.stdlib_module_names or top == "__future__":
                    continue
                owners = {re.sub(r"[-_.]+", "-", d).lower() for d in dists.get(top, [top])}
                if not owners & named:
                    missing.add(f"{top} ({', '.join(sorted(owners))}) in {path.relative_to(RAG.parent)}")
    assert not missing, "imported but not in requirements.txt:\n" + "\n".join(sorted(missing))
