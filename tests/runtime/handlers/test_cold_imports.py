"""What each Lambda handler loads when its module is imported (a cold start), checked in a fresh
interpreter per handler: ``sys.modules`` right after the import.

The WebSocket edge (authorizer, connect, disconnect) answers every connection attempt of a cold
container, so it runs on the standard library and its wiring alone: no boto3 (built with the
first call), no Powertools or X-Ray, no pydantic, numpy, langchain or store adapter. Every
handler stays off what only other handlers run (the chat stack off the indexing functions and
back). The functions on Powertools build their X-Ray tracer with the first invocation, and the
REST API answers a ``GET`` without pydantic: its request models load with the first body.
Timings are not asserted here: ``bench/cold_start.py`` prints them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
__import__(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""

EDGE = ("ws_authorizer", "ws_connect", "ws_disconnect")

HEAVY = (
    "numpy",
    "langchain_core",
    "langchain_text_splitters",
    "pydantic",
    "pydantic_core",
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "aws_xray_sdk",
    "jwt",
    "cryptography",
    "psycopg2",
    "pgvector",
    "opensearchpy",
    "bm25s",
    "pypdf",
    "docx",
    "bs4",
    "tenacity",
    "pybreaker",
)
"""Third-party packages none of the edge functions may load at import."""

STORE_ADAPTERS = (
    "chorus.runtime.adapters.pgvector_store",
    "chorus.runtime.adapters.postgres",
    "chorus.runtime.adapters.rds_data",
    "chorus.runtime.adapters.dynamodb_store",
    "chorus.runtime.adapters.dynamodb_metadata",
    "chorus.runtime.adapters.s3vectors_store",
    "chorus.runtime.adapters.opensearch_store",
    "chorus.runtime.adapters.kendra_retriever",
    "chorus.runtime.adapters.s3_documents",
    "chorus.runtime.adapters.dynamodb_cache",
    "chorus.runtime.adapters.postgres_cache",
    "chorus.runtime.cloud.stores",
    "chorus.runtime.cloud.services",
)
"""Store adapters, and the wiring of everything, that the edge functions never load."""

FIRST_INVOCATION = (
    "aws_xray_sdk",
    "boto3",
    "botocore.session",
    "botocore.client",
    "aws_lambda_powertools.utilities.idempotency",
)
"""What the functions on Powertools build with their first invocation, not at import: the X-Ray
tracer (its recorder loads botocore's session and client), boto3 and the idempotency layer."""

NOT_LOADED_BY = {
    "rest_api": (
        *FIRST_INVOCATION,
        "pydantic",
        "numpy",
        "langchain_core",
        "psycopg2",
        "pgvector",
        "chorus.runtime.application.requests",
        "chorus.runtime.cloud.wiring.ingest",
        *STORE_ADAPTERS,
    ),
    "ws_message": (
        "numpy",
        "boto3",
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "langchain_text_splitters",
        "psycopg2",
        "chorus.runtime.core.chat",
        "chorus.runtime.core.retrieval",
        "chorus.runtime.cloud.services",
        "chorus.runtime.cloud.stores",
        "chorus.runtime.adapters.pgvector_store",
    ),
    "chat_worker": (
        *FIRST_INVOCATION,
        "numpy",
        "langchain_text_splitters",
        "pypdf",
        "docx",
        "chorus.runtime.core.ingestion",
        "chorus.runtime.cloud.ingest",
        "chorus.runtime.cloud.services",
    ),
    "ingest_worker": (
        *FIRST_INVOCATION,
        "chorus.runtime.core.chat",
        "chorus.runtime.core.orchestration",
        "chorus.runtime.cloud.chat_jobs",
        "chorus.runtime.cloud.services",
    ),
    "reindex_document": (
        *FIRST_INVOCATION,
        "chorus.runtime.core.chat",
        "chorus.runtime.cloud.chat_jobs",
        "chorus.runtime.cloud.services",
    ),
    "bulk_ingest_batch": (
        *FIRST_INVOCATION,
        "chorus.runtime.core.chat",
        "chorus.runtime.cloud.chat_jobs",
        "chorus.runtime.cloud.services",
        "chorus.runtime.adapters.dynamodb_bulk_jobs",
    ),
    "fanout_model": (
        *FIRST_INVOCATION,
        "langchain_text_splitters",
        "psycopg2",
        "chorus.runtime.core.chat",
        "chorus.runtime.core.retrieval",
        "chorus.runtime.cloud.services",
        "chorus.runtime.cloud.stores",
    ),
    "fanout_agreement": (
        *FIRST_INVOCATION,
        "langchain_text_splitters",
        "psycopg2",
        "chorus.runtime.core.chat",
        "chorus.runtime.cloud.services",
        "chorus.runtime.cloud.stores",
    ),
    "evaluate_workspace": (
        *FIRST_INVOCATION,
        "numpy",
        "matplotlib",
        "langchain_text_splitters",
        "chorus.runtime.core.answer_evaluation",
        "chorus.runtime.core.ingestion",
        "chorus.runtime.cloud.scheduled_evaluation",
        "chorus.runtime.cloud.chat_jobs",
        "chorus.runtime.cloud.services",
        "chorus.runtime.adapters.s3_eval_results",
    ),
    "sync_sources": (
        *FIRST_INVOCATION,
        "httpx",
        "trafilatura",
        "feedparser",
        "chorus.runtime.core.chat",
        "chorus.runtime.cloud.chat_jobs",
        "chorus.runtime.cloud.services",
        "chorus.runtime.adapters.web_content",
    ),
    "db_setup": (
        "numpy",
        "pydantic",
        "langchain_text_splitters",
        "chorus.runtime.cloud.services",
        "chorus.runtime.cloud.wiring.base",
    ),
}
"""What each other handler must not load: the parts that only other handlers run."""


def loaded_by(handler: str, **env: str) -> set[str]:
    """``sys.modules`` of a fresh interpreter after importing ``runtime.handlers.<handler>``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, f"chorus.runtime.handlers.{handler}"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def offenders(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f for f in forbidden if f in modules or any(m.startswith(f"{f}.") for m in modules)
    )


@pytest.fixture(scope="module")
def edge_modules() -> dict[str, set[str]]:
    return {handler: loaded_by(handler) for handler in EDGE}


@pytest.mark.parametrize("handler", EDGE)
def test_the_edge_handlers_load_no_heavy_library(edge_modules, handler):
    assert offenders(edge_modules[handler], HEAVY) == []


@pytest.mark.parametrize("handler", EDGE)
def test_the_edge_handlers_load_no_store_adapter_nor_the_whole_wiring(edge_modules, handler):
    assert offenders(edge_modules[handler], STORE_ADAPTERS) == []


@pytest.mark.parametrize("handler", EDGE)
def test_the_edge_handlers_load_their_own_wiring(edge_modules, handler):
    assert "chorus.runtime.cloud.wiring.connections" in edge_modules[handler]


@pytest.mark.parametrize("handler", sorted(NOT_LOADED_BY))
def test_each_handler_stays_off_what_only_other_handlers_run(handler):
    modules = loaded_by(handler)
    assert f"chorus.runtime.handlers.{handler}" in modules  # the probe imported the right thing
    assert offenders(modules, NOT_LOADED_BY[handler]) == []


SNAPSHOT = {
    "chat_worker": (
        "chorus.runtime.core.chat",
        "chorus.runtime.core.retrieval",
        "numpy",
        "aws_xray_sdk.core",
        "aws_lambda_powertools.utilities.idempotency",
    ),
    "ingest_worker": (
        "chorus.runtime.cloud.stores",
        "chorus.runtime.adapters.pgvector_store",
        "aws_xray_sdk.core",
        "aws_lambda_powertools.utilities.idempotency",
    ),
}
"""Modules a worker's first call builds from, and a SnapStart snapshot should hold."""


@pytest.mark.parametrize("handler", sorted(SNAPSHOT))
def test_a_worker_leaves_its_first_calls_modules_to_that_call_without_snap_start(handler):
    modules = loaded_by(handler, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    assert [m for m in SNAPSHOT[handler] if m in modules] == []


@pytest.mark.parametrize("handler", sorted(SNAPSHOT))
def test_a_worker_imports_its_first_calls_modules_into_the_snap_start_snapshot(handler):
    modules = loaded_by(handler, AWS_LAMBDA_INITIALIZATION_TYPE="snap-start")
    assert [m for m in SNAPSHOT[handler] if m not in modules] == []
