"""VectorStore port on OpenSearch (managed domains or OpenSearch Serverless): k-NN + BM25.

One index holds every workspace. Each chunk is one document: a ``knn_vector`` (HNSW, cosine),
the text analysed for BM25, keyword fields ``workspace_id`` / ``document_id`` / ``chunk_id``,
and the metadata twice — as a non-indexed ``metadata`` object (returned verbatim) and as
``metadata_terms``, a keyword field of canonical *containment fragments* that filters push
down to (see ``metadata_fragments``). Every query filters on the workspace; vector queries put
the filter inside the ``knn`` clause (efficient filtering), so top-k is taken among the
workspace's chunks, not among the whole index.

Why fragments and not term filters on ``metadata.<key>``: dynamic mapping of free-form metadata
in one shared index breaks on the first type clash (``page`` an integer in one workspace, a
string in another rejects documents) and grows the mapping without bound; and a ``term`` on an
OpenSearch field cannot tell a list from a scalar, nor ``true`` from ``"true"``, so it cannot
mean ``jsonb @>`` containment the way every other chorus store does.

Contract-tested only: no OpenSearch server is installable where this was written, so the tests
run the real opensearch-py client against a fake HTTP server
(``tests/support/opensearch_server.py``) that records requests and evaluates them in memory.
That proves the requests and the parsing of documented responses, not OpenSearch's own ranking
or its HNSW recall.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..core.errors import (
    BadRequest,
    ChorusError,
    Forbidden,
    NotFound,
    ProviderError,
    ProviderTimeout,
    Throttled,
)
from ..core.filters import metadata_matches
from ..core.models import Chunk, SearchHit
from .cosine_vectors import checked_cosine_vector

MAX_RESULT_WINDOW = 10_000
"""OpenSearch's default ``index.max_result_window`` and the largest ``k`` of a knn query."""
BULK_DOCUMENTS_LIMIT = 500
BULK_BYTES_LIMIT = 8 * 1024 * 1024  # under the 10 MiB HTTP payload limit of the smallest domains
ID_BYTES_LIMIT = 512  # OpenSearch refuses longer _id values
FRAGMENT_CHARS_LIMIT = 256  # longer fragments are indexed as a hash (Lucene terms stop at 32 KB)

SERVICES = ("aoss", "es")


