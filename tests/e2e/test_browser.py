"""The React app in a real Chromium against a real ``chorus up`` (tests/e2e/browser/chat.e2e.mjs).

Builds the frontend when its build is missing or stale, starts ``chorus up`` on a free port with a
fresh ``CHORUS_HOME`` and no sample folder, and runs the Playwright script (``playwright-core``
driving Debian's ``chromium``): sign in, create a workspace, upload a document, watch it reach
``indexed``, ask, see tokens stream and sources appear, give feedback, reload and find the session,
add a Q&A pair through the app and find it by a question worded differently.

Screenshots land in ``$CHORUS_E2E_ARTIFACTS`` (default ``.chorus/e2e-artifacts/``). Skips only
when Node.js or Chromium is not installed; CI installs both (see docs/frontend.md).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.frontend import FRONTEND, npm_lock

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
INSTALL_HINT = (
    "install them with `apt-get install -y chromium nodejs npm` (Debian), then "
    "`npm ci` in frontend/ and in tests/e2e/browser/"
)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _require_tools() -> tuple[str, str, str]:
    node, npm, chromium = shutil.which("node"), shutil.which("npm"), _chromium()
    missing = [n for n, p in (("node", node), ("npm", npm), ("chromium", chromium)) if not p]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {INSTALL_HINT}")
    assert node and npm and chromium
    return node, npm, chromium


def _npm(npm: str, args: list[str], cwd: Path, timeout: int = 300) -> None:
    done = subprocess.run(
        [npm, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"`npm {' '.join(args)}` in {cwd} failed ({done.returncode}):\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )


def _installed(folder: Path) -> bool:
    return (folder / "node_modules" / ".package-lock.json").is_file()


def _build_is_stale() -> bool:
    from chorus.runtime.cli import _frontend_is_stale

    return _frontend_is_stale(FRONTEND)


@pytest.fixture(scope="module")
def tools() -> tuple[str, str, str]:
    node, npm, chromium = _require_tools()
    if not _installed(BROWSER_TESTS):
        _npm(npm, ["ci", "--no-audit", "--no-fund"], BROWSER_TESTS)
    with npm_lock():
        if _build_is_stale():
            if not _installed(FRONTEND):
                _npm(npm, ["ci", "--no-audit", "--no-fund"], FRONTEND)
            _npm(npm, ["run", "build"], FRONTEND)
    assert (FRONTEND / "dist" / "index.html").is_file()
    return node, npm, chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``chorus up`` in a subprocess, the way a user starts it; yields its base URL."""
    home = tmp_path_factory.mktemp("chorus-home")
    port = _free_port()
    log = home / "server.log"
    env = {**os.environ, "CHORUS_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("CHORUS_SOURCES_ALLOW_PRIVATE", None)  # the sources step expects the SSRF refusal
    command = [sys.executable, "-m", "chorus.runtime.cli", "up", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--no-sample", "--no-build"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"chorus up exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"chorus up not ready in 120 s:\n{log.read_text()}"
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert "chat app:" in log.read_text(), "chorus up did not serve the React app"
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_chat_app_end_to_end_in_chromium(tools, server):
    node, _npm_path, chromium = tools
    artifacts = Path(
        os.environ.get("CHORUS_E2E_ARTIFACTS") or REPO / ".chorus" / "e2e-artifacts"
    ).resolve()
    done = subprocess.run(
        [node, "chat.e2e.mjs"],
        cwd=BROWSER_TESTS,
        env={
            **os.environ,
            "BASE_URL": server,
            "CHROMIUM_PATH": chromium,
            "ARTIFACTS": str(artifacts),
            "E2E_USER": "e2e-user",
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the browser script printed no result:\n{done.stdout}\n{done.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"], (
        f"failed at step {result.get('failedStep')!r}: {result.get('error')}\n"
        f"screenshot: {artifacts / 'failure.png'}\nstderr: {done.stderr[-2000:]}"
    )
    assert result["consoleErrors"] == [], result["consoleErrors"]
    assert result["frames"]["token"] >= 1 and result["frames"]["final"] == 2  # bees, then Q&A
    assert "honeybees.md" in result["sources"][0]
    assert result["qaDocument"].startswith("Q&A ")
    assert result["qaDocument"] in result["qaSources"][0]
    assert result["answer"] == result["finalAnswer"].strip()
    for name in ("chat-desktop.png", "history-desktop.png", "chat-phone.png"):
        assert (artifacts / name).stat().st_size > 10_000, f"{name} missing or blank"

    # The server kept what the browser did: the session, the answer and its feedback.
    headers = {"X-Chorus-User": "e2e-user"}
    session = httpx.get(f"{server}/api/sessions/{result['sessionId']}", headers=headers).json()
    answer = next(m for m in session["messages"] if m["id"] == result["messageId"])
    assert answer["feedback"]["rating"] == "up"
    assert answer["feedback"]["comment"] == "Clear and cited."
