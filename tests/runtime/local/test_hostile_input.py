"""Property-based: no input makes the local server fail uncleanly.

The local REST API, document uploads and the chat WebSocket get generated hostile input
(tests/support/hostile.py) through the real app in Starlette's TestClient. The property: a 2xx,
or a 4xx / ``error`` event with a stable code; never a 5xx, an unhandled exception or a dead
connection (every example ends with a heartbeat answered on the same WebSocket). Each test
prints how many examples ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from chorus.runtime.local.app import create_app
from chorus.runtime.local.services import LocalServices, open_services
from chorus.runtime.local.settings import LocalSettings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from support.hostile import (
    HOSTILE_STRINGS,
    client_frames,
    ids,
    is_stable_code,
    request_bodies,
    texts,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
ROUTES = [
    ("GET", "/api/workspaces"),
    ("POST", "/api/workspaces"),
    ("GET", "/api/workspaces/{w}"),
    ("DELETE", "/api/workspaces/{w}"),
    ("GET", "/api/workspaces/{w}/documents"),
    ("DELETE", "/api/workspaces/{w}/documents/{d}"),
    ("GET", "/api/sessions"),
    ("GET", "/api/sessions/{s}"),
    ("DELETE", "/api/sessions/{s}"),
    ("POST", "/api/sessions/{s}/feedback"),
    ("PUT", "/api/workspaces/{w}/settings"),
    ("POST", "/api/workspaces/{w}/reindex"),
    ("POST", "/api/auth/dev-login"),
]
COUNTS = {"local REST": 0, "local uploads": 0, "local WebSocket": 0}


@pytest.fixture(scope="module")
def services(
    module_dsn: str, embedder: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServices]:
    settings_ = LocalSettings(home=tmp_path_factory.mktemp("chorus-home"))
    opened = open_services(settings_, embedder=embedder, dsn=module_dsn)
    workspace = opened.ensure_workspace("ops")
    opened.ingestor.ingest(
        workspace, "keys.md", b"# Keys\n\nThe signing key rotates every ninety days.\n"
    )
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(services: LocalServices) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    ran = ", ".join(f"{name}: {n}" for name, n in COUNTS.items())
    print(f"\nhostile-input examples run ({sum(COUNTS.values())}): {ran}")


def _quoted(value: str) -> str:
    return quote(value, safe="", errors="surrogatepass")


def _assert_clean(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert is_stable_code(response.json()["error"]["code"]), response.text


@given(
    route=st.sampled_from(ROUTES),
    w=ids,
    d=ids,
    s=ids,
    body=st.one_of(request_bodies, st.binary(max_size=64)),
    user=st.one_of(st.none(), texts),
)
@FUZZ
def test_rest_answers_every_request_with_a_2xx_or_a_coded_4xx(client, route, w, d, s, body, user):
    method, template = route
    path = template.format(w=_quoted(w), d=_quoted(d), s=_quoted(s))
    headers: dict[str, bytes] = {}
    if user is not None:  # raw header bytes, as any client could send them
        headers["X-Chorus-User"] = user.encode("utf-8", "replace").replace(b"\n", b"")
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body

    _assert_clean(client.request(method, path, content=content, headers=headers))
    COUNTS["local REST"] += 1


@given(
    name=st.one_of(
        texts, st.sampled_from(["deep.json", "rows.jsonl", "a.md", "x.pdf", "../a.txt", "a.docx"])
    ),
    data=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(HOSTILE_STRINGS).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.just(b"[" * 10_000),
        st.just(b'{"a":' * 5_000),
    ),
)
@FUZZ
def test_every_upload_is_indexed_or_refused_with_a_code(client, name, data):
    response = client.post(
        "/api/workspaces/ops/documents",
        files={"file": (name.encode("utf-8", "replace").decode("utf-8"), data)},
    )

    _assert_clean(response)
    assert "Recursion" not in response.text
    COUNTS["local uploads"] += 1


def _turn_end(ws: Any) -> dict[str, Any]:
    """Events until the one that answers a frame: heartbeat, error or a turn's final."""
    while True:
        event = ws.receive_json()
        if event["type"] in ("heartbeat", "error", "final"):
            return event


@pytest.fixture(scope="module")
def websocket(client: TestClient) -> Iterator[Any]:
    with client.websocket_connect("/ws", headers={"X-Chorus-User": "fuzzer"}) as ws:
        yield ws


@given(frame=client_frames)
@FUZZ
def test_the_websocket_answers_every_frame_and_stays_open(websocket, frame):
    websocket.send_text(frame)

    ended = _turn_end(websocket)
    if ended["type"] == "error":
        assert is_stable_code(ended["code"]), ended
    websocket.send_text('{"action": "heartbeat"}')
    assert _turn_end(websocket)["type"] == "heartbeat"  # the connection is alive
    COUNTS["local WebSocket"] += 1