class OpenSearchStore:
    """Chunks of every workspace in one OpenSearch index, scoped by a workspace filter.

    Parameters
    ----------
    client:
        An ``opensearchpy.OpenSearch`` client (``connect`` builds one for AWS).
    index:
        The index name (``ensure_index`` creates it).
    dimension:
        The embedding dimension; checked on every write and query.
    serverless:
        True for OpenSearch Serverless. Serverless vector collections refuse custom document
        ids and the ``refresh`` parameter, so documents get generated ``_id``s, the chunk id
        lives in the ``chunk_id`` field, and writes become searchable on the service's schedule.
        Default False: ``_id`` = chunk id and writes are refreshed before returning.
    engine:
        k-NN engine: ``faiss`` (default; the one Serverless offers) or ``lucene``. Both do
        efficient filtering inside the ``knn`` clause.
    analyzer:
        Analyzer of ``text`` for BM25: ``english`` (default; stems and drops stop words) or
        ``standard``.
    create_index:
        Create the index (``ensure_index``) before this instance's first write, so a new
        deployment needs no setup step; a search before any write finds no index
        (``store_not_ready``). Default False: the caller creates it.

    Example
    -------
    >>> store = OpenSearchStore(connect(endpoint, "eu-west-1"), "chorus-chunks", 384,
    ...                         serverless=True)
    >>> store.ensure_index()
    >>> store.vector_search("ws", query_vector, k=8, filters={"lang": "en"})
    """

    supports_keyword_search = True

    def __init__(
        self,
        client: Any,
        index: str,
        dimension: int,
        *,
        serverless: bool = False,
        engine: str = "faiss",
        analyzer: str = "english",
        create_index: bool = False,
    ) -> None:
        if engine not in ("faiss", "lucene"):
            raise ValueError(f"engine must be 'faiss' or 'lucene', not {engine!r}")
        if analyzer not in ("english", "standard"):
            raise ValueError(f"analyzer must be 'english' or 'standard', not {analyzer!r}")
        self.client = client
        self.index = index
        self.dimension = dimension
        self.serverless = serverless
        self.engine = engine
        self.analyzer = analyzer
        self._index_ready = not create_index

    # -- the index --------------------------------------------------------------------------

    def index_body(self) -> dict[str, Any]:
        """Settings and mappings of the chunk index (``ensure_index`` sends exactly this)."""
        return {
            "settings": {"index": {"knn": True}},
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "chunk_id": {"type": "keyword"},
                    "workspace_id": {"type": "keyword"},
                    "document_id": {"type": "keyword"},
                    "ordinal": {"type": "integer"},
                    "text": {"type": "text", "analyzer": self.analyzer},
                    "metadata": {"type": "object", "enabled": False},
                    "metadata_terms": {"type": "keyword"},
                    "embedding": {
                        "type": "knn_vector",
                        "dimension": self.dimension,
                        "method": {
                            "name": "hnsw",
                            "engine": self.engine,
                            "space_type": "cosinesimil",
                            "parameters": {"m": 16, "ef_construction": 128},
                        },
                    },
                },
            },
        }

    def ensure_index(self) -> bool:
        """Create the index with ``index_body()`` unless it exists; True when it was created."""
        with _opensearch_errors(self.index):
            if self.client.indices.exists(index=self.index):
                return False
            try:
                self.client.indices.create(index=self.index, body=self.index_body())
            except Exception as exc:  # a concurrent creator won the race: fine
                if _error_type(exc) == "resource_already_exists_exception":
                    return False
                raise
            return True

    # -- writes -----------------------------------------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        """Index the new chunks (bulk), then delete the document's other documents.

        Not atomic (OpenSearch has no transactions): between the two steps a search may see
        old and new chunks together, never neither; a crash in between leaves stale chunks
        until the ingest retry, which converges. On a domain ``_id`` = chunk id, so the bulk
        overwrites in place and the delete removes only chunks that left the document. On
        Serverless each write creates new ``_id``s and the delete removes every older copy;
        without ``refresh`` there a search may see a stale copy until the service refreshes.
        """
        sources = []
        for c in chunks:
            if c.workspace_id != workspace_id or c.document_id != document_id:
                raise ValueError("every chunk must belong to the document being replaced")
            sources.append(self._source(c))
        if not self._index_ready:
            self.ensure_index()
            self._index_ready = True
        kept: list[str] = []
        for batch in _batches(sources):
            kept.extend(self._bulk_index(batch))
        self._delete_by_query(
            {
                "bool": {
                    "filter": _scope(workspace_id, document_id),
                    "must_not": [{"ids": {"values": kept}}],
                }
            }
        )

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        return self._delete_by_query({"bool": {"filter": _scope(workspace_id, document_id)}})

    def delete_workspace(self, workspace_id: str) -> int:
        return self._delete_by_query({"bool": {"filter": _scope(workspace_id)}})

    def _source(self, c: Chunk) -> dict[str, Any]:
        if len(c.id.encode()) > ID_BYTES_LIMIT:
            raise BadRequest(
                f"chunk id {c.id[:60]!r}... is longer than OpenSearch's {ID_BYTES_LIMIT}-byte "
                "document id limit; use shorter document ids"
            )
        metadata = dict(c.metadata)
        return {
            "chunk_id": c.id,
            "workspace_id": c.workspace_id,
            "document_id": c.document_id,
            "ordinal": c.ordinal,
            "text": c.text,
            "metadata": metadata,
            "metadata_terms": sorted(metadata_fragments(metadata)),
            "embedding": self._checked(c.embedding, f"embedding of chunk {c.id!r}"),
        }

    def _bulk_index(self, sources: list[dict[str, Any]]) -> list[str]:
        """Index one batch; return the ``_id``s written. Any failed item raises."""
        lines: list[dict[str, Any]] = []
        for source in sources:
            action: dict[str, Any] = {"_index": self.index}
            if not self.serverless:
                action["_id"] = source["chunk_id"]
            lines += [{"index": action}, source]
        params = {} if self.serverless else {"refresh": "wait_for"}
        with _opensearch_errors(self.index):
            response = self.client.bulk(body=lines, **params)
        items = [next(iter(item.values())) for item in response.get("items", [])]
        failed = [item for item in items if "error" in item or item.get("status", 200) >= 300]
        if response.get("errors") or failed or len(items) != len(sources):
            raise _bulk_error(self.index, failed, len(sources), len(items))
        return [item["_id"] for item in items]

    def _delete_by_query(self, query: dict[str, Any]) -> int:
        params: dict[str, Any] = {"conflicts": "proceed"}
        if not self.serverless:
            params["refresh"] = True
        with _opensearch_errors(self.index):
            response = self.client.delete_by_query(
                index=self.index, body={"query": query}, **params
            )
        if response.get("failures"):
            first = response["failures"][0]
            raise ProviderError(
                f"OpenSearch index {self.index!r} deleted {response.get('deleted', 0)} chunks "
                f"but failed on others ({first.get('cause', first)}); retry the operation"
            )
        return int(response.get("deleted", 0))

    # -- reads ------------------------------------------------------------------------------

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Top-k by cosine similarity; the workspace and metadata filters sit inside ``knn``.

        OpenSearch scores cosinesimil as ``(1 + cos) / 2``; hits carry ``cos`` itself.
        """
        vector = self._checked(embedding, "query embedding")

        def query(size: int) -> dict[str, Any]:
            return {
                "knn": {
                    "embedding": {
                        "vector": vector,
                        "k": size,
                        "filter": {"bool": {"filter": _filters(workspace_id, filters)}},
                    }
                }
            }

        return self._search(query, k, filters, score=lambda s: 2.0 * s - 1.0)

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Top-k by OpenSearch's BM25 on ``text`` (hits carry the BM25 score).

        IDF statistics are per shard over the whole index, i.e. over every workspace in it,
        not per workspace: scores are comparable within one result list only.
        """
        if not query.strip():
            return []

        def body(_: int) -> dict[str, Any]:
            return {
                "bool": {
                    "must": [{"match": {"text": {"query": query}}}],
                    "filter": _filters(workspace_id, filters),
                }
            }

        return self._search(body, k, filters, score=float)

    def _search(self, query: Any, k: int, filters: Mapping[str, Any] | None, score: Any):
        """Run a search; post-check filters with ``metadata_matches`` and widen when needed.

        Filters whose lists hold objects or lists are pushed down as necessary fragments only;
        the exact check happens here, and the search is repeated with a larger size until k
        hits pass or the workspace is exhausted (up to ``MAX_RESULT_WINDOW``).
        """
        if k <= 0:
            return []
        k = min(k, MAX_RESULT_WINDOW)
        exact = filters_are_exact(filters)
        size = k if exact else min(MAX_RESULT_WINDOW, 4 * k)
        while True:
            body = {"size": size, "_source": {"excludes": ["embedding"]}, "query": query(size)}
            with _opensearch_errors(self.index):
                response = self.client.search(index=self.index, body=body)
            raw = response.get("hits", {}).get("hits", [])
            hits = [
                _hit(h["_source"], score(h["_score"]))
                for h in raw
                if metadata_matches(h["_source"].get("metadata") or {}, filters)
            ]
            if exact or len(hits) >= k or len(raw) < size or size >= MAX_RESULT_WINDOW:
                return hits[:k]
            size = min(MAX_RESULT_WINDOW, size * 4)

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        """Stored embeddings by chunk id (``_mget``; on Serverless a filtered search)."""
        wanted = list(dict.fromkeys(chunk_ids))
        if not wanted:
            return {}
        fields = ["chunk_id", "workspace_id", "embedding"]
        with _opensearch_errors(self.index):
            if self.serverless:
                response = self.client.search(
                    index=self.index,
                    body={
                        "size": min(len(wanted) * 2, MAX_RESULT_WINDOW),
                        "_source": {"includes": fields},
                        "query": {
                            "bool": {
                                "filter": [*_scope(workspace_id), {"terms": {"chunk_id": wanted}}]
                            }
                        },
                    },
                )
                docs = response.get("hits", {}).get("hits", [])
            else:
                response = self.client.mget(
                    index=self.index, body={"ids": wanted}, _source_includes=fields
                )
                docs = [d for d in response.get("docs", []) if d.get("found")]
        found: dict[str, Any] = {}
        for doc in docs:
            source = doc.get("_source", {})
            if source.get("workspace_id") == workspace_id and source.get("chunk_id") in wanted:
                found[source["chunk_id"]] = np.asarray(source["embedding"], dtype=np.float32)
        return found

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        with _opensearch_errors(self.index):
            response = self.client.count(
                index=self.index,
                body={"query": {"bool": {"filter": _scope(workspace_id, document_id)}}},
            )
        return int(response["count"])

    def _checked(self, embedding: Any, what: str) -> list[float]:
        return checked_cosine_vector(embedding, self.dimension, what, f"index {self.index!r}")


# -- metadata filters ------------------------------------------------------------------------


def metadata_fragments(value: Mapping[str, Any]) -> set[str]:
    """The canonical JSON of every one-path piece of ``value`` that containment can ask for.

    ``{"tags": ["faq"], "source": {"kind": "pdf"}}`` gives ``{"tags":["faq"]}``,
    ``{"tags":[]}``, ``{"source":{"kind":"pdf"}}`` and ``{"source":{}}``: a leaf with its
    whole path (object keys, list membership), and an empty container for every object or
    list (so a filter ``{"tags": []}`` means "tags is a list"). Numbers are normalised
    (``1.0`` → ``1``); ``true`` and ``1`` stay different. If ``stored @> filter`` then every
    fragment of the filter is a fragment of the stored metadata, so a conjunction of ``term``
    filters on the fragments never loses a match.
    """
    fragments: set[str] = set()

    def walk(node: Any, wrap: Any) -> None:
        if isinstance(node, Mapping):
            fragments.add(_canonical(wrap({})))
            for key, child in node.items():
                walk(child, lambda inner, key=key: wrap({str(key): inner}))
        elif isinstance(node, list | tuple):
            fragments.add(_canonical(wrap([])))
            for child in node:
                walk(child, lambda inner: wrap([inner]))
        else:
            fragments.add(_canonical(wrap(_normal(node))))

    for key, child in value.items():
        walk(child, lambda inner, key=key: {str(key): inner})
    return fragments


def filters_are_exact(filters: Mapping[str, Any] | None) -> bool:
    """True when the fragment terms of ``filters`` mean exactly ``jsonb @>`` containment.

    They do unless a list in the filter holds an object or a list: ``{"items": [{"a": 1,
    "b": 2}]}`` asks for one element holding both, while fragments only say some element has
    ``a: 1`` and some has ``b: 2``. Such filters are checked again after the fetch.
    """

    def exact(node: Any) -> bool:
        if isinstance(node, Mapping):
            return all(exact(v) for v in node.values())
        if isinstance(node, list | tuple):
            return all(not isinstance(v, Mapping | list | tuple) for v in node)
        return True

    return exact(filters or {})


def _filters(workspace_id: str, filters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    terms = [{"term": {"metadata_terms": f}} for f in sorted(metadata_fragments(filters or {}))]
    return [*_scope(workspace_id), *terms]


def _scope(workspace_id: str, document_id: str | None = None) -> list[dict[str, Any]]:
    scope = [{"term": {"workspace_id": workspace_id}}]
    if document_id is not None:
        scope.append({"term": {"document_id": document_id}})
    return scope


def _normal(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _canonical(fragment: Any) -> str:
    text = json.dumps(fragment, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) > FRAGMENT_CHARS_LIMIT:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


# -- helpers ---------------------------------------------------------------------------------


def _hit(source: Mapping[str, Any], score: float) -> SearchHit:
    return SearchHit(
        chunk_id=source["chunk_id"],
        document_id=source["document_id"],
        ordinal=int(source["ordinal"]),
        text=source["text"],
        score=float(score),
        metadata=source.get("metadata") or {},
    )


def _batches(sources: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Bulk batches of at most 500 documents and about 8 MiB of JSON each."""
    batch: list[dict[str, Any]] = []
    size = 0
    for source in sources:
        n = len(json.dumps(source, ensure_ascii=False).encode()) + 100
        if batch and (len(batch) >= BULK_DOCUMENTS_LIMIT or size + n > BULK_BYTES_LIMIT):
            yield batch
            batch, size = [], 0
        batch.append(source)
        size += n
    if batch:
        yield batch


