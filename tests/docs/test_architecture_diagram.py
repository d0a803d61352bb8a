"""The architecture diagrams cannot drift from the stack: each checked Mermaid diagram in the
architecture docs names exactly the ComponentResource classes of ``components/`` and the Lambda
handler modules of ``runtime/handlers/``.

How a diagram names them, so the mapping is mechanical: a component is a ``subgraph ClassName``
or a node ``ClassName["ClassName: ..."]:::component``; a handler is a node
``module["λ module"]:::lambda`` (square brackets, the class right after them). A diagram is
checked when its block holds ``%% checked: tests/docs/test_architecture_diagram.py``. The stack
side is read from the source (AST), so the test needs neither Pulumi nor the runtime's
dependencies.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED_DOCS = ("docs/architecture_notes.md", "docs/architecture_summary.md")
CHECKED_MARK = "%% checked: tests/docs/test_architecture_diagram.py"
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.S)
SUBGRAPH = re.compile(r"^\s*subgraph\s+(\w+)(?:\s*\[\"([^\"]*)\"\])?", re.M)
CLASSED_NODE = re.compile(r"(\w+)(?:\[\"?([^\]\n\"]*)\"?\])?:::(\w+)")
NODE_KINDS = ("component", "lambda")


def component_classes() -> set[str]:
    """Public classes in ``components/*.py`` that subclass ``ComponentResource``."""
    names = set()
    for path in sorted((ROOT / "components").glob("*.py")):
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {
                    b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                    for b in node.bases
                }
                if "ComponentResource" in bases:
                    names.add(node.name)
    return names


def handler_modules() -> set[str]:
    """Modules of ``runtime/handlers/`` that define a module-level ``handler`` (Lambda's entry)."""
    names = set()
    for path in sorted((ROOT / "runtime" / "handlers").glob("*.py")):
        for node in ast.parse(path.read_text(), str(path)).body:
            defined = (
                [node.name]
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                else [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
                if isinstance(node, ast.Assign)
                else []
            )
            if "handler" in defined:
                names.add(path.stem)
    return names


@dataclass(frozen=True)
class Diagram:
    doc: str
    components: dict[str, str]
    """Name → its label (the subgraph title or node text; empty when the node has none)."""
    handlers: dict[str, str]
    unknown_kinds: list[str]


def checked_diagrams(doc: str) -> list[Diagram]:
    text = (ROOT / doc).read_text()
    diagrams = []
    for block in MERMAID_BLOCK.findall(text):
        if CHECKED_MARK not in block:
            continue
        components = {name: label or name for name, label in SUBGRAPH.findall(block)}
        handlers: dict[str, str] = {}
        unknown = []
        for name, label, kind in CLASSED_NODE.findall(block):
            if kind == "component":
                components[name] = label
            elif kind == "lambda":
                handlers[name] = label
            else:
                unknown.append(f"{name}:::{kind}")
        diagrams.append(Diagram(doc, components, handlers, unknown))
    return diagrams


def all_checked_diagrams() -> list[Diagram]:
    return [d for doc in CHECKED_DOCS for d in checked_diagrams(doc)]


def test_the_stack_is_read_from_the_source():
    assert {"ChatOrchestrator", "VectorStore", "LambdaFunction"} <= component_classes()
    assert {"chat_worker", "ws_connect", "db_setup"} <= handler_modules()
    assert "__init__" not in handler_modules()


@pytest.mark.parametrize("doc", CHECKED_DOCS)
def test_each_architecture_doc_has_a_checked_diagram(doc):
    assert checked_diagrams(doc), f"{doc} has no Mermaid block marked {CHECKED_MARK!r}"


@pytest.mark.parametrize("diagram", all_checked_diagrams(), ids=lambda d: d.doc)
def test_the_diagram_names_every_component_and_handler(diagram):
    missing_components = sorted(component_classes() - diagram.components.keys())
    missing_handlers = sorted(handler_modules() - diagram.handlers.keys())
    problems = [
        f"components {missing_components} (ComponentResource classes in components/), "
        'add each as `Name["Name: what it is"]:::component`' * bool(missing_components),
        f"handlers {missing_handlers} (runtime/handlers/*.py with a `handler`), "
        'add each as `module["λ module"]:::lambda`' * bool(missing_handlers),
    ]
    assert not any(problems), f"{diagram.doc}: its diagram does not name " + "; nor ".join(
        p for p in problems if p
    )


@pytest.mark.parametrize("diagram", all_checked_diagrams(), ids=lambda d: d.doc)
def test_the_diagram_names_nothing_the_stack_lacks(diagram):
    stale_components = sorted(diagram.components.keys() - component_classes())
    stale_handlers = sorted(diagram.handlers.keys() - handler_modules())
    problems = [
        f"components {stale_components} that are not ComponentResource classes in components/"
        " (every subgraph is read as a component)" * bool(stale_components),
        f"handlers {stale_handlers} that are not runtime/handlers modules" * bool(stale_handlers),
        f"nodes {diagram.unknown_kinds} of a kind other than {NODE_KINDS}"
        * bool(diagram.unknown_kinds),
    ]
    assert not any(problems), (
        f"{diagram.doc}: its diagram names "
        + "; ".join(p for p in problems if p)
        + ". Remove or rename them."
    )


@pytest.mark.parametrize("diagram", all_checked_diagrams(), ids=lambda d: d.doc)
def test_each_named_node_shows_its_name_to_the_reader(diagram):
    hidden = sorted(
        name
        for name, label in (diagram.components | diagram.handlers).items()
        if label and name not in label
    )
    assert not hidden, f"{diagram.doc}: the labels of {hidden} do not contain their names"
