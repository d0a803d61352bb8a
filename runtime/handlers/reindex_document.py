"""Re-index one document: an item of the Standard ``Map`` workflow over a workspace.

Input ``{"workspaceId", "document": {"documentId", "name"}}`` (what ``rest_api`` starts the
workflow with); output ``{"documentId", "outcome", "chunks"}``. A document that cannot be
embedded before the invocation's deadline returns ``{"outcome": "paused", "contentHash",
"nextBatch", "hop", ...}`` (its embeddings so far staged in S3); the workflow calls the function
again with that output, which continues where it stopped. Past its bound on continuations the
workflow calls once more with ``"abandon": <reason>``: the document is marked failed. Failures
raise so the state machine's ``Retry`` and ``Catch`` decide.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..cloud.ingest import InvocationDeadline, ReindexProgress, abandon_reindex, reindex_document
from ..cloud.wiring.ingest import ingest_wiring
from .observability import logger, metrics, tracer

_HEX_DIGEST = r"^[0-9a-f]{64}$"


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore")

    documentId: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=255)


class ReindexItem(BaseModel):
    """One ``Map`` item: a document to re-index, or the paused state of one to continue."""

    model_config = ConfigDict(extra="ignore")

    workspaceId: str = Field(min_length=1, max_length=128)
    document: _Document
    contentHash: str | None = Field(default=None, pattern=_HEX_DIGEST)
    """Continuations and ``abandon``: the version whose embeddings are staged."""
    nextBatch: int = Field(default=0, ge=0)
    hop: int = Field(default=0, ge=0)
    """0 for the first call; a paused result's ``hop`` for its continuation."""
    abandon: str | None = Field(default=None, min_length=1, max_length=1000)
    """Give up: the reason the document is marked failed with."""

    @model_validator(mode="after")
    def _continuations_name_their_version(self) -> ReindexItem:
        if (self.hop or self.abandon is not None) and self.contentHash is None:
            raise ValueError("a continued or abandoned re-index needs the contentHash it paused at")
        return self

    def progress(self) -> ReindexProgress | None:
        """Where to continue; None for the first call of a re-index."""
        if not self.hop or self.contentHash is None:
            return None
        return ReindexProgress(self.contentHash, self.nextBatch, self.hop)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = ReindexItem.model_validate(event)
    services = ingest_wiring()
    ws, doc = item.workspaceId, item.document
    if item.abandon is not None and item.contentHash is not None:
        return abandon_reindex(services, ws, doc.documentId, item.contentHash, item.abandon)
    return reindex_document(
        services,
        ws,
        doc.documentId,
        doc.name,
        resume=item.progress(),
        deadline=InvocationDeadline.from_context(context),
    )
