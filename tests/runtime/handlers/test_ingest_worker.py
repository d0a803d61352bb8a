"""The ingest worker on S3 → SQS events under moto, indexing into the real embedded PostgreSQL."""

from __future__ import annotations

import json

import pytest
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from chorus.runtime.handlers import ingest_worker
from support import moto_stack

GUIDE = (
    "# Rotating the signing key\n\n"
    "The XK-4471 signing key rotates every ninety days. Operators rotate it with the "
    "`keyctl rotate` command and then restart the gateway.\n\n"
    "## Rollback\n\nIf the gateway refuses the new key, restore the previous key from the vault."
)


@pytest.fixture
def workspace(services):
    return services.metadata.create_workspace(
        Workspace(
            id="ops",
            name="Operations",
            embedding_model=services.embedder.model_id,
            embedding_dim=services.embedder.dimension,
            chunking=ChunkingSettings(200, 40),
        ),
        owner_id=moto_stack.REGION,
    )


def upload(stack, key: str, body: bytes) -> list[dict]:
    """PUT an object and return the ingest-queue messages its S3 event produced."""
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)
    return stack.receive(stack.ingest_queue_url)


def run(stack, context, messages: list[dict]) -> dict:
    event = moto_stack.sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:chorus-ingest")
    return ingest_worker.handler(event, context)


def published(stack) -> list[dict]:
    return [json.loads(m["Body"]) for m in stack.receive(stack.invalidation_queue_url)]


def test_an_uploaded_object_is_indexed_and_announced(stack, services, workspace, context):
    messages = upload(stack, "workspaces/ops/doc1/key rotation.md", GUIDE.encode())
    assert len(messages) == 1 and "key+rotation.md" in messages[0]["Body"]

    assert run(stack, context, messages) == {"batchItemFailures": []}

    document = services.metadata.get_document("ops", "doc1")
    assert document.status is DocumentStatus.INDEXED
    assert document.name == "key rotation.md"
    assert document.chunk_count == services.store.count_chunks("ops", "doc1") > 1
    assert [(e["workspaceId"], e["documentId"]) for e in published(stack)] == [("ops", "doc1")]


def test_each_message_delivered_three_times_gives_the_same_chunks(
    stack, services, workspace, context
):
    messages = upload(stack, "workspaces/ops/doc1/guide.md", GUIDE.encode())
    messages += upload(stack, "workspaces/ops/doc2/notes.txt", b"The vault holds old keys.")
    run(stack, context, messages)
    first = {d: services.store.document_chunks("ops", d) for d in ("doc1", "doc2")}

    for _ in range(2):
        assert run(stack, context, messages) == {"batchItemFailures": []}

    again = {d: services.store.document_chunks("ops", d) for d in ("doc1", "doc2")}
    assert [c.chunk_id for c in again["doc1"]] == [c.chunk_id for c in first["doc1"]]
    assert services.store.count_chunks("ops") == len(first["doc1"]) + len(first["doc2"])
    assert len(published(stack)) == 2  # one document-changed per document, not per delivery
    records = stack.client("dynamodb").scan(TableName="chorus-idempotency")["Items"]
    assert sorted(r["status"]["S"] for r in records) == ["COMPLETED", "COMPLETED"]


def test_redelivery_without_an_idempotency_table_is_still_a_no_op(
    stack, embedder, module_dsn, schema_path, with_settings, workspace, context
):
    from dataclasses import replace

    from chorus.runtime.cloud.services import CloudServices, set_services

    plain = CloudServices(
        replace(stack.settings, idempotency_table=None),
        session=stack.session,
        embedder=embedder,
        database_dsn=with_settings(module_dsn, schema_path),
    )
    set_services(plain)
    messages = upload(stack, "workspaces/ops/doc1/guide.md", GUIDE.encode())
    for _ in range(3):
        run(stack, context, messages)
    assert plain.store.count_chunks("ops") == plain.metadata.get_document("ops", "doc1").chunk_count
    assert len(published(stack)) == 1  # unchanged content: nothing re-indexed or re-announced
    plain.store.db.close()


def test_a_poison_message_fails_alone_in_a_batch_of_ten(stack, services, workspace, context):
    messages = []
    for i in range(9):
        messages += upload(
            stack, f"workspaces/ops/d{i}/note{i}.txt", f"Note {i} about keys.".encode()
        )
    poison = {"MessageId": "poison", "ReceiptHandle": "poison", "Body": "{not json"}
    messages.insert(4, poison)

    result = run(stack, context, messages)

    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    indexed = services.metadata.list_documents("ops", status=DocumentStatus.INDEXED)
    assert len(indexed) == 9


def test_a_changed_object_replaces_its_chunks(stack, services, workspace, context):
    run(stack, context, upload(stack, "workspaces/ops/doc1/guide.md", GUIDE.encode()))
    before = {c.chunk_id for c in services.store.document_chunks("ops", "doc1")}

    run(stack, context, upload(stack, "workspaces/ops/doc1/guide.md", b"Only one short line now."))

    after = services.store.document_chunks("ops", "doc1")
    assert len(after) == 1 and after[0].text == "Only one short line now."
    assert not before & {c.chunk_id for c in after}
    assert services.metadata.get_document("ops", "doc1").chunk_count == 1


def test_deleting_the_object_removes_document_and_chunks(stack, services, workspace, context):
    run(stack, context, upload(stack, "workspaces/ops/doc1/guide.md", GUIDE.encode()))
    published(stack)
    stack.client("s3").delete_object(Bucket=stack.bucket, Key="workspaces/ops/doc1/guide.md")

    assert run(stack, context, stack.receive(stack.ingest_queue_url)) == {"batchItemFailures": []}

    assert services.store.count_chunks("ops", "doc1") == 0
    assert services.metadata.get_document("ops", "doc1") is None
    assert [e["documentId"] for e in published(stack)] == ["doc1"]


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("big.txt", b"word " * 50_000, "too large"),
        ("tool.exe", b"MZ\x90\x00binary", "unsupported file type"),
    ],
    ids=["oversize", "unsupported"],
)
def test_a_document_that_cannot_be_indexed_is_failed_with_its_reason(
    stack, services, workspace, context, name, body, reason
):
    messages = upload(stack, f"workspaces/ops/bad/{name}", body)

    assert run(stack, context, messages) == {"batchItemFailures": []}  # retrying cannot help

    document = services.metadata.get_document("ops", "bad")
    assert document.status is DocumentStatus.FAILED
    assert reason in document.error
    assert services.store.count_chunks("ops", "bad") == 0


def test_an_event_for_a_missing_workspace_is_acknowledged(stack, services, context):
    messages = upload(stack, "workspaces/gone/doc1/guide.md", GUIDE.encode())
    assert run(stack, context, messages) == {"batchItemFailures": []}
    assert services.metadata.get_document("gone", "doc1") is None
