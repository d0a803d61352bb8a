"""One REST API, two transports: ``api`` is the local Starlette server or the cloud's REST
Lambda (over moto and the embedded PostgreSQL), answering the same calls.

``api(user, method, path, body=None)`` → ``(status, JSON body or None)`` (a ``str`` body is sent
as is, anything else as JSON); ``user`` is a
workspace manager (``alice``) or a plain user (``bob``). ``api.records`` is the transport's
metadata store and ``api.user_id(user)`` the id it knows the user by (to seed sessions).
``api.public(key, method, path, body=None)`` → ``(status, JSON body, headers)`` calls the public
API with an API key (``Authorization: Bearer``) and no user.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import moto_stack

USERS = {"alice": ["workspace_manager", "team-a"], "bob": ["user", "team-b"]}

Api = Callable[..., tuple[int, Any]]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_stack.set_lambda_environment(monkeypatch)


def _cloud(request: pytest.FixtureRequest) -> Iterator[Api]:
    from chorus.runtime.cloud.rest_wiring import RestWiring, set_rest_wiring
    from chorus.runtime.handlers import rest_api
    from moto import mock_aws

    request.getfixturevalue("aws_env")
    embedder = request.getfixturevalue("embedder")
    dsn = request.getfixturevalue("with_settings")(
        request.getfixturevalue("module_dsn"), request.getfixturevalue("schema_path")
    )
    with mock_aws():
        stack = moto_stack.build_stack(users=USERS)
        wiring = RestWiring(
            stack.settings, session=stack.session, embedder=embedder, database_dsn=dsn
        )
        set_rest_wiring(wiring)
        claims = {u: moto_stack.http_claims(stack.tokens(u)["access"]) for u in USERS}
        context = moto_stack.LambdaContext()

        def call(user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
            path, _, query = path.partition("?")
            params = dict(p.split("=", 1) for p in query.split("&")) if query else None
            event = moto_stack.http_event(
                method, path, claims=claims[user], body=body, query=params
            )
            response = rest_api.handler(event, context)
            text = response.get("body")
            return response["statusCode"], json.loads(text) if text else None

        def public(key: str | None, method: str, path: str, body: Any = None) -> Any:
            headers = {"authorization": f"Bearer {key}"} if key else {}
            event = moto_stack.http_event(method, path, claims=None, body=body, headers=headers)
            response = rest_api.handler(event, context)
            text = response.get("body")
            return (
                response["statusCode"],
                json.loads(text) if text else None,
                {k.lower(): v for k, v in (response.get("headers") or {}).items()},
            )

        call.records = wiring.records  # type: ignore[attr-defined]
        call.user_id = stack.user_id  # type: ignore[attr-defined]
        call.public = public  # type: ignore[attr-defined]
        call.backend = wiring  # type: ignore[attr-defined]
        call.transport = "cloud"  # type: ignore[attr-defined]
        try:
            yield call
        finally:
            set_rest_wiring(None)
            wiring.close()
            stack.close()


def _local(request: pytest.FixtureRequest) -> Iterator[Api]:
    from chorus.runtime.local.app import create_app
    from chorus.runtime.local.services import open_services
    from chorus.runtime.local.settings import LocalSettings
    from starlette.testclient import TestClient

    embedder = request.getfixturevalue("embedder")
    dsn = request.getfixturevalue("fresh_dsn")
    home = request.getfixturevalue("tmp_path")
    services = open_services(LocalSettings(home=home), embedder=embedder, dsn=dsn)
    try:
        with TestClient(create_app(services)) as client:

            def call(user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
                raw = {"content": body.encode()} if isinstance(body, str) else {"json": body}
                response = client.request(
                    method, f"/api{path}", headers={"X-Chorus-User": user}, **raw
                )
                return response.status_code, response.json() if response.content else None

            def public(key: str | None, method: str, path: str, body: Any = None) -> Any:
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                response = client.request(method, f"/api{path}", headers=headers, json=body)
                parsed = response.json() if response.content else None
                return response.status_code, parsed, dict(response.headers)

            call.records = services.metadata  # type: ignore[attr-defined]
            call.user_id = lambda name: name  # type: ignore[attr-defined]
            call.public = public  # type: ignore[attr-defined]
            call.client = client  # type: ignore[attr-defined]
            call.backend = services.backend  # type: ignore[attr-defined]
            call.transport = "local"  # type: ignore[attr-defined]
            yield call
    finally:
        services.close()


@pytest.fixture(params=["local", "cloud"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The same REST API over the local server or the cloud's REST Lambda."""
    yield from (_local if request.param == "local" else _cloud)(request)


@pytest.fixture
def cloud_api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The cloud's REST Lambda alone: where callers differ in groups (locally every caller
    administers the laptop's workspaces)."""
    yield from _cloud(request)
