"""VectorStore port on one DynamoDB table: the zero-idle-cost store for small workspaces.

DynamoDB has no vector index, so search loads a workspace's whole partition (one paginated
``Query``), keeps it in the container's memory, and scores it in numpy; keyword search runs
``bm25s`` over the same cached partition. On-demand capacity costs nothing while idle, which is
why the dev stack can use it; the price is a cold load that grows with the workspace (see
``bench/stores.py`` and ``docs/stores.md`` for where it stops being the right choice).

Layout: partition key ``workspace_id``, sort key ``doc#<document id>#<chunk id>`` (``#`` and
``%`` in the document id are percent-escaped so one document's prefix never matches another's).
Every chunk of a document shares one key prefix, so "the chunks of this document" is a single
``begins_with`` query and needs no secondary index.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..core.errors import BadRequest, ChorusError
from ..core.filters import metadata_matches
from ..core.models import Chunk, SearchHit

EmbeddingDtype = Literal["float32", "float16"]

BATCH_WRITE_LIMIT = 25
"""BatchWriteItem takes at most 25 put or delete requests."""

ITEM_SIZE_LIMIT = 400 * 1024
"""DynamoDB's item size limit; a chunk that cannot fit even compressed is refused."""

_COMPRESS_TEXT_OVER = 32 * 1024
_DTYPES: dict[str, np.dtype] = {"f4": np.dtype("<f4"), "f2": np.dtype("<f2")}


class StoreUnavailable(ChorusError):
    """The backing service kept refusing writes (throttling) after every retry."""

    code = "store_unavailable"
    http_status = 503


