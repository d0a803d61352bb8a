"""The local server's parts for the React app: serving its build, the dev sign-in, feedback.

Runs the real app in Starlette's TestClient over the session's embedded PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chorus.runtime.local.app import create_app
from chorus.runtime.local.dev_auth import DevTokenSigner, InvalidToken, load_or_create_secret
from chorus.runtime.local.services import LocalServices, open_services
from chorus.runtime.local.settings import LocalSettings
from starlette.testclient import TestClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def services(
    module_dsn: str, embedder: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServices]:
    settings = LocalSettings(home=tmp_path_factory.mktemp("chorus-home"))
    opened = open_services(settings, embedder=embedder, dsn=module_dsn)
    workspace = opened.ensure_workspace("web")
    opened.ingestor.ingest(
        workspace,
        "chess.md",
        b"# Chess\n\nCastling moves the king two squares toward a rook to keep the king safe.\n",
    )
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text(
        '<!doctype html><title>chorus app</title><script src="/assets/app-1.js"></script>'
    )
    (dist / "assets" / "app-1.js").write_text("console.log('app')")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


@pytest.fixture(scope="module")
def client(services: LocalServices, build: Path) -> Iterator[TestClient]:
    with TestClient(create_app(services, frontend_dir=build)) as c:
        yield c


@pytest.fixture(scope="module")
def classic(services: LocalServices) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as c:
        yield c


def sign_in(client: TestClient, user: str) -> str:
    response = client.post("/api/auth/dev-login", json={"user": user})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def answer_once(client: TestClient, token: str) -> dict[str, Any]:
    """Ask one question over the WebSocket with the token; returns the final event."""
    with client.websocket_connect(f"/ws?token={token}") as ws:
        ws.send_json(
            {"action": "sendMessage", "data": {"workspaceId": "web", "text": "What is castling?"}}
        )
        while True:
            event = ws.receive_json()
            if event["type"] in ("final", "error"):
                return event


# -- serving the app -------------------------------------------------------------------------


def test_root_serves_the_react_build_with_a_strict_csp(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "chorus app" in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "connect-src 'self' ws://testserver" in csp
    assert response.headers["cache-control"] == "no-cache"


def test_build_assets_and_root_files_are_served(client):
    assert client.get("/assets/app-1.js").text == "console.log('app')"
    assert client.get("/favicon.svg").headers["content-type"].startswith("image/svg")
    assert client.get("/assets/missing.js").status_code == 404


def test_plain_page_stays_at_classic_and_static(client):
    assert "/static/app.js" in client.get("/classic").text
    assert client.get("/static/app.js").status_code == 200


def test_without_a_build_root_is_the_plain_page(classic):
    assert "/static/app.js" in classic.get("/").text
    assert classic.get("/classic").status_code == 404


def test_unknown_api_paths_stay_plain_404s(client):
    assert client.get("/api/nope").status_code == 404
    assert client.post("/api/nope").status_code == 404


def test_config_lists_modes_sign_in_and_workspace_choices(client):
    config = client.get("/config.json").json()
    assert config["auth"] == "dev"
    assert "single" in config["modes"]
    assert config["embeddingModels"] == [config["embeddingModel"]]
    assert config["stores"] == ["pgvector"]


# -- dev sign-in -----------------------------------------------------------------------------


def test_dev_login_returns_a_token_that_names_the_user(client):
    response = client.post("/api/auth/dev-login", json={"user": "alice"})
    body = response.json()
    assert body["user"] == "alice" and body["expiresAt"] > time.time()
    sessions = client.get("/api/sessions", headers={"Authorization": f"Bearer {body['token']}"})
    assert sessions.status_code == 200


@pytest.mark.parametrize(
    "body", [{"user": "bad name!"}, {"user": ""}, {}, {"user": "a", "role": "admin"}]
)
def test_dev_login_refuses_bad_names(client, body):
    response = client.post("/api/auth/dev-login", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_forged_token_is_a_401(client):
    token = sign_in(client, "alice")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = client.get("/api/sessions", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_forged_token_on_the_websocket_gets_unauthorized_and_a_1008_close(client):
    with client.websocket_connect("/ws?token=dev1.x.y") as ws:
        event = ws.receive_json()
        assert event["type"] == "error" and event["code"] == "unauthorized"
        message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 1008


def test_token_user_owns_the_sessions_it_starts(client):
    user = f"u-{uuid.uuid4().hex[:6]}"
    token = sign_in(client, user)
    final = answer_once(client, token)
    assert final["type"] == "final", final
    mine = client.get("/api/sessions", headers={"Authorization": f"Bearer {token}"}).json()
    assert final["sessionId"] in [s["id"] for s in mine["sessions"]]
    # The legacy header names the same user: backward compatible.
    legacy = client.get("/api/sessions", headers={"X-Chorus-User": user}).json()
    assert final["sessionId"] in [s["id"] for s in legacy["sessions"]]
    other = client.get("/api/sessions", headers={"X-Chorus-User": "someone-else"}).json()
    assert final["sessionId"] not in [s["id"] for s in other["sessions"]]


# -- feedback --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def answered(client) -> tuple[str, str, str]:
    token = sign_in(client, f"fb-{uuid.uuid4().hex[:6]}")
    final = answer_once(client, token)
    return token, final["sessionId"], final["messageId"]


def stored_feedback(client, token, session_id, message_id) -> dict[str, Any] | None:
    session = client.get(
        f"/api/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    message = next(m for m in session["messages"] if m["id"] == message_id)
    return message["feedback"]


def rate(client, session_id, body, headers):
    return client.post(f"/api/sessions/{session_id}/feedback", json=body, headers=headers)


def test_feedback_on_an_answer_is_stored_with_it(client, answered):
    token, session_id, message_id = answered
    body = {"messageId": message_id, "rating": "down", "comment": "  missed the point  "}
    response = rate(client, session_id, body, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert stored_feedback(client, token, session_id, message_id) == {
        "rating": "down",
        "comment": "missed the point",
    }


def test_feedback_again_replaces_earlier_feedback(client, answered):
    token, session_id, message_id = answered
    auth = {"Authorization": f"Bearer {token}"}
    rate(client, session_id, {"messageId": message_id, "rating": "down"}, auth)
    response = rate(client, session_id, {"messageId": message_id, "rating": "up"}, auth)
    assert response.status_code == 200, response.text
    assert stored_feedback(client, token, session_id, message_id)["rating"] == "up"


@pytest.mark.parametrize(
    "body",
    [{"rating": "meh"}, {}, {"rating": "up", "comment": "x" * 2001}, {"rating": "up", "x": 1}],
)
def test_bad_feedback_is_a_400(client, answered, body):
    token, session_id, message_id = answered
    response = rate(
        client,
        session_id,
        {"messageId": message_id, **body},
        {"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_feedback_on_another_users_session_or_a_question_is_a_404(client, answered):
    token, session_id, message_id = answered
    body = {"messageId": message_id, "rating": "down"}
    intruder = rate(client, session_id, body, {"X-Chorus-User": "intruder"})
    assert intruder.status_code == 404
    question = {"messageId": f"{message_id}-q", "rating": "down"}
    on_question = rate(client, session_id, question, {"Authorization": f"Bearer {token}"})
    assert on_question.status_code == 404


# -- the signer ------------------------------------------------------------------------------


def test_signer_round_trips_and_rejects_other_secrets_and_expiry():
    signer = DevTokenSigner(b"a" * 32, ttl_seconds=60)
    token, expires = signer.sign("bob", now=1000)
    assert signer.verify(token, now=1001).user == "bob" and expires == 1060
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(token, now=2000)
    with pytest.raises(InvalidToken, match="signature"):
        DevTokenSigner(b"b" * 32).verify(token, now=1001)
    with pytest.raises(InvalidToken):
        signer.verify("not-a-token")


def test_secret_is_created_once_per_home_and_private(tmp_path):
    first = load_or_create_secret(tmp_path)
    assert load_or_create_secret(tmp_path) == first and len(first) == 32
    assert (tmp_path / "dev-auth.key").stat().st_mode & 0o077 == 0
