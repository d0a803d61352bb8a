"""A Bedrock knowledge base as a retrieve-only store: the knowledge base syncs, chorus asks.

A workspace can point at an existing knowledge base (its 10-character id). The knowledge base
chunks, embeds and indexes its own data sources (S3, web crawler, Confluence, SharePoint ...)
and ranks passages from *query text* with its own embedding model, so, like Kendra, it is the
Retriever's text leg:

- ``keyword_search`` (and ``search``) calls ``bedrock-agent-runtime`` ``Retrieve`` on the
  workspace's knowledge base, following ``nextToken`` until ``k`` results (the API returns at
  most 100 per call); ``supports_keyword_search = True``.
- ``vector_search`` returns ``[]`` and ``supports_vector_search = False``: the knowledge base
  holds no chorus embeddings, so the core Retriever never embeds the query for it.
- Writes raise ``ReadOnlyStore``: documents reach the knowledge base through its data sources
  and a sync (``StartIngestionJob``), never through chorus's ingest worker.

Each result becomes a ``SearchHit`` whose document is the result's *location* (S3 URI, web URL,
Confluence/SharePoint/Salesforce URL, custom document id ...): ``document_id`` is ``kb-`` plus a
digest of it (a chorus id, stable across queries), ``metadata`` carries ``document_name`` (the
location's last path segment), ``source_url`` (the location itself, for citations),
``location_type`` and the knowledge base's own ``attributes``. The knowledge base's relevance
``score`` is kept when it sends one.

Failures leave as typed chorus errors: ``ResourceNotFoundException`` →
``KnowledgeBaseNotFound``, ``AccessDeniedException`` → ``KnowledgeBaseAccessDenied``,
``ThrottlingException`` (after botocore's own retries) → ``Throttled``, anything else →
``ProviderError``. Tested with botocore's Stubber on the service model (moto has no Bedrock).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import BadRequest, ProviderError, ReadOnlyStore, Throttled
from ..core.models import Chunk, SearchHit
from .retrieve_only import RetrieveOnlySearch

KNOWLEDGE_BASE_ID = re.compile(r"^[0-9A-Z]{10}$")
"""A knowledge base id as the Bedrock console shows it: 10 upper-case letters and digits."""

SEARCH_TYPES = ("HYBRID", "SEMANTIC")
"""``overrideSearchType`` values; None lets the knowledge base choose."""

PAGE_LIMIT = 100
"""``numberOfResults`` is at most 100 per call."""

MAX_PAGES = 10
"""Pages followed at most (1,000 results): a runaway ``nextToken`` cannot loop forever."""

QUERY_TEXT_LIMIT = 20_000
"""``retrievalQuery.text`` is at most 20,000 characters; a longer question is cut."""

_LOCATION_FIELDS = (
    ("s3Location", "uri"),
    ("webLocation", "url"),
    ("confluenceLocation", "url"),
    ("sharePointLocation", "url"),
    ("salesforceLocation", "url"),
    ("googleDriveLocation", "url"),
    ("oneDriveLocation", "url"),
    ("kendraDocumentLocation", "uri"),
    ("customDocumentLocation", "id"),
    ("sqlLocation", "query"),
)


class KnowledgeBaseNotFound(ProviderError):
    """The workspace's knowledge base does not exist (deleted, or in another region)."""

    code = "knowledge_base_not_found"
    http_status = 502
    retryable = False


class KnowledgeBaseAccessDenied(ProviderError):
    """The function's role may not call ``bedrock:Retrieve`` on the knowledge base."""

    code = "knowledge_base_access_denied"
    http_status = 502
    retryable = False


def valid_knowledge_base_id(value: str) -> str:
    """``value`` when it is a knowledge base id; ``BadRequest`` saying what one looks like."""
    if not KNOWLEDGE_BASE_ID.match(value):
        raise BadRequest(
            f"{value[:40]!r} is not a knowledge base id: use the 10 upper-case letters and "
            "digits the Bedrock console shows (e.g. ABCDE12345)",
            code="invalid_knowledge_base",
        )
    return value


