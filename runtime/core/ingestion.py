"""Ingestion: parse, chunk, embed and index one document, idempotently.

A document is identified by (workspace, document id). Re-ingesting the same bytes is a no-op
(content hash), changed bytes replace the document's chunks in one transaction, and a file that
cannot be parsed is skipped with its reason before anything is written.

A document too large to embed in one go (a Lambda invocation has a deadline) is ingested in
resumable steps: parse and chunk (deterministic), embed batch after batch while ``should_stop``
says there is time, and only then replace the document's chunks atomically. When time runs out
the ``IngestResult`` is ``paused`` and carries an ``EmbeddingCheckpoint`` (the embeddings so far);
passing it back later continues at the next batch. Until the final replace the store keeps the
previous version's chunks, whole. Meanwhile the document stays ``processing`` with its progress
(``chunks_embedded`` of ``chunk_count``) recorded when it pauses and when it resumes; indexing
or failing clears it.

Versions. Uploads of one document can be processed in any order and at any speed (S3 events,
redeliveries, slow embeddings). Each ingest names its ``version`` (the S3 event's sequencer, see
``document_version``); the index always ends on the newest one:

- the record is claimed with a compare-and-set (``claim_document``: no newer version recorded),
  else the ingest is ``superseded`` and writes nothing;
- the chunks are replaced under the document's commit lease (``lock_document_commit``: only
  while this version is still the newest, one version at a time — another version's unexpired
  lease makes this one ``busy``, to be retried), and the status is written only while the
  version is still the newest (``finish_document_commit``).

A version that fails (unparseable, embedding error) leaves the chunks of the last good version
in place and says so: the record is ``failed`` with the reason, and ``chunk_count`` counts the
chunks still served.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from .chunking import ChunkDraft, content_hash, split_text
from .errors import UnsupportedDocument
from .metrics import NO_METRICS, OperationsMetrics
from .models import Chunk, Document, DocumentStatus, Workspace
from .parsing import document_id_for, parse_document
from .ports import Embedder, MetadataStore, VectorStore

log = logging.getLogger(__name__)

Outcome = Literal["indexed", "unchanged", "skipped", "failed", "paused", "superseded", "busy"]
"""``paused``: time ran out, continue with ``IngestResult.checkpoint``; ``superseded``: a newer
version of the document was recorded while this one was embedded, nothing was written; ``busy``:
another version of the document is being committed right now, retry this one later."""

COMMIT_LEASE_S = 900.0
"""How long a commit lease protects a version's chunk replacement (a crashed worker's lease
expires after it; longer than any ingest invocation)."""


def document_version(sequencer: str) -> str:
    """An S3 event ``sequencer`` as a version that sorts as text: S3 says to compare sequencers
    of one key after left-padding the shorter with zeros ('' stays '': unordered)."""
    value = sequencer.strip().upper()
    return value.rjust(32, "0") if value else ""


class CheckpointError(ValueError):
    """Bytes that are not an ``EmbeddingCheckpoint`` (corrupt or from another format)."""


@dataclass(frozen=True)
class EmbeddingCheckpoint:
    """The embeddings computed so far for one version of one document.

    Valid only for the same document id, content hash and ``fingerprint`` (embedding model,
    dimension and the chunk ids, which encode the chunking settings); otherwise it is ignored and
    embedding starts over. ``vectors`` holds the first ``done`` chunks' float32 embeddings.
    """

    document_id: str
    content_hash: str
    fingerprint: str
    total: int
    batch_size: int
    vectors: np.ndarray

    @property
    def done(self) -> int:
        """Chunks embedded so far."""
        return int(self.vectors.shape[0])

    @property
    def next_batch(self) -> int:
        """Index of the next batch to embed (batches of ``batch_size`` chunks)."""
        return -(-self.done // self.batch_size)

    def to_bytes(self) -> bytes:
        """Compact ``.npz`` form (float32 vectors, no pickle)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            vectors=np.ascontiguousarray(self.vectors, dtype=np.float32),
            document_id=np.array(self.document_id),
            content_hash=np.array(self.content_hash),
            fingerprint=np.array(self.fingerprint),
            total=np.array(self.total, dtype=np.int64),
            batch_size=np.array(self.batch_size, dtype=np.int64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> EmbeddingCheckpoint:
        """Read ``to_bytes`` output; ``CheckpointError`` when the bytes are not one."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                return cls(
                    document_id=str(npz["document_id"]),
                    content_hash=str(npz["content_hash"]),
                    fingerprint=str(npz["fingerprint"]),
                    total=int(npz["total"]),
                    batch_size=int(npz["batch_size"]),
                    vectors=np.asarray(npz["vectors"], dtype=np.float32),
                )
        except Exception as exc:  # zip, key or value errors: all mean "not a checkpoint"
            raise CheckpointError(f"not an embedding checkpoint: {exc}") from None


def store_needs_vectors(store: VectorStore, workspace_id: str) -> bool:
    """Whether the chunks a workspace writes to ``store`` need embeddings: not for a
    retrieve-only store that searches the text itself (``supports_vector_search = False``). A
    store that routes workspaces to several stores answers per workspace (``needs_vectors``)."""
    per_workspace = getattr(store, "needs_vectors", None)
    if callable(per_workspace):
        return bool(per_workspace(workspace_id))
    return bool(getattr(store, "supports_vector_search", True))


class _NoVectors:
    """Zero vectors of the right shape, for chunks whose store keeps no embeddings."""

    model_id = "no-vectors"

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        return np.zeros((len(texts), self.dimension), dtype=np.float32)


def chunks_fingerprint(embedder: Embedder, chunk_ids: Sequence[str]) -> str:
    """What a checkpoint's embeddings depend on besides the bytes: model and chunk ids."""
    digest = hashlib.sha256(f"{embedder.model_id}\x1f{embedder.dimension}".encode())
    for chunk_id in chunk_ids:
        digest.update(b"\x1f" + chunk_id.encode("ascii"))
    return digest.hexdigest()


@dataclass(frozen=True)
class IngestResult:
    """What happened to one document.

    ``chunks`` is the number indexed, or, when ``paused``, the number embedded so far; a paused
    result (and a failed one that had made progress) carries the ``checkpoint`` to resume from.
    """

    name: str
    outcome: Outcome
    document_id: str | None = None
    chunks: int = 0
    reason: str | None = None
    seconds: float = 0.0
    checkpoint: EmbeddingCheckpoint | None = None


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


def _superseded(p: _Prepared) -> IngestResult:
    return IngestResult(
        p.name, "superseded", p.doc_id, reason="a newer version of the document arrived"
    )


@dataclass(frozen=True)
class DocumentInput:
    """One document to ingest: its name in the workspace and its bytes."""

    name: str
    data: bytes
    document_id: str | None = None
    metadata: Mapping[str, Any] | None = None
    version: str = ""


@dataclass
class _Prepared:
    """A parsed and chunked document waiting for its embeddings."""

    doc_id: str
    name: str
    drafts: list[ChunkDraft]
    meta: dict[str, Any]
    started: float
    digest: str = ""
    version: str = ""


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
        Chunks gathered across documents before they are embedded in one call (bounds memory);
        also the batch size of a resumable ingest.
    max_document_bytes:
        Larger files are skipped as oversize.
    on_document_changed:
        Called with (workspace id, document id) after a document is indexed or deleted
        (semantic-cache invalidation, notifications).
    metrics:
        Where each document's outcome, chunks, seconds and failure reason are counted
        (default: nowhere).
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
        wall_clock: Callable[[], float] = time.time,
        metrics: OperationsMetrics | None = None,
    ) -> None:
        self.metrics = metrics or NO_METRICS
        self.wall_clock = wall_clock
        self.embedder = embedder
        self.store = store
        self.metadata = metadata
        self.flush_chunks = flush_chunks
        self.max_document_bytes = max_document_bytes
        self.on_document_changed = on_document_changed

    def _embedder_for(self, workspace: Workspace) -> Embedder:
        """The embedder — or, for a store that ranks text itself and keeps no vectors (Kendra),
        one that computes nothing, since its vectors would be thrown away."""
        if store_needs_vectors(self.store, workspace.id):
            return self.embedder
        return _NoVectors(self.embedder.dimension)

    def ingest(
        self,
        workspace: Workspace,
        name: str,
        data: bytes,
        *,
        document_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        checkpoint: EmbeddingCheckpoint | None = None,
        should_stop: Callable[[], bool] | None = None,
        version: str = "",
    ) -> IngestResult:
        """Index one document; never raises for a bad document, reports it instead.

        Parameters
        ----------
        version:
            This upload's place among the document's uploads (``document_version``); an older
            one than the newest recorded is ``superseded`` and changes nothing.
        checkpoint:
            Embeddings from an earlier, paused ingest of this document; used when it matches
            the document's bytes, chunking and embedding model, ignored otherwise.
        should_stop:
            Asked before each batch of ``flush_chunks`` chunks is embedded; ``True`` pauses the
            ingest (outcome ``paused`` with a checkpoint). Without it (and without a checkpoint)
            the document is ingested in one go, as ``ingest_many`` does.

        Example
        -------
        >>> result = ingestor.ingest(ws, "big.pdf", data, should_stop=deadline_near)
        >>> while result.outcome == "paused":
        ...     result = ingestor.ingest(ws, "big.pdf", data, checkpoint=result.checkpoint)
        """
        document = DocumentInput(name, data, document_id, metadata, version)
        if checkpoint is None and should_stop is None:
            return self.ingest_many(workspace, [document]).results[0]
        with self.metrics.span("ingest_document"):
            result = self._ingest_resumable(workspace, document, checkpoint, should_stop)
        self._count(result)
        self.metrics.flush()
        return result

    def _count(self, result: IngestResult) -> None:
        try:
            self.metrics.ingested(result.outcome, result.chunks, result.seconds, result.reason)
        except Exception:  # figures are never worth a document
            log.warning("recording the ingest's metrics failed", exc_info=True)

    def _ingest_resumable(
        self,
        workspace: Workspace,
        document: DocumentInput,
        checkpoint: EmbeddingCheckpoint | None,
        should_stop: Callable[[], bool] | None,
    ) -> IngestResult:
        reported: list[IngestResult] = []
        p = self._prepare(workspace, document, reported.append)
        if p is None:
            return reported[0]
        total, batch = len(p.drafts), max(1, self.flush_chunks)
        embedder = self._embedder_for(workspace)
        fingerprint = chunks_fingerprint(embedder, [d.id for d in p.drafts])
        vectors = np.empty((total, embedder.dimension), dtype=np.float32)
        done = 0
        if (
            checkpoint is not None
            and checkpoint.document_id == p.doc_id
            and checkpoint.content_hash == p.digest
            and checkpoint.fingerprint == fingerprint
            and checkpoint.total == total
            and checkpoint.vectors.shape[1:] == (embedder.dimension,)
        ):
            done = min(checkpoint.done, total)
            vectors[:done] = checkpoint.vectors[:done]
            if done:  # ``_prepare`` rewrote the record: show the progress carried over
                self.metadata.set_document_progress(workspace.id, p.doc_id, done, total)

        def saved(upto: int) -> EmbeddingCheckpoint:
            return EmbeddingCheckpoint(
                p.doc_id, p.digest, fingerprint, total, batch, vectors[:upto]
            )

        resumed_at = done
        while done < total:
            if should_stop is not None and should_stop():
                self.metadata.set_document_progress(workspace.id, p.doc_id, done, total)
                return IngestResult(
                    p.name,
                    "paused",
                    p.doc_id,
                    done,
                    seconds=time.perf_counter() - p.started,
                    checkpoint=saved(done),
                )
            end = min(done + batch, total)
            try:
                vectors[done:end] = embedder.embed(
                    [d.embed_text for d in p.drafts[done:end]], kind="passage"
                )
            except Exception as exc:
                failed = self._fail(workspace, p, exc)
                return replace(failed, checkpoint=saved(done)) if done > resumed_at else failed
            done = end
        current = self.metadata.get_document(workspace.id, p.doc_id)
        if current is not None and (
            current.content_hash != p.digest or current.version != p.version
        ):
            return _superseded(p)
        return self._index(workspace, p, vectors)

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
            self._count(result)
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
        self.metrics.flush()
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
        served = existing.chunk_count if existing is not None else 0
        if (
            existing is not None
            and existing.content_hash == digest
            and existing.status is DocumentStatus.INDEXED
        ):
            if existing.version != document.version and not self.metadata.claim_document(
                replace(existing, version=document.version)
            ):
                report(_superseded(_Prepared(doc_id, name, [], {}, started, digest)))
                return None
            report(IngestResult(name, "unchanged", doc_id, existing.chunk_count))
            return None
        try:
            parsed = parse_document(name, data, max_bytes=self.max_document_bytes)
        except UnsupportedDocument as exc:
            report(IngestResult(name, "skipped", None, reason=exc.message))
            return None
        claimed = self.metadata.claim_document(
            Document(
                workspace_id=workspace.id,
                id=doc_id,
                name=name,
                content_hash=digest,
                status=DocumentStatus.PROCESSING,
                chunk_count=served
                if existing and existing.status is not DocumentStatus.PROCESSING
                else 0,
                size_bytes=len(data),
                content_type=parsed.content_type,
                version=document.version,
            )
        )
        if not claimed:
            report(_superseded(_Prepared(doc_id, name, [], {}, started, digest)))
            return None
        meta: dict[str, Any] = {"document_name": name, **(document.metadata or {})}
        if parsed.title:
            meta.setdefault("title", parsed.title)
        title = meta.get("title")
        drafts = split_text(
            parsed.text,
            workspace.id,
            doc_id,
            workspace.chunking,
            title=title if isinstance(title, str) else None,
            markdown=parsed.content_type == "text/markdown",
        )
        return _Prepared(doc_id, name, drafts, meta, started, digest, document.version)

    def _flush(
        self,
        workspace: Workspace,
        pending: list[_Prepared],
        report: Callable[[IngestResult], None],
    ) -> None:
        texts = [d.embed_text for p in pending for d in p.drafts]
        try:
            embedder = self._embedder_for(workspace)
            vectors = embedder.embed(texts, kind="passage") if texts else []
        except Exception as exc:
            for p in pending:
                report(self._fail(workspace, p, exc))
            return
        offset = 0
        for p in pending:
            own = vectors[offset : offset + len(p.drafts)]
            offset += len(p.drafts)
            report(self._index(workspace, p, own))

    def _index(self, workspace: Workspace, p: _Prepared, vectors: Any) -> IngestResult:
        """Replace the document's chunks in one call, then record and announce it."""
        chunks = [
            Chunk(
                id=d.id,
                workspace_id=workspace.id,
                document_id=p.doc_id,
                ordinal=d.ordinal,
                text=d.text,
                embedding=vec,
                metadata={
                    **p.meta,
                    "start": d.start,
                    "section": d.section,
                    **({"headings": list(d.headings)} if d.headings else {}),
                },
            )
            for d, vec in zip(p.drafts, vectors, strict=True)
        ]
        lease = self.metadata.lock_document_commit(
            workspace.id,
            p.doc_id,
            p.version,
            p.digest,
            now=self.wall_clock(),
            lease_s=COMMIT_LEASE_S,
        )
        if lease == "superseded":
            return _superseded(p)
        if lease == "busy":
            return IngestResult(
                p.name,
                "busy",
                p.doc_id,
                reason="another version of the document is being committed; retry shortly",
            )
        try:
            with self.metrics.span("store_chunks", {"document": p.doc_id}):
                self.store.replace_document_chunks(workspace.id, p.doc_id, chunks)
        except Exception as exc:
            return self._fail(workspace, p, exc)
        current = self.metadata.finish_document_commit(
            workspace.id,
            p.doc_id,
            p.version,
            p.digest,
            status=DocumentStatus.INDEXED,
            chunk_count=len(chunks),
        )
        if not current:  # a newer version was recorded meanwhile; its own commit follows
            return _superseded(p)
        if self.on_document_changed:
            self.on_document_changed(workspace.id, p.doc_id)
        return IngestResult(
            p.name, "indexed", p.doc_id, len(chunks), seconds=time.perf_counter() - p.started
        )

    def _fail(self, workspace: Workspace, p: _Prepared, exc: Exception) -> IngestResult:
        """Record why this version failed — and that the last good version is still served."""
        reason = f"{type(exc).__name__}: {exc}"[:900]
        try:
            served = self.store.count_chunks(workspace.id, p.doc_id)
        except Exception:  # the store itself may be what failed: keep the recorded count
            record = self.metadata.get_document(workspace.id, p.doc_id)
            served = record.chunk_count if record is not None else 0
        if served:
            reason += f"; the previous version ({served} chunks) is still served"
        self.metadata.finish_document_commit(
            workspace.id,
            p.doc_id,
            p.version,
            p.digest,
            status=DocumentStatus.FAILED,
            chunk_count=served,
            error=reason,
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
