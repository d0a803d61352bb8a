"""What the ingest worker does with one S3 notification: index, replace or remove a document.

Separated from the handler so tests call it directly. Object events arrive in three shapes, all
reduced to the same ``ObjectEvent`` (same ordering by S3's sequencer, same idempotency payload):
an SQS body holding an S3 notification (``object_events``), an EventBridge ``Object Created`` /
``Object Deleted`` event, or an S3 notification invoking the worker directly
(``invocation_events``). Outcomes are chosen so that retries (SQS's or Lambda's asynchronous
ones) only help: a transient failure (embedding endpoint, database) raises and the event comes
back; a document that can never be indexed (unsupported, oversize, orphaned) is recorded as
``failed`` with its reason and the event is acknowledged.

Large documents: given the invocation's deadline, embedding stops a safety margin before it
(room to write the checkpoint and, on the last step, to replace the chunks); the embeddings so
far go to ``ingest-staging/<ws>/<doc>/<content hash>.npz`` in the documents bucket and a
continuation message ``{"chorusContinuation": {...}}`` goes to the ingest queue (its URL from
the ``CHORUS_INGEST_QUEUE_URL`` environment variable) or, on the EventBridge path
(``CHORUS_INGEST_CONTINUATION=invoke``), to the worker itself as an asynchronous invocation.
The next invocation checks that the object still has the same content (a newer upload
supersedes: the stale checkpoint is dropped), continues at the next batch, and at the end
replaces the document's chunks in one transaction and deletes the checkpoint. With neither
variable a document is ingested in one go, as before.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..adapters.s3_documents import (
    DocumentKey,
    object_key,
    parse_event_key,
    parse_key,
    staging_key,
    staging_prefix,
)
from ..core.bounded_json import parse_json
from ..core.chunking import content_hash
from ..core.errors import BadRequest, IngestError, NotFound, UnsupportedDocument
from ..core.ingestion import CheckpointError, EmbeddingCheckpoint, document_version
from ..core.models import Document, DocumentStatus

if TYPE_CHECKING:
    from ..core.ports import WorkSender  # numpy: annotations only
    from .wiring.ingest import IngestWiring

EventKind = Literal["created", "removed", "continued"]

INGEST_QUEUE_URL_ENV = "CHORUS_INGEST_QUEUE_URL"
"""Environment variable with the ingest queue's URL, where continuations are sent."""
INGEST_CONTINUATION_ENV = "CHORUS_INGEST_CONTINUATION"
"""``invoke``: continuations are asynchronous invocations of this function (the EventBridge
path, no queue); Lambda names the function in ``AWS_LAMBDA_FUNCTION_NAME``."""
LIVE_ALIAS_ENV = "CHORUS_LIVE_ALIAS"
"""Set by ``components.LambdaFunction`` when the function publishes versions: a continuation
invokes ``<name>:<alias>`` like every other caller (its retries and dead-letter queue are
configured on the alias)."""

SAFETY_MARGIN_MS = 60_000
"""Time kept free at the end of an invocation (checkpoint upload, final replace); at most a
quarter of the time the invocation started with."""

