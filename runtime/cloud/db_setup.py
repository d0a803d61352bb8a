"""Prepare Aurora for chorus at deploy time: the ``vector`` extension, the schema, the tables.

Invoked once per deployment by ``aws.lambda_.Invocation`` (``components/vector_store.py``) with
``{"clusterArn", "secretArn", "database", "schema", "embeddingDimension"}``, or as a
CloudFormation-style custom resource (``{"RequestType", "ResourceProperties", "ResponseURL"
...}``). The tables are created by opening the same adapters the runtime uses — ``PgVectorStore``
(chunks), ``PostgresMetadataStore`` and ``PostgresSemanticCache`` — so their DDL lives in one
place; every statement is ``IF NOT EXISTS`` under an advisory lock, so running it again (a
retried deployment, a changed input) changes nothing that exists.

Two ways to reach the cluster. With ``clusterArn`` + ``secretArn`` and neither ``host`` nor
``dsn`` (how the deployed component invokes it: the function runs outside the VPC) everything
goes through the RDS Data API (``DataApiDatabase``); otherwise psycopg2 connects to the host
(from the input, the secret or the cluster) or to ``dsn``.

An auto-paused Aurora Serverless v2 cluster refuses connections (psycopg2) or answers
``DatabaseResumingException`` (Data API) while it resumes: both are retried with exponential
backoff until the invocation's time is nearly spent.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from ..core.errors import BadRequest
from .dsn import with_search_path
from .settings import ConfigurationError

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _given(value: Any, default: Any) -> Any:
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class SetupRequest:
    """What to create, and where. ``dsn`` (tests, or a secret holding one) bypasses the rest."""

    secret_arn: str | None = None
    cluster_arn: str | None = None
    host: str | None = None
    port: int = 5432
    database: str = "chorus"
    schema: str = "chorus"
    embedding_dimension: int = 384
    chunk_table: str | None = None
    dsn: str | None = None

    @classmethod
    def from_input(cls, raw: Mapping[str, Any]) -> SetupRequest:
        """From the invocation input (or a custom resource's ``ResourceProperties``)."""
        try:
            request = cls(
                secret_arn=raw.get("secretArn") or None,
                cluster_arn=raw.get("clusterArn") or None,
                host=raw.get("host") or None,
                port=int(_given(raw.get("port"), 5432)),
                database=str(raw.get("database") or "chorus"),
                schema=str(raw.get("schema") or "chorus"),
                embedding_dimension=int(_given(raw.get("embeddingDimension"), 384)),
                chunk_table=raw.get("table") or None,
                dsn=raw.get("dsn") or None,
            )
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"db_setup input has a value of the wrong type: {exc}") from None
        for label, name in (("schema", request.schema), ("table", request.table)):
            if not _IDENTIFIER.match(name):
                raise BadRequest(f"db_setup {label} {name!r} is not a lower-case identifier")
        if not 1 <= request.embedding_dimension <= 16000:
            raise BadRequest("db_setup embeddingDimension must be between 1 and 16000")
        if not request.dsn and not request.secret_arn:
            raise BadRequest("db_setup needs secretArn (the cluster's master secret) or dsn")
        return request

    @property
    def uses_data_api(self) -> bool:
        """Through the RDS Data API: a cluster and its secret, and no way to connect directly."""
        return bool(self.cluster_arn and self.secret_arn and not self.host and not self.dsn)

    @property
    def table(self) -> str:
        """Same chunk table name as the runtime (``vectorStore.table`` or per dimension)."""
        return self.chunk_table or f"chorus_chunks_{self.embedding_dimension}"

    def resource_id(self) -> str:
        return f"chorus-db-setup/{self.database}/{self.schema}/{self.table}"


def resolve_dsn(request: SetupRequest, session: Any) -> str:
    """The database URI from the master secret: its ``dsn``, or username/password + the host
    (from the input, the secret, or the cluster's writer endpoint)."""
    if request.dsn:
        return request.dsn
    value = session.client("secretsmanager").get_secret_value(SecretId=request.secret_arn)
    secret = json.loads(value.get("SecretString") or "{}")
    if secret.get("dsn"):
        return str(secret["dsn"])
    host = request.host or secret.get("host")
    if not host and request.cluster_arn:
        clusters = session.client("rds").describe_db_clusters(
            DBClusterIdentifier=request.cluster_arn
        )["DBClusters"]
        host = clusters[0].get("Endpoint") if clusters else None
    if not host:
        raise ConfigurationError(
            "db_setup cannot find the database host: pass host, store it in the secret, or "
            "pass clusterArn and allow rds:DescribeDBClusters"
        )
    user, password = quote(secret["username"], safe=""), quote(secret["password"], safe="")
    port = secret.get("port") or request.port
    database = secret.get("dbname") or request.database
    return f"postgresql://{user}:{password}@{host}:{port}/{database}?sslmode=require"


