"""REST operations on workspaces, documents, sessions and feedback (the ``rest_api`` Lambda).

Plain functions over ``CloudServices`` and a ``Caller``: the handler only routes and shapes
responses. Request bodies are pydantic models that refuse unknown fields.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..adapters.dynamodb_metadata import Feedback
from ..core.errors import BadRequest, Forbidden, NotFound
from ..core.ingestion import document_id_for
from ..core.models import ChunkingSettings, Document, DocumentStatus, Session, Workspace
from ..core.parsing import safe_document_name
from ..core.retrieval import RetrievalSettings
from .access import Caller, may_use, require_manager, require_session_owner, require_workspace
from .services import CloudServices
from .stores import UnsupportedStore

_SLUG = re.compile(r"[^a-z0-9-]+")
GROUP_PATTERN = r"^[\w+=,.@-]{1,128}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateWorkspace(_Body):
    name: str = Field(min_length=1, max_length=100)
    embeddingModel: str | None = Field(None, max_length=200)
    chunkSize: int = Field(1000, ge=50, le=8000)
    chunkOverlap: int = Field(200, ge=0, le=4000)
    store: str | None = Field(None, max_length=32)
    groups: list[str] = Field(default_factory=list, max_length=20)


class UploadRequest(_Body):
    name: str = Field(min_length=1, max_length=255)
    contentType: str = Field(min_length=1, max_length=255)
    sizeBytes: int = Field(ge=0)


class TuneWorkspace(_Body):
    """``PUT /workspaces/{id}/settings``: what ``chorus tune retrieval`` chose for a workspace."""

    chunkSize: int = Field(ge=50, le=8000)
    chunkOverlap: int = Field(ge=0, le=4000)
    titleMode: Literal["keyword", "embed", "none"] = "keyword"
    splitOnHeadings: bool = True
    retrieval: dict[str, Any] = Field(default_factory=dict)


class FeedbackRequest(_Body):
    messageId: str = Field(min_length=1, max_length=128)
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)


def workspace_json(workspace: Workspace) -> dict[str, Any]:
    return {
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
        "createdAt": workspace.created_at.isoformat() if workspace.created_at else None,
    }


def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "name": document.name,
        "status": document.status.value,
        "chunks": document.chunk_count,
        "sizeBytes": document.size_bytes,
        "contentType": document.content_type,
        "contentHash": document.content_hash,
        "error": document.error,
        "updatedAt": document.updated_at.isoformat() if document.updated_at else None,
        "progress": (
            {"embedded": document.chunks_embedded, "total": document.chunk_count}
            if document.chunks_embedded is not None
            else None
        ),
    }


def session_json(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "workspaceId": session.workspace_id,
        "title": session.title,
        "createdAt": session.created_at.isoformat() if session.created_at else None,
        "updatedAt": session.updated_at.isoformat() if session.updated_at else None,
    }


# -- workspaces ------------------------------------------------------------------------------


def create_workspace(services: CloudServices, caller: Caller, body: CreateWorkspace) -> Workspace:
    """Create a workspace for this stack's embedding model, on one of its deployed stores
    (``store``; default ``vectorStore.defaultStore``). Another store is 400 ``unsupported_store``.
    """
    require_manager(caller)
    for group in body.groups:
        if not re.match(GROUP_PATTERN, group):
            raise BadRequest(f"invalid group name {group!r}")
    if body.chunkOverlap >= body.chunkSize:
        raise BadRequest("chunkOverlap must be smaller than chunkSize")
    embedder = services.embedder
    if body.embeddingModel and body.embeddingModel != embedder.model_id:
        raise BadRequest(
            f"this deployment embeds with {embedder.model_id}; "
            f"{body.embeddingModel!r} needs another stack or a re-index",
            code="unsupported_embedding_model",
        )
    deployed = services.settings.vector_store.stores
    kind = body.store or services.settings.vector_store.default_store
    if kind not in deployed:
        raise UnsupportedStore(
            f"store {kind!r} is not deployed on this stack; choose one of {', '.join(deployed)}"
        )
    slug = _SLUG.sub("-", body.name.lower()).strip("-")[:40] or "ws"
    workspace = Workspace(
        id=f"{slug}-{uuid.uuid4().hex[:8]}",
        name=body.name,
        embedding_model=embedder.model_id,
        embedding_dim=embedder.dimension,
        chunking=ChunkingSettings(body.chunkSize, body.chunkOverlap),
        store=kind,
    )
    return services.metadata.create_workspace(
        workspace, owner_id=caller.user_id, groups=body.groups
    )


def list_workspaces(services: CloudServices, caller: Caller) -> list[Workspace]:
    visible = []
    for workspace in services.metadata.list_workspaces():
        access = services.metadata.workspace_access(workspace.id)
        if access is not None and may_use(caller, access):
            visible.append(workspace)
    return visible


def get_workspace(services: CloudServices, caller: Caller, workspace_id: str) -> Workspace:
    require_workspace(services.metadata, caller, workspace_id)
    workspace = services.metadata.get_workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist")
    return workspace


def delete_workspace(services: CloudServices, caller: Caller, workspace_id: str) -> int:
    """Delete the workspace, its chunks (from its own store), its document records and its
    uploaded files."""
    access = require_workspace(services.metadata, caller, workspace_id)
    if not (caller.is_admin or access.owner_id == caller.user_id):
        raise Forbidden("only the workspace's creator or an admin may delete it")
    removed = services.store.delete_workspace(workspace_id)
    services.metadata.delete_workspace(workspace_id)
    services.documents.delete_prefix(services.documents.document_prefix(workspace_id))
    return removed


# -- documents -------------------------------------------------------------------------------


def request_upload(
    services: CloudServices, caller: Caller, workspace_id: str, body: UploadRequest
) -> dict[str, Any]:
    """A presigned PUT for one file; records the document as ``queued`` if it is new."""
    require_workspace(services.metadata, caller, workspace_id)
    name = safe_document_name(body.name)
    document_id = document_id_for(name)
    ticket = services.documents.upload_ticket(
        workspace_id, document_id, name, body.contentType, body.sizeBytes
    )
    if services.metadata.get_document(workspace_id, document_id) is None:
        # An existing record keeps its hash and status: re-uploading identical bytes is a no-op.
        services.metadata.put_document(
            Document(
                workspace_id=workspace_id,
                id=document_id,
                name=name,
                content_hash="",
                status=DocumentStatus.QUEUED,
                size_bytes=body.sizeBytes,
                content_type=body.contentType,
            )
        )
    return {
        "documentId": document_id,
        "upload": {
            "method": ticket.method,
            "url": ticket.url,
            "headers": ticket.headers,
            "expiresAt": ticket.expires_at,
        },
        "key": ticket.key,
    }


def list_documents(
    services: CloudServices, caller: Caller, workspace_id: str, status: str | None
) -> list[Document]:
    require_workspace(services.metadata, caller, workspace_id)
    wanted = None
    if status:
        try:
            wanted = DocumentStatus(status)
        except ValueError:
            choices = ", ".join(s.value for s in DocumentStatus)
            raise BadRequest(f"unknown status {status!r}; use one of {choices}") from None
    return services.metadata.list_documents(workspace_id, status=wanted)


def delete_document(
    services: CloudServices, caller: Caller, workspace_id: str, document_id: str
) -> int:
    require_workspace(services.metadata, caller, workspace_id)
    if services.metadata.get_document(workspace_id, document_id) is None:
        raise NotFound(f"document {document_id!r} does not exist")
    removed = services.ingestor.delete(workspace_id, document_id)
    services.documents.delete_prefix(services.documents.document_prefix(workspace_id, document_id))
    return removed


def start_reindex(services: CloudServices, caller: Caller, workspace_id: str) -> dict[str, Any]:
    """Start the Standard ``Map`` workflow over the workspace's documents."""
    require_workspace(services.metadata, caller, workspace_id)
    arn = services.settings.reindex_state_machine_arn
    if not arn:
        raise BadRequest("re-indexing is not deployed on this stack", code="not_deployed")
    documents = [
        {"documentId": d.id, "name": d.name} for d in services.metadata.list_documents(workspace_id)
    ]
    execution = services.stepfunctions.start_execution(
        stateMachineArn=arn,
        input=json.dumps({"workspaceId": workspace_id, "documents": documents}),
    )
    return {"executionArn": execution["executionArn"], "documents": len(documents)}


