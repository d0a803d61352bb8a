"""The local server counts the cloud's figures in process: ``/api/stats`` and ``chorus stats``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from chorus.runtime.cli import main
from chorus.runtime.core.protocol import SendMessageData
from chorus.runtime.local.app import create_app
from chorus.runtime.local.services import LocalServices, open_services
from chorus.runtime.local.settings import LocalSettings
from click.testing import CliRunner
from support.threaded_server import ThreadedServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TEXT = (
    "The XK-4471 signing key rotates every ninety days. Operators run keyctl rotate and then "
    "restart the gateway. If the gateway refuses the new key, restore the previous key."
)


@pytest.fixture(scope="module")
def services(
    pg_server_dsn: str, embedder: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServices]:
    import psycopg2

    name = f"t_stats_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    settings = LocalSettings(home=tmp_path_factory.mktemp("chorus-home"))
    opened = open_services(
        settings, embedder=embedder, dsn=pg_server_dsn.replace("/postgres?", f"/{name}?", 1)
    )
    workspace = opened.create_workspace("ops")
    assert opened.ingestor.ingest(workspace, "keys.txt", TEXT.encode()).outcome == "indexed"
    assert opened.ingestor.ingest(workspace, "blob.xyz", b"\x00\x01").outcome == "skipped"
    for question in ("How often does the XK-4471 key rotate?", "What if the gateway refuses?"):
        request = SendMessageData(workspaceId=workspace.id, text=question)
        final = opened.chat.chat(request, user_id="u", send=lambda _e: True)
        assert final["type"] == "final"
    yield opened
    opened.close()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="module")
def base_url(services: LocalServices) -> Iterator[str]:
    server = ThreadedServer(create_app(services), name="chorus server")
    port = server.start()
    yield f"http://127.0.0.1:{port}"
    server.close()


@pytest.fixture(scope="module")
def summary(base_url: str) -> dict:
    response = httpx.get(base_url + "/api/stats", timeout=30)
    assert response.status_code == 200
    return response.json()


def test_stats_count_the_turns_by_mode_and_outcome_with_their_latency(summary):
    turns = summary["turns"]
    assert turns["count"] == 2 and turns["errors"] == 0
    assert turns["byMode"] == {"single": 2}
    assert sum(turns["byOutcome"].values()) == 2
    assert turns["latencyMs"]["count"] == 2
    assert turns["latencyMs"]["p95"] >= turns["latencyMs"]["p50"] > 0


def test_stats_show_latency_calls_and_cost_per_model(summary):
    extractive = summary["models"]["extractive"]
    assert extractive["calls"] == 2
    assert extractive["latencyMs"]["count"] == 2
    assert extractive["cost"] == 0
    assert summary["turns"]["costPerTurn"] == 0


def test_stats_show_retrieval_per_store_and_the_semantic_cache(summary):
    assert summary["retrieval"]["PgVectorStore"]["count"] == 2
    assert summary["cache"]["hits"] + summary["cache"]["misses"] == 2


def test_stats_show_ingest_documents_chunks_and_failures_by_reason(summary):
    ingest = summary["ingest"]
    assert ingest["documents"] == 2
    assert ingest["byOutcome"] == {"indexed": 1, "skipped": 1}
    assert ingest["chunks"] >= 1
    assert ingest["failures"] == {"UnsupportedDocument": 1}


def test_chorus_stats_prints_the_running_servers_figures(base_url):
    result = CliRunner().invoke(main, ["stats", "--url", base_url])

    assert result.exit_code == 0, result.output
    assert "turns          2 (0 errors)" in result.output
    assert "extractive" in result.output
    assert "ingest         2 documents" in result.output


def test_chorus_stats_says_how_to_start_a_server_when_none_answers():
    result = CliRunner().invoke(main, ["stats", "--url", "http://127.0.0.1:9"])

    assert result.exit_code != 0
    assert "chorus up" in result.output
