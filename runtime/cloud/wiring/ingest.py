"""``ingest_worker`` and ``reindex_document``: read the upload, chunk, embed, index."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from .base import current, from_environment
from .models import ModelWiring
from .storage import StoreWiring

if TYPE_CHECKING:
    from ...core.ingestion import Ingestor


class IngestWiring(StoreWiring, ModelWiring):
    """The stores, the embedder and the ``Ingestor`` over them."""

    @cached_property
    def ingestor(self) -> Ingestor:
        from ...core.ingestion import Ingestor

        return Ingestor(
            self.embedder,
            self.store,
            self.metadata,
            max_document_bytes=self.settings.max_upload_bytes,
            on_document_changed=self.publisher,
            metrics=self.metrics,
        )


def ingest_wiring() -> IngestWiring:
    """The indexing functions' wiring, from the app config on the first call."""
    return current(IngestWiring, lambda: from_environment(IngestWiring))
