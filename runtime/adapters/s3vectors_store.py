"""VectorStore port on Amazon S3 Vectors: pay per request and per GB stored, nothing when idle.

One vector index holds every workspace; each vector carries its workspace and document as
filterable metadata, and every query filters on the workspace. The chunk text and the full
chunk metadata (as JSON) travel as *non-filterable* metadata, so the index must be created with
``nonFilterableMetadataKeys = ["text", "chorus_metadata"]`` (the VectorStore component does);
otherwise they count against the 2 KB filterable limit and long chunks are refused.

Limits this adapter respects (S3 Vectors user guide, "Limitations and restrictions"): 500
vectors per PutVectors and DeleteVectors, 100 keys per GetVectors, top-k up to 100 per
QueryVectors, 1,000 vectors per ListVectors page, 20 MiB per request, 40 KB of metadata per
vector, 1,024-character keys. The index must use the ``cosine`` distance metric.

No keyword search (``supports_keyword_search = False``): retrieval falls back to vector-only.
ListVectors cannot filter, so finding a document's vectors (replace, delete, count) lists the
whole index; that is fine for ingestion-time work on indexes of up to a few hundred thousand
vectors and is the price of having no second index to keep in step.

Tested with botocore's Stubber against the service model shipped with botocore (moto has no
S3 Vectors); see ``tests/runtime/adapters/test_s3vectors_store.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..core.errors import BadRequest, ChorusError, UnsupportedOperation
from ..core.filters import metadata_matches
from ..core.models import Chunk, SearchHit
from .cosine_vectors import checked_cosine_vector

PUT_LIMIT = 500
DELETE_LIMIT = 500
GET_LIMIT = 100
TOP_K_LIMIT = 100
LIST_PAGE_LIMIT = 1000
REQUEST_BYTES_LIMIT = 16 * 1024 * 1024  # under the 20 MiB request limit, with room for JSON
METADATA_BYTES_LIMIT = 40 * 1024
KEY_LENGTH_LIMIT = 1024

TEXT_KEY = "text"
METADATA_KEY = "chorus_metadata"
NON_FILTERABLE_KEYS = (TEXT_KEY, METADATA_KEY)
"""Metadata keys the index must declare non-filterable."""

_RESERVED = {"workspace_id", "document_id", "chunk_id", "ordinal", *NON_FILTERABLE_KEYS}


class S3VectorsStore:
    """Chunks as vectors in one S3 Vectors index, scoped per workspace by metadata filter.

    Parameters
    ----------
    client:
        A boto3 ``s3vectors`` client (its standard retry mode handles 429 throttling).
    vector_bucket_name, index_name:
        Where the vectors live (created by the VectorStore component).
    dimension:
        The index's dimension; checked on every write and query so a model mismatch fails
        with a clear message instead of a service ValidationException.

    Example
    -------
    >>> store = S3VectorsStore(boto3.client("s3vectors"), "chorus-vectors", "chunks", 384)
    >>> store.vector_search("ws", query_vector, k=8, filters={"lang": "en"})
    """

    supports_keyword_search = False

    def __init__(
        self, client: Any, vector_bucket_name: str, index_name: str, dimension: int
    ) -> None:
        self.client = client
        self.vector_bucket_name = vector_bucket_name
        self.index_name = index_name
        self.dimension = dimension

    @property
    def _index(self) -> dict[str, str]:
        return {"vectorBucketName": self.vector_bucket_name, "indexName": self.index_name}

    # -- writes -----------------------------------------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        """Put the new vectors (overwrite by key), then delete the document's other keys.

        Not atomic: between the two steps a query may see old and new chunks together; once
        the call returns only the new ones exist, and a retried call converges the same way.
        """
        vectors = []
        for c in chunks:
            if c.workspace_id != workspace_id or c.document_id != document_id:
                raise ValueError("every chunk must belong to the document being replaced")
            vectors.append(self._vector(c))
        new_keys = {v["key"] for v in vectors}
        existing = [key for key, _ in self._list(workspace_id, document_id)]
        for batch in _batches_by_size(vectors):
            self.client.put_vectors(**self._index, vectors=batch)
        self._delete_keys([k for k in existing if k not in new_keys])

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        keys = [key for key, _ in self._list(workspace_id, document_id)]
        self._delete_keys(keys)
        return len(keys)

    def delete_workspace(self, workspace_id: str) -> int:
        keys = [key for key, _ in self._list(workspace_id)]
        self._delete_keys(keys)
        return len(keys)

    def _delete_keys(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), DELETE_LIMIT):
            self.client.delete_vectors(**self._index, keys=list(keys[start : start + DELETE_LIMIT]))

    def _vector(self, c: Chunk) -> dict[str, Any]:
        if not 1 <= len(c.id) <= KEY_LENGTH_LIMIT:
            raise BadRequest(
                f"chunk id {c.id[:80]!r}… must be 1 to 1,024 characters for S3 Vectors"
            )
        data = self._checked(c.embedding, f"chunk {c.id!r}")
        metadata: dict[str, Any] = {
            "workspace_id": c.workspace_id,
            "document_id": c.document_id,
            "ordinal": int(c.ordinal),
            TEXT_KEY: c.text,
        }
        if c.metadata:
            metadata[METADATA_KEY] = json.dumps(dict(c.metadata), ensure_ascii=False)
            # Top-level scalars and lists of scalars become filterable keys of their own.
            for key, value in c.metadata.items():
                if key not in _RESERVED and _filterable(value):
                    metadata[key] = list(value) if isinstance(value, tuple) else value
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
        if size > METADATA_BYTES_LIMIT:
            raise BadRequest(
                f"chunk {c.id!r} carries {size} bytes of text and metadata; S3 Vectors takes at "
                "most 40 KB per vector. Use a smaller chunk size for this workspace."
            )
        return {"key": c.id, "data": {"float32": data}, "metadata": metadata}

    def _checked(self, embedding: Any, what: str) -> list[float]:
        return checked_cosine_vector(
            embedding, self.dimension, what, f"the S3 Vectors index {self.index_name!r}"
        )

    # -- reads ------------------------------------------------------------------------------

    def _list(
        self, workspace_id: str, document_id: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, metadata) of the workspace's vectors (of one document), over the whole index."""
        params: dict[str, Any] = {
            **self._index,
            "maxResults": LIST_PAGE_LIMIT,
            "returnMetadata": True,
        }
        while True:
            response = self.client.list_vectors(**params)
            for vector in response.get("vectors", []):
                metadata = vector.get("metadata") or {}
                if metadata.get("workspace_id") != workspace_id:
                    continue
                if document_id is not None and metadata.get("document_id") != document_id:
                    continue
                yield vector["key"], metadata
            token = response.get("nextToken")
            if not token:
                return
            params["nextToken"] = token

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Top-k by cosine similarity; k above the service's 100 is capped at 100."""
        if k <= 0:
            return []
        response = self.client.query_vectors(
            **self._index,
            topK=min(k, TOP_K_LIMIT),
            queryVector={"float32": self._checked(embedding, "the query vector")},
            filter=s3vectors_filter(workspace_id, filters),
            returnMetadata=True,
            returnDistance=True,
        )
        if response.get("distanceMetric") != "cosine":
            raise ChorusError(
                f"S3 Vectors index {self.index_name!r} uses {response.get('distanceMetric')!r} "
                "distance; chorus needs a cosine index (recreate it with distanceMetric=cosine)",
                code="store_misconfigured",
            )
        hits = []
        for vector in response.get("vectors", []):
            hit = _hit(vector, workspace_id, filters)
            if hit is not None:
                hits.append(hit)
        return sorted(hits, key=lambda h: (-h.score, h.chunk_id))

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        raise UnsupportedOperation(
            "S3 Vectors has no keyword search in chorus; check supports_keyword_search "
            "(the Retriever does, and falls back to vector-only search)"
        )

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        ids = list(dict.fromkeys(chunk_ids))
        for start in range(0, len(ids), GET_LIMIT):
            response = self.client.get_vectors(
                **self._index,
                keys=ids[start : start + GET_LIMIT],
                returnData=True,
                returnMetadata=True,
            )
            for vector in response.get("vectors", []):
                metadata = vector.get("metadata") or {}
                if metadata.get("workspace_id") == workspace_id and "data" in vector:
                    found[vector["key"]] = np.asarray(vector["data"]["float32"], dtype=np.float32)
        return found

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        return sum(1 for _ in self._list(workspace_id, document_id))


