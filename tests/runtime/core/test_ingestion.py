"""Ingestion idempotency on the real stack (embedded PostgreSQL, MiniLM)."""

import numpy as np
import pytest
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus
from chorus.runtime.local.folder import ingest_path
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings

PARAGRAPH = "The ledger shard keeps every booking of the billing daemon for seven years. "


@pytest.fixture
def services(tmp_path, fresh_dsn, embedder):
    s = open_services(LocalSettings(home=tmp_path / "home"), embedder=embedder, dsn=fresh_dsn)
    yield s
    s.close()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# Alpha\n\n" + PARAGRAPH * 30)
    (root / "sub" / "b.txt").write_text("Beta. " + "Routers need WPA3 enabled. " * 40)
    (root / "c.html").write_text(
        "<html><title>Gamma</title><body><p>Cats sleep a lot.</p></body></html>"
    )
    (root / "empty.txt").write_text("")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (root / ".hidden.md").write_text("secret")
    return root


def workspace(services, size=300):
    return services.create_workspace("docs", ChunkingSettings(chunk_size=size, chunk_overlap=50))


def snapshot(services, ws):
    rows = {}
    for doc in services.metadata.list_documents(ws.id):
        rows[doc.name] = (
            doc.content_hash,
            doc.status,
            tuple(h.chunk_id for h in services.store.document_chunks(ws.id, doc.id)),
        )
    return rows


def test_a_folder_is_indexed_with_skipped_files_and_reasons(services, folder):
    ws = workspace(services)
    summary = ingest_path(services.ingestor, ws, folder)
    assert summary.count("indexed") == 3
    skipped = {r.name: r.reason for r in summary.results if r.outcome == "skipped"}
    assert set(skipped) == {"empty.txt", "image.png"}
    assert all(skipped.values())
    names = {d.name for d in services.metadata.list_documents(ws.id)}
    assert names == {"a.md", "sub/b.txt", "c.html"}
    assert all(d.status is DocumentStatus.INDEXED for d in services.metadata.list_documents(ws.id))


def test_ingesting_the_same_folder_twice_changes_nothing(services, folder):
    ws = workspace(services)
    ingest_path(services.ingestor, ws, folder)
    before = snapshot(services, ws)
    chunks_before = services.store.count_chunks(ws.id)
    second = ingest_path(services.ingestor, ws, folder)
    assert second.count("indexed") == 0
    assert second.count("unchanged") == 3
    assert snapshot(services, ws) == before
    assert services.store.count_chunks(ws.id) == chunks_before


def test_a_changed_file_replaces_only_its_own_chunks(services, folder):
    ws = workspace(services)
    ingest_path(services.ingestor, ws, folder)
    before = snapshot(services, ws)
    (folder / "a.md").write_text("# Alpha\n\nA completely different and much shorter text.")
    summary = ingest_path(services.ingestor, ws, folder)
    assert [r.name for r in summary.results if r.outcome == "indexed"] == ["a.md"]
    after = snapshot(services, ws)
    assert after["sub/b.txt"] == before["sub/b.txt"]
    assert after["c.html"] == before["c.html"]
    assert len(after["a.md"][2]) == 1
    assert not set(after["a.md"][2]) & set(before["a.md"][2])


def test_deleting_a_document_removes_all_its_chunks(services, folder):
    ws = workspace(services)
    ingest_path(services.ingestor, ws, folder)
    doc = next(d for d in services.metadata.list_documents(ws.id) if d.name == "a.md")
    assert services.store.count_chunks(ws.id, doc.id) > 1
    removed = services.ingestor.delete(ws.id, doc.id)
    assert removed == doc.chunk_count
    assert services.store.count_chunks(ws.id, doc.id) == 0
    assert services.metadata.get_document(ws.id, doc.id) is None


def test_chunk_metadata_names_the_document_and_its_title(services, folder):
    ws = workspace(services)
    ingest_path(services.ingestor, ws, folder)
    doc = next(d for d in services.metadata.list_documents(ws.id) if d.name == "c.html")
    (chunk,) = services.store.document_chunks(ws.id, doc.id)
    assert chunk.metadata["document_name"] == "c.html"
    assert chunk.metadata["title"] == "Gamma"


class _FailingEmbedder:
    model_id = "failing"
    dimension = 384

    def embed(self, texts, *, kind="passage"):
        raise RuntimeError("the embedding endpoint is down")


