"""The ingest worker on S3 → SQS events under moto, indexing into the real embedded PostgreSQL."""

from __future__ import annotations

import json

import numpy as np
import pytest
from chorus.runtime.application.views import document_view
from chorus.runtime.cloud.ingest import INGEST_QUEUE_URL_ENV, apply_object_event, object_events
from chorus.runtime.core.ingestion import Ingestor
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from chorus.runtime.handlers import ingest_worker
from support import moto_stack
from support.chunks import relay_log

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


# -- documents too large for one invocation ------------------------------------------------------

LARGE = relay_log(40)


@pytest.fixture
def continuing(stack, services, monkeypatch):
    """The worker can continue (it knows its queue) and embeds in batches of four chunks."""
    monkeypatch.setenv(INGEST_QUEUE_URL_ENV, stack.ingest_queue_url)
    services.ingestor = Ingestor(
        services.embedder,
        services.store,
        services.metadata,
        flush_chunks=4,
        max_document_bytes=services.settings.max_upload_bytes,
        on_document_changed=services.publisher,
    )
    return services


def stored(services, document_id):
    """(chunk ids, embeddings) of a document as the store holds them, in order."""
    with services.store.db.transaction() as cur:
        cur.execute(
            f"SELECT id, embedding::real[] FROM {services.store.table} "
            "WHERE workspace_id = 'ops' AND document_id = %s ORDER BY ordinal",
            (document_id,),
        )
        rows = cur.fetchall()
    return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.float32)


def staged(stack) -> list[str]:
    listing = stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="ingest-staging/")
    return [o["Key"] for o in listing.get("Contents", [])]


def run_until_quiet(stack, services, messages, *, watch=None) -> list[list[dict]]:
    """One invocation per round of messages until the queue is empty; returns the rounds."""
    rounds = []
    while messages:
        rounds.append(messages)
        assert run(stack, moto_stack.ShrinkingContext(), messages) == {"batchItemFailures": []}
        if watch:
            watch()
        messages = stack.receive(stack.ingest_queue_url)
        assert len(rounds) < 20, "the continuations never end"
    return rounds


def test_a_document_too_large_for_one_invocation_continues_until_indexed(
    stack, continuing, workspace
):
    services = continuing
    run(
        stack,
        moto_stack.LambdaContext(),
        upload(stack, "workspaces/ops/big/relay.md", GUIDE.encode()),
    )
    published(stack)
    old_ids, _ = stored(services, "big")
    seen = []

    def old_chunks_stay_until_the_end():
        document = services.metadata.get_document("ops", "big")
        ids, _ = stored(services, "big")
        seen.append(document.status)
        if document.status is DocumentStatus.PROCESSING:
            assert ids == old_ids and len(staged(stack)) == 1

    rounds = run_until_quiet(
        stack,
        services,
        upload(stack, "workspaces/ops/big/relay.md", LARGE),
        watch=old_chunks_stay_until_the_end,
    )

    assert len(rounds) >= 3
    hops = [json.loads(r[0]["Body"])["chorusContinuation"] for r in rounds[1:]]
    assert [h["hop"] for h in hops] == list(range(1, len(rounds)))
    assert [h["nextBatch"] for h in hops] == sorted({h["nextBatch"] for h in hops})
    assert seen[:-1] == [DocumentStatus.PROCESSING] * (len(rounds) - 1)
    assert seen[-1] is DocumentStatus.INDEXED and staged(stack) == []
    assert [e["documentId"] for e in published(stack)] == ["big"]  # announced once, at the end

    ids, vectors = stored(services, "big")
    services.metadata.set_document_status("ops", "big", DocumentStatus.QUEUED)
    one_shot = Ingestor(services.embedder, services.store, services.metadata)
    result = one_shot.ingest(workspace, "relay.md", LARGE, document_id="big")
    assert result.outcome == "indexed" and result.chunks == len(ids) > 3 * 4
    one_shot_ids, one_shot_vectors = stored(services, "big")
    assert ids == one_shot_ids
    np.testing.assert_allclose(vectors, one_shot_vectors, atol=1e-6)
    assert services.metadata.get_document("ops", "big").chunk_count == len(ids)


def test_a_paused_document_lists_its_progress_until_it_is_indexed(stack, continuing, workspace):
    def listed() -> dict:
        (document,) = continuing.metadata.list_documents("ops")
        return document_view(document)

    run(stack, moto_stack.ShrinkingContext(), upload(stack, "workspaces/ops/big/relay.md", LARGE))
    pending = stack.receive(stack.ingest_queue_url)

    paused = listed()
    assert paused["status"] == "processing"
    embedded, total = paused["progress"]["embedded"], paused["progress"]["total"]
    assert 0 < embedded < total and embedded % 4 == 0
    assert paused["chunks"] == total

    progress = []
    run_until_quiet(stack, continuing, pending, watch=lambda: progress.append(listed()["progress"]))

    assert [p["embedded"] for p in progress[:-1]] == sorted({p["embedded"] for p in progress[:-1]})
    assert progress[0]["embedded"] > embedded and progress[-1] is None
    indexed = listed()
    assert (indexed["status"], indexed["chunks"]) == ("indexed", total)