def s3vectors_filter(workspace_id: str, filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The S3 Vectors metadata filter for a workspace plus chorus filters.

    Chorus filters mean ``jsonb @>`` containment (see ``metadata_matches``). S3 Vectors metadata
    is flat, and ``$eq`` on a list-valued key matches when any element equals, so a scalar
    becomes ``$eq`` and a list becomes one ``$eq`` per element, all ANDed. Nested objects have
    no S3 Vectors equivalent and are refused.
    """
    clauses: list[dict[str, Any]] = [{"workspace_id": {"$eq": workspace_id}}]
    for key, value in (filters or {}).items():
        if key in _RESERVED:
            raise BadRequest(f"{key!r} is not a metadata filter key on this store")
        if isinstance(value, list | tuple):
            if not all(_scalar(v) for v in value):
                raise BadRequest(f"filter {key!r}: S3 Vectors lists hold strings, numbers, bools")
            clauses.extend({key: {"$eq": v}} for v in value)
            if not value:
                clauses.append({key: {"$exists": True}})
        elif _scalar(value):
            clauses.append({key: {"$eq": value}})
        else:
            raise BadRequest(
                f"filter {key!r}: S3 Vectors filters take a string, number, bool or a list of "
                "them; nested objects cannot be filtered on this store"
            )
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _hit(
    vector: Mapping[str, Any], workspace_id: str, filters: Mapping[str, Any] | None
) -> SearchHit | None:
    metadata = vector.get("metadata") or {}
    # The service filtered already; checking again costs nothing and guards isolation.
    if metadata.get("workspace_id") != workspace_id:
        return None
    chunk_metadata = json.loads(metadata[METADATA_KEY]) if METADATA_KEY in metadata else {}
    if filters and not metadata_matches(chunk_metadata, filters):
        return None
    return SearchHit(
        chunk_id=vector["key"],
        document_id=str(metadata.get("document_id", "")),
        ordinal=int(metadata.get("ordinal", 0)),
        text=str(metadata.get(TEXT_KEY, "")),
        score=1.0 - float(vector.get("distance", 1.0)),
        metadata=chunk_metadata,
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool | int | float)


def _filterable(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return bool(value) and all(_scalar(v) for v in value)
    return _scalar(value)


def _batches_by_size(vectors: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Groups of at most 500 vectors and ~16 MiB of request body each."""
    batch: list[dict[str, Any]] = []
    size = 0
    for vector in vectors:
        vector_size = len(json.dumps(vector, ensure_ascii=False).encode("utf-8"))
        if batch and (len(batch) == PUT_LIMIT or size + vector_size > REQUEST_BYTES_LIMIT):
            yield batch
            batch, size = [], 0
        batch.append(vector)
        size += vector_size
    if batch:
        yield batch