CONTINUATION_KEY = "chorusContinuation"

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


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
    content_hash: str = ""
    """Continuations only: the content hash of the version being embedded."""
    next_batch: int = 0
    """Continuations only: the batch the paused ingest continues at."""
    sequencer: str = ""
    """S3's order of the events of one key (absent in some test events: then unordered). Part
    of the idempotency payload, so A → B → A on an unversioned bucket re-indexes A."""
    hop: int = 0
    """Continuations only: 1 for the first continuation of an object version, then 2, 3 ..."""

    @property
    def key(self) -> str:
        return f"workspaces/{self.workspace_id}/{self.document_id}/{self.name}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form; also the idempotency payload (same object version → same key; each
        continuation differs from the event and from the other continuations by its hop)."""
        return asdict(self)

    def continuation(self, checkpoint: EmbeddingCheckpoint) -> str:
        """The message (an SQS body, or an asynchronous invocation's event) that makes the next
        invocation continue this document."""
        return json.dumps(
            {
                CONTINUATION_KEY: {
                    "bucket": self.bucket,
                    "key": self.key,
                    "etag": self.etag,
                    "versionId": self.version_id,
                    "workspaceId": self.workspace_id,
                    "documentId": self.document_id,
                    "contentHash": checkpoint.content_hash,
                    "nextBatch": checkpoint.next_batch,
                    "hop": self.hop + 1,
                    "sequencer": self.sequencer,
                }
            }
        )


class InvocationDeadline:
    """When embedding must stop in this invocation: its end minus a safety margin.

    Parameters
    ----------
    remaining_ms:
        The Lambda context's ``get_remaining_time_in_millis``.
    margin_ms:
        Time to keep free for writing the checkpoint or the document's chunks.
    """

    def __init__(self, remaining_ms: Callable[[], int], margin_ms: int) -> None:
        self._remaining_ms = remaining_ms
        self.margin_ms = margin_ms

    @classmethod
    def from_context(
        cls, context: Any, *, margin_ms: int = SAFETY_MARGIN_MS
    ) -> InvocationDeadline | None:
        """The deadline of the invocation ``context`` belongs to; None without a context.

        Call at the start of the invocation: the margin is at most a quarter of the time left
        then, so a short function timeout still leaves room to embed.
        """
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return None
        return cls(remaining, min(margin_ms, max(0, int(remaining())) // 4))

    def should_stop(self) -> Callable[[], bool]:
        """A fresh ``should_stop`` for one document: stop when the longest step seen so far
        would end inside the margin."""
        last = int(self._remaining_ms())
        longest = 0

        def should_stop() -> bool:
            nonlocal last, longest
            now = int(self._remaining_ms())
            longest = max(longest, last - now)
            last = now
            return now - longest < self.margin_ms

        return should_stop


def ingest_queue_url(env: Mapping[str, str] | None = None) -> str:
    """The ingest queue's URL from ``CHORUS_INGEST_QUEUE_URL`` ('' when unset)."""
    return (os.environ if env is None else env).get(INGEST_QUEUE_URL_ENV, "")


def continuation_sender(
    services: IngestWiring, env: Mapping[str, str] | None = None
) -> WorkSender | None:
    """Where this worker sends a paused document's continuation, or None (then a document is
    ingested in one go): itself, asynchronously, on the EventBridge path; else the ingest
    queue when its URL is set."""
    from ..adapters.work_senders import (
        LambdaAsyncWorkSender,
        SqsWorkSender,
        default_lambda_client,
    )

    env = os.environ if env is None else env
    function = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
    if function and env.get(LIVE_ALIAS_ENV):
        function = f"{function}:{env[LIVE_ALIAS_ENV]}"
    if env.get(INGEST_CONTINUATION_ENV) == "invoke" and function:
        return LambdaAsyncWorkSender(default_lambda_client(), function)
    queue_url = ingest_queue_url(env)
    return SqsWorkSender(services.sqs, queue_url) if queue_url else None


def object_events(body: str) -> list[ObjectEvent]:
    """Parse an SQS body holding an S3 notification; ``BadRequest`` if it is not one.

    ``s3:TestEvent`` (sent when notifications are configured) and keys outside ``workspaces/``
    give no events.
    """
    payload = parse_json(body, what="ingest message")
    if not isinstance(payload, dict):
        raise BadRequest("ingest message must be an S3 event notification object")
    return _payload_events(payload)


EVENTBRIDGE_KINDS: dict[str, EventKind] = {
    "Object Created": "created",
    "Object Deleted": "removed",
}
"""EventBridge ``detail-type`` of S3's object events → what ingestion does."""


def invocation_events(event: Any) -> list[ObjectEvent]:
    """The object events of an asynchronous invocation of the ingest worker: an EventBridge
    S3 event (``source: aws.s3``), an S3 notification invoking it directly, or a continuation
    it sent itself. ``BadRequest`` for anything else (retried, then dead-lettered with it)."""
    if not isinstance(event, dict):
        raise BadRequest("ingest event must be an object (EventBridge or S3 notification)")
    if event.get("source") == "aws.s3" and "detail-type" in event:
        return _eventbridge_events(event)
    return _payload_events(event)


def _eventbridge_events(event: dict[str, Any]) -> list[ObjectEvent]:
    """An EventBridge S3 event → zero or one ``ObjectEvent``. Its key is decoded like the
    notification's (``+`` is a space, ``%xx`` escapes), as Powertools'
    ``S3EventBridgeNotificationObject.key`` does; AWS's documented shape writes ``etag``, some
    emitters ``eTag``: both are read."""
    kind = EVENTBRIDGE_KINDS.get(str(event.get("detail-type")))
    if kind is None:
        return []  # another S3 event type the rule did not mean to send: nothing to do
    try:
        detail = event["detail"]
        bucket = str(detail["bucket"]["name"])
        obj = detail["object"]
        raw_key = str(obj["key"])
        size = int(obj.get("size", 0) or 0)
        sequencer = str(obj.get("sequencer") or "")
        etag = str(obj.get("etag") or obj.get("eTag") or "")
        version_id = str(obj.get("version-id") or "")
        version_id = "" if version_id == "null" else version_id  # unversioned: no version
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise BadRequest(
            "EventBridge S3 event lacks detail.bucket.name or detail.object.key"
        ) from None
    if not re.fullmatch(r"[0-9A-Fa-f]{0,64}", sequencer):
        raise BadRequest("S3 event has a sequencer that is not hexadecimal")
    key = parse_event_key(raw_key)
    if key is None:
        return []
    return [
        ObjectEvent(
            kind=kind,
            bucket=bucket,
            raw_key=raw_key,
            workspace_id=key.workspace_id,
            document_id=key.document_id,
            name=key.name,
            etag=etag,
            version_id=version_id,
            size=size,
            sequencer=sequencer,
        )
    ]


def _payload_events(payload: dict[str, Any]) -> list[ObjectEvent]:
    """An S3 notification (or test event, or continuation) as a parsed object."""
    if payload.get("Event") == "s3:TestEvent":
        return []
    if CONTINUATION_KEY in payload:
        return [_continuation_event(payload[CONTINUATION_KEY])]
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
            size = int(obj.get("size", 0) or 0)
            sequencer = str(obj.get("sequencer") or "")
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise BadRequest("S3 record lacks eventName, bucket or object key") from None
        if not re.fullmatch(r"[0-9A-Fa-f]{0,64}", sequencer):
            raise BadRequest("S3 record has a sequencer that is not hexadecimal")
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
                size=size,
                sequencer=sequencer,
            )
        )
    return events


