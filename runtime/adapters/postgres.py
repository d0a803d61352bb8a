"""PostgreSQL plumbing shared by the pgvector store and the metadata store.

The same SQL runs on the embedded server locally and on Aurora PostgreSQL in the cloud; only the
connection URI differs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
import psycopg2.pool
from pgvector.psycopg2 import register_vector


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
