"""LangChain both ways: any LangChain vector store as a chorus store, chorus retrieval as a
LangChain retriever.

``LangChainVectorStore`` lets a workspace live in whatever vector database LangChain has an
integration for; ``ChorusRetriever`` lets a user's own LangChain chain call chorus's hybrid +
rerank retrieval. Tested with ``langchain_core``'s ``InMemoryVectorStore``.

What the LangChain API cannot do, and how the adapter copes:

- *Precomputed embeddings.* LangChain stores embed texts themselves. Chorus chunks arrive
  embedded, so the wrapped store must either have ``add_embeddings`` (FAISS and others) or be
  built with ``ChorusEmbeddings``, which hands the chunk's own vectors to the store during a
  write (and embeds with the chorus embedder otherwise, e.g. for the store's own text search).
- *Listing by metadata.* The base API can delete by id but cannot list "the ids of this
  document", so the adapter keeps a ledger ``(workspace, document) -> chunk ids``. By default it
  lives in process memory, right for ``InMemoryVectorStore``; give a persistent mapping
  (``ledger=``) when the wrapped store outlives the process.
- *Filters.* Every LangChain store spells filters differently. The default builds a Python
  predicate (what ``InMemoryVectorStore`` takes); pass ``filter_factory`` for a store that wants
  a dict. Hits are checked again here, so a store that ignores the filter can return fewer than
  k chunks, never another workspace's.
- *Upserts.* Replacing writes the new chunks, then deletes ids no longer present; the wrapped
  store must overwrite on an existing id (InMemoryVectorStore, Chroma, PGVector, Qdrant do).
- No keyword search (``supports_keyword_search = False``): Retriever falls back to vector-only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore as LCVectorStore

from ..core.errors import UnsupportedOperation
from ..core.filters import metadata_matches
from ..core.models import Chunk, SearchHit
from ..core.ports import Embedder
from ..core.retrieval import RetrievalSettings, Retriever

RESERVED_KEYS = ("workspace_id", "document_id", "chunk_id", "ordinal")
"""Metadata keys the adapter writes on every LangChain document (they win over chunk metadata)."""

FilterFactory = Callable[[str, Mapping[str, Any] | None], Any]


class ChorusEmbeddings(Embeddings):
    """LangChain ``Embeddings`` backed by a chorus ``Embedder``, able to replay known vectors.

    Build the LangChain store with it (``InMemoryVectorStore(ChorusEmbeddings(embedder))``) so
    that chorus can write chunks with the embeddings they already have.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder
        self._local = threading.local()

    @contextmanager
    def replaying(self, texts: Sequence[str], vectors: Sequence[Any]) -> Iterator[None]:
        """Within the block, ``embed_documents(texts)`` returns ``vectors`` unchanged."""
        self._local.pending = (list(texts), [np.asarray(v, dtype=np.float32) for v in vectors])
        try:
            yield
        finally:
            self._local.pending = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        pending = getattr(self._local, "pending", None)
        if pending is not None and pending[0] == list(texts):
            return [v.tolist() for v in pending[1]]
        return self._embed(texts, "passage")

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text], "query")[0]

    def _embed(self, texts: list[str], kind: str) -> list[list[float]]:
        if self.embedder is None:
            raise ValueError(
                "this ChorusEmbeddings has no embedder: give one to embed new text, or write "
                "through LangChainVectorStore, which passes the chunks' own embeddings"
            )
        return np.asarray(self.embedder.embed(texts, kind=kind), dtype=np.float32).tolist()


def predicate_filter(workspace_id: str, filters: Mapping[str, Any] | None) -> Any:
    """A callable filter (InMemoryVectorStore's form): the workspace, then jsonb containment."""

    def accept(document: Document) -> bool:
        return _belongs(document.metadata, workspace_id, filters)

    return accept