def test_an_embedding_failure_marks_the_document_failed_and_keeps_old_chunks(services, folder):
    from chorus.runtime.core.ingestion import Ingestor

    ws = workspace(services)
    ingest_path(services.ingestor, ws, folder)
    before = snapshot(services, ws)
    (folder / "a.md").write_text("# Alpha\n\nNew text that will not embed.")
    failing = Ingestor(_FailingEmbedder(), services.store, services.metadata)
    result = failing.ingest(ws, "a.md", (folder / "a.md").read_bytes())
    assert result.outcome == "failed"
    assert "embedding endpoint is down" in result.reason
    doc = next(d for d in services.metadata.list_documents(ws.id) if d.name == "a.md")
    assert doc.status is DocumentStatus.FAILED
    assert (
        tuple(h.chunk_id for h in services.store.document_chunks(ws.id, doc.id))
        == before["a.md"][2]
    )
    retry = services.ingestor.ingest(ws, "a.md", (folder / "a.md").read_bytes())
    assert retry.outcome == "indexed"


def test_a_document_changed_callback_fires_on_index_and_delete(services, folder):
    from chorus.runtime.core.ingestion import Ingestor

    seen = []
    ingestor = Ingestor(
        services.embedder,
        services.store,
        services.metadata,
        on_document_changed=lambda w, d: seen.append((w, d)),
    )
    ws = workspace(services)
    result = ingestor.ingest(ws, "x.txt", b"Some text about routers and cats.")
    ingestor.delete(ws.id, result.document_id)
    assert seen == [(ws.id, result.document_id)] * 2


# -- resumable ingestion: large documents over several invocations ------------------------------

LARGE = "\n\n".join(
    f"Section {i}. The relay station {i} forwards telemetry of probe {i % 7} every {i + 3} "
    f"minutes; operators check its antenna heater and battery log before each pass."
    for i in range(40)
).encode()


def stored_embeddings(services, ws_id, doc_id):
    """(chunk id, embedding) pairs of a document as the store holds them, in order."""
    with services.store.db.transaction() as cur:
        cur.execute(
            f"SELECT id, embedding::real[] FROM {services.store.table} "
            "WHERE workspace_id = %s AND document_id = %s ORDER BY ordinal",
            (ws_id, doc_id),
        )
        rows = cur.fetchall()
    return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.float32)


def stop_every(batches):
    """A should_stop that lets ``batches`` batches through per call of ``ingest``."""
    calls = 0

    def should_stop():
        nonlocal calls
        calls += 1
        return calls > batches

    return should_stop


def small_batches(services, **kwargs):
    from chorus.runtime.core.ingestion import Ingestor

    return Ingestor(services.embedder, services.store, services.metadata, flush_chunks=4, **kwargs)


def ingest_in_steps(ingestor, ws, name, data, batches_per_step=2):
    """Ingest with pauses, passing each checkpoint through its bytes; returns (result, steps)."""
    from chorus.runtime.core.ingestion import EmbeddingCheckpoint

    checkpoint, steps = None, 0
    while True:
        steps += 1
        result = ingestor.ingest(
            ws, name, data, checkpoint=checkpoint, should_stop=stop_every(batches_per_step)
        )
        if result.outcome != "paused":
            return result, steps
        checkpoint = EmbeddingCheckpoint.from_bytes(result.checkpoint.to_bytes())