def _bulk_error(index: str, failed: list[dict[str, Any]], sent: int, got: int) -> ChorusError:
    if not failed:
        return ProviderError(
            f"OpenSearch index {index!r} answered a bulk request of {sent} chunks with {got} "
            "items; retry the ingestion"
        )
    first = failed[0]
    error = first.get("error") or {}
    reason = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    message = (
        f"OpenSearch refused {len(failed)} of {sent} chunks in index {index!r} "
        f"(first: {first.get('_id', '?')}, status {first.get('status')}, {reason})"
    )
    status = int(first.get("status") or 500)
    if status == 429:
        return Throttled(message + "; retry later")
    if 400 <= status < 500:
        return BadRequest(message + "; fix the chunk or the index mapping")
    return ProviderError(message + "; retry the ingestion")


def _error_type(exc: BaseException) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, Mapping):
        error = info.get("error")
        if isinstance(error, Mapping):
            return str(error.get("type", ""))
    return ""


class _opensearch_errors:
    """Whatever opensearch-py raises inside leaves as a typed ``ChorusError``.

    Connection failures and 5xx → ``ProviderError`` (retryable), timeouts →
    ``ProviderTimeout``, 429 → ``Throttled``, 401/403 → ``Forbidden``, a missing index →
    ``NotFound``, other 4xx → ``BadRequest``.
    """

    def __init__(self, index: str) -> None:
        self.index = index

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, _: Any) -> bool:
        from opensearchpy.exceptions import ConnectionError as OSConnectionError
        from opensearchpy.exceptions import ConnectionTimeout, SerializationError, TransportError

        if exc is None or isinstance(exc, ChorusError):
            return False
        where = f"OpenSearch index {self.index!r}"
        if isinstance(exc, ConnectionTimeout):
            raise ProviderTimeout(f"{where} did not answer in time: {exc}") from exc
        if isinstance(exc, OSConnectionError):
            raise ProviderError(
                f"cannot reach {where} ({exc}); check the endpoint, network and TLS settings"
            ) from exc
        if isinstance(exc, SerializationError):
            raise ProviderError(f"{where} sent a body chorus cannot read: {exc}") from exc
        if not isinstance(exc, TransportError):
            return False
        status = exc.status_code if isinstance(exc.status_code, int) else 500
        detail = f"{exc.error}" + (f": {_reason(exc)}" if _reason(exc) else "")
        if status == 429:
            raise Throttled(f"{where} is throttling requests ({detail}); retry later") from exc
        if status in (401, 403):
            raise Forbidden(
                f"{where} refused the request ({status} {detail}); grant the caller's role "
                "access (a data access policy on Serverless, the domain's access policy "
                "otherwise)"
            ) from exc
        if status == 404 and _error_type(exc) == "index_not_found_exception":
            raise NotFound(
                f"{where} does not exist; create it with OpenSearchStore.ensure_index()",
                code="store_not_ready",
            ) from exc
        if 400 <= status < 500:
            raise BadRequest(f"{where} rejected the request ({status} {detail})") from exc
        raise ProviderError(f"{where} failed ({status} {detail}); retry later") from exc


