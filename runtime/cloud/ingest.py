"""What the ingest worker does with one S3 notification: index, replace or remove a document.

Separated from the handler so tests call it directly. Outcomes are chosen so that SQS retries
only help: a transient failure (embedding endpoint, database) raises and the message comes back;
a document that can never be indexed (unsupported, oversize, orphaned) is recorded as ``failed``
with its reason and the message is acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..adapters.s3_documents import DocumentKey, parse_event_key
from ..core.errors import BadRequest, IngestError, NotFound, UnsupportedDocument
from ..core.models import Document, DocumentStatus
from .services import CloudServices

EventKind = Literal["created", "removed"]


@dataclass(frozen=True)
class ObjectEvent:
    """One S3 object notification, reduced to what ingestion needs."""

    kind: EventKind
    bucket: str
    raw_key: str
    workspace_id: str
    document_id: str
    name: str
    etag: str = ""
    version_id: str = ""
    size: int = 0

    @property
    def key(self) -> str:
        return f"workspaces/{self.workspace_id}/{self.document_id}/{self.name}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form; also the idempotency payload (same object version → same key)."""
        return asdict(self)


def object_events(body: str) -> list[ObjectEvent]:
    """Parse an SQS body holding an S3 notification; ``BadRequest`` if it is not one.

    ``s3:TestEvent`` (sent when notifications are configured) and keys outside ``workspaces/``
    give no events.
    """
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"ingest message is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadRequest("ingest message must be an S3 event notification object")
    if payload.get("Event") == "s3:TestEvent":
        return []
    records = payload.get("Records")
    if not isinstance(records, list):
        raise BadRequest("ingest message has no 'Records'; expected an S3 event notification")
    events = []
    for record in records:
        try:
            name = str(record["eventName"])
            bucket = str(record["s3"]["bucket"]["name"])
            obj = record["s3"]["object"]
            raw_key = str(obj["key"])
        except (KeyError, TypeError):
            raise BadRequest("S3 record lacks eventName, bucket or object key") from None
        key: DocumentKey | None = parse_event_key(raw_key)
        if key is None:
            continue
        if name.startswith("ObjectCreated:"):
            kind: EventKind = "created"
        elif name.startswith("ObjectRemoved:"):
            kind = "removed"
        else:
            continue
        events.append(
            ObjectEvent(
                kind=kind,
                bucket=bucket,
                raw_key=raw_key,
                workspace_id=key.workspace_id,
                document_id=key.document_id,
                name=key.name,
                etag=str(obj.get("eTag", "")),
                version_id=str(obj.get("versionId", "")),
                size=int(obj.get("size", 0) or 0),
            )
        )
    return events


def apply_object_event(services: CloudServices, event: ObjectEvent) -> dict[str, Any]:
    """Index or remove the document an event names; returns what happened (JSON-able).

    Raises ``IngestError`` for failures worth retrying.
    """
    if event.bucket != services.settings.documents_bucket:
        return {
            "outcome": "ignored",
            "reason": f"bucket {event.bucket} is not the documents bucket",
        }
    if event.kind == "removed":
        return _remove(services, event)
    workspace = services.metadata.get_workspace(event.workspace_id)
    if workspace is None:
        return {"outcome": "ignored", "reason": f"workspace {event.workspace_id} does not exist"}
    try:
        data = services.documents.read(event.key)
    except NotFound:
        return {"outcome": "ignored", "reason": "the object was deleted before it was read"}
    except UnsupportedDocument as exc:
        _record_failure(services, event, exc.message)
        return {"outcome": "failed", "reason": exc.message}
    result = services.ingestor.ingest(
        workspace, event.name, data, document_id=event.document_id, metadata={"s3Key": event.key}
    )
    if result.outcome == "skipped":
        _record_failure(services, event, result.reason or "unsupported document", len(data))
    elif result.outcome == "failed":
        raise IngestError(f"{event.key}: {result.reason}")
    return {"outcome": result.outcome, "documentId": event.document_id, "chunks": result.chunks}


def _remove(services: CloudServices, event: ObjectEvent) -> dict[str, Any]:
    if services.documents.exists(event.key):  # a newer upload replaced the deleted version
        return {"outcome": "ignored", "reason": "the object exists again"}
    removed = services.ingestor.delete(event.workspace_id, event.document_id)
    return {"outcome": "deleted", "documentId": event.document_id, "chunks": removed}


def _record_failure(
    services: CloudServices, event: ObjectEvent, reason: str, size: int = 0
) -> None:
    """Mark a document that can never be indexed as failed, with the reason a user can read."""
    services.metadata.put_document(
        Document(
            workspace_id=event.workspace_id,
            id=event.document_id,
            name=event.name,
            content_hash="",
            status=DocumentStatus.FAILED,
            size_bytes=size or event.size,
            error=reason[:1000],
        )
    )


def reindex_document(
    services: CloudServices, workspace_id: str, document_id: str, name: str
) -> dict[str, Any]:
    """Re-chunk and re-embed one document from its uploaded file (one ``Map`` item).

    The document is first marked ``queued`` so the ingestor does not skip it as unchanged: the
    bytes are the same, the embedding model or chunking may not be. Raises (for the state
    machine's ``Retry``/``Catch``) when the document cannot be re-indexed.
    """
    workspace = services.metadata.get_workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist")
    key = f"workspaces/{workspace_id}/{document_id}/{name}"
    data = services.documents.read(key)
    services.metadata.set_document_status(workspace_id, document_id, DocumentStatus.QUEUED)
    result = services.ingestor.ingest(
        workspace, name, data, document_id=document_id, metadata={"s3Key": key}
    )
    if result.outcome not in ("indexed", "unchanged"):
        raise IngestError(f"{key}: {result.reason or result.outcome}")
    return {"documentId": document_id, "outcome": result.outcome, "chunks": result.chunks}
