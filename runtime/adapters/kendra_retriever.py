"""Amazon Kendra as a retrieve-only store: its data source indexes, chorus only asks.

Kendra ranks passages from *query text* (its own semantic + keyword ranking) and holds no chorus
embeddings. In the Retriever's vocabulary that is the text leg, so this adapter maps it there:

- ``keyword_search`` (and its plain-named twin ``search``) calls the Retrieve API with an
  ``AttributeFilter`` on the workspace attribute; ``supports_keyword_search = True``.
- ``vector_search`` returns ``[]``: there is nothing to compare an embedding with. The flag
  ``supports_vector_search = False`` says so. With the unchanged core Retriever, ``hybrid``
  therefore returns exactly Kendra's ranking (an empty ranking adds nothing to the fusion), and
  ``keyword`` mode does the same without embedding the query. The minimal core change that
  would make this explicit — Retriever skipping the vector leg and the query embedding when
  ``store.supports_vector_search`` is False — is described in ``docs/stores.md``.
- Writes raise ``ReadOnlyStore``: documents reach Kendra through its data source (the S3
  connector the VectorStore component creates), never through chorus's ingest worker.

Kendra gives no numeric relevance, only a confidence bucket per passage; hits are scored by
rank (``1 / (1 + rank)``, strictly decreasing) and the bucket is kept in ``metadata``.
Passage ids from Retrieve are per-query, so each hit's ``chunk_id`` is derived from the document
id and the passage text, stable across queries (fusion and MMR key on it).

Tested with botocore's Stubber against the Kendra service model (moto has no Kendra).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..core.errors import BadRequest, ReadOnlyStore
from ..core.models import Chunk, SearchHit
from .retrieve_only import RetrieveOnlySearch

PAGE_SIZE_LIMIT = 100
"""Retrieve returns at most 100 passages."""

QUERY_TEXT_LIMIT = 1000
"""Kendra rejects query text over 1,000 characters; longer questions are cut, not refused."""


class KendraRetriever(RetrieveOnlySearch):
    """Retrieve-only VectorStore over a Kendra index shared by workspaces.

    Parameters
    ----------
    client:
        A boto3 ``kendra`` client.
    index_id:
        The Kendra index (36 characters).
    workspace_attribute:
        The custom string attribute every indexed document carries with its workspace id
        (the data source sets it from the S3 object's ``.metadata.json``); every call filters
        on it, so workspaces never see each other's passages.

    Example
    -------
    >>> kendra = KendraRetriever(boto3.client("kendra"), index_id)
    >>> kendra.search("ws", "how do refunds work?", k=8)
    """

    query_text_limit = QUERY_TEXT_LIMIT

    def __init__(
        self, client: Any, index_id: str, *, workspace_attribute: str = "workspace_id"
    ) -> None:
        self.client = client
        self.index_id = index_id
        self.workspace_attribute = workspace_attribute

    # -- reads ------------------------------------------------------------------------------

    def _passages(
        self, workspace_id: str, query_text: str, k: int, filters: Mapping[str, Any] | None
    ) -> list[SearchHit]:
        """Kendra's top-k passages of the workspace for ``query_text`` (k capped at 100)."""
        response = self.client.retrieve(
            IndexId=self.index_id,
            QueryText=query_text,
            AttributeFilter=self._attribute_filter(workspace_id, filters),
            PageSize=min(k, PAGE_SIZE_LIMIT),
        )
        hits = []
        for item in response.get("ResultItems", []):
            attributes = _attributes(item.get("DocumentAttributes", []))
            # Kendra filtered already; a passage from elsewhere would be an isolation breach.
            if attributes.get(self.workspace_attribute) != workspace_id:
                continue
            hits.append(_hit(item, attributes, rank=len(hits)))
        return hits[:k]

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int:
        raise ReadOnlyStore(
            "Kendra does not expose chunk counts; read the data source's sync history instead"
        )

    def _attribute_filter(
        self, workspace_id: str, filters: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        clauses = [
            {"EqualsTo": {"Key": self.workspace_attribute, "Value": {"StringValue": workspace_id}}}
        ]
        for key, value in (filters or {}).items():
            if key == self.workspace_attribute:
                raise BadRequest(f"{key!r} is not a metadata filter key on this store")
            clauses.append(_attribute_clause(key, value))
        return {"AndAllFilters": clauses}

    # -- writes: Kendra is fed by its data source ---------------------------------------------

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        raise self._read_only()

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        raise self._read_only()

    def delete_workspace(self, workspace_id: str) -> int:
        raise self._read_only()

    def _read_only(self) -> ReadOnlyStore:
        return ReadOnlyStore(
            f"Kendra index {self.index_id} is fed by its data source, not by chorus: upload or "
            "delete the document in the data source's S3 prefix and let the next sync index it"
        )


def _attribute_clause(key: str, value: Any) -> dict[str, Any]:
    """A chorus filter entry as a Kendra attribute filter (containment, like the other stores)."""
    if isinstance(value, str):
        return {"EqualsTo": {"Key": key, "Value": {"StringValue": value}}}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"EqualsTo": {"Key": key, "Value": {"LongValue": value}}}
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return {"ContainsAll": {"Key": key, "Value": {"StringListValue": list(value)}}}
    raise BadRequest(
        f"filter {key!r}: Kendra attributes filter by string, integer or list of strings"
    )


def _attributes(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attribute in items:
        value = attribute.get("Value", {})
        for kind in ("StringValue", "LongValue", "StringListValue", "DateValue"):
            if kind in value:
                v = value[kind]
                out[attribute["Key"]] = v.isoformat() if isinstance(v, datetime) else v
                break
    return out


def _hit(item: Mapping[str, Any], attributes: dict[str, Any], *, rank: int) -> SearchHit:
    document_id = item.get("DocumentId", "")
    text = item.get("Content", "")
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    metadata: dict[str, Any] = {
        "title": item.get("DocumentTitle", ""),
        "uri": item.get("DocumentURI", ""),
        "confidence": item.get("ScoreAttributes", {}).get("ScoreConfidence", "NOT_AVAILABLE"),
        "attributes": attributes,
    }
    return SearchHit(
        chunk_id=f"kendra:{document_id}:{digest}",
        document_id=document_id,
        ordinal=0,
        text=text,
        score=1.0 / (1 + rank),
        metadata=metadata,
    )