class KnowledgeBaseRetriever(RetrieveOnlySearch):
    """Retrieve-only ``VectorStore`` over the Bedrock knowledge bases workspaces point at.

    Parameters
    ----------
    client:
        A boto3 ``bedrock-agent-runtime`` client (its retry config handles throttling first).
    knowledge_base_of:
        The workspace's knowledge base id and search type (``HYBRID``, ``SEMANTIC`` or None),
        read from the workspace record.

    Example
    -------
    >>> kb = KnowledgeBaseRetriever(boto3.client("bedrock-agent-runtime"),
    ...                             lambda ws: ("ABCDE12345", None))
    >>> kb.search("handbook", "how do refunds work?", k=8)
    """

    kind = "knowledgebase"
    query_text_limit = QUERY_TEXT_LIMIT

    def __init__(
        self, client: Any, knowledge_base_of: Callable[[str], tuple[str, str | None]]
    ) -> None:
        self.client = client
        self.knowledge_base_of = knowledge_base_of

    # -- reads ------------------------------------------------------------------------------

    def _passages(
        self, workspace_id: str, query_text: str, k: int, filters: Mapping[str, Any] | None
    ) -> list[SearchHit]:
        """The knowledge base's top-k passages for ``query_text``, best first."""
        knowledge_base_id, search_type = self.knowledge_base_of(workspace_id)
        vector_search: dict[str, Any] = {}
        if search_type is not None:
            vector_search["overrideSearchType"] = search_type
        if filters:
            vector_search["filter"] = retrieval_filter(filters)
        hits: list[SearchHit] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            request: dict[str, Any] = {
                "knowledgeBaseId": knowledge_base_id,
                "retrievalQuery": {"text": query_text},
                "retrievalConfiguration": {
                    "vectorSearchConfiguration": {
                        "numberOfResults": min(k - len(hits), PAGE_LIMIT),
                        **vector_search,
                    }
                },
            }
            if token:
                request["nextToken"] = token
            response = self._retrieve(knowledge_base_id, request)
            for result in response.get("retrievalResults", []):
                hit = _hit(result, rank=len(hits))
                if hit is not None:
                    hits.append(hit)
            token = response.get("nextToken")
            if not token or len(hits) >= k:
                break
        return hits[:k]

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        raise ReadOnlyStore(
            "a Bedrock knowledge base does not expose chunk counts; read its data sources' "
            "ingestion job statistics instead"
        )

    def _retrieve(self, knowledge_base_id: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self.client.retrieve(**request)
        except ClientError as exc:
            raise _error(exc, knowledge_base_id) from None
        except BotoCoreError as exc:
            raise ProviderError(
                f"no answer from Bedrock knowledge base {knowledge_base_id}: {exc}"
            ) from None
        return response

    # -- writes: the knowledge base syncs its own data sources -------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        raise read_only(workspace_id, self.knowledge_base_of(workspace_id)[0])

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        raise read_only(workspace_id, self.knowledge_base_of(workspace_id)[0])

    def delete_workspace(self, workspace_id: str) -> int:
        """Nothing to delete: the knowledge base outlives the workspace that pointed at it."""
        return 0


def read_only(workspace_id: str, knowledge_base_id: str) -> ReadOnlyStore:
    """The error for any write into a knowledge-base workspace."""
    return ReadOnlyStore(
        f"workspace {workspace_id!r} retrieves from Bedrock knowledge base {knowledge_base_id}, "
        "which indexes its own data sources: add or remove the document there and start a sync "
        "(StartIngestionJob); chorus does not ingest into it"
    )


def retrieval_filter(filters: Mapping[str, Any]) -> dict[str, Any]:
    """A chorus metadata filter as a knowledge base ``RetrievalFilter``: scalars by
    ``equals``, a list of strings by ``listContains`` of each (containment, as on every store)."""
    clauses: list[dict[str, Any]] = []
    for key, value in filters.items():
        if isinstance(value, str | bool | int | float):
            clauses.append({"equals": {"key": key, "value": value}})
        elif isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            clauses.extend({"listContains": {"key": key, "value": v}} for v in value)
        else:
            raise BadRequest(
                f"filter {key!r}: a knowledge base filters by a string, number, boolean or "
                "list of strings"
            )
    return clauses[0] if len(clauses) == 1 else {"andAll": clauses}


def _error(exc: ClientError, knowledge_base_id: str) -> ProviderError:
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    if code == "ResourceNotFoundException":
        return KnowledgeBaseNotFound(
            f"Bedrock knowledge base {knowledge_base_id} was not found in this region "
            f"({message}); point the workspace at an existing knowledge base"
        )
    if code == "AccessDeniedException":
        return KnowledgeBaseAccessDenied(
            f"this function may not retrieve from knowledge base {knowledge_base_id} "
            f"({message}); list it in the stack's chorus:knowledgeBases and run pulumi up"
        )
    if code in ("ThrottlingException", "ServiceQuotaExceededException"):
        return Throttled(
            f"Bedrock knowledge base {knowledge_base_id} is throttling retrievals ({message}); "
            "try again shortly"
        )
    if code == "ValidationException":
        return ProviderError(
            f"Bedrock knowledge base {knowledge_base_id} refused the request: {message}",
            code="knowledge_base_rejected",
            retryable=False,
        )
    return ProviderError(f"Bedrock knowledge base {knowledge_base_id} failed: {code} {message}")


def location_of(location: Mapping[str, Any]) -> str:
    """The result's location as one string (S3 URI, URL, custom id, SQL query); '' if none."""
    for field, key in _LOCATION_FIELDS:
        value = (location.get(field) or {}).get(key)
        if value:
            return str(value)
    return ""


def _name(where: str) -> str:
    path = urlsplit(where).path if "://" in where else where
    segment = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    return segment or where


def _hit(result: Mapping[str, Any], *, rank: int) -> SearchHit | None:
    text = (result.get("content") or {}).get("text") or ""
    if not text:
        return None  # an image, row or audio result: nothing chorus can quote
    location = result.get("location") or {}
    where = location_of(location) or str(result.get("documentId") or "")
    document_id = "kb-" + hashlib.sha1(where.encode("utf-8")).hexdigest()[:20]
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    score = result.get("score")
    metadata: dict[str, Any] = {
        "document_name": _name(where) if where else document_id,
        "source_url": where,
        "source_kind": "knowledgebase",
        "location_type": location.get("type", ""),
        "attributes": dict(result.get("metadata") or {}),
    }
    return SearchHit(
        chunk_id=f"{document_id}:{digest}",
        document_id=document_id,
        ordinal=0,
        text=text,
        score=float(score) if isinstance(score, int | float) else 1.0 / (1 + rank),
        metadata=metadata,
    )


__all__ = [
    "KNOWLEDGE_BASE_ID",
    "SEARCH_TYPES",
    "KnowledgeBaseAccessDenied",
    "KnowledgeBaseNotFound",
    "KnowledgeBaseRetriever",
    "location_of",
    "read_only",
    "retrieval_filter",
    "valid_knowledge_base_id",
]
