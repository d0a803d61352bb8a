"""Route each workspace to the vector store it picked when it was created.

A stack may deploy several stores (``vectorStore.stores`` of the app config); a workspace's
record carries its ``store``. ``WorkspaceStores`` is a ``VectorStore`` whose every call goes to
the store of the call's workspace; ``WorkspaceRetriever`` gives the core ``Retriever`` that
workspace's own store, so the capability flags it reads (``supports_keyword_search``,
``supports_vector_search``) are the workspace's, not the stack's.

``KendraDocumentStore`` makes a Kendra workspace ingestable: Kendra is fed by its S3 data source,
so "writing" a document means writing the metadata file that gives it the workspace attribute,
and the index picks it up at the data source's next sync.

Example
-------
>>> stores = WorkspaceStores({"dynamodb": build_dynamodb, "pgvector": build_pgvector}, metadata)
>>> stores.store_for("handbook-1a2b3c4d")       # the workspace's concrete store
>>> WorkspaceRetriever(embedder, stores).retrieve("handbook-1a2b3c4d", "refund policy")
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..adapters.s3_documents import KEY_PREFIX
from ..core.errors import BadRequest, NotFound, UnsupportedStore
from ..core.models import Chunk, SearchHit
from ..core.ports import Embedder, MetadataStore, Reranker, VectorStore
from ..core.retrieval import RetrievalSettings, RetrievalTrace, Retriever

CAPABILITIES: dict[str, tuple[bool, bool]] = {
    # kind: (supports_vector_search, supports_keyword_search), as the adapters declare them
    "pgvector": (True, True),
    "dynamodb": (True, True),
    "opensearch": (True, True),
    "s3vectors": (True, False),
    "kendra": (False, True),
    "knowledgebase": (False, True),
}
"""What each store kind can search by; tests check it against the adapter classes' flags."""