def test_a_newer_upload_supersedes_a_paused_document(stack, continuing, workspace):
    services = continuing
    run(stack, moto_stack.ShrinkingContext(), upload(stack, "workspaces/ops/big/relay.md", LARGE))
    (pending,) = stack.receive(stack.ingest_queue_url)
    assert "chorusContinuation" in pending["Body"] and len(staged(stack)) == 1

    newer = upload(stack, "workspaces/ops/big/relay.md", b"The relay station is closed.")
    run_until_quiet(stack, services, [pending, *newer])

    hits = services.store.document_chunks("ops", "big")
    assert [h.text for h in hits] == ["The relay station is closed."]
    assert services.metadata.get_document("ops", "big").status is DocumentStatus.INDEXED
    assert staged(stack) == []


def test_a_redelivered_continuation_after_completion_changes_nothing(stack, continuing, workspace):
    services = continuing
    rounds = run_until_quiet(stack, services, upload(stack, "workspaces/ops/big/relay.md", LARGE))
    ids, _ = stored(services, "big")
    assert len(published(stack)) == 1

    for again in (rounds[1], rounds[-1], rounds[0]):
        assert run(stack, moto_stack.ShrinkingContext(), again) == {"batchItemFailures": []}
        (event,) = object_events(again[0]["Body"])
        assert apply_object_event(services, event)["outcome"] == "unchanged"  # no idempotency

    assert stack.receive(stack.ingest_queue_url) == []
    assert stored(services, "big")[0] == ids
    assert services.store.count_chunks("ops", "big") == len(ids)
    assert published(stack) == [] and staged(stack) == []


def test_deleting_a_paused_document_drops_its_checkpoint(stack, continuing, workspace):
    run(stack, moto_stack.ShrinkingContext(), upload(stack, "workspaces/ops/big/relay.md", LARGE))
    (pending,) = stack.receive(stack.ingest_queue_url)
    stack.client("s3").delete_object(Bucket=stack.bucket, Key="workspaces/ops/big/relay.md")

    run_until_quiet(stack, continuing, [pending, *stack.receive(stack.ingest_queue_url)])

    assert staged(stack) == []
    assert continuing.metadata.get_document("ops", "big") is None


def test_without_its_queue_url_the_worker_ingests_in_one_go(stack, services, workspace):
    messages = upload(stack, "workspaces/ops/big/relay.md", LARGE)
    assert run(stack, moto_stack.ShrinkingContext(), messages) == {"batchItemFailures": []}
    assert stack.receive(stack.ingest_queue_url) == []
    assert services.metadata.get_document("ops", "big").status is DocumentStatus.INDEXED


def sequenced(messages: list[dict], sequencer: str) -> list[dict]:
    """moto's notifications with the ``sequencer`` S3 puts in every object event."""
    out = []
    for message in messages:
        body = json.loads(message["Body"])
        for record in body["Records"]:
            record["s3"]["object"]["sequencer"] = sequencer
        out.append({**message, "Body": json.dumps(body)})
    return out


def served_texts(services, document_id: str) -> set[str]:
    return {c.text for c in services.store.document_chunks("ops", document_id)}


def test_reverting_to_earlier_bytes_on_an_unversioned_bucket_indexes_them_again(
    stack, services, workspace, context
):
    key = "workspaces/ops/doc1/guide.md"
    other = b"# Another guide\n\nThe vault rotates its keys every week, on Mondays."
    run(stack, context, sequenced(upload(stack, key, GUIDE.encode()), "0A01"))
    first = served_texts(services, "doc1")
    run(stack, context, sequenced(upload(stack, key, other), "0A02"))
    assert served_texts(services, "doc1") != first

    assert run(stack, context, sequenced(upload(stack, key, GUIDE.encode()), "0A03")) == {
        "batchItemFailures": []
    }

    assert served_texts(services, "doc1") == first
    assert services.metadata.get_document("ops", "doc1").status is DocumentStatus.INDEXED


def test_the_same_bytes_and_etag_under_a_new_sequencer_are_a_new_idempotency_payload():
    body = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "b"},
                    "object": {"key": "workspaces/w/d/a.md", "eTag": "e1", "sequencer": "0A01"},
                },
            }
        ]
    }
    first = object_events(json.dumps(body))[0]
    body["Records"][0]["s3"]["object"]["sequencer"] = "0A03"
    again = object_events(json.dumps(body))[0]
    assert first.as_dict() != again.as_dict()


def test_a_failed_reupload_keeps_serving_the_good_version_and_the_listing_says_so(
    stack, services, workspace, context
):
    key = "workspaces/ops/doc1/guide.md"
    run(stack, context, sequenced(upload(stack, key, GUIDE.encode()), "0B01"))
    good = services.store.count_chunks("ops", "doc1")
    assert good > 1

    binary = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    assert run(stack, context, sequenced(upload(stack, key, binary), "0B02")) == {
        "batchItemFailures": []
    }

    assert services.store.count_chunks("ops", "doc1") == good  # still answers queries
    [listed] = services.metadata.list_documents("ops")
    shown = document_view(listed)
    assert shown["status"] == "failed" and shown["chunks"] == good
    assert f"the previous version ({good} chunks) is still served" in shown["error"]
