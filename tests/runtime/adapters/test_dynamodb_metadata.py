"""DynamoDBMetadataStore on moto with the seed's exact table keys and indexes."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from chorus.runtime.adapters.dynamodb_metadata import (
    DynamoDBMetadataStore,
    Feedback,
    TableNames,
    create_tables,
)
from chorus.runtime.core.errors import BadRequest, Conflict, NotFound
from chorus.runtime.core.models import (
    ChunkingSettings,
    Document,
    DocumentStatus,
    Session,
    StoredMessage,
    Workspace,
)
from chorus.runtime.core.ports import MetadataStore

TABLES = TableNames("ws", "docs", "sessions", "connections")


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBMetadataStore]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), TABLES)
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        yield DynamoDBMetadataStore(resource, TABLES, session_ttl_seconds=3600)


def workspace(wid: str = "w1") -> Workspace:
    return Workspace(wid, f"name {wid}", "minilm", 384, ChunkingSettings(500, 50), "pgvector")


def document(doc_id: str, status=DocumentStatus.QUEUED, wid: str = "w1") -> Document:
    return Document(wid, doc_id, f"{doc_id}.md", "hash", status, size_bytes=10)


def test_it_implements_the_metadata_store_port(store):
    assert isinstance(store, MetadataStore)


def test_a_workspace_round_trips_through_its_record_and_settings_items(store):
    created = store.create_workspace(workspace(), owner_id="u1", groups=["team-a"])

    assert created.chunking == ChunkingSettings(500, 50)
    assert created.created_at is not None
    assert store.get_workspace("w1") == created
    access = store.workspace_access("w1")
    assert (access.owner_id, access.groups) == ("u1", ("team-a",))
    kinds = {i["object_type"] for i in store._workspaces.scan()["Items"]}
    assert kinds == {"workspace", "settings"}


def test_creating_an_existing_workspace_id_is_a_conflict(store):
    store.create_workspace(workspace())
    with pytest.raises(Conflict):
        store.create_workspace(workspace())


def test_workspaces_are_listed_oldest_first(store):
    for wid in ("b", "a", "c"):
        store.create_workspace(workspace(wid))
    assert [w.id for w in store.list_workspaces()] == ["b", "a", "c"]


def test_deleting_a_workspace_removes_its_items_and_documents(store):
    store.create_workspace(workspace())
    store.put_document(document("d1"))
    store.delete_workspace("w1")
    assert store.get_workspace("w1") is None
    assert store.list_documents("w1") == []
    assert store.workspace_access("w1") is None


def test_document_status_moves_and_the_compound_key_follows(store):
    store.put_document(document("d1"))
    store.put_document(document("d2"))
    store.set_document_status("w1", "d1", DocumentStatus.INDEXED, chunk_count=7)
    store.set_document_status("w1", "d2", DocumentStatus.FAILED, error="bad pdf")

    d1, d2 = store.get_document("w1", "d1"), store.get_document("w1", "d2")
    assert (d1.status, d1.chunk_count, d1.error) == (DocumentStatus.INDEXED, 7, None)
    assert (d2.status, d2.error) == (DocumentStatus.FAILED, "bad pdf")
    assert [d.id for d in store.list_documents("w1", status=DocumentStatus.INDEXED)] == ["d1"]
    assert [d.id for d in store.list_documents("w1", status=DocumentStatus.QUEUED)] == []
    assert [d.id for d in store.list_documents("w1")] == ["d2", "d1"]  # failed < indexed
    raw = store._documents.get_item(Key={"workspace_id": "w1", "document_id": "d1"})["Item"]
    assert raw["compound_sort_key"].startswith("indexed#") and raw["compound_sort_key"].endswith(
        "#d1"
    )


def test_a_retry_that_succeeds_clears_the_old_error(store):
    store.put_document(document("d1"))
    store.set_document_status("w1", "d1", DocumentStatus.FAILED, error="timeout")
    store.set_document_status("w1", "d1", DocumentStatus.INDEXED, chunk_count=2)
    assert store.get_document("w1", "d1").error is None


def test_status_of_a_deleted_document_is_not_resurrected(store):
    store.set_document_status("w1", "gone", DocumentStatus.INDEXED, chunk_count=1)
    assert store.get_document("w1", "gone") is None


def test_progress_of_a_processing_document_is_an_attribute_of_its_item(store):
    store.put_document(document("d1", DocumentStatus.PROCESSING))

    store.set_document_progress("w1", "d1", 1024, 4096)

    got = store.get_document("w1", "d1")
    assert (got.status, got.chunks_embedded, got.chunk_count) == (
        DocumentStatus.PROCESSING,
        1024,
        4096,
    )
    assert [d.chunks_embedded for d in store.list_documents("w1")] == [1024]
    raw = store._documents.get_item(Key={"workspace_id": "w1", "document_id": "d1"})["Item"]
    assert raw["chunks_embedded"] == 1024
    assert raw["compound_sort_key"].startswith("processing#")


def test_a_document_without_progress_has_none(store):
    store.put_document(document("d1"))
    assert store.get_document("w1", "d1").chunks_embedded is None


def test_progress_is_cleared_by_any_status_change(store):
    store.put_document(document("d1", DocumentStatus.PROCESSING))
    store.set_document_progress("w1", "d1", 256, 512)

    store.set_document_status("w1", "d1", DocumentStatus.FAILED, error="timeout")

    got = store.get_document("w1", "d1")
    assert (got.status, got.chunks_embedded) == (DocumentStatus.FAILED, None)
    raw = store._documents.get_item(Key={"workspace_id": "w1", "document_id": "d1"})["Item"]
    assert "chunks_embedded" not in raw


def test_progress_of_a_document_not_processing_or_absent_is_not_recorded(store):
    store.put_document(document("d1", DocumentStatus.INDEXED))

    store.set_document_progress("w1", "d1", 1, 9)
    store.set_document_progress("w1", "gone", 1, 9)

    assert store.get_document("w1", "d1").chunks_embedded is None
    assert store.get_document("w1", "gone") is None


def test_put_document_keeps_the_creation_time(store):
    store.put_document(document("d1"))
    created = store.get_document("w1", "d1").created_at
    store.put_document(document("d1", DocumentStatus.PROCESSING))
    again = store.get_document("w1", "d1")
    assert again.created_at == created and again.updated_at > created


def test_messages_are_one_item_each_in_order_and_idempotent(store):
    store.create_session(Session("s1", "u1", "w1", "title"))
    store.add_message(StoredMessage("s1", "m1", "user", "question"))
    answer = StoredMessage("s1", "m2", "assistant", "answer", {"cost": 0.25, "scores": [0.5, 1]})
    store.add_message(answer)
    store.add_message(answer)  # a retried write

    messages = store.list_messages("s1")
    assert [(m.id, m.role) for m in messages] == [("m1", "user"), ("m2", "assistant")]
    assert messages[1].details == {"cost": 0.25, "scores": [0.5, 1]}
    message_items = store._sessions.query(
        KeyConditionExpression="session_id = :s AND begins_with(sort_key, :m)",
        ExpressionAttributeValues={":s": "s1", ":m": "MSG#"},
    )["Items"]
    assert len(message_items) == 2
    assert all("expires_at" in i for i in message_items)


def test_a_long_session_is_not_limited_by_the_item_size(store):
    store.create_session(Session("s1", "u1", "w1"))
    for i in range(5):
        store.add_message(StoredMessage("s1", f"m{i}", "assistant", "x" * 150_000))
    assert len(store.list_messages("s1")) == 5  # 750 KB in total; each item < 400 KB


def test_a_message_for_a_missing_session_is_refused(store):
    with pytest.raises(NotFound):
        store.add_message(StoredMessage("nope", "m1", "user", "hi"))


def test_sessions_are_listed_per_user_most_recent_first(store):
    store.create_session(Session("s1", "u1", "w1"))
    store.create_session(Session("s2", "u1", "w1"))
    store.create_session(Session("s3", "u2", "w1"))
    store.add_message(StoredMessage("s1", "m1", "user", "later activity"))

    assert [s.id for s in store.list_sessions("u1")] == ["s1", "s2"]
    assert [s.id for s in store.list_sessions("u2")] == ["s3"]


def test_creating_a_session_twice_keeps_the_first_owner(store):
    store.create_session(Session("s1", "u1", "w1"))
    assert store.create_session(Session("s1", "intruder", "w1")).user_id == "u1"


def test_feedback_is_kept_on_an_assistant_message(store):
    store.create_session(Session("s1", "u1", "w1"))
    store.add_message(StoredMessage("s1", "q", "user", "question"))
    store.add_message(StoredMessage("s1", "a", "assistant", "answer"))

    store.put_feedback(Feedback("s1", "a", "u1", "up"))
    store.put_feedback(Feedback("s1", "a", "u1", "down", "changed my mind"))

    [feedback] = store.list_feedback("s1")
    assert (feedback.rating, feedback.comment) == ("down", "changed my mind")
    with pytest.raises(NotFound):
        store.put_feedback(Feedback("s1", "q", "u1", "up"))
    with pytest.raises(BadRequest):
        store.put_feedback(Feedback("s1", "a", "u1", "sideways"))


def test_deleting_a_session_removes_every_item(store):
    store.create_session(Session("s1", "u1", "w1"))
    for i in range(30):  # more than one batch of deletes
        store.add_message(StoredMessage("s1", f"m{i}", "assistant", "a"))
    store.put_feedback(Feedback("s1", "m0", "u1", "up"))
    store.delete_session("s1")
    assert store._sessions.scan()["Items"] == []
    assert store.list_sessions("u1") == []


def test_tuned_chunking_and_retrieval_settings_are_stored_on_the_settings_item(store):
    store.create_workspace(workspace())
    tuned = ChunkingSettings(800, 100, split_on_headings=False, title_mode="embed")
    updated = store.update_workspace_settings("w1", tuned, {"keyword_weight": 0.25})
    assert updated.chunking == tuned
    assert updated.retrieval == {"keyword_weight": 0.25}
    assert store.get_workspace("w1") == updated


def test_a_workspace_written_before_tuning_existed_reads_with_the_defaults(store):
    store.create_workspace(workspace())
    store._workspaces.update_item(
        Key={"workspace_id": "w1", "object_type": "settings"},
        UpdateExpression="REMOVE title_mode, split_on_headings, retrieval",
    )
    read = store.get_workspace("w1")
    assert (read.chunking.title_mode, read.chunking.split_on_headings) == ("keyword", True)
    assert read.retrieval == {}


def test_tuning_an_unknown_workspace_is_not_found(store):
    with pytest.raises(NotFound):
        store.update_workspace_settings("nope", ChunkingSettings(), {})