def create_table(client: Any, table_name: str, *, wait: bool = True) -> None:
    """Create the chunks table (on-demand capacity, so it costs nothing while idle).

    For tests and local use; in the cloud the VectorStore component creates the table. Does
    nothing when the table already exists.
    """
    try:
        client.create_table(
            TableName=table_name,
            AttributeDefinitions=[
                {"AttributeName": "workspace_id", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "workspace_id", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except client.exceptions.ResourceInUseException:
        return
    if wait:
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )


@dataclass
class _Partition:
    """One workspace's chunks, loaded once and scored in memory."""

    ids: list[str]
    document_ids: list[str]
    ordinals: list[int]
    texts: list[str]
    metadata: list[dict[str, Any]]
    matrix: np.ndarray  # (n, dim) float32, rows L2-normalised
    loaded_at: float
    _bm25: Any = None

    def hit(self, i: int, score: float) -> SearchHit:
        return SearchHit(
            chunk_id=self.ids[i],
            document_id=self.document_ids[i],
            ordinal=self.ordinals[i],
            text=self.texts[i],
            score=float(score),
            metadata=self.metadata[i],
        )

    def mask(self, filters: Mapping[str, Any] | None) -> np.ndarray | None:
        if not filters:
            return None
        return np.fromiter(
            (metadata_matches(m, filters) for m in self.metadata), dtype=bool, count=len(self.ids)
        )

    def bm25(self) -> Any:
        """The bm25s index of the partition, built on the first keyword search."""
        if self._bm25 is None:
            import bm25s

            tokens = bm25s.tokenize(self.texts, stopwords="en", show_progress=False)
            index = bm25s.BM25()
            index.index(tokens, show_progress=False)
            self._bm25 = index
        return self._bm25


class DynamoDBVectorStore:
    """Chunks and their embeddings in a DynamoDB table, searched in memory.

    Consistency of ``replace_document_chunks``: DynamoDB has no transaction over more than 100
    items, so a replacement is three steps — list the document's current keys (strongly
    consistent), write every new chunk (an overwrite by chunk id, so repeating it is harmless),
    then delete the keys that are no longer present. While it runs, a reader may see old and new
    chunks side by side, never a document with neither; once it returns, exactly the new chunks
    exist. If the process dies half-way, stale chunks may remain until the ingest retry (SQS
    redelivers, and the same call converges). Readers in other containers see changes when their
    cache is invalidated (``invalidate``, called on ``document-changed``) or its TTL expires.

    Parameters
    ----------
    client:
        A boto3 DynamoDB *client* (``boto3.client("dynamodb")``); low-level attribute values
        keep the binary embeddings as bytes with no per-number conversion.
    table_name:
        The table (see ``create_table``).
    embedding_dtype:
        ``float32`` (default, exact) or ``float16`` (half the storage and read cost; cosine
        scores then differ by ~1e-3, which can swap near ties).
    cache_ttl_seconds:
        How long a loaded partition is trusted without an invalidation (60 s).
    page_size:
        ``Limit`` of each Query page; None lets DynamoDB fill 1 MB pages.
    max_write_attempts:
        Tries of a batch whose items DynamoDB returned as unprocessed (throttling).
    clock, sleep:
        Injected for tests (``time.monotonic``, ``time.sleep``).

    Example
    -------
    >>> store = DynamoDBVectorStore(boto3.client("dynamodb"), "chorus-chunks")
    >>> store.vector_search("ws", query_vector, k=8)
    """

    supports_keyword_search = True

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        embedding_dtype: EmbeddingDtype = "float32",
        cache_ttl_seconds: float = 60.0,
        page_size: int | None = None,
        max_write_attempts: int = 8,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if embedding_dtype not in ("float32", "float16"):
            raise ValueError("embedding_dtype must be 'float32' or 'float16'")
        self.client = client
        self.table_name = table_name
        self.dtype_code = "f4" if embedding_dtype == "float32" else "f2"
        self.cache_ttl_seconds = cache_ttl_seconds
        self.page_size = page_size
        self.max_write_attempts = max_write_attempts
        self._clock = clock
        self._sleep = sleep
        self._cache: dict[str, _Partition] = {}
        self._epoch = 0  # bumped by every invalidation; a load that raced one is not cached
        self._lock = threading.Lock()
        self.partition_loads = 0
        """How many times a partition was read from DynamoDB (for tests and the bench)."""

    # -- cache ------------------------------------------------------------------------------

    def invalidate(self, workspace_id: str | None = None) -> None:
        """Forget the cached partition of a workspace (all workspaces when None).

        The ``document-changed`` SNS handler calls this so every warm container reloads on its
        next search instead of serving chunks up to ``cache_ttl_seconds`` old.
        """
        with self._lock:
            self._epoch += 1
            if workspace_id is None:
                self._cache.clear()
            else:
                self._cache.pop(workspace_id, None)

    def _partition(self, workspace_id: str) -> _Partition:
        with self._lock:
            cached = self._cache.get(workspace_id)
            if cached is not None and self._clock() - cached.loaded_at < self.cache_ttl_seconds:
                return cached
            epoch = self._epoch
        partition = self._load(workspace_id)
        with self._lock:
            # A write or an invalidation during the load may have made it stale: use it for
            # this search, but do not cache it.
            if self._epoch == epoch:
                self._cache[workspace_id] = partition
        return partition

    def _load(self, workspace_id: str) -> _Partition:
        ids: list[str] = []
        document_ids: list[str] = []
        ordinals: list[int] = []
        texts: list[str] = []
        metadata: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        for item in self._query(workspace_id, prefix="doc#"):
            ids.append(item["chunk_id"]["S"])
            document_ids.append(item["document_id"]["S"])
            ordinals.append(int(item["ordinal"]["N"]))
            texts.append(_item_text(item))
            metadata.append(json.loads(item["metadata"]["S"]) if "metadata" in item else {})
            vectors.append(_decode_embedding(item))
        self.partition_loads += 1
        if vectors:
            dims = {v.shape[0] for v in vectors}
            if len(dims) != 1:
                raise ValueError(
                    f"workspace {workspace_id!r} mixes embedding dimensions {sorted(dims)}; "
                    "re-index it with one embedding model"
                )
            matrix = np.vstack(vectors)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            matrix = matrix / np.where(norms > 0, norms, 1.0)
        else:
            matrix = np.zeros((0, 0), dtype=np.float32)
        return _Partition(
            ids, document_ids, ordinals, texts, metadata, matrix.astype(np.float32), self._clock()
        )

    # -- writes -----------------------------------------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        items = []
        for c in chunks:
            if c.workspace_id != workspace_id or c.document_id != document_id:
                raise ValueError("every chunk must belong to the document being replaced")
            items.append(self._item(c))
        new_keys = {item["sk"]["S"] for item in items}
        if len(new_keys) != len(items):
            raise BadRequest("chunk ids must be unique within a document")
        existing = [
            item["sk"]["S"]
            for item in self._query(workspace_id, prefix=_doc_prefix(document_id), keys_only=True)
        ]
        self._batch_write([{"PutRequest": {"Item": item}} for item in items])
        stale = [sk for sk in existing if sk not in new_keys]
        self._batch_write([{"DeleteRequest": {"Key": _key(workspace_id, sk)}} for sk in stale])
        self.invalidate(workspace_id)

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        return self._delete_prefix(workspace_id, _doc_prefix(document_id))

    def delete_workspace(self, workspace_id: str) -> int:
        return self._delete_prefix(workspace_id, "doc#")

    def _delete_prefix(self, workspace_id: str, prefix: str) -> int:
        keys = [
            item["sk"]["S"] for item in self._query(workspace_id, prefix=prefix, keys_only=True)
        ]
        self._batch_write([{"DeleteRequest": {"Key": _key(workspace_id, sk)}} for sk in keys])
        self.invalidate(workspace_id)
        return len(keys)

    def _item(self, c: Chunk) -> dict[str, Any]:
        vector = np.asarray(c.embedding, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(vector)):
            raise BadRequest(f"chunk {c.id!r} has a NaN or infinite embedding value")
        item: dict[str, Any] = {
            "workspace_id": {"S": c.workspace_id},
            "sk": {"S": _doc_prefix(c.document_id) + c.id},
            "chunk_id": {"S": c.id},
            "document_id": {"S": c.document_id},
            "ordinal": {"N": str(int(c.ordinal))},
            "embedding": {"B": vector.astype(_DTYPES[self.dtype_code]).tobytes()},
            "dtype": {"S": self.dtype_code},
        }
        encoded = c.text.encode("utf-8")
        if len(encoded) > _COMPRESS_TEXT_OVER:
            item["text_z"] = {"B": zlib.compress(encoded, 6)}
        else:
            item["text"] = {"S": c.text}
        if c.metadata:
            item["metadata"] = {"S": json.dumps(dict(c.metadata), ensure_ascii=False)}
        if _item_size(item) > ITEM_SIZE_LIMIT:
            raise BadRequest(
                f"chunk {c.id!r} does not fit in a DynamoDB item (400 KB limit, even with its text"
                " compressed); use a smaller chunk size or another store for this workspace"
            )
        return item

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in groups of 25, retrying unprocessed items with backoff."""
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            for attempt in range(self.max_write_attempts):
                response = self.client.batch_write_item(RequestItems={self.table_name: pending})
                pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if not pending:
                    break
                self._sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise StoreUnavailable(
                    f"DynamoDB left {len(pending)} writes to {self.table_name} unprocessed after "
                    f"{self.max_write_attempts} attempts (throttling); the ingest will be retried"
                )

    # -- reads ------------------------------------------------------------------------------

    def _query(
        self, workspace_id: str, *, prefix: str, keys_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every item of the workspace whose sort key starts with ``prefix``, page by page."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "workspace_id = :w AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":w": {"S": workspace_id}, ":p": {"S": prefix}},
            "ConsistentRead": True,
        }
        if keys_only:
            params["ProjectionExpression"] = "sk"
        if self.page_size:
            params["Limit"] = self.page_size
        while True:
            response = self.client.query(**params)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        partition = self._partition(workspace_id)
        if not partition.ids or k <= 0:
            return []
        query = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if query.shape[0] != partition.matrix.shape[1]:
            raise BadRequest(
                f"the query has {query.shape[0]} dimensions but workspace {workspace_id!r} "
                f"stores {partition.matrix.shape[1]}; embed it with the workspace's model"
            )
        norm = float(np.linalg.norm(query))
        scores = partition.matrix @ (query / norm if norm > 0 else query)
        return _top_k(partition, scores, k, partition.mask(filters))

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        import bm25s

        partition = self._partition(workspace_id)
        if not partition.ids or k <= 0:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0]
        if not tokens:
            return []
        scores = np.asarray(partition.bm25().get_scores(tokens), dtype=np.float32)
        matched = scores > 0
        mask = partition.mask(filters)
        return _top_k(partition, scores, k, matched if mask is None else matched & mask)

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        if not chunk_ids:
            return {}
        partition = self._partition(workspace_id)
        wanted = set(chunk_ids)
        return {cid: partition.matrix[i] for i, cid in enumerate(partition.ids) if cid in wanted}

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        prefix = "doc#" if document_id is None else _doc_prefix(document_id)
        return sum(1 for _ in self._query(workspace_id, prefix=prefix, keys_only=True))

    def document_chunks(self, workspace_id: str, document_id: str) -> list[SearchHit]:
        """Every chunk of one document in order (score 0), read from the table; for tests."""
        items = list(self._query(workspace_id, prefix=_doc_prefix(document_id)))
        hits = [
            SearchHit(
                chunk_id=item["chunk_id"]["S"],
                document_id=item["document_id"]["S"],
                ordinal=int(item["ordinal"]["N"]),
                text=_item_text(item),
                score=0.0,
                metadata=json.loads(item["metadata"]["S"]) if "metadata" in item else {},
            )
            for item in items
        ]
        return sorted(hits, key=lambda h: h.ordinal)


def _top_k(
    partition: _Partition, scores: np.ndarray, k: int, mask: np.ndarray | None
) -> list[SearchHit]:
    candidates = np.arange(len(scores)) if mask is None else np.flatnonzero(mask)
    if candidates.size == 0:
        return []
    if candidates.size > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[part]
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [partition.hit(int(i), scores[i]) for i in order]


def _doc_prefix(document_id: str) -> str:
    escaped = document_id.replace("%", "%25").replace("#", "%23")
    return f"doc#{escaped}#"


def _key(workspace_id: str, sk: str) -> dict[str, Any]:
    return {"workspace_id": {"S": workspace_id}, "sk": {"S": sk}}


def _item_text(item: Mapping[str, Any]) -> str:
    if "text_z" in item:
        return zlib.decompress(bytes(item["text_z"]["B"])).decode("utf-8")
    return item["text"]["S"]


def _decode_embedding(item: Mapping[str, Any]) -> np.ndarray:
    dtype = _DTYPES[item.get("dtype", {"S": "f4"})["S"]]
    return np.frombuffer(bytes(item["embedding"]["B"]), dtype=dtype).astype(np.float32)


def _item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers ~)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        (kind, raw), *_ = value.items()
        size += len(raw) if kind == "B" else len(str(raw).encode("utf-8"))
    return size
