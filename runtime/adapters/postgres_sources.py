"""SourceLedger port on PostgreSQL: a workspace's sites and feeds, and each page's validators.

Rows go with their workspace (``ON DELETE CASCADE``), so deleting a workspace forgets its sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.source_sync import PageState, Source
from ..core.sources import Validators
from .postgres_workspace_rows import PostgresWorkspaceRows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chorus_sources (
    workspace_id text NOT NULL REFERENCES chorus_workspaces (id) ON DELETE CASCADE,
    url text NOT NULL,
    kind text NOT NULL,
    max_depth integer NOT NULL,
    max_pages integer NOT NULL,
    status text NOT NULL,
    error text,
    synced_at double precision,
    etag text,
    last_modified text,
    PRIMARY KEY (workspace_id, url)
);
CREATE TABLE IF NOT EXISTS chorus_source_pages (
    workspace_id text NOT NULL,
    source_url text NOT NULL,
    url text NOT NULL,
    document_id text NOT NULL,
    depth integer NOT NULL,
    etag text,
    last_modified text,
    PRIMARY KEY (workspace_id, source_url, url),
    FOREIGN KEY (workspace_id, source_url) REFERENCES chorus_sources (workspace_id, url)
        ON DELETE CASCADE
);
"""

_SOURCE_COLUMNS = (
    "workspace_id, url, kind, max_depth, max_pages, status, error, synced_at, etag, last_modified"
)


def _source(row: Sequence[Any]) -> Source:
    return Source(
        workspace_id=row[0],
        url=row[1],
        kind=row[2],
        max_depth=row[3],
        max_pages=row[4],
        status=row[5],
        error=row[6],
        synced_at=row[7],
        validators=Validators(row[8], row[9]),
    )


class PostgresSourceLedger(PostgresWorkspaceRows):
    """Sources and page validators; the tables need ``chorus_workspaces`` (the metadata store)."""

    table = "chorus_sources"
    schema = _SCHEMA

    def put_source(self, source: Source) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                f"""INSERT INTO chorus_sources ({_SOURCE_COLUMNS})
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                    ON CONFLICT (workspace_id, url) DO UPDATE SET
                    kind = EXCLUDED.kind, max_depth = EXCLUDED.max_depth,
                    max_pages = EXCLUDED.max_pages, status = EXCLUDED.status,
                    error = EXCLUDED.error, synced_at = EXCLUDED.synced_at,
                    etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified""",
                (
                    source.workspace_id,
                    source.url,
                    source.kind,
                    source.max_depth,
                    source.max_pages,
                    source.status,
                    source.error,
                    source.synced_at,
                    source.validators.etag,
                    source.validators.last_modified,
                ),
            )

    def get_source(self, workspace_id: str, url: str) -> Source | None:
        row = self._one(
            f"SELECT {_SOURCE_COLUMNS} FROM chorus_sources WHERE workspace_id = %s AND url = %s",
            (workspace_id, url),
        )
        return _source(row) if row else None

    def list_sources(self, workspace_id: str) -> list[Source]:
        rows = self._all(
            f"SELECT {_SOURCE_COLUMNS} FROM chorus_sources WHERE workspace_id = %s ORDER BY url",
            (workspace_id,),
        )
        return [_source(r) for r in rows]

    def pages(self, workspace_id: str, source_url: str) -> list[PageState]:
        rows = self._all(
            """SELECT url, document_id, depth, etag, last_modified FROM chorus_source_pages
               WHERE workspace_id = %s AND source_url = %s ORDER BY url""",
            (workspace_id, source_url),
        )
        return [PageState(r[0], r[1], r[2], Validators(r[3], r[4])) for r in rows]

    def put_pages(self, workspace_id: str, source_url: str, pages: Sequence[PageState]) -> None:
        """Record the pages of a sync whose source row is written in the same call sequence:
        the source row is created first if it is new (pages reference it)."""
        with self.db.transaction() as cur:
            cur.execute(
                """INSERT INTO chorus_sources
                   (workspace_id, url, kind, max_depth, max_pages, status)
                   VALUES (%s, %s, 'site', 0, 1, 'new') ON CONFLICT DO NOTHING""",
                (workspace_id, source_url),
            )
            for page in pages:
                cur.execute(
                    """INSERT INTO chorus_source_pages
                       (workspace_id, source_url, url, document_id, depth, etag, last_modified)
                       VALUES (%s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT (workspace_id, source_url, url) DO UPDATE SET
                       document_id = EXCLUDED.document_id, depth = EXCLUDED.depth,
                       etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified""",
                    (
                        workspace_id,
                        source_url,
                        page.url,
                        page.document_id,
                        page.depth,
                        page.validators.etag,
                        page.validators.last_modified,
                    ),
                )
