"""JSON views of the records: the one spelling of every field the REST API sends.

Field names are camelCase as in the chat protocol (docs/protocol.md); times are ISO 8601 with
their offset, or null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.eval_cases import EvalCase
from ..core.models import Document, Feedback, Session, StoredMessage, Workspace


@dataclass(frozen=True)
class Reply:
    """An operation's answer: the HTTP status and the JSON body (None: no body, ``204``)."""

    status: int
    body: Any = None


NO_CONTENT = Reply(204)
"""Every delete that removed something answers this."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def workspace_view(workspace: Workspace, documents: int | None = None) -> dict[str, Any]:
    """A workspace; ``documents`` (its document count) when read on its own."""
    body: dict[str, Any] = {
        "id": workspace.id,
        "name": workspace.name,
        "embeddingModel": workspace.embedding_model,
        "embeddingDimension": workspace.embedding_dim,
        "chunkSize": workspace.chunking.chunk_size,
        "chunkOverlap": workspace.chunking.chunk_overlap,
        "titleMode": workspace.chunking.title_mode,
        "splitOnHeadings": workspace.chunking.split_on_headings,
        "retrieval": dict(workspace.retrieval),
        "store": workspace.store,
        "createdAt": _time(workspace.created_at),
    }
    if workspace.knowledge_base_id:
        body["knowledgeBaseId"] = workspace.knowledge_base_id
        body["knowledgeBaseSearchType"] = workspace.knowledge_base_search_type
    if documents is not None:
        body["documents"] = documents
    return body


def document_view(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "workspaceId": document.workspace_id,
        "name": document.name,
        "status": document.status.value,
        "chunks": document.chunk_count,
        "sizeBytes": document.size_bytes,
        "contentType": document.content_type,
        "contentHash": document.content_hash,
        "error": document.error,
        "updatedAt": _time(document.updated_at),
        "progress": (
            {"embedded": document.chunks_embedded, "total": document.chunk_count}
            if document.chunks_embedded is not None
            else None
        ),
    }


def session_view(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "workspaceId": session.workspace_id,
        "title": session.title,
        "createdAt": _time(session.created_at),
        "updatedAt": _time(session.updated_at),
    }


def feedback_view(feedback: Feedback) -> dict[str, Any]:
    return {
        "sessionId": feedback.session_id,
        "messageId": feedback.message_id,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "createdAt": _time(feedback.created_at),
    }


def message_view(message: StoredMessage, feedback: Feedback | None) -> dict[str, Any]:
    """A stored turn; ``feedback`` is the caller's rating of an answer, or null."""
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "details": dict(message.details),
        "createdAt": _time(message.created_at),
        "feedback": (
            {"rating": feedback.rating, "comment": feedback.comment} if feedback else None
        ),
    }


def session_with_messages(
    session: Session, messages: list[StoredMessage], feedback: Mapping[str, Feedback]
) -> dict[str, Any]:
    return {
        **session_view(session),
        "messages": [message_view(m, feedback.get(m.id)) for m in messages],
    }


def eval_case_view(case: EvalCase) -> dict[str, Any]:
    """One case of a workspace's eval set; ``synthetic`` flags generated questions."""
    return {
        "id": case.id,
        "question": case.question,
        "relevantDocumentIds": list(case.relevant_document_ids),
        "referenceAnswer": case.reference_answer,
        "answerable": case.answerable,
        "origin": case.origin,
        "status": case.status,
        "note": case.note,
        "tags": list(case.tags),
        "synthetic": case.synthetic,
    }
