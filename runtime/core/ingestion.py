"""Ingestion: parse, chunk, embed and index one document, idempotently.

A document is identified by (workspace, document id). Re-ingesting the same bytes is a no-op
(content hash), changed bytes replace the document's chunks in one transaction, and a file that
cannot be parsed is skipped with its reason before anything is written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .chunking import ChunkDraft, content_hash, split_text
from .errors import UnsupportedDocument
from .models import Chunk, Document, DocumentStatus, Workspace
from .parsing import parse_document
from .ports import Embedder, MetadataStore, VectorStore

Outcome = Literal["indexed", "unchanged", "skipped", "failed"]


@dataclass(frozen=True)
class IngestResult:
    """What happened to one document."""

    name: str
    outcome: Outcome
    document_id: str | None = None
    chunks: int = 0
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class IngestSummary:
    """Totals over a batch of documents, for the CLI and the REST API."""

    results: list[IngestResult] = field(default_factory=list)

    def add(self, result: IngestResult) -> None:
        self.results.append(result)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def chunks(self) -> int:
        return sum(r.chunks for r in self.results if r.outcome == "indexed")


def document_id_for(name: str) -> str:
    """A stable document id derived from the document's name within its workspace."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class DocumentInput:
    """One document to ingest: its name in the workspace and its bytes."""

    name: str
    data: bytes
    document_id: str | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass
class _Prepared:
    """A parsed and chunked document waiting for its embeddings."""

    doc_id: str
    name: str
    drafts: list[ChunkDraft]
    meta: dict[str, Any]
    started: float


class Ingestor:
    """Turns documents into indexed chunks for one store and one embedder.

    Chunks of several small documents are embedded together, so throughput stays close to the
    embedder's raw batch speed; a document is written (in one transaction) once all its chunks
    are embedded.

    Parameters
    ----------
    embedder, store, metadata:
        The ports to use.
    flush_chunks:
        Chunks gathered across documents before they are embedded in one call (bounds memory).
    max_document_bytes:
        Larger files are skipped as oversize.
    on_document_changed:
        Called with (workspace id, document id) after a document is indexed or deleted
        (semantic-cache invalidation, notifications).
    """

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        metadata: MetadataStore,
        *,
        flush_chunks: int = 256,
        max_document_bytes: int = 20 * 1024 * 1024,
        on_document_changed: Callable[[str, str], None] | None = None,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.metadata = metadata
        self.flush_chunks = flush_chunks
        self.max_document_bytes = max_document_bytes
        self.on_document_changed = on_document_changed

    def ingest(
        self,
        workspace: Workspace,
        name: str,
        data: bytes,
        *,
        document_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> IngestResult:
        """Index one document; never raises for a bad document, reports it instead."""
        summary = self.ingest_many(workspace, [DocumentInput(name, data, document_id, metadata)])
        return summary.results[0]

    def ingest_many(
        self,
        workspace: Workspace,
        documents: Iterable[DocumentInput],
        *,
        on_result: Callable[[IngestResult], None] | None = None,
    ) -> IngestSummary:
        """Index documents, embedding their chunks in shared batches.

        Results are reported in input order only per flush; each result says what happened
        to one document (indexed, unchanged, skipped with a reason, or failed).
        """
        summary = IngestSummary()

        def report(result: IngestResult) -> None:
            summary.add(result)
            if on_result:
                on_result(result)

        pending: list[_Prepared] = []
        pending_chunks = 0
        for document in documents:
            prepared = self._prepare(workspace, document, report)
            if prepared is None:
                continue
            pending.append(prepared)
            pending_chunks += len(prepared.drafts)
            if pending_chunks >= self.flush_chunks:
                self._flush(workspace, pending, report)
                pending, pending_chunks = [], 0
        if pending:
            self._flush(workspace, pending, report)
        return summary

    def _prepare(
        self,
        workspace: Workspace,
        document: DocumentInput,
        report: Callable[[IngestResult], None],
    ) -> _Prepared | None:
        started = time.perf_counter()
        name, data = document.name, document.data
        doc_id = document.document_id or document_id_for(name)
        digest = content_hash(data)
        existing = self.metadata.get_document(workspace.id, doc_id)
        if (
            existing is not None
            and existing.content_hash == digest
            and existing.status is DocumentStatus.INDEXED
        ):
            report(IngestResult(name, "unchanged", doc_id, existing.chunk_count))
            return None
        try:
            parsed = parse_document(name, data, max_bytes=self.max_document_bytes)
        except UnsupportedDocument as exc:
            report(IngestResult(name, "skipped", None, reason=exc.message))
            return None
        self.metadata.put_document(
            Document(
                workspace_id=workspace.id,
                id=doc_id,
                name=name,
                content_hash=digest,
                status=DocumentStatus.PROCESSING,
                size_bytes=len(data),
                content_type=parsed.content_type,
            )
        )
        meta: dict[str, Any] = {"document_name": name, **(document.metadata or {})}
        if parsed.title:
            meta.setdefault("title", parsed.title)
        drafts = split_text(parsed.text, workspace.id, doc_id, workspace.chunking)
        return _Prepared(doc_id, name, drafts, meta, started)

    def _flush(
        self,
        workspace: Workspace,
        pending: list[_Prepared],
        report: Callable[[IngestResult], None],
    ) -> None:
        texts = [d.text for p in pending for d in p.drafts]
        try:
            vectors = self.embedder.embed(texts, kind="passage") if texts else []
        except Exception as exc:
            for p in pending:
                report(self._fail(workspace, p, exc))
            return
        offset = 0
        for p in pending:
            own = vectors[offset : offset + len(p.drafts)]
            offset += len(p.drafts)
            chunks = [
                Chunk(
                    id=d.id,
                    workspace_id=workspace.id,
                    document_id=p.doc_id,
                    ordinal=d.ordinal,
                    text=d.text,
                    embedding=vec,
                    metadata={**p.meta, "start": d.start},
                )
                for d, vec in zip(p.drafts, own, strict=True)
            ]
            try:
                self.store.replace_document_chunks(workspace.id, p.doc_id, chunks)
            except Exception as exc:
                report(self._fail(workspace, p, exc))
                continue
            self.metadata.set_document_status(
                workspace.id, p.doc_id, DocumentStatus.INDEXED, chunk_count=len(chunks)
            )
            if self.on_document_changed:
                self.on_document_changed(workspace.id, p.doc_id)
            report(
                IngestResult(
                    p.name,
                    "indexed",
                    p.doc_id,
                    len(chunks),
                    seconds=time.perf_counter() - p.started,
                )
            )

    def _fail(self, workspace: Workspace, p: _Prepared, exc: Exception) -> IngestResult:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        self.metadata.set_document_status(
            workspace.id, p.doc_id, DocumentStatus.FAILED, error=reason
        )
        return IngestResult(
            p.name, "failed", p.doc_id, reason=reason, seconds=time.perf_counter() - p.started
        )

    def delete(self, workspace_id: str, document_id: str) -> int:
        """Remove a document and all of its chunks; return the number of chunks removed."""
        removed = self.store.delete_document(workspace_id, document_id)
        self.metadata.delete_document(workspace_id, document_id)
        if self.on_document_changed:
            self.on_document_changed(workspace_id, document_id)
        return removed
