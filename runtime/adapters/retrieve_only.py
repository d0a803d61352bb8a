"""What a retrieve-only store (Kendra, a Bedrock knowledge base) answers the core Retriever.

Such a store ranks passages from *query text* with its own models and holds no chorus
embeddings, so its ``search`` is the Retriever's text leg and the vector leg is empty: the
capability flags say so, and the core never embeds the query for it. The delegations live here
once, so the stores agree on them, with the rule for the question (cut to what the service
takes; a blank one asks nothing); each store writes its retrieval and its read-only errors.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..core.models import SearchHit


class RetrieveOnlySearch(ABC):
    """Mixin for a retrieve-only ``VectorStore``: ``keyword_search`` is ``search``,
    ``vector_search`` is ``[]`` and ``chunk_embeddings`` is ``{}`` (MMR keeps the store's order
    for hits without an embedding)."""

    supports_keyword_search = True
    supports_vector_search = False

    query_text_limit: ClassVar[int]
    """The longest query text the service takes: a longer question is cut, not refused."""

    def search(
        self,
        workspace_id: str,
        query_text: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """The store's top-k passages of the workspace for ``query_text``, best first; none
        for a blank question or ``k <= 0`` (the service is not asked)."""
        query_text = query_text.strip()[: self.query_text_limit]
        if not query_text or k <= 0:
            return []
        return self._passages(workspace_id, query_text, k, filters)

    @abstractmethod
    def _passages(
        self, workspace_id: str, query_text: str, k: int, filters: Mapping[str, Any] | None
    ) -> list[SearchHit]:
        """The service's top-k passages for a cut, non-blank ``query_text`` (``k >= 1``)."""

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """The Retriever's text leg: the same as ``search``."""
        return self.search(workspace_id, query, k, filters)

    def vector_search(
        self,
        workspace_id: str,
        embedding: Any,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Always ``[]``: the store holds no chorus embeddings (``supports_vector_search``)."""
        return []

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        """Always ``{}``: MMR keeps the store's order for hits without an embedding."""
        return {}
