"""Ingestion idempotency on the real stack (embedded PostgreSQL, MiniLM)."""

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