def tune_workspace(
    services: CloudServices, caller: Caller, workspace_id: str, body: TuneWorkspace
) -> dict[str, Any]:
    """Store tuned chunking and retrieval settings on the workspace record.

    The chat worker reads the retrieval overrides from the record (within a minute); a chunking
    change re-indexes every document through the re-index workflow, so it needs that workflow
    deployed (else 400 ``not_deployed`` and nothing changes).
    """
    require_manager(caller)
    require_workspace(services.metadata, caller, workspace_id)
    current = services.metadata.get_workspace(workspace_id)
    if current is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist")
    try:
        chunking = ChunkingSettings(
            body.chunkSize,
            body.chunkOverlap,
            split_on_headings=body.splitOnHeadings,
            title_mode=body.titleMode,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    RetrievalSettings().with_overrides(body.retrieval)  # BadRequest names a bad key or value
    rechunk = chunking != current.chunking
    if rechunk and not services.settings.reindex_state_machine_arn:
        raise BadRequest(
            "a chunking change re-indexes the workspace, and re-indexing is not deployed on "
            "this stack; change only the retrieval settings",
            code="not_deployed",
        )
    updated = services.metadata.update_workspace_settings(workspace_id, chunking, body.retrieval)
    reindex = start_reindex(services, caller, workspace_id) if rechunk else None
    return {**workspace_json(updated), "reindex": reindex}


# -- sessions --------------------------------------------------------------------------------


def get_session(services: CloudServices, caller: Caller, session_id: str) -> dict[str, Any]:
    session = require_session_owner(services.metadata.get_session(session_id), caller, session_id)
    messages = services.metadata.list_messages(session_id)
    feedback = {f.message_id: f for f in services.metadata.list_feedback(session_id)}
    return {
        **session_json(session),
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "details": dict(m.details),
                "createdAt": m.created_at.isoformat() if m.created_at else None,
                "feedback": (
                    {"rating": feedback[m.id].rating, "comment": feedback[m.id].comment}
                    if m.id in feedback
                    else None
                ),
            }
            for m in messages
        ],
    }


def delete_session(services: CloudServices, caller: Caller, session_id: str) -> None:
    require_session_owner(services.metadata.get_session(session_id), caller, session_id)
    services.metadata.delete_session(session_id)


def give_feedback(
    services: CloudServices, caller: Caller, session_id: str, body: FeedbackRequest
) -> Feedback:
    require_session_owner(services.metadata.get_session(session_id), caller, session_id)
    return services.metadata.put_feedback(
        Feedback(session_id, body.messageId, caller.user_id, body.rating, body.comment)
    )