class LangChainVectorStore:
    """A ``langchain_core`` vector store behind chorus's VectorStore port.

    Parameters
    ----------
    store:
        The LangChain vector store; it must have ``add_embeddings`` or be built with
        ``ChorusEmbeddings``.
    filter_factory:
        Builds the store's ``filter`` argument from (workspace id, chorus filters);
        ``predicate_filter`` by default.
    relevance:
        Turns the store's raw score into a similarity, higher is better (identity by default:
        InMemoryVectorStore returns cosine similarity; use ``lambda d: 1 - d`` for a store that
        returns cosine distance).
    ledger:
        Where the ids of each document's chunks are kept (in-process dict by default).

    Example
    -------
    >>> lc = InMemoryVectorStore(ChorusEmbeddings(embedder))
    >>> store = LangChainVectorStore(lc)
    """

    supports_keyword_search = False

    def __init__(
        self,
        store: LCVectorStore,
        *,
        filter_factory: FilterFactory = predicate_filter,
        relevance: Callable[[float], float] = float,
        ledger: MutableMapping[str, list[str]] | None = None,
    ) -> None:
        if not hasattr(store, "add_embeddings") and not isinstance(
            store.embeddings, ChorusEmbeddings
        ):
            raise ValueError(
                f"{type(store).__name__} would embed chunks with its own model and ignore "
                "chorus's embeddings: build it with ChorusEmbeddings(embedder)"
            )
        self.store = store
        self.filter_factory = filter_factory
        self.relevance = relevance
        self.ledger: MutableMapping[str, list[str]] = {} if ledger is None else ledger
        self._lock = threading.Lock()

    # -- writes -----------------------------------------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        for c in chunks:
            if c.workspace_id != workspace_id or c.document_id != document_id:
                raise ValueError("every chunk must belong to the document being replaced")
        key = _ledger_key(workspace_id, document_id)
        new_ids = [c.id for c in chunks]
        with self._lock:
            if chunks:
                self._add(chunks)
            keep = set(new_ids)
            stale = [i for i in self.ledger.get(key, []) if i not in keep]
            if stale:
                self.store.delete(ids=stale)
            if new_ids:
                self.ledger[key] = new_ids
            else:
                self.ledger.pop(key, None)

    def _add(self, chunks: Sequence[Chunk]) -> None:
        texts = [c.text for c in chunks]
        vectors = [np.asarray(c.embedding, dtype=np.float32).reshape(-1) for c in chunks]
        metadatas = [
            {
                **dict(c.metadata),
                "workspace_id": c.workspace_id,
                "document_id": c.document_id,
                "chunk_id": c.id,
                "ordinal": int(c.ordinal),
            }
            for c in chunks
        ]
        ids = [c.id for c in chunks]
        add_embeddings = getattr(self.store, "add_embeddings", None)
        if add_embeddings is not None:
            add_embeddings(
                text_embeddings=[(t, v.tolist()) for t, v in zip(texts, vectors, strict=True)],
                metadatas=metadatas,
                ids=ids,
            )
            return
        embeddings = self.store.embeddings
        assert isinstance(embeddings, ChorusEmbeddings)
        documents = [
            Document(id=i, page_content=t, metadata=m)
            for i, t, m in zip(ids, texts, metadatas, strict=True)
        ]
        with embeddings.replaying(texts, vectors):
            self.store.add_documents(documents, ids=ids)

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        with self._lock:
            ids = self.ledger.pop(_ledger_key(workspace_id, document_id), [])
            if ids:
                self.store.delete(ids=ids)
            return len(ids)

    def delete_workspace(self, workspace_id: str) -> int:
        with self._lock:
            keys = [k for k in list(self.ledger) if json.loads(k)[0] == workspace_id]
            ids = [i for k in keys for i in self.ledger.pop(k)]
            if ids:
                self.store.delete(ids=ids)
            return len(ids)

    # -- reads ------------------------------------------------------------------------------

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        if k <= 0:
            return []
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1).tolist()
        store_filter = self.filter_factory(workspace_id, filters)
        scored = getattr(self.store, "similarity_search_with_score_by_vector", None)
        if scored is not None:
            pairs = [
                (doc, self.relevance(score))
                for doc, score in scored(vector, k=k, filter=store_filter)
            ]
        else:  # the base API gives no scores: rank order becomes the score
            docs = self.store.similarity_search_by_vector(vector, k=k, filter=store_filter)
            pairs = [(doc, 1.0 / (1 + rank)) for rank, doc in enumerate(docs)]
        hits = [
            _hit(doc, score)
            for doc, score in pairs
            if _belongs(doc.metadata, workspace_id, filters)
        ]
        return sorted(hits, key=lambda h: (-h.score, h.chunk_id))[:k]

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        raise UnsupportedOperation(
            "LangChain vector stores have no keyword search in chorus; check "
            "supports_keyword_search (the Retriever does, and falls back to vector-only)"
        )

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        """Stored vectors where the store exposes them (InMemoryVectorStore); else ``{}``."""
        raw = getattr(self.store, "store", None)
        if not isinstance(raw, dict):
            return {}
        found = {}
        for chunk_id in chunk_ids:
            entry = raw.get(chunk_id)
            if entry and entry.get("metadata", {}).get("workspace_id") == workspace_id:
                found[chunk_id] = np.asarray(entry["vector"], dtype=np.float32)
        return found

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        with self._lock:
            if document_id is not None:
                return len(self.ledger.get(_ledger_key(workspace_id, document_id), []))
            return sum(len(v) for k, v in self.ledger.items() if json.loads(k)[0] == workspace_id)


class ChorusRetriever(BaseRetriever):
    """Chorus's retrieval (hybrid, fused, reranked) as a LangChain retriever.

    Each ``Document`` has the chunk text as ``page_content``, ``id`` = chunk id, and metadata
    with the chunk's own metadata plus ``chunk_id``, ``document_id``, ``ordinal`` and ``score``.

    Example
    -------
    >>> retriever = ChorusRetriever(retriever=services.retriever, workspace_id="ws")
    >>> chain = {"context": retriever, "question": RunnablePassthrough()} | prompt | llm
    """

    retriever: Retriever
    workspace_id: str
    settings: RetrievalSettings | None = None
    filters: dict[str, Any] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.retriever.retrieve(
            self.workspace_id, query, settings=self.settings, filters=self.filters
        )
        return [
            Document(
                id=h.chunk_id,
                page_content=h.text,
                metadata={
                    **dict(h.metadata),
                    "chunk_id": h.chunk_id,
                    "document_id": h.document_id,
                    "ordinal": h.ordinal,
                    "score": h.score,
                },
            )
            for h in hits
        ]


def _ledger_key(workspace_id: str, document_id: str) -> str:
    return json.dumps([workspace_id, document_id])


def _user_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in RESERVED_KEYS}


def _belongs(
    metadata: Mapping[str, Any], workspace_id: str, filters: Mapping[str, Any] | None
) -> bool:
    return metadata.get("workspace_id") == workspace_id and metadata_matches(
        _user_metadata(metadata), filters
    )


def _hit(doc: Document, score: float) -> SearchHit:
    metadata = doc.metadata
    return SearchHit(
        chunk_id=str(metadata.get("chunk_id", doc.id)),
        document_id=str(metadata["document_id"]),
        ordinal=int(metadata.get("ordinal", 0)),
        text=doc.page_content,
        score=float(score),
        metadata=_user_metadata(metadata),
    )