def _continuation_event(raw: Any) -> ObjectEvent:
    """A continuation message → an ``ObjectEvent`` of kind ``continued``; ``BadRequest`` if
    it is malformed."""
    if not isinstance(raw, dict):
        raise BadRequest(f"{CONTINUATION_KEY} must be an object")
    try:
        bucket, key = str(raw["bucket"]), str(raw["key"])
        digest = str(raw["contentHash"])
        next_batch, hop = int(raw["nextBatch"]), int(raw["hop"])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(
            f"{CONTINUATION_KEY} needs bucket, key, contentHash, nextBatch and hop"
        ) from None
    parsed = parse_key(key)
    if (
        parsed is None
        or parsed.workspace_id != raw.get("workspaceId", parsed.workspace_id)
        or parsed.document_id != raw.get("documentId", parsed.document_id)
        or not _HEX_DIGEST.match(digest)
        or next_batch < 0
        or hop < 1
    ):
        raise BadRequest(f"{CONTINUATION_KEY} names no document version: {key!r}")
    return ObjectEvent(
        kind="continued",
        bucket=bucket,
        raw_key=key,
        workspace_id=parsed.workspace_id,
        document_id=parsed.document_id,
        name=parsed.name,
        etag=str(raw.get("etag") or ""),
        version_id=str(raw.get("versionId") or ""),
        sequencer=str(raw.get("sequencer") or ""),
        content_hash=digest,
        next_batch=next_batch,
        hop=hop,
    )


