"""Operations on a workspace's documents: list, upload, delete.

Two ways in, one per transport's strength: ``upload_document`` takes the bytes and indexes them
at once (the local server); ``request_upload`` hands out a presigned URL and records the document
``queued`` for the ingest worker (the cloud, where API Gateway caps request bodies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedDocument
from ..core.models import Document, DocumentStatus, Workspace
from ..core.parsing import document_id_for, parse_document, safe_document_name
from .caller import Caller
from .ports import Backend
from .views import NO_CONTENT, Reply, document_view
from .workspaces import find_workspace, require_writable

if TYPE_CHECKING:  # pydantic loads with the first request that has a body
    from .requests import UploadRequest


def _status(value: str | None) -> DocumentStatus | None:
    if not value:
        return None
    try:
        return DocumentStatus(value)
    except ValueError:
        choices = ", ".join(s.value for s in DocumentStatus)
        raise BadRequest(f"unknown status {value!r}; use one of {choices}") from None


def list_documents(
    backend: Backend, caller: Caller, workspace_id: str, status: str | None = None
) -> Reply:
    """The workspace's documents, narrowed to one ``status`` when given."""
    find_workspace(backend, caller, workspace_id)
    wanted = _status(status)
    documents = backend.records.list_documents(workspace_id, status=wanted)
    return Reply(200, {"documents": [document_view(d) for d in documents]})


def upload_document(
    backend: Backend, caller: Caller, workspace_id: str, name: str, data: bytes
) -> Reply:
    """Parse, chunk, embed and store one file now.

    ``201`` with the document and ``"outcome": "indexed"``; ``200`` with ``unchanged`` (the
    same bytes are indexed under that name) or ``failed`` (embedding or storing failed). A file
    that cannot be parsed is ``415`` and changes nothing.
    """
    return index_upload(backend, find_workspace(backend, caller, workspace_id), name, data)


def index_upload(backend: Backend, workspace: Workspace, name: str, data: bytes) -> Reply:
    """``upload_document`` once the caller may use ``workspace`` (the public API's key holder
    too)."""
    require_writable(workspace)
    model = backend.embedding.model_id
    if workspace.embedding_model != model:
        raise BadRequest(
            f"workspace {workspace.name!r} was indexed with {workspace.embedding_model}, but "
            f"this server embeds with {model}; re-index it or start chorus with that model"
        )
    limit = backend.offer.max_upload_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"upload is larger than the limit of {limit} bytes")
    name = safe_document_name(name)
    parse_document(name, data, max_bytes=limit)  # before anything is written
    result = backend.index.ingest(workspace, name, data)
    if result.outcome == "skipped":
        raise UnsupportedDocument(result.reason or "the document cannot be ingested")
    document = backend.records.get_document(workspace.id, result.document_id or "")
    if document is None:
        raise NotFound("the document vanished while it was being ingested")
    status = 201 if result.outcome == "indexed" else 200
    return Reply(status, {**document_view(document), "outcome": result.outcome})


def request_upload(
    backend: Backend, caller: Caller, workspace_id: str, body: UploadRequest
) -> Reply:
    """A presigned PUT for one file; the document is recorded ``queued`` if it is new.

    ``201`` with ``documentId``, ``document``, ``upload`` (``method``, ``url``, ``headers``,
    ``expiresAt``) and the object ``key``.
    """
    return presign_upload(backend, find_workspace(backend, caller, workspace_id), body)


def presign_upload(backend: Backend, workspace: Workspace, body: UploadRequest) -> Reply:
    """``request_upload`` once the caller may use ``workspace`` (the public API's key holder
    too)."""
    require_writable(workspace)
    workspace_id = workspace.id
    files = backend.files
    if files is None:
        raise BadRequest(
            "this server takes uploads directly: POST the file as multipart/form-data in a "
            'field named "file"',
            code="not_deployed",
        )
    name = safe_document_name(body.name)
    document_id = document_id_for(name)
    ticket = files.upload_ticket(workspace_id, document_id, name, body.contentType, body.sizeBytes)
    records = backend.records
    document = records.get_document(workspace_id, document_id)
    if document is None:
        # An existing record keeps its hash and status: re-uploading identical bytes is a no-op.
        document = Document(
            workspace_id=workspace_id,
            id=document_id,
            name=name,
            content_hash="",
            status=DocumentStatus.QUEUED,
            size_bytes=body.sizeBytes,
            content_type=body.contentType,
        )
        records.put_document(document)
        document = records.get_document(workspace_id, document_id) or document
    return Reply(
        201,
        {
            "documentId": document_id,
            "document": document_view(document),
            "upload": {
                "method": ticket.method,
                "url": ticket.url,
                "headers": ticket.headers,
                "expiresAt": ticket.expires_at,
            },
            "key": ticket.key,
        },
    )


def delete_document(backend: Backend, caller: Caller, workspace_id: str, document_id: str) -> Reply:
    """Delete the document, all of its chunks and its uploaded file. ``204``."""
    workspace = find_workspace(backend, caller, workspace_id)
    if backend.records.get_document(workspace_id, document_id) is None:
        raise NotFound(f"no document {document_id!r} in workspace {workspace.name!r}")
    backend.index.delete(workspace_id, document_id)
    files = backend.files
    if files is not None:
        files.delete_prefix(files.document_prefix(workspace_id, document_id))
    return NO_CONTENT
