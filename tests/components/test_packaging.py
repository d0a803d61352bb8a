"""Packaging: reproducible bytes, the right layout, Lambda-platform wheels only."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components import packaging


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    root = tmp_path / "runtime"
    for relative, text in {
        "__init__.py": "",
        "cli.py": "import click\n",
        "handlers/__init__.py": "",
        "handlers/ws_connect.py": "def handler(event, context):\n    return {}\n",
        "core/__init__.py": "",
        "core/retrieval.py": "def retrieve(): ...\n",
        "adapters/__init__.py": "",
        "adapters/dynamodb.py": "X = 1\n",
        "local/server.py": "# laptop only\n",
        "handlers/__pycache__/ws_connect.cpython-312.pyc": "junk",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _touch_everything(root: Path, when: int) -> None:
    for path in root.rglob("*"):
        os.utime(path, (when, when))


def test_handlers_zip_is_byte_for_byte_reproducible(runtime_dir, tmp_path):
    _touch_everything(runtime_dir, 1_600_000_000)
    first = packaging.build_handlers_zip(runtime_dir, tmp_path / "a.zip")
    _touch_everything(runtime_dir, 1_700_000_000)
    second = packaging.build_handlers_zip(runtime_dir, tmp_path / "b.zip")
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_layers_are_byte_for_byte_reproducible(runtime_dir, tmp_path):
    first = packaging.build_core_layer(runtime_dir, tmp_path / "a.zip")
    _touch_everything(runtime_dir, 1_700_000_000)
    second = packaging.build_core_layer(runtime_dir, tmp_path / "b.zip")
    assert first.sha256 == second.sha256


def test_handlers_zip_holds_handlers_and_a_namespace_shim_only(runtime_dir, tmp_path):
    built = packaging.build_handlers_zip(runtime_dir, tmp_path / "h.zip")
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
        shim = archive.read("runtime/__init__.py").decode()
        infos = archive.infolist()
    assert names == sorted(names)
    assert names == [
        "runtime/__init__.py",
        "runtime/handlers/__init__.py",
        "runtime/handlers/ws_connect.py",
    ]
    assert "extend_path" in shim
    assert {i.date_time for i in infos} == {packaging.FIXED_DATE}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_core_layer_holds_core_and_adapters_under_python(runtime_dir, tmp_path):
    built = packaging.build_core_layer(runtime_dir, tmp_path / "core.zip")
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
    assert "python/runtime/core/retrieval.py" in names
    assert "python/runtime/adapters/dynamodb.py" in names
    assert not any("local" in n or "cli.py" in n or "handlers" in n for n in names)


def test_shim_merges_the_two_halves_into_one_package(runtime_dir, tmp_path):
    """What Lambda does: /var/task (function) before /opt/python (layer) on sys.path."""
    import subprocess
    import sys

    task, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(packaging.build_handlers_zip(runtime_dir, tmp_path / "h.zip").path).extractall(
        task
    )
    zipfile.ZipFile(packaging.build_core_layer(runtime_dir, tmp_path / "c.zip").path).extractall(
        opt
    )
    code = "import runtime.handlers.ws_connect, runtime.core.retrieval; print('ok')"
    paths = [str(task), str(opt / "python")]
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = {paths!r}; {code}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_dependencies_are_installed_for_the_lambda_platform_only(tmp_path):
    calls = []

    def fake_pip(command, check):
        calls.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "pydantic").mkdir(parents=True)
        (target / "pydantic" / "__init__.py").write_text("")
        (target / "boto3").mkdir()
        (target / "boto3" / "__init__.py").write_text("")

    built = packaging.build_dependencies_layer(
        ["pydantic>=2"], tmp_path / "deps.zip", tmp_path / "work", "x86_64", run=fake_pip
    )
    [command] = calls
    assert command[command.index("--platform") + 1] == "manylinux2014_x86_64"
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command and "--no-compile" in command
    with zipfile.ZipFile(built.path) as archive:
        assert archive.namelist() == ["python/pydantic/__init__.py"]  # boto3 comes with Lambda
    again = packaging.build_dependencies_layer(
        ["pydantic>=2"], tmp_path / "deps2.zip", tmp_path / "work", "x86_64", run=fake_pip
    )
    assert len(calls) == 1  # cached per requirements set
    assert again.sha256 == built.sha256


def test_missing_handlers_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="handlers"):
        packaging.build_handlers_zip(tmp_path, tmp_path / "x.zip")


def test_core_layer_holds_the_cloud_wiring_and_the_state_machine_files(runtime_dir, tmp_path):
    (runtime_dir / "cloud").mkdir()
    (runtime_dir / "cloud" / "services.py").write_text("X = 1\n")
    (runtime_dir / "statemachines").mkdir()
    (runtime_dir / "statemachines" / "fanout.asl.json").write_text("{}")
    (runtime_dir / "statemachines" / "README.md").write_text("not data")
    built = packaging.build_core_layer(runtime_dir, tmp_path / "core.zip")
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
    assert "python/runtime/cloud/services.py" in names
    assert "python/runtime/statemachines/fanout.asl.json" in names
    assert "python/runtime/statemachines/README.md" not in names


REPO_RUNTIME = Path(__file__).resolve().parents[2] / "runtime"


def test_real_core_layer_holds_what_the_handlers_import_from_runtime():
    names = set(packaging.core_layer_entries(REPO_RUNTIME))
    for module in (
        "cloud/services.py",
        "cloud/settings.py",
        "core/chat.py",
        "adapters/postgres.py",
    ):
        assert f"python/runtime/{module}" in names, module
    assert "python/runtime/statemachines/consensus_fanout.asl.json" in names
    assert not any(
        n.startswith(("python/runtime/local/", "python/runtime/handlers/")) for n in names
    )


def test_requirements_cover_every_third_party_module_the_handlers_import():
    """Static (ast) walk from runtime/handlers through runtime.{cloud,core,adapters}."""
    imported = packaging.third_party_imports(REPO_RUNTIME)
    assert {"aws_lambda_powertools", "jwt", "psycopg2", "pgvector", "numpy", "pydantic"} <= set(
        imported
    )
    # matplotlib: the HTML report's plots, drawn only where it is installed (the scheduled
    # evaluation renders its report without them in Lambda)
    missing = packaging.missing_requirements(
        REPO_RUNTIME, packaging.LAMBDA_REQUIREMENTS, optional=["openai", "matplotlib"]
    )
    assert missing == {}, f"add to packaging.LAMBDA_REQUIREMENTS: {missing}"
    assert "openai" in imported  # optional: only with models.openaiModels
    # every store a workspace can pick ships: bm25s (DynamoDB keyword search), opensearch-py
    shipped = {packaging.requirement_module(r) for r in packaging.LAMBDA_REQUIREMENTS}
    assert {"bm25s", "opensearchpy"} <= shipped


def test_third_party_imports_follow_relative_and_lazy_imports(tmp_path):
    root = tmp_path / "runtime"
    for relative, text in {
        "__init__.py": "",
        "handlers/__init__.py": "",
        "handlers/h.py": "import json\nfrom ..cloud import services\n",
        "cloud/__init__.py": "",
        "cloud/services.py": "import boto3\ndef f():\n    import jwt.algorithms\n",
        "core/__init__.py": "import numpy\n",
        "core/unused.py": "import torch\n",
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    assert packaging.third_party_imports(root) == {
        "boto3": {"runtime.cloud.services"},
        "jwt": {"runtime.cloud.services"},
    }
    (root / "handlers" / "h.py").write_text("from ..core import unused\n")
    assert set(packaging.third_party_imports(root)) == {"numpy", "torch"}
    assert packaging.missing_requirements(root, ["numpy>=1"]) == {"torch": {"runtime.core.unused"}}


@pytest.mark.parametrize(
    ("requirement", "module"),
    [
        ("PyJWT[crypto]>=2.10,<3", "jwt"),
        ("aws-lambda-powertools[tracer]>=3.37,<4", "aws_lambda_powertools"),
        ("psycopg2-binary>=2.9", "psycopg2"),
        ("python-docx>=1.1", "docx"),
        ("PyYAML>=6", "yaml"),
        ("langchain-text-splitters>=0.3", "langchain_text_splitters"),
        ("numpy", "numpy"),
    ],
)
def test_requirement_module(requirement, module):
    assert packaging.requirement_module(requirement) == module


def test_stack_requirements_add_openai_only_when_used():
    assert packaging.lambda_requirements() == list(packaging.LAMBDA_REQUIREMENTS)
    assert packaging.lambda_requirements(openai=True)[-1].startswith("openai")
    assert "PyJWT[crypto]>=2.10,<3" in packaging.LAMBDA_REQUIREMENTS
    assert any(r.startswith("aws-lambda-powertools[tracer]") for r in packaging.LAMBDA_REQUIREMENTS)


def test_layer_spec_is_decided_without_the_network(tmp_path):
    spec = packaging.dependencies_layer_spec(
        packaging.LAMBDA_REQUIREMENTS, tmp_path, architecture="arm64"
    )
    command = list(spec.command)
    assert command[command.index("--platform") + 1] == "manylinux2014_aarch64"
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    assert command[-len(packaging.LAMBDA_REQUIREMENTS) :] == list(packaging.LAMBDA_REQUIREMENTS)
    assert spec.target == tmp_path / f"deps-{spec.key[:16]}" / "python"
    reordered = packaging.dependencies_layer_spec(
        list(reversed(packaging.LAMBDA_REQUIREMENTS)), tmp_path, architecture="arm64"
    )
    assert reordered.key == spec.key  # same set, same cache
    other = packaging.dependencies_layer_spec(packaging.LAMBDA_REQUIREMENTS, tmp_path)
    assert other.key != spec.key  # per architecture
    assert not spec.target.exists()


LAMBDA_PYTHON = packaging.find_lambda_python()
needs_312 = pytest.mark.skipif(
    LAMBDA_PYTHON is None, reason="no Python 3.12 on this machine (pyenv install 3.12)"
)


@needs_312
def test_bytecode_is_unchecked_hash_pyc_for_python_312_and_byte_for_byte_reproducible(
    runtime_dir, tmp_path
):
    _touch_everything(runtime_dir, 1_600_000_000)
    first = packaging.build_handlers_zip(runtime_dir, tmp_path / "a.zip", LAMBDA_PYTHON)
    _touch_everything(runtime_dir, 1_700_000_000)
    second = packaging.build_handlers_zip(runtime_dir, tmp_path / "b.zip", LAMBDA_PYTHON)
    assert first.sha256 == second.sha256
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
        pyc = archive.read("runtime/handlers/__pycache__/ws_connect.cpython-312.pyc")
    assert "runtime/__pycache__/__init__.cpython-312.pyc" in names
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, not checked (PEP 552)


@needs_312
def test_lambdas_python_runs_the_shipped_bytecode_not_the_source(runtime_dir, tmp_path):
    built = packaging.build_core_layer(runtime_dir, tmp_path / "core.zip", python=LAMBDA_PYTHON)
    opt = tmp_path / "opt"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(opt)
    # unchecked-hash: the source is not even read, so the .pyc is what runs
    (opt / "python/runtime/core/retrieval.py").write_text("def retrieve(): return 'source'\n")
    done = subprocess.run(
        [LAMBDA_PYTHON, "-S", "-c", "import runtime.core.retrieval as r; print(r.retrieve())"],
        env={"PYTHONPATH": str(opt / "python"), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == "None", done.stderr  # the compiled `def retrieve(): ...`


def test_sources_only_when_no_bytecode_is_asked_for(runtime_dir, tmp_path):
    built = packaging.build_lambda_artifacts(runtime_dir, tmp_path / "out", bytecode="never")
    with zipfile.ZipFile(built.handlers.path) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".pyc")]
    assert built.bytecode is None


def test_bytecode_always_without_a_python_312_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(packaging, "find_lambda_python", lambda: None)
    assert packaging.lambda_python("auto") is None
    with pytest.raises(packaging.BytecodeUnavailable, match="CHORUS_LAMBDA_PYTHON"):
        packaging.lambda_python("always")


def test_the_interpreter_found_is_a_312_whatever_it_is_pointed_at(monkeypatch):
    monkeypatch.setenv("CHORUS_LAMBDA_PYTHON", sys.executable)  # the tests' own interpreter
    found = packaging.find_lambda_python()
    assert found is None or packaging._python_version(found) == packaging.LAMBDA_PYTHON


def test_what_no_handler_imports_is_trimmed_from_the_dependencies_layer(tmp_path):
    def fake_pip(command, check):
        target = Path(command[command.index("--target") + 1])
        for relative in (
            "numpy/__init__.py",
            "numpy/_core/tests/test_x.py",
            "numpy/__init__.pyi",
            "numpy/_core/include/numpy/ndarraytypes.h",
            "numpy/f2py/__init__.py",
            "numpy/_core/_simd.cpython-312-x86_64-linux-gnu.so",
            "zstandard/__init__.py",
            "zstandard-0.23.0.dist-info/METADATA",
            "langsmith/__init__.py",
            "websockets/__init__.py",
            "xxhash/__init__.py",
            "lxml/etree.cpython-312-x86_64-linux-gnu.so",
            "lxml/objectify.cpython-312-x86_64-linux-gnu.so",
            "yaml/__init__.py",
            "yaml/_yaml.cpython-312-x86_64-linux-gnu.so",
            "_yaml/__init__.py",
            "babel/__init__.py",
            "babel/locale-data/root.dat",
            "babel/locale-data/en.dat",
            "babel/locale-data/de_CH.dat",
        ):
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    built = packaging.build_dependencies_layer(
        ["numpy"], tmp_path / "deps.zip", tmp_path / "work", run=fake_pip
    )
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
    assert names == [
        "python/babel/__init__.py",
        "python/babel/locale-data/en.dat",
        "python/babel/locale-data/root.dat",
        "python/lxml/etree.cpython-312-x86_64-linux-gnu.so",
        "python/numpy/__init__.py",
        "python/yaml/__init__.py",
    ]
