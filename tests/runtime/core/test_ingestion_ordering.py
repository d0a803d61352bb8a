"""Three uploads of one document ingested in every order: the index ends on the newest version.

The ``Ingestor`` on the real PostgreSQL metadata store and pgvector store. Each upload's ingest
runs on its own thread and stops before embedding (a deterministic scheduler opens the gates;
barriers, never sleeps). Like an S3 event on an unversioned bucket, an ingest reads whatever
bytes are current when it starts; its version is its upload's place in the order. Every
interleaving of "upload i", "ingest i starts" and "ingest i finishes" is tried, with and without
every ingest delivered again afterwards (oldest last). The cloud path (S3 events, DynamoDB) is
interleaved in tests/runtime/handlers/test_ingest_ordering.py.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from chorus.runtime.adapters.pgvector_store import PgVectorStore
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.adapters.postgres_metadata import PostgresMetadataStore
from chorus.runtime.core.chunking import content_hash
from chorus.runtime.core.embedding_cache import CachedEmbedder
from chorus.runtime.core.ingestion import Ingestor, IngestResult, document_version
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from support.schedule import WAIT_S, GatedEmbedder, GatedStore, Gates, interleavings

pytestmark = pytest.mark.timeout(600)


def text(version: int) -> bytes:
    return f"Release {version} rotates the gateway key; marker-{version}-ok.".encode()


def version_of(upload: int) -> str:
    return document_version(f"{0x6A1F000000 + upload:X}")


@pytest.fixture
def ingestion(fresh_dsn, embedder):
    db = PostgresDatabase(fresh_dsn)
    metadata = PostgresMetadataStore(db)
    store = PgVectorStore(db, embedder.dimension, table=f"chorus_chunks_{embedder.dimension}")
    gates = Gates()
    ingestor = Ingestor(
        GatedEmbedder(CachedEmbedder(embedder), gates), GatedStore(store, gates), metadata
    )
    workspace = metadata.create_workspace(
        Workspace("ws", "ws", embedder.model_id, embedder.dimension, ChunkingSettings())
    )
    yield ingestor, gates, store, workspace
    db.close()


def run_schedule(ingestor, gates, workspace, document, order, redeliver) -> list[IngestResult]:
    current: dict[str, Any] = {}  # the bucket: what a read returns now
    results: list[IngestResult] = []
    threads: dict[int, threading.Thread] = {}

    def deliver(upload: int) -> None:
        data, version = current["data"], version_of(upload)  # the bytes current right now
        result = ingestor.ingest(workspace, "notes.md", data, document_id=document, version=version)
        results.append(result)

    def start(upload: int) -> None:
        thread = threading.Thread(
            target=deliver, args=(upload,), name=f"event-{document}-{upload}", daemon=True
        )
        threads[upload] = thread
        thread.start()
        gates.reached(thread, "embed")

    for step, upload in order:
        if step == "upload":
            current.update(data=text(upload), upload=upload)
        elif step == "start":
            start(upload)
        else:
            gates.release(threads[upload], "embed")
            gates.release(threads[upload], "replace")
            threads[upload].join(WAIT_S)
            assert not threads[upload].is_alive()
    if redeliver:
        for upload in sorted(threads, reverse=True):
            deliver(upload)
    return results


@pytest.mark.parametrize("redeliver", [False, True], ids=["delivered once", "redelivered"])
def test_every_interleaving_of_three_uploads_ends_on_the_newest(ingestion, redeliver):
    ingestor, gates, store, workspace = ingestion
    tried = 0
    for n, order in enumerate(interleavings(3, ("upload", "start", "finish"))):
        document = f"d{n}"
        results = run_schedule(ingestor, gates, workspace, document, order, redeliver)

        assert {r.outcome for r in results} <= {"indexed", "unchanged", "superseded"}
        chunks = store.document_chunks(workspace.id, document)
        assert chunks and all("marker-2-ok" in c.text for c in chunks), (order, results)
        record = ingestor.metadata.get_document(workspace.id, document)
        assert record.status is DocumentStatus.INDEXED and record.version == version_of(2)
        assert record.content_hash == content_hash(text(2))
        tried += 1
    print(
        f"\n{tried} interleavings of 3 uploads tried ({'with' if redeliver else 'no'} redelivery)"
    )
    assert tried == 280