def apply_object_event(
    services: IngestWiring,
    event: ObjectEvent,
    *,
    deadline: InvocationDeadline | None = None,
    continuations: WorkSender | None = None,
) -> dict[str, Any]:
    """Index, continue or remove the document an event names; returns what happened (JSON-able).

    With a ``deadline`` and somewhere to send continuations (``continuations``, default
    ``continuation_sender(services)``: the ingest queue, or the worker itself on the EventBridge
    path) a document that cannot be embedded before it is paused and continued by a message
    (outcome ``paused``). Raises ``IngestError`` for failures worth retrying.
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
        _drop_stale_checkpoint(services, event)
        return {"outcome": "ignored", "reason": f"workspace {event.workspace_id} does not exist"}
    try:
        data = services.documents.read(event.key, event.version_id)
    except NotFound:
        _drop_stale_checkpoint(services, event)
        return {"outcome": "ignored", "reason": "the object was deleted before it was read"}
    except UnsupportedDocument as exc:
        _drop_stale_checkpoint(services, event)
        _record_failure(services, event, exc.message)
        return {"outcome": "failed", "reason": exc.message}
    digest = content_hash(data)
    version = document_version(event.sequencer)
    if event.kind == "continued" and digest != event.content_hash:
        _drop_stale_checkpoint(services, event)  # the newer upload has its own event
        return {"outcome": "superseded", "documentId": event.document_id}
    staged = staging_key(event.workspace_id, event.document_id, digest)
    checkpoint = _load_checkpoint(services, staged)
    sender = continuations if continuations is not None else continuation_sender(services)
    result = services.ingestor.ingest(
        workspace,
        event.name,
        data,
        document_id=event.document_id,
        metadata={"s3Key": event.key},
        checkpoint=checkpoint,
        should_stop=deadline.should_stop() if deadline is not None and sender else None,
        version=version,
    )
    if result.outcome == "paused" and result.checkpoint is not None:
        saved = result.checkpoint
        _stage_checkpoint(services, staged, saved, checkpoint)
        assert sender is not None  # should_stop is only given with somewhere to continue
        sender.send(event.continuation(saved))
        return {
            "outcome": "paused",
            "documentId": event.document_id,
            "chunks": saved.done,
            "total": saved.total,
            "nextBatch": saved.next_batch,
        }
    if result.outcome == "failed":
        if result.checkpoint is not None:  # keep this invocation's progress for the retry
            services.documents.put_bytes(staged, result.checkpoint.to_bytes())
        raise IngestError(f"{event.key}: {result.reason}")
    if result.outcome == "busy":  # another version is committing: SQS brings this one back
        raise IngestError(f"{event.key}: {result.reason}")
    if checkpoint is not None or event.kind == "continued":
        services.documents.delete(staged)
    if result.outcome == "skipped":
        reason = result.reason or "unsupported document"
        if not _record_failure(services, event, reason, len(data)):
            return {"outcome": "superseded", "documentId": event.document_id}
    return {"outcome": result.outcome, "documentId": event.document_id, "chunks": result.chunks}


def _load_checkpoint(services: IngestWiring, key: str) -> EmbeddingCheckpoint | None:
    raw = services.documents.get_bytes(key)
    if raw is None:
        return None
    try:
        return EmbeddingCheckpoint.from_bytes(raw)
    except CheckpointError:
        return None  # unreadable: start over, the next pause overwrites it


def _stage_checkpoint(
    services: IngestWiring,
    key: str,
    saved: EmbeddingCheckpoint,
    loaded: EmbeddingCheckpoint | None,
) -> None:
    """Write a paused ingest's embeddings to ``key`` unless the staged ones are as far along."""
    if saved.done and (loaded is None or saved.done > loaded.done):
        services.documents.put_bytes(key, saved.to_bytes())


def _drop_stale_checkpoint(services: IngestWiring, event: ObjectEvent) -> None:
    if event.kind == "continued":
        services.documents.delete(
            staging_key(event.workspace_id, event.document_id, event.content_hash)
        )


def _remove(services: IngestWiring, event: ObjectEvent) -> dict[str, Any]:
    if services.documents.exists(event.key):  # a newer upload replaced the deleted version
        return {"outcome": "ignored", "reason": "the object exists again"}
    removed = services.ingestor.delete(event.workspace_id, event.document_id)
    services.documents.delete_prefix(staging_prefix(event.workspace_id, event.document_id))
    return {"outcome": "deleted", "documentId": event.document_id, "chunks": removed}


def _record_failure(services: IngestWiring, event: ObjectEvent, reason: str, size: int = 0) -> bool:
    """Mark a version that can never be indexed as failed, with the reason a user can read.

    The chunks of the last good version stay in the index (what a user wants) and the record
    says so: ``chunk_count`` counts them and the reason names them. Returns False when a newer
    version was recorded already (then this one changes nothing).
    """
    existing = services.metadata.get_document(event.workspace_id, event.document_id)
    served = services.store.count_chunks(event.workspace_id, event.document_id)
    if served:
        reason = f"{reason[:900]}; the previous version ({served} chunks) is still served"
    return services.metadata.claim_document(
        Document(
            workspace_id=event.workspace_id,
            id=event.document_id,
            name=event.name,
            content_hash=existing.content_hash if existing and served else "",
            status=DocumentStatus.FAILED,
            chunk_count=served,
            size_bytes=size or event.size,
            error=reason[:1000],
            version=document_version(event.sequencer),
        )
    )


