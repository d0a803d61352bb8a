"""``db_setup``: the vector extension, the chorus schema and tables, on the real PostgreSQL.

Each test gets a brand-new database (``fresh_dsn``: no ``vector`` extension yet) on the session's
embedded PostgreSQL with pgvector, the stand-in for Aurora; the master secret lives in moto's
Secrets Manager. The deployed path (``clusterArn`` + ``secretArn``, no host) goes through the RDS
Data API: a real boto3 client against the local Data API server
(``tests/support/rds_data_server.py``), reached through ``AWS_ENDPOINT_URL_RDS_DATA``.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import numpy as np
import psycopg2
import pytest
from chorus.runtime.cloud.db_setup import SetupRequest, connect_when_ready, resolve_dsn
from chorus.runtime.cloud.services import CloudServices
from chorus.runtime.cloud.settings import (
    SemanticCacheSettings,
    VectorStoreSettings,
    settings_from,
)
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.models import Chunk
from chorus.runtime.handlers import db_setup
from support import moto_stack
from support.rds_data_server import RdsDataServer

CHORUS_TABLES = {
    "chorus_chunks_384",
    "chorus_chunks_384_corpus",  # BM25 statistics of the keyword leg
    "chorus_chunks_384_lexemes",
    "chorus_chunks_384_postings",
    "chorus_documents",
    "chorus_eval_cases",  # a workspace's eval set (application/eval_sets.py)
    "chorus_feedback",  # thumbs up/down per message (the application layer's feedback)
    "chorus_messages",
    "chorus_semantic_cache_384",
    "chorus_semantic_cache_epochs",
    "chorus_sessions",
    "chorus_workspaces",
}


@pytest.fixture
def session(aws_env) -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        yield boto3.session.Session(region_name=moto_stack.REGION)


@pytest.fixture
def secret_arn(session, fresh_dsn) -> str:
    return session.client("secretsmanager").create_secret(
        Name="aurora-master", SecretString=json.dumps({"dsn": fresh_dsn})
    )["ARN"]


def setup_input(secret_arn: str, **extra: Any) -> dict[str, Any]:
    """The input of the psycopg2 path (the secret holds a DSN); add ``clusterArn`` (and no
    host) for the Data API path."""
    return {
        "secretArn": secret_arn,
        "database": "chorus",
        "schema": "chorus",
        "embeddingDimension": 384,
        **extra,
    }


def tables_in(dsn: str, schema: str) -> set[str]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return {row[0] for row in cur.fetchall()}


def test_setup_creates_the_extension_the_schema_and_every_table(session, secret_arn, fresh_dsn):
    result = db_setup.handler(setup_input(secret_arn), moto_stack.LambdaContext())

    assert set(result["tables"]) == CHORUS_TABLES == tables_in(fresh_dsn, "chorus")
    assert result["chunkTable"] == "chorus_chunks_384" and result["vectorVersion"]
    assert tables_in(fresh_dsn, "public") == set()  # nothing outside the schema


def test_running_it_again_changes_nothing_and_keeps_the_data(session, secret_arn, fresh_dsn):
    context = moto_stack.LambdaContext()
    db_setup.handler(setup_input(secret_arn), context)
    with psycopg2.connect(fresh_dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO chorus.chorus_semantic_cache_epochs VALUES ('ws', 7)")

    again = db_setup.handler(setup_input(secret_arn), context)

    assert set(again["tables"]) == CHORUS_TABLES
    with psycopg2.connect(fresh_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT epoch FROM chorus.chorus_semantic_cache_epochs")
        assert cur.fetchall() == [(7,)]


def test_the_runtime_finds_the_tables_setup_created(session, secret_arn, fresh_dsn, embedder):
    db_setup.handler(setup_input(secret_arn), moto_stack.LambdaContext())
    config = {"tables": {"workspace": "w", "document": "d", "sessions": "s", "connections": "c"}}
    settings = settings_from(config, {"AWS_REGION": moto_stack.REGION})
    settings = replace(
        settings,
        vector_store=VectorStoreSettings(secret_arn=secret_arn, schema="chorus"),
        semantic_cache=SemanticCacheSettings(enabled=True),
    )
    services = CloudServices(settings, session=session, embedder=embedder)
    try:
        vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
        services.store.replace_document_chunks(
            "ws", "doc", [Chunk("c1", "ws", "doc", 0, "lava is hot", vector)]
        )
        services.cache.store("ws", "single:x", "q", vector, {"answer": "a"}, epoch=0)
    finally:
        services.close()
    with psycopg2.connect(fresh_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM chorus.chorus_chunks_384")
        assert cur.fetchone() == (1,)
        cur.execute("SELECT count(*) FROM chorus.chorus_semantic_cache_384")
        assert cur.fetchone() == (1,)
    assert tables_in(fresh_dsn, "public") == set()


@pytest.mark.parametrize(
    "bad",
    [
        {"schema": "Robert'); DROP TABLE x;--"},
        {"embeddingDimension": "many"},
        {"embeddingDimension": 0},
        {"secretArn": None},
    ],
)
def test_bad_input_is_refused_before_any_connection(bad):
    with pytest.raises(BadRequest):
        SetupRequest.from_input(setup_input("arn:secret", **bad))


def test_an_rds_managed_secret_gets_the_host_from_the_cluster(session):
    rds = session.client("rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="chorus",
        Engine="aurora-postgresql",
        MasterUsername="chorus_admin",
        MasterUserPassword="secret-password-1",
    )["DBCluster"]
    arn = session.client("secretsmanager").create_secret(
        Name="rds-managed", SecretString=json.dumps({"username": "chorus_admin", "password": "p/w"})
    )["ARN"]
    request = SetupRequest.from_input(setup_input(arn, clusterArn=cluster["DBClusterArn"], host=""))

    dsn = resolve_dsn(request, session)

    assert dsn == (
        f"postgresql://chorus_admin:p%2Fw@{cluster['Endpoint']}:5432/chorus?sslmode=require"
    )


# -- through the RDS Data API (the deployed path) -------------------------------------------------


@pytest.fixture
def data_api(session, fresh_dsn, monkeypatch) -> Iterator[RdsDataServer]:
    with RdsDataServer(fresh_dsn) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_RDS_DATA", server.url)
        yield server


def data_api_input(server: RdsDataServer, **extra: Any) -> dict[str, Any]:
    return setup_input(
        server.secret_arn, clusterArn=server.cluster_arn, database=server.database, **extra
    )


def test_with_a_cluster_and_no_host_setup_goes_through_the_data_api(data_api, fresh_dsn):
    result = db_setup.handler(data_api_input(data_api), moto_stack.LambdaContext())

    assert set(result["tables"]) == CHORUS_TABLES == tables_in(fresh_dsn, "chorus")
    assert result["vectorVersion"] and tables_in(fresh_dsn, "public") == set()
    assert set(data_api.operations()) <= {
        "BeginTransaction",
        "Execute",
        "CommitTransaction",
    }
    statements = [body["sql"] for op, body in data_api.calls if op == "Execute"]
    assert "CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public" in statements


def test_through_the_data_api_running_it_again_keeps_the_data(data_api, fresh_dsn):
    context = moto_stack.LambdaContext()
    db_setup.handler(data_api_input(data_api), context)
    with psycopg2.connect(fresh_dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO chorus.chorus_semantic_cache_epochs VALUES ('ws', 7)")

    again = db_setup.handler(data_api_input(data_api), context)

    assert set(again["tables"]) == CHORUS_TABLES
    with psycopg2.connect(fresh_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT epoch FROM chorus.chorus_semantic_cache_epochs")
        assert cur.fetchall() == [(7,)]


def test_through_the_data_api_setup_waits_for_a_resuming_cluster(data_api, fresh_dsn):
    data_api.resume_failures = 2

    result = db_setup.handler(data_api_input(data_api), moto_stack.LambdaContext())

    assert set(result["tables"]) == CHORUS_TABLES
    assert data_api.operations()[:3] == ["BeginTransaction"] * 3


def test_connecting_waits_for_a_resuming_cluster_then_gives_up_at_the_budget():
    attempts: list[str] = []

    def resuming(dsn: str) -> str:
        attempts.append(dsn)
        if len(attempts) < 3:
            raise psycopg2.OperationalError("the database system is starting up")
        return "connection"

    assert connect_when_ready("x", budget_s=5, first_wait_s=0.01, connect=resuming) == "connection"
    assert len(attempts) == 3

    def paused(dsn: str) -> str:
        raise psycopg2.OperationalError("still resuming")

    with pytest.raises(psycopg2.OperationalError):
        connect_when_ready("x", budget_s=0.05, first_wait_s=0.01, connect=paused)


class _ResponseURL:
    """A stand-in for CloudFormation's pre-signed S3 URL: records the PUT bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/response?sig=x"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def response_url() -> Iterator[_ResponseURL]:
    server = _ResponseURL()
    yield server
    server.close()


