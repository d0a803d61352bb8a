"""The distribution maps the repo's folders to chorus.*: every package must be listed."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_python_package_folder_is_in_the_distribution():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder).parts
            if "__pycache__" in relative:
                continue
            found.add(".".join((name, *relative)))
    assert found - listed == set(), "add these packages to pyproject.toml"


def test_components_never_import_runtime():
    for path in (REPO / "components").rglob("*.py"):
        text = path.read_text()
        assert "from chorus.runtime" not in text and "import runtime" not in text, path
        assert "from ..runtime" not in text, path


def test_the_core_imports_no_sdk_driver_or_outer_layer():
    forbidden = (
        "boto3",
        "botocore",
        "psycopg2",
        "openai",
        "starlette",
        "uvicorn",
        "sentence_transformers",
        "pulumi",
        "..adapters",
        "..local",
        "..handlers",
    )
    for path in (REPO / "runtime" / "core").glob("*.py"):
        text = path.read_text()
        for name in forbidden:
            assert f"import {name}" not in text and f"from {name}" not in text, (path, name)
