"""Uploads of one document through S3 events, in every order: the index ends on the version S3
holds last.

A deterministic scheduler runs each version's S3 event on its own thread and stops it at fixed
points — before its chunks are embedded, and (for two versions) again inside the chunk
replacement — with barriers, never sleeps. Every interleaving of "upload i", "event i starts",
"event i replaces its chunks" and "event i finishes" that respects upload order is tried, with
and without SQS redelivering every event afterwards. Events that find another version's commit
in progress fail (``busy``) and are retried, as SQS would.
"""

from __future__ import annotations

import json
import threading

import pytest
from chorus.runtime.cloud.ingest import apply_object_event, object_events
from chorus.runtime.core.chunking import content_hash
from chorus.runtime.core.errors import IngestError
from chorus.runtime.core.ingestion import document_version
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from support.schedule import WAIT_S, GatedEmbedder, GatedStore, Gates, interleavings

pytestmark = pytest.mark.timeout(600)


def text(version: int) -> bytes:
    return (
        f"# Release notes {version}\n\nRelease {version} rotates the gateway key. "
        f"The marker of this release is marker-{version}-ok."
    ).encode()


@pytest.fixture
def gated(stack, services, embedder, module_dsn, schema_path, with_settings):
    """Services whose embedder and store stop event threads at the scheduler's gates."""
    from chorus.runtime.cloud.services import set_services
    from chorus.runtime.core.embedding_cache import CachedEmbedder

    gates = Gates()
    built = stack.services(  # each version's text is embedded once, then remembered
        embedder=GatedEmbedder(CachedEmbedder(embedder), gates),
        store=GatedStore(services.store, gates),
        database_dsn=with_settings(module_dsn, schema_path),
    )
    built.metadata.create_workspace(
        Workspace("ops", "Operations", embedder.model_id, embedder.dimension, ChunkingSettings()),
        owner_id="u",
    )
    set_services(built)
    yield built, gates, services.store


def run_schedule(
    stack, built, gates: Gates, document: str, order: list[tuple[str, int]], redeliver: bool
) -> None:
    key = f"workspaces/ops/{document}/notes.md"
    bodies: dict[int, str] = {}
    threads: dict[int, threading.Thread] = {}
    errors: dict[int, BaseException] = {}

    def deliver(version: int) -> None:
        [event] = object_events(bodies[version])
        try:
            apply_object_event(built, event)
        except IngestError as exc:  # busy: SQS would deliver it again
            errors[version] = exc

    for step, version in order:
        if step == "upload":
            put = stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=text(version))
            record = {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": stack.bucket},
                    "object": {
                        "key": key.replace(" ", "+"),
                        "size": len(text(version)),
                        "eTag": put["ETag"].strip('"'),
                        "sequencer": f"{0x6A1F000000 + version:016X}",
                    },
                },
            }
            bodies[version] = json.dumps({"Records": [record]})
        elif step == "start":
            thread = threading.Thread(
                target=deliver, args=(version,), name=f"event-{document}-{version}", daemon=True
            )
            threads[version] = thread
            thread.start()
            gates.reached(thread, "embed")
        elif step == "replace":
            gates.release(threads[version], "embed")
            gates.reached(threads[version], "replace")
        else:  # finish
            gates.release(threads[version], "embed")
            gates.release(threads[version], "replace")
            threads[version].join(WAIT_S)
            assert not threads[version].is_alive()
    for _ in range(3):  # what SQS does with a failed message: deliver it again
        failed = sorted(errors)
        errors.clear()
        for version in failed:
            deliver(version)
    assert not errors, errors
    if redeliver:  # every message once more, the oldest last
        for version in sorted(bodies, reverse=True):
            deliver(version)
        assert not errors, errors
    stack.receive(stack.ingest_queue_url)  # moto's own notifications are not used


def assert_newest_is_served(built, store, document: str, versions: int) -> None:
    newest = versions - 1
    chunks = store.document_chunks("ops", document)
    assert chunks, "nothing is indexed"
    assert all(f"marker-{newest}-ok" in c.text for c in chunks), [c.text for c in chunks]
    record = built.metadata.get_document("ops", document)
    assert record.status is DocumentStatus.INDEXED
    assert record.content_hash == content_hash(text(newest))
    assert record.version == document_version(f"{0x6A1F000000 + newest:016X}")
    assert record.chunk_count == len(chunks)


@pytest.mark.parametrize("redeliver", [False, True], ids=["delivered once", "redelivered"])
def test_every_interleaving_of_two_uploads_ends_on_the_version_s3_holds_last(
    stack, gated, redeliver
):
    """The cloud path end to end (S3 reads, sequencers, DynamoDB records); three versions are
    interleaved below the transport in tests/runtime/core/test_ingestion_ordering.py."""
    built, gates, store = gated
    versions, steps = 2, ("upload", "start", "replace", "finish")
    tried = 0
    for n, order in enumerate(interleavings(versions, steps)):
        document = f"d{n}"
        run_schedule(stack, built, gates, document, order, redeliver)
        assert_newest_is_served(built, store, document, versions)
        tried += 1
    print(f"\n{tried} interleavings of {versions} versions ({'/'.join(steps)}) tried")
    assert tried == 35
