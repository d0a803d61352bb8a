"""VectorStore port on PostgreSQL + pgvector, with full-text search in the same table.

One chunks table holds every workspace: ``embedding vector(dim)`` with an HNSW cosine index and a
generated ``tsvector`` with a GIN index, so hybrid search needs no second index. Every query is
filtered by workspace; pgvector's iterative index scan keeps filtered top-k queries complete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from psycopg2.extras import Json, execute_values

from ..core.models import Chunk, SearchHit
from .postgres import PostgresDatabase

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_WORD = re.compile(r"\w+", re.UNICODE)


class PgVectorStore:
    """Chunks of every workspace in one PostgreSQL table.

    Parameters
    ----------
    db:
        The database to use.
    dimension:
        Embedding dimension; fixed per table (384 for all-MiniLM-L6-v2).
    table:
        Table name, ``chorus_chunks`` by default.
    text_search_config:
        PostgreSQL text search configuration for the generated tsvector (``english`` stems).
    """

    supports_keyword_search = True

    def __init__(
        self,
        db: PostgresDatabase,
        dimension: int,
        *,
        table: str = "chorus_chunks",
        text_search_config: str = "english",
    ) -> None:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"invalid table name {table!r}")
        if not _TABLE_NAME.match(text_search_config):
            raise ValueError(f"invalid text search configuration {text_search_config!r}")
        self.db = db
        self.dimension = dimension
        self.table = table
        self.ts_config = text_search_config
        self.ensure_schema()

    def ensure_schema(self) -> None:
        t, cfg = self.table, self.ts_config
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (t,))
            cur.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {t} (
                    id text PRIMARY KEY,
                    workspace_id text NOT NULL,
                    document_id text NOT NULL,
                    ordinal integer NOT NULL,
                    text text NOT NULL,
                    metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
                    embedding vector({int(self.dimension)}) NOT NULL,
                    tsv tsvector GENERATED ALWAYS AS (to_tsvector('{cfg}', text)) STORED
                );
                CREATE INDEX IF NOT EXISTS {t}_doc_idx ON {t} (workspace_id, document_id);
                CREATE INDEX IF NOT EXISTS {t}_hnsw_idx ON {t}
                    USING hnsw (embedding vector_cosine_ops);
                CREATE INDEX IF NOT EXISTS {t}_tsv_idx ON {t} USING gin (tsv);
                CREATE INDEX IF NOT EXISTS {t}_meta_idx ON {t} USING gin (metadata jsonb_path_ops);
                """
            )
            cur.execute(
                """SELECT atttypmod FROM pg_attribute
                   WHERE attrelid = %s::regclass AND attname = 'embedding'""",
                (t,),
            )
            (existing_dim,) = cur.fetchone()
        if existing_dim != self.dimension:
            raise ValueError(
                f"table {t} stores {existing_dim}-dimensional embeddings but this store was "
                f"opened for {self.dimension}; use another table for this embedding model"
            )

    # -- writes -----------------------------------------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        rows = []
        for c in chunks:
            if c.workspace_id != workspace_id or c.document_id != document_id:
                raise ValueError("every chunk must belong to the document being replaced")
            rows.append(
                (
                    c.id,
                    workspace_id,
                    document_id,
                    c.ordinal,
                    c.text.replace("\x00", ""),
                    Json(dict(c.metadata)),
                    np.asarray(c.embedding, dtype=np.float32),
                )
            )
        with self.db.transaction() as cur:
            cur.execute(
                f"DELETE FROM {self.table} WHERE workspace_id = %s AND document_id = %s"
                " AND NOT (id = ANY(%s))",
                (workspace_id, document_id, [r[0] for r in rows]),
            )
            if rows:
                execute_values(
                    cur,
                    f"""INSERT INTO {self.table}
                        (id, workspace_id, document_id, ordinal, text, metadata, embedding)
                        VALUES %s
                        ON CONFLICT (id) DO UPDATE SET
                          ordinal = EXCLUDED.ordinal, text = EXCLUDED.text,
                          metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding""",
                    rows,
                    page_size=500,
                )

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        with self.db.transaction() as cur:
            cur.execute(
                f"DELETE FROM {self.table} WHERE workspace_id = %s AND document_id = %s",
                (workspace_id, document_id),
            )
            return cur.rowcount

    def delete_workspace(self, workspace_id: str) -> int:
        with self.db.transaction() as cur:
            cur.execute(f"DELETE FROM {self.table} WHERE workspace_id = %s", (workspace_id,))
            return cur.rowcount

    # -- reads ------------------------------------------------------------------------------

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        where, params = self._where(workspace_id, filters)
        with self.db.transaction() as cur:
            # Filtered HNSW scans stop early without this; iterative scans keep going until
            # k rows pass the workspace filter (pgvector >= 0.8).
            cur.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            cur.execute("SET LOCAL hnsw.ef_search = %s", (max(40, 2 * k),))
            cur.execute(
                f"""SELECT id, document_id, ordinal, text, metadata,
                           1 - (embedding <=> %s) AS score
                    FROM {self.table} WHERE {where}
                    ORDER BY embedding <=> %s LIMIT %s""",
                (vector, *params, vector, k),
            )
            return [_hit(row) for row in cur.fetchall()]

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        words = _WORD.findall(query)
        if not words:
            return []
        # Any word may match (OR), ranked by ts_rank; websearch syntax never raises on input.
        ts_query = " or ".join(words)
        where, params = self._where(workspace_id, filters)
        with self.db.transaction() as cur:
            cur.execute(
                f"""SELECT id, document_id, ordinal, text, metadata,
                           ts_rank(tsv, q, 1) AS score
                    FROM {self.table}, websearch_to_tsquery('{self.ts_config}', %s) AS q
                    WHERE {where} AND tsv @@ q
                    ORDER BY score DESC, id LIMIT %s""",
                (ts_query, *params, k),
            )
            return [_hit(row) for row in cur.fetchall()]

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        if not chunk_ids:
            return {}
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT id, embedding FROM {self.table} WHERE workspace_id = %s AND id = ANY(%s)",
                (workspace_id, list(chunk_ids)),
            )
            return {row[0]: np.asarray(row[1], dtype=np.float32) for row in cur.fetchall()}

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        sql = f"SELECT count(*) FROM {self.table} WHERE workspace_id = %s"
        params: list[Any] = [workspace_id]
        if document_id is not None:
            sql += " AND document_id = %s"
            params.append(document_id)
        with self.db.transaction() as cur:
            cur.execute(sql, params)
            return int(cur.fetchone()[0])

    def document_chunks(self, workspace_id: str, document_id: str) -> list[SearchHit]:
        """Every chunk of one document in order (score 0); for inspection and tests."""
        with self.db.transaction() as cur:
            cur.execute(
                f"""SELECT id, document_id, ordinal, text, metadata, 0.0 FROM {self.table}
                    WHERE workspace_id = %s AND document_id = %s ORDER BY ordinal""",
                (workspace_id, document_id),
            )
            return [_hit(row) for row in cur.fetchall()]

    @staticmethod
    def _where(workspace_id: str, filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        clauses, params = ["workspace_id = %s"], [workspace_id]
        if filters:
            clauses.append("metadata @> %s")
            params.append(Json(dict(filters)))
        return " AND ".join(clauses), params


def _hit(row: tuple[Any, ...]) -> SearchHit:
    chunk_id, document_id, ordinal, text, metadata, score = row
    return SearchHit(
        chunk_id=chunk_id,
        document_id=document_id,
        ordinal=ordinal,
        text=text,
        score=float(score),
        metadata=metadata or {},
    )
