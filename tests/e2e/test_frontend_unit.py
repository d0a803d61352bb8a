"""The React app's own unit tests (Vitest: protocol client, reconnect, chat state) run with the
Python suite, so the README's one test command covers the whole project."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.frontend import FRONTEND, npm_lock

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_vitest_suite_passes():
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: install Node.js 20 and npm to run the frontend tests")
    with npm_lock():
        if not (FRONTEND / "node_modules" / ".package-lock.json").is_file():
            install = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=FRONTEND,
                capture_output=True,
                text=True,
                timeout=480,
                check=False,
            )
            assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
        run = subprocess.run(
            [npm, "test"], cwd=FRONTEND, capture_output=True, text=True, timeout=300, check=False
        )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