def connect_when_ready(
    dsn: str,
    *,
    budget_s: float,
    first_wait_s: float = 1.0,
    connect: Callable[[str], Any] | None = None,
) -> Any:
    """A connection, retrying while the cluster resumes (``OperationalError``) for ``budget_s``
    with waits doubling from ``first_wait_s`` (at most 20 s)."""
    import psycopg2

    connect = connect or (lambda value: psycopg2.connect(value, connect_timeout=10))
    for attempt in Retrying(
        stop=stop_after_delay(max(budget_s, 0.0)),
        wait=wait_exponential(multiplier=first_wait_s, min=first_wait_s, max=20),
        retry=retry_if_exception_type(psycopg2.OperationalError),
        reraise=True,
    ):
        with attempt:
            return connect(dsn)
    raise AssertionError("unreachable")  # pragma: no cover


def set_up_database(dsn: str, request: SetupRequest, *, budget_s: float = 240.0) -> dict[str, Any]:
    """Create the extension, the schema and every chorus table; return what now exists."""
    from ..adapters.postgres import PostgresDatabase

    started = time.monotonic()
    conn = connect_when_ready(dsn, budget_s=budget_s)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtext('chorus_db_setup'))")
            cur.execute("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {request.schema}")
            cur.execute("SELECT pg_advisory_unlock(hashtext('chorus_db_setup'))")
        db = PostgresDatabase(with_search_path(dsn, request.schema), max_connections=1)
        try:
            _create_tables(db, request)
        finally:
            db.close()
        with conn.cursor() as cur:
            version, tables = _what_exists(cur, request)
    finally:
        conn.close()
    return _outcome(request, version, tables, started)


def set_up_database_via_data_api(
    client: Any, request: SetupRequest, *, budget_s: float = 240.0
) -> dict[str, Any]:
    """The same as ``set_up_database``, through the RDS Data API (``client``: boto3
    ``rds-data``); every call is retried while the cluster resumes, for ``budget_s``."""
    from ..adapters.rds_data import DataApiDatabase

    started = time.monotonic()

    def database(schema: str | None) -> DataApiDatabase:
        db = DataApiDatabase(
            client,
            cluster_arn=str(request.cluster_arn),
            secret_arn=str(request.secret_arn),
            database=request.database,
            schema=schema,
        )
        db.resume_budget_s = max(budget_s - (time.monotonic() - started), 0.0)
        return db

    with database(None).transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('chorus_db_setup'))")
        cur.execute("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {request.schema}")
    _create_tables(database(request.schema), request)
    with database(None).transaction() as cur:
        version, tables = _what_exists(cur, request)
    return _outcome(request, version, tables, started)


def _create_tables(db: Any, request: SetupRequest) -> None:
    """Open every adapter once: each creates its tables (``IF NOT EXISTS``, under a lock)."""
    from ..adapters.pgvector_store import PgVectorStore
    from ..adapters.postgres_cache import PostgresSemanticCache
    from ..adapters.postgres_metadata import PostgresMetadataStore

    PgVectorStore(db, request.embedding_dimension, table=request.table)
    PostgresMetadataStore(db)
    PostgresSemanticCache(db, request.embedding_dimension)


def _what_exists(cur: Any, request: SetupRequest) -> tuple[str, list[str]]:
    cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    (version,) = cur.fetchone()
    cur.execute(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        (request.schema,),
    )
    return version, [row[0] for row in cur.fetchall()]


def _outcome(
    request: SetupRequest, version: str, tables: list[str], started: float
) -> dict[str, Any]:
    return {
        "schema": request.schema,
        "chunkTable": request.table,
        "vectorVersion": version,
        "tables": tables,
        "seconds": round(time.monotonic() - started, 3),
    }