def test_a_paused_ingest_resumes_to_exactly_the_chunks_of_a_one_shot_ingest(services):
    ws = workspace(services, size=200)
    one_shot = services.ingestor.ingest(ws, "relay.md", LARGE)
    ids, vectors = stored_embeddings(services, ws.id, one_shot.document_id)
    services.ingestor.delete(ws.id, one_shot.document_id)

    result, steps = ingest_in_steps(small_batches(services), ws, "relay.md", LARGE)

    assert result.outcome == "indexed" and result.chunks == len(ids) > 16
    assert steps == -(-len(ids) // 8)  # two batches of four per step
    resumed_ids, resumed = stored_embeddings(services, ws.id, result.document_id)
    assert resumed_ids == ids
    np.testing.assert_allclose(resumed, vectors, atol=1e-6)
    assert services.metadata.get_document(ws.id, result.document_id).chunk_count == len(ids)


def test_a_paused_ingest_leaves_the_previous_version_whole(services):
    ws = workspace(services, size=200)
    first = services.ingestor.ingest(ws, "relay.md", b"Old text about the relay station.")
    old = stored_embeddings(services, ws.id, first.document_id)[0]

    paused = small_batches(services).ingest(ws, "relay.md", LARGE, should_stop=stop_every(2))

    assert paused.outcome == "paused" and paused.chunks == 8
    assert paused.checkpoint.next_batch == 2 and paused.checkpoint.total > 8
    assert stored_embeddings(services, ws.id, first.document_id)[0] == old
    document = services.metadata.get_document(ws.id, first.document_id)
    assert document.status is DocumentStatus.PROCESSING


def test_a_paused_document_records_its_progress_and_indexing_clears_it(services):
    from chorus.runtime.core.ingestion import EmbeddingCheckpoint

    ws = workspace(services, size=200)
    ingestor = small_batches(services)
    recorded, checkpoint = [], None
    while True:
        result = ingestor.ingest(
            ws, "relay.md", LARGE, checkpoint=checkpoint, should_stop=stop_every(2)
        )
        document = services.metadata.get_document(ws.id, result.document_id)
        recorded.append((document.status, document.chunks_embedded, document.chunk_count))
        if result.outcome != "paused":
            break
        checkpoint = EmbeddingCheckpoint.from_bytes(result.checkpoint.to_bytes())

    total = result.chunks
    paused = [(DocumentStatus.PROCESSING, 8 * step, total) for step in range(1, len(recorded))]
    assert recorded == [*paused, (DocumentStatus.INDEXED, None, total)]


def test_a_checkpoint_of_other_bytes_or_other_chunking_is_ignored(services):
    from dataclasses import replace

    ws = workspace(services, size=200)
    ingestor = small_batches(services)
    paused = ingestor.ingest(ws, "relay.md", LARGE, should_stop=stop_every(1))
    poisoned = replace(paused.checkpoint, vectors=np.zeros_like(paused.checkpoint.vectors))

    rechunked = replace(ws, chunking=ChunkingSettings(chunk_size=300, chunk_overlap=50))

    for w, data in ((rechunked, LARGE), (ws, LARGE + b" More.")):
        result = ingestor.ingest(w, "relay.md", data, checkpoint=poisoned)
        assert result.outcome == "indexed"
        _, vectors = stored_embeddings(services, ws.id, result.document_id)
        assert np.all(np.linalg.norm(vectors, axis=1) > 0.99)  # re-embedded, not the zeros


def test_a_newer_version_recorded_while_embedding_supersedes_the_older(services):
    ws = workspace(services, size=200)
    newer = b"The relay station was decommissioned."
    calls = 0

    def another_worker_ingests_the_newer_version():
        nonlocal calls
        calls += 1
        if calls == 2:
            services.ingestor.ingest(ws, "relay.md", newer)
        return False

    result = small_batches(services).ingest(
        ws, "relay.md", LARGE, should_stop=another_worker_ingests_the_newer_version
    )

    assert result.outcome == "superseded"
    hits = services.store.document_chunks(ws.id, result.document_id)
    assert [h.text for h in hits] == [newer.decode()]
    assert services.metadata.get_document(ws.id, result.document_id).status is (
        DocumentStatus.INDEXED
    )


def test_an_embedding_failure_after_progress_keeps_a_checkpoint(services):
    from chorus.runtime.core.ingestion import Ingestor

    class FailsOnThirdBatch:
        model_id, dimension, calls = services.embedder.model_id, services.embedder.dimension, 0

        def embed(self, texts, *, kind="passage"):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("the embedding endpoint is down")
            return services.embedder.embed(texts, kind=kind)

    ws = workspace(services, size=200)
    flaky = Ingestor(FailsOnThirdBatch(), services.store, services.metadata, flush_chunks=4)
    failed = flaky.ingest(ws, "relay.md", LARGE, should_stop=lambda: False)

    assert failed.outcome == "failed" and failed.checkpoint.done == 8
    resumed = small_batches(services).ingest(ws, "relay.md", LARGE, checkpoint=failed.checkpoint)
    assert resumed.outcome == "indexed"


def test_a_checkpoint_survives_its_bytes_and_refuses_other_bytes():
    from chorus.runtime.core.ingestion import CheckpointError, EmbeddingCheckpoint

    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    checkpoint = EmbeddingCheckpoint("d", "a" * 64, "f", 10, 2, vectors)
    back = EmbeddingCheckpoint.from_bytes(checkpoint.to_bytes())
    assert (back.document_id, back.content_hash, back.fingerprint) == ("d", "a" * 64, "f")
    assert (back.total, back.batch_size, back.done, back.next_batch) == (10, 2, 3, 2)
    assert np.array_equal(back.vectors, vectors) and back.vectors.dtype == np.float32
    with pytest.raises(CheckpointError):
        EmbeddingCheckpoint.from_bytes(b"not a checkpoint")