def _reason(exc: Any) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, Mapping) and isinstance(info.get("error"), Mapping):
        return str(info["error"].get("reason", ""))
    return ""


# -- the client -------------------------------------------------------------------------------


def connect(
    host: str,
    region: str,
    service: str = "aoss",
    *,
    credentials: Any = None,
    timeout: float = 10.0,
    max_retries: int = 2,
) -> Any:
    """An opensearch-py client signing every request with SigV4, over TLS only.

    Parameters
    ----------
    host:
        The endpoint, with or without ``https://`` (a collection or domain endpoint).
    region:
        The AWS region of the endpoint.
    service:
        ``"aoss"`` for OpenSearch Serverless, ``"es"`` for a managed domain.
    credentials:
        botocore credentials; default: boto3's default chain (Lambda role, profile ...).

    Example
    -------
    >>> client = connect("abc.eu-west-1.aoss.amazonaws.com", "eu-west-1")
    >>> OpenSearchStore(client, "chorus-chunks", 384, serverless=True)
    """
    if service not in SERVICES:
        raise ValueError(f"service must be one of {SERVICES}, not {service!r}")
    import boto3
    from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

    if credentials is None:
        credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ChorusError(
            "no AWS credentials found to sign OpenSearch requests; run with a role or profile",
            code="configuration_error",
        )
    hostname = host.removeprefix("https://").removeprefix("http://").rstrip("/")
    return OpenSearch(
        hosts=[{"host": hostname, "port": 443}],
        http_auth=AWSV4SignerAuth(credentials, region, service),
        use_ssl=True,
        verify_certs=True,
        connection_class=RequestsHttpConnection,
        timeout=timeout,
        max_retries=max_retries,
        retry_on_status=(502, 503, 504),
        pool_maxsize=10,
    )


__all__ = ["OpenSearchStore", "connect", "filters_are_exact", "metadata_fragments"]
