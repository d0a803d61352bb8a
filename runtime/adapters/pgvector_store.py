"""VectorStore port on PostgreSQL + pgvector, with BM25 keyword search in the same database.

One chunks table holds every workspace: ``embedding vector(dim)`` with an HNSW cosine index and a
generated ``tsvector`` (PostgreSQL's parser and stemmer), so hybrid search needs no second
service. Every query is filtered by workspace; pgvector's iterative index scan keeps filtered
top-k queries complete.

Keyword search is Okapi BM25 (Lucene's variant, as OpenSearch scores): PostgreSQL's ``ts_rank``
has no inverse document frequency, no term-frequency saturation and no length normalisation,
so a chunk that repeats a common word outranks a short one naming the rare identifier asked
for. BM25 needs, per workspace, how many chunks contain each lexeme and the average chunk
length; those are kept next to the chunks and updated in the transaction that writes or deletes
them (never recomputed per query):

* ``<table>_postings`` — one row per (workspace, lexeme, chunk): the lexeme's frequency in the
  chunk and the chunk's length in lexemes; its primary key is the inverted index a query reads;
* ``<table>_lexemes`` — document frequency of each lexeme in a workspace;
* ``<table>_corpus`` — chunk count and total length of each workspace (for the average).

Writes to one workspace take a transaction-scoped advisory lock, so two ingests of the same
workspace cannot interleave their counter updates. Tables created before the statistics existed
are indexed once when the store is first opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from psycopg2.extras import Json

from ..core.models import Chunk, SearchHit
from .postgres import PostgresDatabase, insert_rows, without_nul

if TYPE_CHECKING:
    from .rds_data import DataApiDatabase

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: The longest suffix of a statistics table (``_postings``): PostgreSQL cuts names at 63 bytes.
_MAX_TABLE_NAME = 63 - len("_postings_doc_idx")
_MAX_QUERY_TERMS = 32
BM25_K1 = 1.2
"""Term-frequency saturation: Lucene's (and so OpenSearch's) default."""
BM25_B = 0.75
"""Length normalisation: Lucene's default."""
#: Ids per embeddings query: 100 vectors of 384 floats stay well within the Data API's 1 MiB.
_EMBEDDINGS_PAGE = 100


