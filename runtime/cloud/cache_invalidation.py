"""``document-changed`` → what the container cached about a workspace dies with its documents:
the semantic cache's answers and, for a DynamoDB workspace, the chunk partition held in memory.

The ingest worker publishes ``{"type": "document-changed", "workspaceId", "documentId", "at"}``
on SNS (``adapters/sns_events.py``); the topic delivers it raw to the cache-invalidation queue,
which feeds the chat worker. Locally ``Ingestor(on_document_changed=...)`` calls
``invalidate_workspace`` directly; this is the same call, one queue hop later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..adapters.sns_events import DOCUMENT_CHANGED
from ..core.errors import BadRequest

if TYPE_CHECKING:
    from .wiring.chat import ChatWiring


class DocumentChanged(BaseModel):
    """The notification's body; unknown keys are tolerated (subscribers outlive publishers)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["document-changed"] = DOCUMENT_CHANGED
    workspaceId: str = Field(min_length=1, max_length=128)
    documentId: str | None = Field(default=None, max_length=128)
    at: int | None = None


def parse_document_changed(body: str | bytes) -> DocumentChanged:
    """The notification, or ``BadRequest`` (the record fails alone and ends in the DLQ)."""
    try:
        return DocumentChanged.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest(
            f"document-changed notification is malformed ({exc.error_count()} problem(s)); "
            'expected raw JSON {"type": "document-changed", "workspaceId", "documentId"}'
        ) from None


def invalidate_on_document_changed(services: ChatWiring, body: str | bytes) -> dict[str, Any]:
    """Drop the cached answers of the notification's workspace, and its chunks cached by a built
    store (``ChatWiring.invalidate_workspace``).

    Returns ``{"workspaceId", "documentId", "invalidated"}`` where ``invalidated`` is the number
    of entries dropped, or None when no semantic cache is configured (nothing to do). Invalidating
    twice is harmless, so a redelivered notification needs no idempotency record.
    """
    change = parse_document_changed(body)
    dropped = services.invalidate_workspace(change.workspaceId)
    return {
        "workspaceId": change.workspaceId,
        "documentId": change.documentId,
        "invalidated": dropped,
    }
