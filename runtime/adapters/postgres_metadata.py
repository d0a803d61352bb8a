"""MetadataStore port on PostgreSQL: workspaces, documents, sessions and messages.

Locally this lives in the same embedded PostgreSQL as the chunks; in the cloud the DynamoDB
adapter takes its place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from psycopg2.extras import Json

from ..core.errors import Conflict, NotFound
from ..core.models import (
    ChunkingSettings,
    Document,
    DocumentStatus,
    Feedback,
    Session,
    StoredMessage,
    Workspace,
    WorkspaceAccess,
)
from .postgres import PostgresDatabase, without_nul

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chorus_workspaces (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    embedding_model text NOT NULL,
    embedding_dim integer NOT NULL,
    chunk_size integer NOT NULL,
    chunk_overlap integer NOT NULL,
    store text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS chorus_documents (
    workspace_id text NOT NULL REFERENCES chorus_workspaces (id) ON DELETE CASCADE,
    id text NOT NULL,
    name text NOT NULL,
    content_hash text NOT NULL,
    status text NOT NULL,
    chunk_count integer NOT NULL DEFAULT 0,
    size_bytes bigint NOT NULL DEFAULT 0,
    content_type text NOT NULL DEFAULT '',
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);
CREATE TABLE IF NOT EXISTS chorus_sessions (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    workspace_id text NOT NULL REFERENCES chorus_workspaces (id) ON DELETE CASCADE,
    title text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS chorus_sessions_user_idx ON chorus_sessions (user_id, updated_at DESC);
CREATE TABLE IF NOT EXISTS chorus_messages (
    session_id text NOT NULL REFERENCES chorus_sessions (id) ON DELETE CASCADE,
    id text NOT NULL,
    seq bigserial,
    role text NOT NULL,
    content text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, id)
);
ALTER TABLE chorus_documents ADD COLUMN IF NOT EXISTS chunks_embedded integer;
ALTER TABLE chorus_documents ADD COLUMN IF NOT EXISTS version text NOT NULL DEFAULT '';
ALTER TABLE chorus_documents ADD COLUMN IF NOT EXISTS commit_version text;
ALTER TABLE chorus_documents ADD COLUMN IF NOT EXISTS commit_until double precision;
ALTER TABLE chorus_workspaces
    ADD COLUMN IF NOT EXISTS split_on_headings boolean NOT NULL DEFAULT true;
ALTER TABLE chorus_workspaces ADD COLUMN IF NOT EXISTS title_mode text NOT NULL DEFAULT 'keyword';
ALTER TABLE chorus_workspaces ADD COLUMN IF NOT EXISTS retrieval jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE chorus_workspaces ADD COLUMN IF NOT EXISTS owner_id text NOT NULL DEFAULT '';
ALTER TABLE chorus_workspaces ADD COLUMN IF NOT EXISTS groups text[] NOT NULL DEFAULT '{}';
CREATE TABLE IF NOT EXISTS chorus_feedback (
    session_id text NOT NULL,
    message_id text NOT NULL,
    user_id text NOT NULL,
    rating text NOT NULL,
    comment text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, message_id),
    FOREIGN KEY (session_id, message_id) REFERENCES chorus_messages (session_id, id)
        ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS chorus_eval_cases (
    workspace_id text NOT NULL REFERENCES chorus_workspaces (id) ON DELETE CASCADE,
    id text NOT NULL,
    question text NOT NULL,
    relevant_document_ids text[] NOT NULL DEFAULT '{}',
    reference_answer text,
    answerable boolean NOT NULL DEFAULT true,
    origin text NOT NULL,
    status text NOT NULL,
    note text,
    tags text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX IF NOT EXISTS chorus_eval_cases_status_idx
    ON chorus_eval_cases (workspace_id, status, created_at);
"""

_WORKSPACE_COLUMNS = (
    "id, name, embedding_model, embedding_dim, chunk_size, chunk_overlap, store, created_at,"
    " split_on_headings, title_mode, retrieval"
)
_DOCUMENT_COLUMNS = (
    "workspace_id, id, name, content_hash, status, chunk_count, size_bytes, content_type,"
    " error, created_at, updated_at, chunks_embedded, version"
)