class PgVectorStore:
    """Chunks of every workspace in one PostgreSQL table.

    Parameters
    ----------
    db:
        The database to use: a connection pool, or Aurora through the RDS Data API.
    dimension:
        Embedding dimension; fixed per table (384 for all-MiniLM-L6-v2).
    table:
        Table name, ``chorus_chunks`` by default.
    text_search_config:
        PostgreSQL text search configuration for the generated tsvector (``english`` stems).
    bm25_k1, bm25_b:
        BM25 term-frequency saturation and length normalisation (1.2 and 0.75, as OpenSearch:
        a workspace ranks alike on either store).
    """

    supports_keyword_search = True

    def __init__(
        self,
        db: PostgresDatabase | DataApiDatabase,
        dimension: int,
        *,
        table: str = "chorus_chunks",
        text_search_config: str = "english",
        bm25_k1: float = BM25_K1,
        bm25_b: float = BM25_B,
    ) -> None:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"invalid table name {table!r}")
        if len(table) > _MAX_TABLE_NAME:
            raise ValueError(
                f"invalid table name {table!r}: at most {_MAX_TABLE_NAME} characters, so the"
                " names of its keyword statistics tables stay within PostgreSQL's 63"
            )
        if bm25_k1 < 0 or not 0 <= bm25_b <= 1:
            raise ValueError("bm25_k1 must be non-negative and bm25_b within 0..1")
        if not _TABLE_NAME.match(text_search_config):
            raise ValueError(f"invalid text search configuration {text_search_config!r}")
        self.db = db
        self.dimension = dimension
        self.table = table
        self.ts_config = text_search_config
        self.bm25_k1 = float(bm25_k1)
        self.bm25_b = float(bm25_b)
        self.postings = f"{table}_postings"
        self.lexemes = f"{table}_lexemes"
        self.corpus = f"{table}_corpus"
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
                DROP INDEX IF EXISTS {t}_tsv_idx;
                CREATE INDEX IF NOT EXISTS {t}_meta_idx ON {t} USING gin (metadata jsonb_path_ops);
                """
            )
            cur.execute("SELECT to_regclass(%s) IS NULL", (self.corpus,))
            (statistics_missing,) = cur.fetchone()
            cur.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self.postings} (
                    workspace_id text NOT NULL,
                    lexeme text NOT NULL,
                    chunk_id text NOT NULL,
                    document_id text NOT NULL,
                    tf integer NOT NULL,
                    length integer NOT NULL,
                    PRIMARY KEY (workspace_id, lexeme, chunk_id)
                );
                CREATE INDEX IF NOT EXISTS {self.postings}_doc_idx
                    ON {self.postings} (workspace_id, document_id);
                CREATE TABLE IF NOT EXISTS {self.lexemes} (
                    workspace_id text NOT NULL,
                    lexeme text NOT NULL,
                    df integer NOT NULL,
                    PRIMARY KEY (workspace_id, lexeme)
                );
                CREATE TABLE IF NOT EXISTS {self.corpus} (
                    workspace_id text PRIMARY KEY,
                    chunks bigint NOT NULL,
                    total_length bigint NOT NULL
                );
                """
            )
            if statistics_missing:
                # A table from before BM25: index what it holds, once, under the schema lock.
                self._add_statistics(cur, None)
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
                    Json(without_nul(dict(c.metadata))),
                    np.asarray(c.embedding, dtype=np.float32),
                )
            )
        with self.db.transaction() as cur:
            self._remove_statistics(cur, workspace_id, document_id)
            cur.execute(
                f"DELETE FROM {self.table} WHERE workspace_id = %s AND document_id = %s"
                " AND NOT (id = ANY(%s))",
                (workspace_id, document_id, [r[0] for r in rows]),
            )
            if rows:
                insert_rows(
                    cur,
                    f"""INSERT INTO {self.table}
                        (id, workspace_id, document_id, ordinal, text, metadata, embedding)
                        VALUES %s
                        ON CONFLICT (id) DO UPDATE SET
                          ordinal = EXCLUDED.ordinal, text = EXCLUDED.text,
                          metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding""",
                    rows,
                )
            self._add_statistics(cur, (workspace_id, document_id))

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        with self.db.transaction() as cur:
            self._remove_statistics(cur, workspace_id, document_id)
            cur.execute(
                f"DELETE FROM {self.table} WHERE workspace_id = %s AND document_id = %s",
                (workspace_id, document_id),
            )
            return cur.rowcount

    def delete_workspace(self, workspace_id: str) -> int:
        lock, params = self._lock_workspace_sql(workspace_id)
        with self.db.transaction() as cur:
            cur.execute(
                lock
                + ";\n".join(
                    f"DELETE FROM {table} WHERE workspace_id = %s"
                    for table in (self.postings, self.lexemes, self.corpus)
                ),
                (*params, workspace_id, workspace_id, workspace_id),
            )
            cur.execute(f"DELETE FROM {self.table} WHERE workspace_id = %s", (workspace_id,))
            return cur.rowcount

    # -- keyword statistics -----------------------------------------------------------------

    def _lock_workspace_sql(self, workspace_id: str) -> tuple[str, list[Any]]:
        """The statement that serialises the writes of one workspace until the transaction
        ends, and its parameters; sent in the same round trip as the statement after it.

        Two ingests of one workspace would otherwise update the same document-frequency and
        corpus rows in different orders (a deadlock) or from stale reads.
        """
        return "SELECT pg_advisory_xact_lock(hashtext(%s));\n", [f"{self.table}:{workspace_id}"]

    def _remove_statistics(self, cur: Any, workspace_id: str, document_id: str) -> None:
        """Lock the workspace, then take a document's chunks (still present) out of its
        statistics.

        One round trip; the removal is one statement (data-modifying CTEs): a lexeme whose last
        chunk goes is deleted, the others counted down, so the two never touch the same row.
        """
        lock, lock_params = self._lock_workspace_sql(workspace_id)
        cur.execute(
            lock
            + f"""WITH gone AS (
                  DELETE FROM {self.postings} WHERE workspace_id = %s AND document_id = %s
                  RETURNING lexeme, tf),
                per_lexeme AS (SELECT lexeme, count(*) AS chunks FROM gone GROUP BY lexeme),
                counted_down AS (
                  UPDATE {self.lexemes} AS l SET df = l.df - p.chunks FROM per_lexeme AS p
                  WHERE l.workspace_id = %s AND l.lexeme = p.lexeme AND l.df > p.chunks),
                emptied AS (
                  DELETE FROM {self.lexemes} AS l USING per_lexeme AS p
                  WHERE l.workspace_id = %s AND l.lexeme = p.lexeme AND l.df <= p.chunks)
                UPDATE {self.corpus} SET
                  chunks = chunks - (SELECT count(*) FROM {self.table}
                                     WHERE workspace_id = %s AND document_id = %s),
                  total_length = total_length - (SELECT coalesce(sum(tf), 0) FROM gone)
                WHERE workspace_id = %s""",
            (
                *lock_params,
                workspace_id,
                document_id,
                workspace_id,
                workspace_id,
                workspace_id,
                document_id,
                workspace_id,
            ),
        )

    def _add_statistics(self, cur: Any, document: tuple[str, str] | None) -> None:
        """Index the chunks of ``(workspace, document)`` — of the whole table when None —
        once written, and count them in their workspace's statistics (one statement).

        A lexeme's frequency is the number of positions the tsvector keeps for it, a chunk's
        length the sum over its lexemes (stop words excluded, as they are from the query).
        """
        if document is None:
            scope, params = "TRUE", []
        else:
            scope, params = "c.workspace_id = %s AND c.document_id = %s", list(document)
        cur.execute(
            f"""WITH terms AS MATERIALIZED (
                  SELECT c.workspace_id, c.id, c.document_id, u.lexeme,
                         greatest(coalesce(cardinality(u.positions), 1), 1) AS tf
                  FROM {self.table} AS c, unnest(c.tsv) AS u WHERE {scope}),
                lengths AS (SELECT id, sum(tf) AS length FROM terms GROUP BY id),
                postings AS (
                  INSERT INTO {self.postings}
                    (workspace_id, lexeme, chunk_id, document_id, tf, length)
                  SELECT t.workspace_id, t.lexeme, t.id, t.document_id, t.tf, n.length
                  FROM terms AS t JOIN lengths AS n ON n.id = t.id),
                lexemes AS (
                  INSERT INTO {self.lexemes} AS l (workspace_id, lexeme, df)
                  SELECT workspace_id, lexeme, count(*) FROM terms
                  GROUP BY workspace_id, lexeme ORDER BY workspace_id, lexeme
                  ON CONFLICT (workspace_id, lexeme) DO UPDATE SET df = l.df + EXCLUDED.df)
                INSERT INTO {self.corpus} AS s (workspace_id, chunks, total_length)
                SELECT c.workspace_id, count(*), coalesce(sum(n.length), 0)
                FROM {self.table} AS c LEFT JOIN lengths AS n ON n.id = c.id
                WHERE {scope}
                GROUP BY c.workspace_id ORDER BY c.workspace_id
                ON CONFLICT (workspace_id) DO UPDATE SET
                  chunks = s.chunks + EXCLUDED.chunks,
                  total_length = s.total_length + EXCLUDED.total_length""",
            (*params, *params),
        )

    def keyword_statistics(self, workspace_id: str) -> dict[str, Any]:
        """The BM25 statistics of a workspace: ``chunks``, ``total_length`` and ``df`` per
        lexeme; for inspection and tests."""
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT chunks, total_length FROM {self.corpus} WHERE workspace_id = %s",
                (workspace_id,),
            )
            row = cur.fetchone()
            cur.execute(
                f"SELECT lexeme, df FROM {self.lexemes} WHERE workspace_id = %s ORDER BY lexeme",
                (workspace_id,),
            )
            df = {lexeme: int(n) for lexeme, n in cur.fetchall()}
        chunks, total = (int(row[0]), int(row[1])) if row else (0, 0)
        return {"chunks": chunks, "total_length": total, "df": df}

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
            # set_config rather than SET: SET takes no bound parameter (over the Data API
            # nothing is interpolated client-side), and one statement is one round trip.
            cur.execute(
                "SELECT set_config('hnsw.iterative_scan', 'strict_order', true),"
                " set_config('hnsw.ef_search', %s, true)",
                (str(max(40, 2 * k)),),
            )
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
        """Top-k chunks by BM25 over the query's lexemes (any may match), best first.

        The query is parsed by the same text search configuration as the chunks (so "XK-4471"
        yields the lexemes the chunk has); each lexeme contributes
        ``idf · tf / (tf + k1 · (1 - b + b · length / avg_length))`` with
        ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``, read from the maintained statistics.
        """
        query = query.replace("\x00", "")  # stripped from stored text too; libpq rejects NUL
        if not query.strip() or k <= 0:
            return []
        where, params = self._where(workspace_id, filters, alias="c")
        p = self.postings
        # Without a filter the top k is known from the postings alone: read only k chunk rows.
        head, head_params = (
            ("", []) if filters else ("ORDER BY score DESC, p.chunk_id LIMIT %s", [k])
        )
        with self.db.transaction() as cur:
            cur.execute(
                f"""WITH terms AS (
                      SELECT lexeme
                      FROM unnest(tsvector_to_array(to_tsvector('{self.ts_config}', %s)))
                        AS lexeme
                      LIMIT {_MAX_QUERY_TERMS}),
                    corpus AS (
                      SELECT greatest(chunks, 1)::float8 AS n,
                             greatest(total_length::float8 / greatest(chunks, 1), 1) AS avg_length
                      FROM {self.corpus} WHERE workspace_id = %s),
                    weights AS (
                      SELECT l.lexeme, ln(1 + (corpus.n - l.df + 0.5) / (l.df + 0.5)) AS idf,
                             corpus.avg_length
                      FROM {self.lexemes} AS l, corpus
                      WHERE l.workspace_id = %s AND l.lexeme IN (SELECT lexeme FROM terms)),
                    scored AS (
                      SELECT p.chunk_id,
                             sum(w.idf * p.tf / (p.tf + %s * (1 - %s + %s * p.length
                                                               / w.avg_length))) AS score
                      FROM {p} AS p JOIN weights AS w ON w.lexeme = p.lexeme
                      WHERE p.workspace_id = %s
                      GROUP BY p.chunk_id {head})
                    SELECT c.id, c.document_id, c.ordinal, c.text, c.metadata, s.score
                    FROM scored AS s JOIN {self.table} AS c ON c.id = s.chunk_id
                    WHERE {where}
                    ORDER BY s.score DESC, c.id LIMIT %s""",
                (
                    query,
                    workspace_id,
                    workspace_id,
                    self.bm25_k1,
                    self.bm25_b,
                    self.bm25_b,
                    workspace_id,
                    *head_params,
                    *params,
                    k,
                ),
            )
            return [_hit(row) for row in cur.fetchall()]

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        if not chunk_ids:
            return {}
        wanted = list(dict.fromkeys(chunk_ids))
        found: dict[str, Any] = {}
        with self.db.transaction() as cur:
            for start in range(0, len(wanted), _EMBEDDINGS_PAGE):
                cur.execute(
                    f"SELECT id, embedding FROM {self.table}"
                    " WHERE workspace_id = %s AND id = ANY(%s)",
                    (workspace_id, wanted[start : start + _EMBEDDINGS_PAGE]),
                )
                found.update((row[0], _as_array(row[1])) for row in cur.fetchall())
        return found

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
    def _where(
        workspace_id: str, filters: Mapping[str, Any] | None, alias: str | None = None
    ) -> tuple[str, list[Any]]:
        column = f"{alias}." if alias else ""
        clauses, params = [f"{column}workspace_id = %s"], [workspace_id]
        if filters:
            clauses.append(f"{column}metadata @> %s")
            params.append(Json(without_nul(dict(filters))))
        return " AND ".join(clauses), params


def _as_array(value: Any) -> np.ndarray:
    """pgvector hands back ``Vector`` objects (newer) or numpy arrays (older releases); the
    Data API cursor numpy arrays, or the text form ``[0.1,...]`` when it lacks the type."""
    if isinstance(value, str):
        return np.asarray(json.loads(value), dtype=np.float32)
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


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
