"""module_utils imports one way: read every file's imports (ast, nothing is run) and fail on a cycle or on an
import from a lower layer to a higher one.

LAYERS is the one table of where each module sits; a new module_utils file fails here until it is placed.
The model is the floor every family stands on (types, errors, the lab's criteria and vocabulary, pure
helpers). Above it data flows transport -> decision -> words -> run: the HTTP layer never imports the words
that explain a failure, the words may read the match they explain, and the entry points the modules call
(the poll loop, the class report) sit on top. A module imports its own layer and the layers below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE_UTILS = ROOT / "module_utils"

LAYERS = {
    "model": ("lab.criteria", "lab.redact", "lab.vocabulary", "jaeger.model", "doctor.classify"),
    "transport": ("jaeger.http_errors", "jaeger.query", "jaeger.parse", "doctor.probe", "doctor.evidence", "lab.files"),
    "decision": ("jaeger.match", "doctor.verdict", "report.provision"),
    "words": ("jaeger.verdict",),
    "run": ("jaeger.check", "report.class_report"),
}
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in LAYERS[layer]}
ABSOLUTE = "ansible.module_utils."  # how a test or a module outside names them (ansible.cfg's module_utils)


def module_names(root: Path) -> set[str]:
    """Every module under root as a dotted name (jaeger.query); packages' __init__ left out."""
    return {
        ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }


def imports_of(name: str, source: str, known: set[str]) -> set[str]:
    """The known modules that `name` imports, relative (from ..lab import vocabulary) or absolute."""
    package = name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif (node.module or "").startswith(ABSOLUTE):
                target = node.module[len(ABSOLUTE) :]
            else:
                continue
            for alias in node.names:  # `from ..lab import vocabulary` names a module
                joined = f"{target}.{alias.name}" if target else alias.name
                found.add(joined if joined in known else target)
        elif isinstance(node, ast.Import):
            found |= {a.name[len(ABSOLUTE) :] for a in node.names if a.name.startswith(ABSOLUTE)}
    return found & known


def import_graph(root: Path) -> dict[str, set[str]]:
    known = module_names(root)
    return {
        name: imports_of(name, (root / (name.replace(".", "/") + ".py")).read_text(encoding="utf-8"), known)
        for name in sorted(known)
    }


def upward(graph: dict[str, set[str]], rank: dict[str, int]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where the imported module sits in a higher layer."""
    return sorted((a, b) for a, deps in graph.items() for b in deps if rank[b] > rank[a])


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


GRAPH = import_graph(MODULE_UTILS)


def test_every_module_has_one_layer():
    placed = [name for layer in LAYERS.values() for name in layer]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    assert set(placed) == set(GRAPH), "place each module_utils file in LAYERS (and drop the ones that are gone)"


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_only_its_own_layer_or_lower(name):
    assert upward({name: GRAPH[name]}, RANK) == []


def test_no_import_cycle():
    assert cycle(GRAPH) == []


def test_the_http_layer_does_not_import_the_words():
    assert "jaeger.verdict" not in GRAPH["jaeger.query"]
    assert GRAPH["jaeger.query"] >= {"jaeger.http_errors", "jaeger.model", "jaeger.parse"}  # the reader sees them


@pytest.mark.parametrize(
    ("source", "imports"),
    [
        ("from .model import JaegerError\n", {"jaeger.model"}),
        ("from ..lab.redact import redact_userinfo\n", {"lab.redact"}),
        ("from ..lab import vocabulary\n", {"lab.vocabulary"}),
        ("from ansible.module_utils.lab.vocabulary import VERDICTS\n", {"lab.vocabulary"}),
        ("from ansible.module_utils.jaeger import query as q\n", {"jaeger.query"}),
        ("import ansible.module_utils.jaeger.model\n", {"jaeger.model"}),
        ("from ansible.module_utils.urls import Request\nimport json\n", set()),
        ("def f():\n    from .verdict import checks\n", {"jaeger.verdict"}),  # a late import counts too
    ],
)
def test_imports_of_reads_every_form(source, imports):
    known = {"jaeger.model", "jaeger.query", "jaeger.verdict", "lab.redact", "lab.vocabulary"}
    assert imports_of("jaeger.query", source, known) == imports


def test_upward_and_cycle_find_what_they_guard():
    rank = {"a": 0, "b": 1, "c": 1}
    assert upward({"a": {"b"}, "b": {"a"}, "c": set()}, rank) == [("a", "b")]
    assert cycle({"a": set(), "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