class WorkspaceStores:
    """A ``VectorStore`` over the stack's deployed stores, dispatching by workspace.

    Each concrete store is built on first use and kept (one per container); each workspace's
    store kind is read once from its metadata record and remembered (a workspace never changes
    store). Deleting from a workspace that has no record any more deletes nothing (its chunks
    went with it); any other call on such a workspace is ``NotFound``, and a workspace whose
    store is not deployed is ``UnsupportedStore``.

    Parameters
    ----------
    factories:
        Builds each deployed store, by kind (``pgvector``, ``dynamodb``, ``opensearch``,
        ``s3vectors``, ``kendra``); the first one is the default store.
    metadata:
        Where workspace records live (``get_workspace(id).store``).
    """

    def __init__(
        self, factories: Mapping[str, Callable[[], VectorStore]], metadata: MetadataStore
    ) -> None:
        if not factories:
            raise ValueError("at least one store must be deployed")
        self.factories = dict(factories)
        self.metadata = metadata
        self._built: dict[str, VectorStore] = {}
        self._kinds: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def kinds(self) -> tuple[str, ...]:
        """The deployed store kinds."""
        return tuple(self.factories)

    @property
    def supports_keyword_search(self) -> bool:
        """True only when every deployed store has it; per workspace, see ``store_for``."""
        return all(CAPABILITIES.get(kind, (True, False))[1] for kind in self.factories)

    @property
    def supports_vector_search(self) -> bool:
        """True only when every deployed store has it; per workspace, see ``store_for``."""
        return all(CAPABILITIES.get(kind, (False, True))[0] for kind in self.factories)

    # -- routing ----------------------------------------------------------------------------

    def of_kind(self, kind: str) -> VectorStore:
        """The deployed store of this kind, built on first use."""
        store = self._built.get(kind)
        if store is not None:
            return store
        if kind not in self.factories:
            raise UnsupportedStore(
                f"store {kind!r} is not deployed on this stack; deployed: "
                f"{', '.join(self.factories)}"
            )
        with self._lock:
            if kind not in self._built:
                self._built[kind] = self.factories[kind]()
            return self._built[kind]

    def built(self) -> dict[str, VectorStore]:
        """The stores built so far in this container, by kind."""
        return dict(self._built)

    def kind_of(self, workspace_id: str) -> str | None:
        """The store kind of the workspace's record; None when there is no record."""
        kind = self._kinds.get(workspace_id)
        if kind is None:
            workspace = self.metadata.get_workspace(workspace_id)
            if workspace is None:
                return None
            kind = self._kinds[workspace_id] = workspace.store
        return kind

    def needs_vectors(self, workspace_id: str) -> bool:
        """Whether the workspace's store searches by vector (Kendra does not: the ingest worker
        then embeds nothing)."""
        return bool(getattr(self.store_for(workspace_id), "supports_vector_search", True))

    def store_for(self, workspace_id: str) -> VectorStore:
        """The concrete store the workspace picked when it was created."""
        kind = self.kind_of(workspace_id)
        if kind is None:
            raise NotFound(f"workspace {workspace_id!r} does not exist")
        if kind not in self.factories:
            raise UnsupportedStore(
                f"workspace {workspace_id!r} keeps its chunks in {kind!r}, which this stack "
                f"does not deploy (deployed: {', '.join(self.factories)}); deploy that store "
                "again or move the workspace"
            )
        return self.of_kind(kind)

    def invalidate(self, workspace_id: str | None = None) -> None:
        """Drop cached chunks of the workspace in every built store that caches them
        (the DynamoDB store's partitions); called on ``document-changed``."""
        for store in self.built().values():
            invalidate = getattr(store, "invalidate", None)
            if callable(invalidate):
                invalidate(workspace_id)

    # -- the VectorStore port ------------------------------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        self.store_for(workspace_id).replace_document_chunks(workspace_id, document_id, chunks)

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        if self.kind_of(workspace_id) is None:
            return 0
        return self.store_for(workspace_id).delete_document(workspace_id, document_id)

    def delete_workspace(self, workspace_id: str) -> int:
        if self.kind_of(workspace_id) is None:
            return 0
        removed = self.store_for(workspace_id).delete_workspace(workspace_id)
        self._kinds.pop(workspace_id, None)
        return removed

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        return self.store_for(workspace_id).vector_search(workspace_id, embedding, k, filters)

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        return self.store_for(workspace_id).keyword_search(workspace_id, query, k, filters)

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        return self.store_for(workspace_id).chunk_embeddings(workspace_id, chunk_ids)

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        return self.store_for(workspace_id).count_chunks(workspace_id, document_id)


