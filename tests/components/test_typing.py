"""A program importing the components type-checks: mypy sees the real classes and Args (the
lazy exports are real imports for type checkers; the package ships py.typed), so a misspelt
component or input key is an error before any preview."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = """[mypy]
python_version = 3.11
mypy_path = src
explicit_package_bases = True
[mypy-chorus.*]
follow_imports = silent
[mypy-pulumi_aws.*]
follow_imports = skip
[mypy-pulumi.*]
follow_imports = skip
"""


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    pytest.importorskip("mypy")
    root = tmp_path_factory.mktemp("consumer")
    (root / "src" / "chorus").mkdir(parents=True)
    # chorus.components as an installed wheel lays it out (the editable install's import hook
    # is invisible to mypy)
    (root / "src" / "chorus" / "components").symlink_to(REPO / "components")
    (root / "mypy.ini").write_text(CONFIG)

    def check(source: str) -> str:
        (root / "program.py").write_text(source)
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental",
             "program.py"],
            cwd=root, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        return "\n".join(line for line in result.stdout.splitlines() if line.startswith("program"))

    return check


def test_a_program_using_the_components_type_checks(mypy):
    assert (
        mypy(
            "from chorus.components import Network, NetworkArgs, VectorStore\n"
            "args: NetworkArgs = {'nat_gateways': 1, 'availability_zone_count': 2}\n"
            "Network('net', args)\n"
            "VectorStore('docs', {'enable_aurora': False, 'tags': {'team': 'search'}})\n"
        )
        == ""
    )


def test_a_misspelt_component_is_a_type_error(mypy):
    assert 'has no attribute "Netwrk"; maybe "Network"?' in mypy(
        "from chorus.components import Netwrk\n"
    )


def test_a_misspelt_input_key_is_a_type_error(mypy):
    assert 'Extra key "nat_gateway" for TypedDict "NetworkArgs"' in mypy(
        "from chorus.components import NetworkArgs\nargs: NetworkArgs = {'nat_gateway': 1}\n"
    )
    assert 'expected "NetworkArgs | None"' in mypy(
        "from chorus.components import Network\nNetwork('net', {'nat_gateway': 1})\n"
    )
