"""Re-index one document: an item of the Standard ``Map`` workflow over a workspace.

Input ``{"workspaceId", "document": {"documentId", "name"}}`` (what ``rest_api`` starts the
workflow with); output ``{"documentId", "outcome", "chunks"}``. Failures raise so the state
machine's ``Retry`` and ``Catch`` decide.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from ..cloud.ingest import reindex_document
from ..cloud.services import get_services
from .observability import logger, metrics, tracer


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore")

    documentId: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=255)


class ReindexItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workspaceId: str = Field(min_length=1, max_length=128)
    document: _Document


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = ReindexItem.model_validate(event)
    return reindex_document(
        get_services(), item.workspaceId, item.document.documentId, item.document.name
    )
