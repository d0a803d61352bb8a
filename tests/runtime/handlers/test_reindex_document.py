"""Re-indexing one document (a Map item): re-embeds even when the bytes did not change.

A document too large for one invocation runs through the real ``reindex_workspace`` workflow
under moto's Step Functions interpreter, ``reindex_document.handler`` invoked in process with a
Lambda context whose time runs out after a few batches: the workflow's Choice calls it again
with each paused result until the document is indexed, or gives up past its hop bound.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from chorus.runtime.core.errors import NotFound
from chorus.runtime.core.ingestion import Ingestor
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from chorus.runtime.handlers import reindex_document
from pydantic import ValidationError
from support import moto_stack
from support.chunks import relay_log
from support.stepfunctions import (
    deploy_reindex,
    execute_in_running_mock,
    record_retry_waits,
    run_execution,
    run_lambdas_in_process,
)

ROOT = Path(__file__).resolve().parents[3]

TEXT = b"The XK-4471 signing key rotates every ninety days. Restore old keys from the vault."


def test_a_document_is_re_embedded_from_its_uploaded_file(stack, services, context):
    workspace = services.metadata.create_workspace(
        Workspace("ops", "Ops", services.embedder.model_id, 384, ChunkingSettings(200, 40))
    )
    key = "workspaces/ops/d1/keys.txt"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=TEXT)
    services.ingestor.ingest(workspace, "keys.txt", TEXT, document_id="d1")
    services.store.delete_document("ops", "d1")  # as if the chunk table had been rebuilt

    result = reindex_document.handler(
        {"workspaceId": "ops", "document": {"documentId": "d1", "name": "keys.txt"}}, context
    )

    assert result["outcome"] == "indexed"
    assert services.store.count_chunks("ops", "d1") == result["chunks"] >= 1
    assert services.metadata.get_document("ops", "d1").status is DocumentStatus.INDEXED


def test_a_document_indexed_from_a_sequenced_s3_event_is_re_embedded_too(stack, services, context):
    from chorus.runtime.core.ingestion import document_version

    workspace = services.metadata.create_workspace(
        Workspace("ops", "Ops", services.embedder.model_id, 384, ChunkingSettings(200, 40))
    )
    key = "workspaces/ops/d1/keys.txt"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=TEXT)
    version = document_version("6A1F00AB")
    services.ingestor.ingest(workspace, "keys.txt", TEXT, document_id="d1", version=version)
    services.store.delete_document("ops", "d1")

    result = reindex_document.handler(
        {"workspaceId": "ops", "document": {"documentId": "d1", "name": "keys.txt"}}, context
    )

    assert result["outcome"] == "indexed" and services.store.count_chunks("ops", "d1") >= 1
    assert services.metadata.get_document("ops", "d1").version == version


def test_a_bad_item_or_missing_workspace_raises_for_the_state_machine(stack, services, context):
    with pytest.raises(ValidationError):
        reindex_document.handler({"workspaceId": "ops"}, context)
    with pytest.raises(NotFound):
        reindex_document.handler(
            {"workspaceId": "nope", "document": {"documentId": "d", "name": "a.md"}}, context
        )


# -- a document too large for one invocation, continued by the workflow ----------------------

ASL = ROOT / "runtime" / "statemachines" / "reindex_workspace.asl.json"

LARGE = relay_log(70)
"""~70 chunks of 200 characters: four invocations of five batches of four."""


@pytest.fixture
def small_batches(stack, services, monkeypatch):
    """Services whose ingestor embeds in batches of four chunks; the workflow runs under moto
    with ``reindex_document`` in process, each call with a fresh shrinking context. Returns the
    services and the list of (input, status on entry, staged keys on entry, output) per call."""
    services.ingestor = Ingestor(
        services.embedder,
        services.store,
        services.metadata,
        flush_chunks=4,
        max_document_bytes=services.settings.max_upload_bytes,
        on_document_changed=services.publisher,
    )
    services.metadata.create_workspace(
        Workspace("ops", "Ops", services.embedder.model_id, 384, ChunkingSettings(200, 40))
    )
    calls: list[tuple[dict, DocumentStatus | None, list[str], dict | str]] = []

    def invoke(event: dict) -> dict:
        document = services.metadata.get_document("ops", event["document"]["documentId"])
        entry = (event, document.status if document else None, staged(stack))
        try:
            output = reindex_document.handler(event, moto_stack.ShrinkingContext())
        except Exception as exc:
            calls.append((*entry, type(exc).__name__))
            raise
        calls.append((*entry, output))
        return output

    execute_in_running_mock(monkeypatch)
    run_lambdas_in_process(monkeypatch, {"reindex_document": invoke})
    record_retry_waits(monkeypatch)
    return services, calls


def upload_and_index(stack, services, document_id: str, name: str, body: bytes) -> None:
    key = f"workspaces/ops/{document_id}/{name}"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)
    workspace = services.metadata.get_workspace("ops")
    assert services.ingestor.ingest(workspace, name, body, document_id=document_id).outcome == (
        "indexed"
    )


def staged(stack) -> list[str]:
    listing = stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="ingest-staging/")
    return [o["Key"] for o in listing.get("Contents", [])]


def stored(services, document_id: str) -> tuple[list[str], np.ndarray]:
    """(chunk ids, embeddings) of a document as the store holds them, in order."""
    with services.store.db.transaction() as cur:
        cur.execute(
            f"SELECT id, embedding::real[] FROM {services.store.table} "
            "WHERE workspace_id = 'ops' AND document_id = %s ORDER BY ordinal",
            (document_id,),
        )
        rows = cur.fetchall()
    return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.float32)


def reindex(definition: dict, documents: list[dict]) -> tuple[dict, list]:
    """Run the re-index workflow over ``documents``; (execution, its item results)."""
    sfn, machine = deploy_reindex(json.dumps(definition))
    execution = run_execution(sfn, machine, {"workspaceId": "ops", "documents": documents})
    assert execution["status"] == "SUCCEEDED", execution
    return execution, json.loads(execution["output"])["results"]


def test_a_large_document_is_continued_through_the_workflow_until_indexed(stack, small_batches):
    services, calls = small_batches
    upload_and_index(stack, services, "big", "relay.md", LARGE)
    one_shot_ids, one_shot_vectors = stored(services, "big")

    _, results = reindex(json.loads(ASL.read_text()), [{"documentId": "big", "name": "relay.md"}])

    assert [r["outcome"] for r in results] == ["indexed"]  # re-embedded, not "unchanged"
    assert len(calls) >= 3
    inputs = [event for event, *_ in calls]
    outputs = [output for *_, output in calls]
    assert [event.get("hop", 0) for event in inputs] == list(range(len(calls)))
    assert inputs[1:] == outputs[:-1]  # each paused result is the next call's input
    paused = outputs[:-1]
    assert {p["outcome"] for p in paused} == {"paused"}
    assert [p["chunks"] for p in paused] == [20 * (i + 1) for i in range(len(paused))]
    assert [p["nextBatch"] for p in paused] == [5 * (i + 1) for i in range(len(paused))]
    statuses = [status for _, status, _, _ in calls]
    assert statuses == [DocumentStatus.INDEXED] + [DocumentStatus.PROCESSING] * len(paused)
    staged_on_entry = [keys for _, _, keys, _ in calls]
    assert staged_on_entry[0] == [] and all(len(keys) == 1 for keys in staged_on_entry[1:])
    assert staged(stack) == []
    document = services.metadata.get_document("ops", "big")
    assert document.status is DocumentStatus.INDEXED
    ids, vectors = stored(services, "big")
    assert ids == one_shot_ids and document.chunk_count == len(ids) == results[0]["chunks"]
    np.testing.assert_allclose(vectors, one_shot_vectors, atol=1e-6)


def test_past_the_hop_bound_the_document_fails_alone_and_its_embeddings_are_dropped(
    stack, small_batches
):
    services, calls = small_batches
    upload_and_index(stack, services, "big", "relay.md", LARGE)
    upload_and_index(stack, services, "d1", "keys.txt", TEXT)
    definition = json.loads(ASL.read_text())
    item = definition["States"]["ReindexDocuments"]["ItemProcessor"]["States"]
    [bound] = [c for c in item["PausedOrDone"]["Choices"] if "And" in c]
    bound["And"][1]["NumericGreaterThan"] = 1  # two invocations at most, then give up

    _, results = reindex(
        definition,
        [{"documentId": "big", "name": "relay.md"}, {"documentId": "d1", "name": "keys.txt"}],
    )

    failed, done = results
    assert failed["failed"] is True and failed["document"]["documentId"] == "big"
    assert failed["error"]["Error"] == "ReindexHopLimit"
    assert "relay.md was still unfinished after 2 invocations" in failed["error"]["Cause"]
    assert done == {"documentId": "d1", "outcome": "indexed", "chunks": 1}
    big_calls = [c for c in calls if c[0]["document"]["documentId"] == "big"]
    *continued, (abandon, _, _, abandoned) = big_calls
    assert [event.get("hop", 0) for event, *_ in continued] == [0, 1]
    assert abandon["abandon"] == failed["error"]["Cause"] and abandoned["outcome"] == "failed"
    document = services.metadata.get_document("ops", "big")
    assert document.status is DocumentStatus.FAILED
    assert document.error == failed["error"]["Cause"]
    assert staged(stack) == []


def test_a_resumed_call_for_bytes_replaced_meanwhile_is_superseded(stack, small_batches):
    services, _ = small_batches
    upload_and_index(stack, services, "big", "relay.md", LARGE)
    item = {"workspaceId": "ops", "document": {"documentId": "big", "name": "relay.md"}}
    paused = reindex_document.handler(item, moto_stack.ShrinkingContext())
    assert paused["outcome"] == "paused" and len(staged(stack)) == 1
    stack.client("s3").put_object(
        Bucket=stack.bucket, Key="workspaces/ops/big/relay.md", Body=b"The relay is closed."
    )

    assert (
        reindex_document.handler(paused, moto_stack.ShrinkingContext())["outcome"] == "superseded"
    )
    assert staged(stack) == []


def test_a_continuation_without_its_content_hash_is_refused(stack, services, context):
    item = {"workspaceId": "ops", "document": {"documentId": "d", "name": "a.md"}, "hop": 2}
    with pytest.raises(ValidationError, match="contentHash"):
        reindex_document.handler(item, context)
