"""Every component's docstring example runs as written (``from chorus.components import ...``)
under mocks and declares the component it shows."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import pytest

from components.provider import COMPONENTS

from .conftest import deploy


def example_of(component) -> str:
    """The indented block after ``Example::`` in the component's docstring."""
    doc = inspect.getdoc(component) or ""
    assert "Example::" in doc, f"{component.__name__} has no example"
    block = doc.split("Example::", 1)[1].split("\n")
    lines = []
    for line in block[1:]:
        if line.strip() and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_the_docstring_example_runs_and_declares_the_component(component):
    source = example_of(component)
    assert "from chorus.components import" in source

    def program():
        exec(compile(source, f"<{component.__name__} example>", "exec"), {})

    d = deploy(program)
    assert d.of_type(f"chorus:index:{component.__name__}"), source


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_the_example_is_in_the_infrastructure_docs(component):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "infrastructure.md").read_text()
    assert f"```python\n{example_of(component)}```" in docs