class PostgresMetadataStore:
    """Workspaces, documents, sessions and messages in PostgreSQL."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        with db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('chorus_metadata'))")
            cur.execute(_SCHEMA)

    # -- workspaces -------------------------------------------------------------------------

    def create_workspace(
        self, workspace: Workspace, *, owner_id: str = "", groups: Sequence[str] = ()
    ) -> Workspace:
        """Insert the workspace with who may use it; ``Conflict`` if its id or name is taken."""
        with self.db.transaction() as cur:
            cur.execute(
                f"""INSERT INTO chorus_workspaces
                    (id, name, embedding_model, embedding_dim, chunk_size, chunk_overlap, store,
                     split_on_headings, title_mode, retrieval, owner_id, groups)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                    ON CONFLICT DO NOTHING RETURNING {_WORKSPACE_COLUMNS}""",
                (
                    workspace.id,
                    workspace.name,
                    workspace.embedding_model,
                    workspace.embedding_dim,
                    workspace.chunking.chunk_size,
                    workspace.chunking.chunk_overlap,
                    workspace.store,
                    workspace.chunking.split_on_headings,
                    workspace.chunking.title_mode,
                    Json(dict(workspace.retrieval)),
                    owner_id,
                    list(groups),
                ),
            )
            row = cur.fetchone()
        if row is None:
            raise Conflict(
                f"a workspace named {workspace.name!r} or with id {workspace.id!r} already exists"
            )
        return _workspace(row)

    def update_workspace_settings(
        self,
        workspace_id: str,
        chunking: ChunkingSettings,
        retrieval: Mapping[str, Any],
    ) -> Workspace:
        """Store tuned chunking and retrieval settings; ``NotFound`` for an unknown workspace."""
        with self.db.transaction() as cur:
            cur.execute(
                f"""UPDATE chorus_workspaces
                    SET chunk_size = %s, chunk_overlap = %s, split_on_headings = %s,
                        title_mode = %s, retrieval = %s
                    WHERE id = %s RETURNING {_WORKSPACE_COLUMNS}""",
                (
                    chunking.chunk_size,
                    chunking.chunk_overlap,
                    chunking.split_on_headings,
                    chunking.title_mode,
                    Json(dict(retrieval)),
                    workspace_id,
                ),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"workspace {workspace_id!r} does not exist")
        return _workspace(row)

    def get_workspace(self, workspace_id: str) -> Workspace | None:
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {_WORKSPACE_COLUMNS} FROM chorus_workspaces WHERE id = %s",
                (workspace_id,),
            )
            row = cur.fetchone()
        return _workspace(row) if row else None

    def workspace_access(self, workspace_id: str) -> WorkspaceAccess | None:
        """Owner and groups of a workspace, or None when it does not exist."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT owner_id, groups FROM chorus_workspaces WHERE id = %s", (workspace_id,)
            )
            row = cur.fetchone()
        return WorkspaceAccess(workspace_id, row[0], tuple(row[1])) if row else None

    def find_workspace_by_name(self, name: str) -> Workspace | None:
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {_WORKSPACE_COLUMNS} FROM chorus_workspaces WHERE name = %s", (name,)
            )
            row = cur.fetchone()
        return _workspace(row) if row else None

    def list_workspaces(self) -> list[Workspace]:
        with self.db.transaction() as cur:
            cur.execute(f"SELECT {_WORKSPACE_COLUMNS} FROM chorus_workspaces ORDER BY created_at")
            return [_workspace(r) for r in cur.fetchall()]

    def delete_workspace(self, workspace_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM chorus_workspaces WHERE id = %s", (workspace_id,))

    # -- documents --------------------------------------------------------------------------

    def get_document(self, workspace_id: str, document_id: str) -> Document | None:
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM chorus_documents"
                " WHERE workspace_id = %s AND id = %s",
                (workspace_id, document_id),
            )
            row = cur.fetchone()
        return _document(row) if row else None

    def list_documents(
        self, workspace_id: str, *, status: DocumentStatus | None = None
    ) -> list[Document]:
        """Documents of a workspace by name (``status`` narrows to one status)."""
        wanted = " AND status = %s" if status is not None else ""
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM chorus_documents WHERE workspace_id = %s"
                f"{wanted} ORDER BY name",
                (workspace_id, *([status.value] if status is not None else [])),
            )
            return [_document(r) for r in cur.fetchall()]

    def put_document(self, document: Document) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                """INSERT INTO chorus_documents
                   (workspace_id, id, name, content_hash, status, chunk_count, size_bytes,
                    content_type, error, chunks_embedded)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (workspace_id, id) DO UPDATE SET
                     name = EXCLUDED.name, content_hash = EXCLUDED.content_hash,
                     status = EXCLUDED.status, chunk_count = EXCLUDED.chunk_count,
                     size_bytes = EXCLUDED.size_bytes, content_type = EXCLUDED.content_type,
                     error = EXCLUDED.error, chunks_embedded = EXCLUDED.chunks_embedded,
                     updated_at = now()""",
                (
                    document.workspace_id,
                    document.id,
                    document.name,
                    document.content_hash,
                    document.status.value,
                    document.chunk_count,
                    document.size_bytes,
                    document.content_type,
                    document.error,
                    document.chunks_embedded,
                ),
            )

    def claim_document(self, document: Document) -> bool:
        """Write the record of a new upload unless a newer version was recorded already.

        One statement: the row-level ``WHERE version <= new version`` of the upsert is the
        compare-and-set. The commit lease of a version being committed is kept.
        """
        with self.db.transaction() as cur:
            cur.execute(
                """INSERT INTO chorus_documents
                   (workspace_id, id, name, content_hash, status, chunk_count, size_bytes,
                    content_type, error, chunks_embedded, version)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (workspace_id, id) DO UPDATE SET
                     name = EXCLUDED.name, content_hash = EXCLUDED.content_hash,
                     status = EXCLUDED.status, chunk_count = EXCLUDED.chunk_count,
                     size_bytes = EXCLUDED.size_bytes, content_type = EXCLUDED.content_type,
                     error = EXCLUDED.error, chunks_embedded = EXCLUDED.chunks_embedded,
                     version = EXCLUDED.version, updated_at = now()
                   WHERE chorus_documents.version COLLATE "C" <= EXCLUDED.version COLLATE "C"
                   RETURNING id""",
                (
                    document.workspace_id,
                    document.id,
                    document.name,
                    document.content_hash,
                    document.status.value,
                    document.chunk_count,
                    document.size_bytes,
                    document.content_type,
                    document.error,
                    document.chunks_embedded,
                    document.version,
                ),
            )
            return cur.fetchone() is not None

    def lock_document_commit(
        self,
        workspace_id: str,
        document_id: str,
        version: str,
        content_hash: str,
        *,
        now: float,
        lease_s: float,
    ) -> str:
        """Take the document's commit lease for this version and bytes: ``locked``,
        ``superseded`` (newer version or bytes recorded) or ``busy`` (another commit holds an
        unexpired lease)."""
        with self.db.transaction() as cur:
            cur.execute(
                """UPDATE chorus_documents SET commit_version = %s, commit_until = %s
                   WHERE workspace_id = %s AND id = %s AND version = %s AND content_hash = %s
                     AND (commit_version IS NULL OR commit_version = %s OR commit_until < %s)
                   RETURNING id""",
                (
                    version,
                    now + lease_s,
                    workspace_id,
                    document_id,
                    version,
                    content_hash,
                    version,
                    now,
                ),
            )
            if cur.fetchone() is not None:
                return "locked"
            cur.execute(
                "SELECT version, content_hash FROM chorus_documents"
                " WHERE workspace_id = %s AND id = %s",
                (workspace_id, document_id),
            )
            row = cur.fetchone()
        current = row is not None and tuple(row) == (version, content_hash)
        return "busy" if current else "superseded"

    def finish_document_commit(
        self,
        workspace_id: str,
        document_id: str,
        version: str,
        content_hash: str,
        *,
        status: DocumentStatus,
        chunk_count: int,
        error: str | None = None,
    ) -> bool:
        """Release the lease this commit holds; record ``status`` only while this version and
        bytes are the newest recorded (True), else leave the newer record alone (False)."""
        with self.db.transaction() as cur:
            cur.execute(
                """UPDATE chorus_documents SET commit_version = NULL, commit_until = NULL,
                     chunk_count = %s
                   WHERE workspace_id = %s AND id = %s AND commit_version = %s""",
                (chunk_count, workspace_id, document_id, version),
            )
            cur.execute(
                """UPDATE chorus_documents SET status = %s, chunk_count = %s, error = %s,
                     chunks_embedded = NULL, updated_at = now()
                   WHERE workspace_id = %s AND id = %s AND version = %s AND content_hash = %s
                   RETURNING id""",
                (
                    status.value,
                    chunk_count,
                    error,
                    workspace_id,
                    document_id,
                    version,
                    content_hash,
                ),
            )
            return cur.fetchone() is not None

    def set_document_status(
        self,
        workspace_id: str,
        document_id: str,
        status: DocumentStatus,
        *,
        chunk_count: int | None = None,
        error: str | None = None,
    ) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                """UPDATE chorus_documents SET status = %s,
                     chunk_count = COALESCE(%s, chunk_count), error = %s,
                     chunks_embedded = NULL, updated_at = now()
                   WHERE workspace_id = %s AND id = %s""",
                (status.value, chunk_count, error, workspace_id, document_id),
            )

    def set_document_progress(
        self, workspace_id: str, document_id: str, embedded: int, total: int
    ) -> None:
        """Record chunks embedded so far (and the total) of a ``processing`` document."""
        with self.db.transaction() as cur:
            cur.execute(
                """UPDATE chorus_documents SET chunks_embedded = %s, chunk_count = %s,
                     updated_at = now()
                   WHERE workspace_id = %s AND id = %s AND status = %s""",
                (embedded, total, workspace_id, document_id, DocumentStatus.PROCESSING.value),
            )

    def delete_document(self, workspace_id: str, document_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "DELETE FROM chorus_documents WHERE workspace_id = %s AND id = %s",
                (workspace_id, document_id),
            )

    # -- sessions ---------------------------------------------------------------------------

    def create_session(self, session: Session) -> Session:
        with self.db.transaction() as cur:
            cur.execute(
                """INSERT INTO chorus_sessions (id, user_id, workspace_id, title)
                   VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING""",
                (session.id, session.user_id, session.workspace_id, session.title),
            )
        stored = self.get_session(session.id)
        assert stored is not None
        return stored

    def get_session(self, session_id: str) -> Session | None:
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT id, user_id, workspace_id, title, created_at, updated_at"
                " FROM chorus_sessions WHERE id = %s",
                (session_id,),
            )
            row = cur.fetchone()
        return Session(*row) if row else None

    def list_sessions(self, user_id: str) -> list[Session]:
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT id, user_id, workspace_id, title, created_at, updated_at"
                " FROM chorus_sessions WHERE user_id = %s ORDER BY updated_at DESC",
                (user_id,),
            )
            return [Session(*r) for r in cur.fetchall()]

    def delete_session(self, session_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM chorus_sessions WHERE id = %s", (session_id,))

    def add_message(self, message: StoredMessage) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                """INSERT INTO chorus_messages (session_id, id, role, content, details)
                   VALUES (%s, %s, %s, %s, %s) ON CONFLICT (session_id, id) DO NOTHING""",
                (
                    message.session_id,
                    message.id,
                    message.role,
                    message.content.replace("\x00", ""),
                    Json(without_nul(dict(message.details))),
                ),
            )
            cur.execute(
                "UPDATE chorus_sessions SET updated_at = now() WHERE id = %s",
                (message.session_id,),
            )

    def list_messages(self, session_id: str) -> list[StoredMessage]:
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT session_id, id, role, content, details, created_at"
                " FROM chorus_messages WHERE session_id = %s ORDER BY seq",
                (session_id,),
            )
            return [StoredMessage(*r) for r in cur.fetchall()]

    # -- feedback ---------------------------------------------------------------------------

    def put_feedback(self, feedback: Feedback) -> Feedback:
        """Record (or replace) a user's feedback on an assistant message of the session;
        ``NotFound`` when the session holds no answer with that id."""
        with self.db.transaction() as cur:
            cur.execute(
                """INSERT INTO chorus_feedback (session_id, message_id, user_id, rating, comment)
                   SELECT session_id, id, %s, %s, %s FROM chorus_messages
                   WHERE session_id = %s AND id = %s AND role = 'assistant'
                   ON CONFLICT (session_id, message_id) DO UPDATE
                   SET user_id = EXCLUDED.user_id, rating = EXCLUDED.rating,
                       comment = EXCLUDED.comment, created_at = now()
                   RETURNING created_at""",
                (
                    feedback.user_id,
                    feedback.rating,
                    feedback.comment.replace("\x00", ""),
                    feedback.session_id,
                    feedback.message_id,
                ),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(
                f"message {feedback.message_id!r} is not an answer in session "
                f"{feedback.session_id!r}"
            )
        return replace(feedback, comment=feedback.comment.replace("\x00", ""), created_at=row[0])

    def list_feedback(self, session_id: str) -> list[Feedback]:
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT session_id, message_id, user_id, rating, comment, created_at"
                " FROM chorus_feedback WHERE session_id = %s ORDER BY created_at",
                (session_id,),
            )
            return [Feedback(*r) for r in cur.fetchall()]


def _workspace(row: tuple[Any, ...]) -> Workspace:
    wid, name, model, dim, size, overlap, store, created, headings, title_mode, retrieval = row
    return Workspace(
        id=wid,
        name=name,
        embedding_model=model,
        embedding_dim=dim,
        chunking=ChunkingSettings(
            chunk_size=size,
            chunk_overlap=overlap,
            split_on_headings=headings,
            title_mode=title_mode,
        ),
        store=store,
        created_at=created,
        retrieval=dict(retrieval or {}),
    )


def _document(row: tuple[Any, ...]) -> Document:
    (wid, did, name, chash, status, count, size, ctype, error, created, updated, embedded, ver) = (
        row
    )
    return Document(
        workspace_id=wid,
        id=did,
        name=name,
        content_hash=chash,
        status=DocumentStatus(status),
        chunk_count=count,
        size_bytes=size,
        content_type=ctype,
        error=error,
        created_at=created,
        updated_at=updated,
        chunks_embedded=embedded,
        version=ver or "",
    )
