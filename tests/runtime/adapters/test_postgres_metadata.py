"""runtime/adapters/postgres_metadata.py against the real embedded PostgreSQL.

Every test gets an empty schema of its own (first on the connection's search_path) in a database
of this module, so each starts from fresh tables without paying for a new database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.adapters.postgres_metadata import PostgresMetadataStore
from chorus.runtime.core.errors import Conflict, NotFound
from chorus.runtime.core.models import (
    ChunkingSettings,
    Document,
    DocumentStatus,
    Feedback,
    Session,
    StoredMessage,
    Workspace,
    WorkspaceAccess,
)
from chorus.runtime.core.ports import MetadataStore


@pytest.fixture
def db(module_dsn: str, schema_path: str, with_settings) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(with_settings(module_dsn, schema_path))
    yield database
    database.close()


@pytest.fixture
def store(db: PostgresDatabase) -> PostgresMetadataStore:
    return PostgresMetadataStore(db)


def workspace(wid: str = "ws-1", name: str = "handbook", **kwargs: object) -> Workspace:
    return Workspace(
        id=wid, name=name, embedding_model="all-MiniLM-L6-v2", embedding_dim=384, **kwargs
    )


def doc(did: str = "doc-1", name: str = "a.md", ws: str = "ws-1", **kwargs: object) -> Document:
    kwargs.setdefault("content_hash", f"hash-of-{did}")
    kwargs.setdefault("status", DocumentStatus.QUEUED)
    return Document(workspace_id=ws, id=did, name=name, **kwargs)


def message(mid: str, session: str = "s-1", role: str = "user", **kwargs: object):
    kwargs.setdefault("content", f"content of {mid}")
    return StoredMessage(session_id=session, id=mid, role=role, **kwargs)


def row_count(store: PostgresMetadataStore, table: str) -> int:
    with store.db.transaction() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def test_the_store_satisfies_the_metadata_store_port(store):
    assert isinstance(store, MetadataStore)


def test_opening_the_store_twice_keeps_its_rows(db, store):
    store.create_workspace(workspace())

    again = PostgresMetadataStore(db)

    assert [w.id for w in again.list_workspaces()] == ["ws-1"]


# -- workspaces -------------------------------------------------------------------------------


def test_create_workspace_returns_it_with_its_settings_and_creation_time(store):
    created = store.create_workspace(
        workspace(chunking=ChunkingSettings(chunk_size=500, chunk_overlap=50), store="opensearch")
    )

    assert created.id == "ws-1"
    assert created.name == "handbook"
    assert (created.embedding_model, created.embedding_dim) == ("all-MiniLM-L6-v2", 384)
    assert created.chunking == ChunkingSettings(chunk_size=500, chunk_overlap=50)
    assert created.store == "opensearch"
    assert created.created_at is not None and created.created_at.tzinfo is not None
    assert store.get_workspace("ws-1") == created


def test_a_duplicate_workspace_name_raises_conflict_and_changes_nothing(store):
    store.create_workspace(workspace("ws-1", "handbook"))

    with pytest.raises(Conflict) as caught:
        store.create_workspace(workspace("ws-2", "handbook"))

    assert caught.value.code == "conflict"
    assert "'handbook'" in caught.value.message
    assert [w.id for w in store.list_workspaces()] == ["ws-1"]


def test_a_duplicate_workspace_id_raises_conflict_and_keeps_the_first(store):
    first = store.create_workspace(workspace("ws-1", "handbook"))

    with pytest.raises(Conflict):
        store.create_workspace(workspace("ws-1", "other name"))

    assert store.list_workspaces() == [first]


def test_get_workspace_of_an_unknown_id_is_none(store):
    assert store.get_workspace("missing") is None


def test_find_workspace_by_name_is_exact(store):
    created = store.create_workspace(workspace("ws-1", "Hand Book"))

    assert store.find_workspace_by_name("Hand Book") == created
    assert store.find_workspace_by_name("hand book") is None
    assert store.find_workspace_by_name("Hand") is None


def test_list_workspaces_in_creation_order(store):
    for wid, name in [("ws-b", "zeta"), ("ws-a", "alpha"), ("ws-c", "mid")]:
        store.create_workspace(workspace(wid, name))

    assert [w.id for w in store.list_workspaces()] == ["ws-b", "ws-a", "ws-c"]


def test_deleting_a_workspace_deletes_its_documents_only(store):
    store.create_workspace(workspace("ws-1", "one"))
    store.create_workspace(workspace("ws-2", "two"))
    store.put_document(doc("d1", ws="ws-1"))
    store.put_document(doc("d2", ws="ws-1"))
    store.put_document(doc("d3", ws="ws-2"))

    store.delete_workspace("ws-1")

    assert store.get_workspace("ws-1") is None
    assert store.list_documents("ws-1") == []
    assert [d.id for d in store.list_documents("ws-2")] == ["d3"]
    assert row_count(store, "chorus_documents") == 1


def test_deleting_an_unknown_workspace_is_a_no_op(store):
    store.create_workspace(workspace())

    store.delete_workspace("missing")

    assert len(store.list_workspaces()) == 1


def test_a_workspace_name_with_sql_and_unicode_round_trips(store):
    name = "'; DROP TABLE chorus_workspaces; -- 東京 🎉"
    store.create_workspace(workspace("ws-1", name))

    assert store.find_workspace_by_name(name).id == "ws-1"
    assert row_count(store, "chorus_workspaces") == 1


# -- documents --------------------------------------------------------------------------------


@pytest.fixture
def with_workspace(store: PostgresMetadataStore) -> PostgresMetadataStore:
    store.create_workspace(workspace())
    return store


def test_put_document_inserts_it_with_every_field(with_workspace):
    store = with_workspace
    store.put_document(
        doc(size_bytes=1234, content_type="text/markdown", chunk_count=3, error=None)
    )

    got = store.get_document("ws-1", "doc-1")

    assert (got.workspace_id, got.id, got.name, got.content_hash) == (
        "ws-1",
        "doc-1",
        "a.md",
        "hash-of-doc-1",
    )
    assert got.status is DocumentStatus.QUEUED
    assert (got.chunk_count, got.size_bytes, got.content_type, got.error) == (
        3,
        1234,
        "text/markdown",
        None,
    )
    assert got.created_at is not None and got.updated_at is not None


def test_put_document_again_updates_it_and_keeps_its_creation_time(with_workspace):
    store = with_workspace
    store.put_document(doc(content_hash="v1"))
    with store.db.transaction() as cur:  # an old stamp, so "moved on" needs no second clock read
        cur.execute("UPDATE chorus_documents SET updated_at = '2020-01-01T00:00:00Z'")
    first = store.get_document("ws-1", "doc-1")

    store.put_document(doc(name="b.md", content_hash="v2", status=DocumentStatus.PROCESSING))

    second = store.get_document("ws-1", "doc-1")
    assert (second.name, second.content_hash, second.status) == (
        "b.md",
        "v2",
        DocumentStatus.PROCESSING,
    )
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert row_count(store, "chorus_documents") == 1


def test_get_document_of_an_unknown_id_is_none(with_workspace):
    assert with_workspace.get_document("ws-1", "missing") is None
    assert with_workspace.get_document("missing", "doc-1") is None


def test_set_document_status_records_the_chunk_count(with_workspace):
    store = with_workspace
    store.put_document(doc())

    store.set_document_status("ws-1", "doc-1", DocumentStatus.INDEXED, chunk_count=42)

    got = store.get_document("ws-1", "doc-1")
    assert (got.status, got.chunk_count, got.error) == (DocumentStatus.INDEXED, 42, None)


def test_set_document_status_records_an_error_and_keeps_the_count(with_workspace):
    store = with_workspace
    store.put_document(doc(chunk_count=7))

    store.set_document_status("ws-1", "doc-1", DocumentStatus.FAILED, error="bad PDF: no text")

    got = store.get_document("ws-1", "doc-1")
    assert (got.status, got.chunk_count, got.error) == (
        DocumentStatus.FAILED,
        7,
        "bad PDF: no text",
    )


def test_a_later_status_without_error_clears_the_previous_error(with_workspace):
    store = with_workspace
    store.put_document(doc())
    store.set_document_status("ws-1", "doc-1", DocumentStatus.FAILED, error="timeout")

    store.set_document_status("ws-1", "doc-1", DocumentStatus.INDEXED, chunk_count=2)

    got = store.get_document("ws-1", "doc-1")
    assert (got.status, got.chunk_count, got.error) == (DocumentStatus.INDEXED, 2, None)


def test_set_document_status_touches_only_that_document(with_workspace):
    store = with_workspace
    store.put_document(doc("doc-1"))
    store.put_document(doc("doc-2", "b.md"))

    store.set_document_status("ws-1", "doc-1", DocumentStatus.INDEXED, chunk_count=5)

    other = store.get_document("ws-1", "doc-2")
    assert (other.status, other.chunk_count) == (DocumentStatus.QUEUED, 0)


def test_progress_of_a_processing_document_is_recorded_with_its_total(with_workspace):
    store = with_workspace
    store.put_document(doc(status=DocumentStatus.PROCESSING))

    store.set_document_progress("ws-1", "doc-1", 1024, 4096)

    got = store.get_document("ws-1", "doc-1")
    assert (got.status, got.chunks_embedded, got.chunk_count) == (
        DocumentStatus.PROCESSING,
        1024,
        4096,
    )
    assert [d.chunks_embedded for d in store.list_documents("ws-1")] == [1024]


def test_a_document_without_progress_has_none(with_workspace):
    store = with_workspace
    store.put_document(doc())

    assert store.get_document("ws-1", "doc-1").chunks_embedded is None


def test_progress_is_cleared_by_any_status_change(with_workspace):
    store = with_workspace
    store.put_document(doc(status=DocumentStatus.PROCESSING))
    store.set_document_progress("ws-1", "doc-1", 256, 512)

    store.set_document_status("ws-1", "doc-1", DocumentStatus.INDEXED, chunk_count=512)

    got = store.get_document("ws-1", "doc-1")
    assert (got.status, got.chunks_embedded, got.chunk_count) == (DocumentStatus.INDEXED, None, 512)


def test_progress_of_a_document_not_processing_is_not_recorded(with_workspace):
    store = with_workspace
    store.put_document(doc(status=DocumentStatus.INDEXED, chunk_count=3))

    store.set_document_progress("ws-1", "doc-1", 1, 9)
    store.set_document_progress("ws-1", "missing", 1, 9)

    got = store.get_document("ws-1", "doc-1")
    assert (got.chunks_embedded, got.chunk_count) == (None, 3)
    assert store.get_document("ws-1", "missing") is None


def test_a_documents_table_from_before_progress_gains_the_column(db):
    with db.transaction() as cur:
        cur.execute(
            """CREATE TABLE chorus_workspaces (id text PRIMARY KEY, name text NOT NULL UNIQUE,
                 embedding_model text NOT NULL, embedding_dim integer NOT NULL,
                 chunk_size integer NOT NULL, chunk_overlap integer NOT NULL,
                 store text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
               CREATE TABLE chorus_documents (
                 workspace_id text NOT NULL REFERENCES chorus_workspaces (id) ON DELETE CASCADE,
                 id text NOT NULL, name text NOT NULL, content_hash text NOT NULL,
                 status text NOT NULL, chunk_count integer NOT NULL DEFAULT 0,
                 size_bytes bigint NOT NULL DEFAULT 0, content_type text NOT NULL DEFAULT '',
                 error text, created_at timestamptz NOT NULL DEFAULT now(),
                 updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (workspace_id, id));
               INSERT INTO chorus_workspaces VALUES
                 ('ws-1', 'old', 'all-MiniLM-L6-v2', 384, 1000, 200, 'pgvector', now());
               INSERT INTO chorus_documents (workspace_id, id, name, content_hash, status,
                 chunk_count) VALUES ('ws-1', 'doc-1', 'a.md', 'h', 'indexed', 4);"""
        )

    store = PostgresMetadataStore(db)

    got = store.get_document("ws-1", "doc-1")
    assert (got.status, got.chunk_count, got.chunks_embedded) == (DocumentStatus.INDEXED, 4, None)


def test_list_documents_of_a_workspace_sorted_by_name(store):
    store.create_workspace(workspace("ws-1", "one"))
    store.create_workspace(workspace("ws-2", "two"))
    store.put_document(doc("d1", "zeta.md"))
    store.put_document(doc("d2", "alpha.md"))
    store.put_document(doc("d3", "mid.md"))
    store.put_document(doc("d4", "other.md", ws="ws-2"))

    assert [d.name for d in store.list_documents("ws-1")] == ["alpha.md", "mid.md", "zeta.md"]
    assert store.list_documents("missing") == []


def test_delete_document_removes_only_that_document(with_workspace):
    store = with_workspace
    store.put_document(doc("doc-1"))
    store.put_document(doc("doc-2", "b.md"))

    store.delete_document("ws-1", "doc-1")

    assert store.get_document("ws-1", "doc-1") is None
    assert [d.id for d in store.list_documents("ws-1")] == ["doc-2"]


# -- sessions and messages --------------------------------------------------------------------


@pytest.fixture
def store_with_workspaces(store: PostgresMetadataStore) -> PostgresMetadataStore:
    """Sessions belong to a workspace: create the two the session tests use."""
    store.create_workspace(workspace("ws-1", "handbook"))
    store.create_workspace(workspace("ws-2", "runbook"))
    return store


def test_deleting_a_workspace_deletes_its_sessions_and_messages(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))
    store.create_session(Session("s-2", "alice", "ws-2"))
    store.add_message(message("m1", session="s-1"))

    store.delete_workspace("ws-1")

    assert [s.id for s in store.list_sessions("alice")] == ["s-2"]
    assert store.list_messages("s-1") == []


def test_create_session_returns_it_with_timestamps(store_with_workspaces):
    store = store_with_workspaces
    created = store.create_session(Session("s-1", "alice", "ws-1", "Refunds"))

    assert (created.id, created.user_id, created.workspace_id, created.title) == (
        "s-1",
        "alice",
        "ws-1",
        "Refunds",
    )
    assert created.created_at is not None and created.updated_at is not None
    assert store.get_session("s-1") == created


def test_create_session_twice_is_idempotent_and_keeps_the_first(store_with_workspaces):
    store = store_with_workspaces
    first = store.create_session(Session("s-1", "alice", "ws-1", "Refunds"))

    again = store.create_session(Session("s-1", "alice", "ws-1", "Another title"))

    assert again == first
    assert row_count(store, "chorus_sessions") == 1


def test_get_session_of_an_unknown_id_is_none(store_with_workspaces):
    store = store_with_workspaces
    assert store.get_session("missing") is None


def test_list_sessions_returns_only_that_users_sessions_most_recent_first(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))
    store.create_session(Session("s-2", "bob", "ws-1"))
    store.create_session(Session("s-3", "alice", "ws-2"))
    store.add_message(message("m1", session="s-1"))  # s-1 becomes the most recent

    assert [s.id for s in store.list_sessions("alice")] == ["s-1", "s-3"]
    assert [s.id for s in store.list_sessions("bob")] == ["s-2"]
    assert store.list_sessions("carol") == []


def test_messages_are_listed_in_the_order_they_were_added(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))
    ids = ["z", "a", "m", "b"]
    for i, mid in enumerate(ids):
        store.add_message(message(mid, role="user" if i % 2 == 0 else "assistant"))

    listed = store.list_messages("s-1")

    assert [m.id for m in listed] == ids
    assert [m.role for m in listed] == ["user", "assistant", "user", "assistant"]
    assert all(m.created_at is not None for m in listed)


def test_adding_the_same_message_twice_stores_it_once(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))

    store.add_message(message("m1", content="first"))
    store.add_message(message("m1", content="retried"))

    assert [m.content for m in store.list_messages("s-1")] == ["first"]


def test_messages_of_one_session_are_not_listed_in_another(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))
    store.create_session(Session("s-2", "alice", "ws-1"))
    store.add_message(message("m1", session="s-1"))
    store.add_message(message("m1", session="s-2", content="same id, other session"))

    assert [m.content for m in store.list_messages("s-2")] == ["same id, other session"]
    assert len(store.list_messages("s-1")) == 1


def test_message_details_round_trip_as_json(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))
    details = {
        "sources": [{"chunkId": "ws/doc/0", "score": 0.8125, "snippet": '東京 🎉 "quoted" \\'}],
        "answers": {"gpt-4o-mini": "Paris.", "llama": None},
        "agreement": 0.5,
        "tokens": {"input": 120, "output": 7},
        "flags": [True, False],
        "empty": {},
    }

    store.add_message(message("m1", role="assistant", content="Paris [1].", details=details))

    (got,) = store.list_messages("s-1")
    assert got.details == details
    assert (got.role, got.content) == ("assistant", "Paris [1].")


def test_message_content_round_trips_unicode_and_strips_nul_bytes(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))

    store.add_message(message("m1", content="東京 🎉 'quote' \\ a\x00b"))

    assert store.list_messages("s-1")[0].content == "東京 🎉 'quote' \\ ab"


def test_deleting_a_session_deletes_its_messages_only(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))
    store.create_session(Session("s-2", "alice", "ws-1"))
    store.add_message(message("m1", session="s-1"))
    store.add_message(message("m2", session="s-1"))
    store.add_message(message("m3", session="s-2"))

    store.delete_session("s-1")

    assert store.get_session("s-1") is None
    assert store.list_messages("s-1") == []
    assert [m.id for m in store.list_messages("s-2")] == ["m3"]
    assert row_count(store, "chorus_messages") == 1


def test_nul_bytes_are_stripped_from_message_details(store_with_workspaces):
    store = store_with_workspaces
    store.create_session(Session("s-1", "alice", "ws-1"))
    details = {"answers": {"model\x00": "Par\x00is"}, "sources": [{"snippet": "a\x00b"}]}

    store.add_message(message("m1", role="assistant", details=details))

    (got,) = store.list_messages("s-1")
    assert got.details == {"answers": {"model": "Paris"}, "sources": [{"snippet": "ab"}]}


def test_tuned_chunking_and_retrieval_settings_are_stored_on_the_workspace(store):
    store.create_workspace(workspace())
    tuned = ChunkingSettings(chunk_size=500, chunk_overlap=100, title_mode="embed")
    updated = store.update_workspace_settings("ws-1", tuned, {"fusion": "adaptive"})
    assert updated.chunking == tuned
    assert updated.retrieval == {"fusion": "adaptive"}
    assert store.get_workspace("ws-1") == updated


def test_a_new_workspace_has_default_title_handling_and_no_retrieval_overrides(store):
    created = store.create_workspace(workspace())
    assert created.chunking.title_mode == "keyword"
    assert created.chunking.split_on_headings is True
    assert created.retrieval == {}


def test_tuning_an_unknown_workspace_is_not_found(store):
    from chorus.runtime.core.errors import NotFound

    with pytest.raises(NotFound):
        store.update_workspace_settings("nope", ChunkingSettings(), {})


# -- access and feedback (the application layer's Records port) --------------------------------


def test_a_workspace_records_who_may_use_it(store):
    store.create_workspace(workspace(), owner_id="alice", groups=["team-a", "ops"])

    assert store.workspace_access("ws-1") == WorkspaceAccess("ws-1", "alice", ("team-a", "ops"))
    assert store.workspace_access("nope") is None


def test_documents_can_be_listed_by_status(with_workspace):
    with_workspace.put_document(doc("d1", "a.md", status=DocumentStatus.INDEXED))
    with_workspace.put_document(doc("d2", "b.md", status=DocumentStatus.FAILED))

    listed = with_workspace.list_documents("ws-1", status=DocumentStatus.FAILED)

    assert [d.id for d in listed] == ["d2"]


@pytest.fixture
def answered(store_with_workspaces) -> PostgresMetadataStore:
    store = store_with_workspaces
    store.create_session(Session("s1", "u1", "ws-1"))
    store.add_message(StoredMessage("s1", "q", "user", "question?"))
    store.add_message(StoredMessage("s1", "a", "assistant", "answer."))
    return store


def test_feedback_on_an_answer_is_stored_and_replaced(answered):
    answered.put_feedback(Feedback("s1", "a", "u1", "up"))
    stored = answered.put_feedback(Feedback("s1", "a", "u1", "down", "changed my mind\x00"))

    assert (stored.rating, stored.comment) == ("down", "changed my mind")
    assert stored.created_at is not None
    [listed] = answered.list_feedback("s1")
    assert (listed.message_id, listed.rating, listed.comment) == ("a", "down", "changed my mind")


def test_feedback_on_a_question_or_a_missing_message_is_not_found(answered):
    for message_id in ("q", "nope"):
        with pytest.raises(NotFound):
            answered.put_feedback(Feedback("s1", message_id, "u1", "up"))
    assert answered.list_feedback("s1") == []


def test_deleting_a_session_deletes_its_feedback(answered):
    answered.put_feedback(Feedback("s1", "a", "u1", "up"))

    answered.delete_session("s1")

    assert answered.list_feedback("s1") == []