@dataclass(frozen=True)
class ReindexProgress:
    """Where a paused re-index of one document continues (from the workflow's state)."""

    content_hash: str
    """The content hash of the version being embedded; its embeddings are staged under it."""
    next_batch: int
    """The batch the paused re-index continues at (for the execution history)."""
    hop: int
    """1 for the first continuation, then 2, 3 ...; the workflow bounds it."""


def reindex_document(
    services: IngestWiring,
    workspace_id: str,
    document_id: str,
    name: str,
    *,
    resume: ReindexProgress | None = None,
    deadline: InvocationDeadline | None = None,
) -> dict[str, Any]:
    """Re-chunk and re-embed one document from its uploaded file (one ``Map`` item).

    The first call marks the document ``queued`` so the ingestor does not skip it as unchanged
    (the bytes are the same, the embedding model or chunking may not be) and drops any staged
    embeddings of this version. With a ``deadline``, a document that cannot be embedded before
    it is paused: its embeddings so far are staged in S3 (as the ingest worker stages them) and
    the result ``{"outcome": "paused", "workspaceId", "document", "contentHash", "nextBatch",
    "hop", ...}`` is the workflow's input for the next call, which passes it back as ``resume``
    and neither resets the status nor the staged embeddings. Raises (for the state machine's
    ``Retry``/``Catch``) when the document cannot be re-indexed.
    """
    workspace = services.metadata.get_workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist")
    key = object_key(workspace_id, document_id, name)
    data = services.documents.read(key)
    digest = content_hash(data)
    staged = staging_key(workspace_id, document_id, digest)
    checkpoint = None
    if resume is None:
        services.documents.delete(staged)  # a re-index starts over: the model may have changed
        services.metadata.set_document_status(workspace_id, document_id, DocumentStatus.QUEUED)
    elif digest != resume.content_hash:  # a newer upload: the ingest worker indexes it
        services.documents.delete(staging_key(workspace_id, document_id, resume.content_hash))
        return {"documentId": document_id, "outcome": "superseded", "chunks": 0}
    else:
        checkpoint = _load_checkpoint(services, staged)
    record = services.metadata.get_document(workspace_id, document_id)
    result = services.ingestor.ingest(
        workspace,
        name,
        data,
        document_id=document_id,
        metadata={"s3Key": key},
        checkpoint=checkpoint,
        should_stop=deadline.should_stop() if deadline is not None else None,
        version=record.version if record is not None else "",  # the upload being re-indexed
    )
    if result.outcome == "paused" and result.checkpoint is not None:
        saved = result.checkpoint
        _stage_checkpoint(services, staged, saved, checkpoint)
        return {
            "outcome": "paused",
            "workspaceId": workspace_id,
            "document": {"documentId": document_id, "name": name},
            "contentHash": saved.content_hash,
            "nextBatch": saved.next_batch,
            "hop": (resume.hop if resume is not None else 0) + 1,
            "chunks": saved.done,
            "total": saved.total,
        }
    if resume is not None:
        services.documents.delete(staged)  # finished or failed: nothing resumes it any more
    if result.outcome not in ("indexed", "unchanged"):
        raise IngestError(f"{key}: {result.reason or result.outcome}")
    return {"documentId": document_id, "outcome": result.outcome, "chunks": result.chunks}


def abandon_reindex(
    services: IngestWiring, workspace_id: str, document_id: str, content_hash: str, reason: str
) -> dict[str, Any]:
    """Give up a re-index the workflow stopped continuing: mark the document ``failed`` with
    ``reason`` (unless a newer version replaced it meanwhile) and drop its staged embeddings."""
    document = services.metadata.get_document(workspace_id, document_id)
    if document is not None and document.content_hash == content_hash:
        services.metadata.set_document_status(
            workspace_id, document_id, DocumentStatus.FAILED, error=reason[:1000]
        )
    services.documents.delete(staging_key(workspace_id, document_id, content_hash))
    return {"documentId": document_id, "outcome": "failed", "reason": reason}
