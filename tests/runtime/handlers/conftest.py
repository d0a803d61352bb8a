"""Handler tests run against a chorus stack under moto and the real embedded PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import moto_stack

USERS = {
    "alice": ["workspace_manager", "team-a"],
    "bob": ["user", "team-b"],
    "root": ["admin"],
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_stack.set_lambda_environment(monkeypatch)
    monkeypatch.delenv("POWERTOOLS_IDEMPOTENCY_DISABLED", raising=False)


@pytest.fixture
def stack(aws_env: None) -> Iterator:
    from moto import mock_aws

    with mock_aws():
        built = moto_stack.build_stack(users=USERS)
        yield built
        built.close()


@pytest.fixture
def services(stack, embedder, module_dsn: str, schema_path: str, with_settings) -> Iterator:
    """CloudServices on the moto stack, the real MiniLM and a fresh PostgreSQL schema; installed
    as the container's services for the handlers."""
    from chorus.runtime.cloud.services import set_services

    built = stack.services(embedder=embedder, database_dsn=with_settings(module_dsn, schema_path))
    set_services(built)
    yield built
    set_services(None)
    if "store" in vars(built):
        built.store.db.close()


@pytest.fixture
def wiring(stack, embedder, module_dsn: str, schema_path: str, with_settings) -> Iterator:
    """The REST Lambda's wiring on the moto stack, the real MiniLM and a fresh PostgreSQL
    schema; installed as the container's wiring for the ``rest_api`` handler."""
    from chorus.runtime.cloud.rest_wiring import RestWiring, set_rest_wiring

    built = RestWiring(
        stack.settings,
        session=stack.session,
        embedder=embedder,
        database_dsn=with_settings(module_dsn, schema_path),
    )
    set_rest_wiring(built)
    yield built
    set_rest_wiring(None)
    built.close()


@pytest.fixture
def context():
    return moto_stack.LambdaContext()
