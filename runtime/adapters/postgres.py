"""PostgreSQL plumbing shared by the pgvector store and the metadata store.

The same SQL runs on the embedded server locally and on Aurora PostgreSQL in the cloud, through
this connection pool or through the RDS Data API (``rds_data.DataApiDatabase``, same interface).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.pool
from pgvector.psycopg2 import register_vector
from psycopg2.extras import execute_values


class PostgresDatabase:
    """A small thread-safe connection pool that hands out transactions.

    Parameters
    ----------
    dsn:
        A libpq URI (``postgresql://...``) or key/value DSN.
    max_connections:
        Upper bound on pooled connections (the local server runs chats in worker threads).
    """

    def __init__(self, dsn: str, *, max_connections: int = 8) -> None:
        self.dsn = dsn
        self._ensure_vector_extension()
        self._pool = psycopg2.pool.ThreadedConnectionPool(1, max_connections, dsn)
        self._registered: set[int] = set()
        self._lock = threading.Lock()

    def _ensure_vector_extension(self) -> None:
        conn = psycopg2.connect(self.dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """Yield a cursor inside one transaction: committed on success, rolled back on error."""
        conn = self._pool.getconn()
        try:
            with self._lock:
                if id(conn) not in self._registered:
                    register_vector(conn)
                    self._registered.add(id(conn))
            with conn, conn.cursor() as cur:
                yield cur
        finally:
            self._pool.putconn(conn)

    def close(self) -> None:
        self._pool.closeall()


def insert_rows(
    cur: Any, sql: str, rows: Sequence[Sequence[Any]], template: str | None = None
) -> None:
    """Insert many rows with one statement per page, on either kind of database.

    ``sql`` holds one ``%s`` where the ``VALUES`` list goes (as ``execute_values``). A psycopg2
    cursor pages by 500 rows; the Data API cursor (``rds_data.DataApiCursor``) also keeps each
    statement within the Data API's request size.
    """
    if isinstance(cur, psycopg2.extensions.cursor):
        execute_values(cur, sql, rows, template=template, page_size=500)
    else:
        cur.insert_rows(sql, rows, template)


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from every string: jsonb rejects ``\\u0000``."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value