class WorkspaceRetriever(Retriever):
    """The core ``Retriever`` run on the workspace's own store.

    ``Retriever`` reads the capability flags from its store, so each retrieval builds one (a
    plain object; cheap) on the store ``WorkspaceStores.store_for`` resolves: a Kendra workspace
    skips the query embedding, an S3 Vectors workspace the keyword leg.
    """

    def __init__(
        self,
        embedder: Embedder,
        stores: WorkspaceStores,
        reranker: Reranker | None = None,
        settings: RetrievalSettings | None = None,
        workspace_overrides: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(embedder, stores, reranker, settings, workspace_overrides)
        self.stores = stores

    def for_workspace(self, workspace_id: str) -> Retriever:
        """A ``Retriever`` on the workspace's concrete store."""
        store = self.stores.store_for(workspace_id)
        return Retriever(
            self.embedder, store, self.reranker, self.settings, self.workspace_overrides
        )

    def retrieve(
        self,
        workspace_id: str,
        query: str,
        *,
        settings: RetrievalSettings | None = None,
        filters: Mapping[str, Any] | None = None,
        trace: RetrievalTrace | None = None,
    ) -> list[SearchHit]:
        return self.for_workspace(workspace_id).retrieve(
            workspace_id, query, settings=settings, filters=filters, trace=trace
        )


_KENDRA_S3_DOCUMENT = re.compile(r"(?:^|/)workspaces/([^/]+)/([^/]+)/[^/]+$")


class KendraDocumentStore:
    """Kendra for a workspace: retrieval by the Kendra index, "writes" by metadata files.

    Kendra's S3 data source indexes the documents bucket and reads, for each object ``key``, the
    metadata file ``<metadata_prefix><key>.metadata.json``. Writing a document's chunks writes
    that file with ``Attributes: {"workspace_id": <workspace>}`` and the document's ``Title``
    (the key comes from the chunks' ``s3Key`` metadata, which the ingest worker sets); deleting
    deletes it. The index sees the change at the data source's **next sync** (on demand or on
    its schedule), not when the call returns. Hits get chorus's document id back from the
    object key, so sources name the same document as the rest of chorus.

    Parameters
    ----------
    retriever:
        The ``KendraRetriever`` on the index (its ``workspace_attribute`` names the attribute).
    s3:
        A boto3 S3 client.
    bucket:
        The documents bucket (the data source's bucket).
    metadata_prefix:
        The data source's metadata prefix (``kendra-metadata/``).
    """

    supports_keyword_search = True
    supports_vector_search = False

    def __init__(
        self, retriever: Any, s3: Any, bucket: str, metadata_prefix: str = "kendra-metadata/"
    ) -> None:
        self.retriever = retriever
        self.s3 = s3
        self.bucket = bucket
        self.metadata_prefix = metadata_prefix

    def metadata_key(self, object_key: str) -> str:
        """Where the data source looks for the metadata of ``object_key``."""
        return f"{self.metadata_prefix}{object_key}.metadata.json"

    # -- writes: metadata files for the S3 data source -------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        if not chunks:
            self.delete_document(workspace_id, document_id)
            return
        meta = chunks[0].metadata or {}
        key = meta.get("s3Key")
        expected = f"{KEY_PREFIX}{workspace_id}/{document_id}/"
        if not key or not str(key).startswith(expected):
            raise BadRequest(
                f"a Kendra workspace indexes only documents uploaded to the documents bucket "
                f"under {expected}; this document has no such s3Key",
                code="read_only_store",
            )
        body = {
            "Title": str(meta.get("document_name") or key.rsplit("/", 1)[-1]),
            "Attributes": {self.retriever.workspace_attribute: workspace_id},
        }
        written = self.metadata_key(key)
        self.s3.put_object(
            Bucket=self.bucket,
            Key=written,
            Body=json.dumps(body).encode("utf-8"),
            ContentType="application/json",
        )
        # A renamed file leaves no stale metadata file behind (written first: never neither).
        self._delete_prefix(self._prefix(workspace_id, document_id), keep=written)

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        """Delete the document's metadata file; returns how many files were deleted."""
        return self._delete_prefix(self._prefix(workspace_id, document_id))

    def delete_workspace(self, workspace_id: str) -> int:
        """Delete the metadata files of every document of the workspace."""
        return self._delete_prefix(self._prefix(workspace_id))

    def _prefix(self, workspace_id: str, document_id: str | None = None) -> str:
        document = f"{document_id}/" if document_id else ""
        return f"{self.metadata_prefix}{KEY_PREFIX}{workspace_id}/{document}"

    def _delete_prefix(self, prefix: str, keep: str | None = None) -> int:
        removed = 0
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] != keep]
            if keys:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                removed += len(keys)
        return removed

    # -- reads: the Kendra index --------------------------------------------------------------

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        hits = self.retriever.keyword_search(workspace_id, query, k, filters)
        return [_chorus_document(hit) for hit in hits]

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        return self.retriever.vector_search(workspace_id, embedding, k, filters)

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        return self.retriever.chunk_embeddings(workspace_id, chunk_ids)

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        return self.retriever.count_chunks(workspace_id, document_id)


def _chorus_document(hit: SearchHit) -> SearchHit:
    """The hit with chorus's document id when Kendra's id is the object's S3 key or URI."""
    match = _KENDRA_S3_DOCUMENT.search(hit.document_id)
    if match is None:
        return hit
    return replace(hit, document_id=match.group(2))


__all__ = [
    "CAPABILITIES",
    "KendraDocumentStore",
    "UnsupportedStore",
    "WorkspaceRetriever",
    "WorkspaceStores",
]
