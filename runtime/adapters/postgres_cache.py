"""SemanticCache port on PostgreSQL + pgvector (the local server; Aurora in the cloud).

One table per embedding dimension holds every workspace's entries; lookups are an exact
(filtered) cosine scan over one workspace and scope, small enough that no ANN index is needed
and results are never missed by an index's recall. A second table keeps each workspace's
invalidation epoch, so ``store`` and ``invalidate_workspace`` serialise on that row.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
from psycopg2.extras import Json

from ..core.semantic_cache import CachedAnswer
from .postgres import PostgresDatabase

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresSemanticCache:
    """Cached final answers per workspace, keyed by question embedding.

    Parameters
    ----------
    db:
        The database to use.
    dimension:
        Query embedding dimension (384 for all-MiniLM-L6-v2).
    table:
        Entries table; ``chorus_semantic_cache_<dimension>`` by default.
    max_entries_per_workspace:
        Oldest entries beyond this are deleted on store (1,000).
    """

    def __init__(
        self,
        db: PostgresDatabase,
        dimension: int,
        *,
        table: str | None = None,
        max_entries_per_workspace: int = 1000,
    ) -> None:
        table = table or f"chorus_semantic_cache_{int(dimension)}"
        if not _TABLE_NAME.match(table):
            raise ValueError(f"invalid table name {table!r}")
        self.db = db
        self.dimension = dimension
        self.table = table
        self.max_entries = max_entries_per_workspace
        self.ensure_schema()

    def ensure_schema(self) -> None:
        t = self.table
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (t,))
            cur.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {t} (
                    id text PRIMARY KEY,
                    workspace_id text NOT NULL,
                    scope text NOT NULL,
                    query text NOT NULL,
                    embedding vector({int(self.dimension)}) NOT NULL,
                    final jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
                );
                CREATE INDEX IF NOT EXISTS {t}_ws_idx ON {t} (workspace_id, scope, created_at);
                CREATE TABLE IF NOT EXISTS chorus_semantic_cache_epochs (
                    workspace_id text PRIMARY KEY,
                    epoch bigint NOT NULL DEFAULT 0
                );
                """
            )

    def epoch(self, workspace_id: str) -> int:
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT epoch FROM chorus_semantic_cache_epochs WHERE workspace_id = %s",
                (workspace_id,),
            )
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def lookup(
        self, workspace_id: str, scope: str, query_vec: np.ndarray, threshold: float
    ) -> CachedAnswer | None:
        vector = np.asarray(query_vec, dtype=np.float32)
        with self.db.transaction() as cur:
            cur.execute(
                f"""SELECT query, final, 1 - (embedding <=> %s) AS similarity,
                           extract(epoch FROM created_at)
                    FROM {self.table}
                    WHERE workspace_id = %s AND scope = %s
                    ORDER BY embedding <=> %s LIMIT 1""",
                (vector, workspace_id, scope, vector),
            )
            row = cur.fetchone()
        if row is None or float(row[2]) < threshold:
            return None
        return CachedAnswer(row[0], row[1], float(row[2]), float(row[3]))

    def store(
        self,
        workspace_id: str,
        scope: str,
        query: str,
        query_vec: np.ndarray,
        final: Mapping[str, Any],
        *,
        epoch: int,
    ) -> bool:
        t = self.table
        with self.db.transaction() as cur:
            # Lock the workspace's epoch row: an invalidation running now waits, or we see it.
            cur.execute(
                """INSERT INTO chorus_semantic_cache_epochs (workspace_id) VALUES (%s)
                   ON CONFLICT (workspace_id)
                   DO UPDATE SET epoch = chorus_semantic_cache_epochs.epoch
                   RETURNING epoch""",
                (workspace_id,),
            )
            (current,) = cur.fetchone()
            if int(current) != epoch:
                return False
            cur.execute(
                f"""INSERT INTO {t} (id, workspace_id, scope, query, embedding, final)
                    VALUES (%s, %s, %s, %s, %s, %s)""",
                (
                    uuid.uuid4().hex,
                    workspace_id,
                    scope,
                    query.replace("\x00", ""),
                    np.asarray(query_vec, dtype=np.float32),
                    Json(dict(final)),
                ),
            )
            cur.execute(
                f"""DELETE FROM {t} WHERE id IN (
                        SELECT id FROM {t} WHERE workspace_id = %s
                        ORDER BY created_at DESC OFFSET %s)""",
                (workspace_id, self.max_entries),
            )
        return True

    def invalidate_workspace(self, workspace_id: str) -> int:
        with self.db.transaction() as cur:
            cur.execute(
                """INSERT INTO chorus_semantic_cache_epochs (workspace_id, epoch) VALUES (%s, 1)
                   ON CONFLICT (workspace_id)
                   DO UPDATE SET epoch = chorus_semantic_cache_epochs.epoch + 1""",
                (workspace_id,),
            )
            cur.execute(f"DELETE FROM {self.table} WHERE workspace_id = %s", (workspace_id,))
            return int(cur.rowcount)