def custom_resource_event(request_type: str, url: str, properties: dict[str, Any]) -> dict:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/chorus/1",
        "RequestId": "r-1",
        "LogicalResourceId": "DatabaseSetup",
        "ResourceType": "Custom::ChorusDatabase",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...:db_setup", **properties},
    }


def test_as_a_custom_resource_it_reports_success_and_failure(
    session, secret_arn, fresh_dsn, response_url
):
    context = moto_stack.LambdaContext()
    db_setup.handler(
        custom_resource_event("Create", response_url.url, setup_input(secret_arn)), context
    )
    db_setup.handler(
        custom_resource_event("Create", response_url.url, setup_input(secret_arn, schema="X-1")),
        context,
    )
    deleted = custom_resource_event("Delete", response_url.url, setup_input(secret_arn))
    deleted["PhysicalResourceId"] = "chorus-db-setup/chorus/chorus/chorus_chunks_384"
    db_setup.handler(deleted, context)

    created, failed, removed = response_url.bodies
    assert created["Status"] == "SUCCESS" and created["RequestId"] == "r-1"
    assert created["PhysicalResourceId"] == "chorus-db-setup/chorus/chorus/chorus_chunks_384"
    assert created["Data"]["chunkTable"] == "chorus_chunks_384"
    assert failed["Status"] == "FAILED" and "X-1" in failed["Reason"]
    assert removed["Status"] == "SUCCESS"
    assert tables_in(fresh_dsn, "chorus") == CHORUS_TABLES  # delete leaves the data alone
