"""Bulk ingestion: a batch of listed objects (S3 keys or files) through the same ``Ingestor``.

One batch is what a Distributed Map child gets (``ItemBatcher``: ``{"BatchInput": {...},
"Items": [{"Key", "Etag", "Size", "LastModified"}, ...]}``) and what one local worker process
gets. Each object is ingested by ``Ingestor.ingest_many`` — the code every other path uses —
after two checks that need no download:

- **unchanged**: the workspace's record of the document already holds this object's version
  (``object_version``: last-modified time and ETag) and is indexed → nothing is read;
- **skipped**: a folder marker, an empty object or one over the size limit → nothing is read,
  nothing stored.

Everything else is read (``read`` may raise: the object is ``failed`` with the reason and no
record is written) and ingested; the ingestor's own outcomes map onto four counts
(``BatchCounts``). A batch never raises for one bad object: the state machine's
``ToleratedFailurePercentage`` is about batches that could not run at all.

Versions: ``object_version`` sorts by last-modified time first, so a changed object (a later
``LastModified``) replaces its document and an older listing never overwrites a newer ingest —
the compare-and-set ``Ingestor`` already applies to S3 event sequencers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import unquote_plus

from .errors import BadRequest
from .ingestion import DocumentInput, Ingestor, IngestResult
from .models import DocumentStatus, Workspace
from .parsing import document_id_for

BulkStatus = Literal["ingested", "unchanged", "skipped", "failed"]
STATUSES: tuple[BulkStatus, ...] = ("ingested", "unchanged", "skipped", "failed")

_OUTCOME_STATUS: dict[str, BulkStatus] = {
    "indexed": "ingested",
    "unchanged": "unchanged",
    "superseded": "unchanged",  # a newer version of the object was ingested meanwhile
    "skipped": "skipped",
    "failed": "failed",
    "busy": "failed",
    "paused": "failed",
}


@dataclass(frozen=True)
class BulkObject:
    """One listed object: an S3 ``ListObjectsV2`` item, an S3 Inventory row, a line of a key
    list (or a file's path, size and mtime)."""

    key: str
    etag: str = ""
    size: int | None = 0
    """Bytes; None when the listing did not say (a plain key list): ``ingest_batch`` then asks
    its ``describe`` before deciding anything."""
    last_modified: float | None = 0.0
    """Seconds since the epoch (Step Functions' ``ItemReader`` gives a number, boto3 a
    datetime, an inventory row ISO text, ``BulkObject.from_item`` accepts all three); None when
    the listing did not say."""
    bucket: str = ""
    """The object's bucket when the item names one (an inventory row's ``Bucket``); empty: the
    batch's bucket."""

    @property
    def described(self) -> bool:
        """Whether size and modification time are known (the version needs both)."""
        return self.size is not None and self.last_modified is not None

    @classmethod
    def from_item(cls, item: Mapping[str, Any], *, url_encoded_key: bool = False) -> BulkObject:
        """An item as the Distributed Map's ``ItemReader`` gives it: a ``ListObjectsV2`` item
        (``Etag`` or ``ETag``, ``LastModified``), an S3 Inventory row (``Bucket``, ``Key``,
        ``Size``, ``LastModifiedDate``, ``ETag`` — text, the key URL-encoded: pass
        ``url_encoded_key``) or a key list's row (``Key``, the rest optional). ``BadRequest``
        for an item without a key."""
        key = item.get("Key")
        if not isinstance(key, str) or not key:
            raise BadRequest(
                "a bulk item needs a 'Key' (an S3 ListObjectsV2 item, an inventory row or a "
                "key list's row)"
            )
        if url_encoded_key:
            key = unquote_plus(key)
        etag = str(item.get("Etag") or item.get("ETag") or "").strip('"')
        raw_size = item.get("Size")
        try:
            size = None if raw_size is None or raw_size == "" else int(raw_size)
        except (TypeError, ValueError):
            raise BadRequest(f"bulk item {key!r} has a Size that is not a number") from None
        modified = item.get("LastModified", item.get("LastModifiedDate"))
        last_modified = None if modified is None or modified == "" else _epoch_seconds(modified)
        bucket = item.get("Bucket")
        return cls(key, etag, size, last_modified, bucket if isinstance(bucket, str) else "")


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadRequest(f"LastModified {value!r} is neither a number nor an ISO time") from None


def object_version(obj: BulkObject) -> str:
    """The document version a listed object is ingested as: ``bulk:<mtime µs>:<etag>``.

    Text order is time order (zero-padded microseconds), so it works with the record's
    compare-and-set; it sorts after S3 event sequencers (hex digits), so an object listed by a
    bulk run after an upload of the same name replaces it.
    """
    micros = max(0, round((obj.last_modified or 0.0) * 1_000_000))
    return f"bulk:{micros:020d}:{obj.etag}"


def document_name(prefix: str, key: str) -> str:
    """The name an object gets in its workspace: its key below the listed prefix."""
    name = key[len(prefix) :] if prefix and key.startswith(prefix) else key
    return name.lstrip("/") or key


@dataclass
class BatchCounts:
    """Objects per status in one batch (or a whole job when added up)."""

    ingested: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    chunks: int = 0

    def add(self, status: BulkStatus, chunks: int = 0) -> None:
        setattr(self, status, getattr(self, status) + 1)
        self.chunks += chunks

    def merge(self, other: BatchCounts) -> None:
        for status in (*STATUSES, "chunks"):
            setattr(self, status, getattr(self, status) + getattr(other, status))

    @property
    def objects(self) -> int:
        return self.ingested + self.unchanged + self.skipped + self.failed

    def as_dict(self) -> dict[str, int]:
        return {s: getattr(self, s) for s in (*STATUSES, "chunks")}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> BatchCounts:
        return cls(**{s: int(raw.get(s, 0) or 0) for s in (*STATUSES, "chunks")})


@dataclass(frozen=True)
class ObjectResult:
    """What happened to one object of a batch (written to the map's results in S3)."""

    key: str
    status: BulkStatus
    document_id: str | None = None
    chunks: int = 0
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "status": self.status}
        if self.document_id:
            out["documentId"] = self.document_id
        if self.chunks:
            out["chunks"] = self.chunks
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class BatchReport:
    """One batch's counts and per-object results; ``batch_id`` is the same for a retry of the
    same items, so recording it twice overwrites instead of doubling the counts."""

    batch_id: str
    counts: BatchCounts = field(default_factory=BatchCounts)
    results: list[ObjectResult] = field(default_factory=list)

    def add(self, result: ObjectResult) -> None:
        self.results.append(result)
        self.counts.add(result.status, result.chunks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batchId": self.batch_id,
            "counts": self.counts.as_dict(),
            "results": [r.as_dict() for r in self.results],
        }


def batch_id(objects: Sequence[BulkObject]) -> str:
    """A stable id for a batch: the hash of its keys and ETags."""
    digest = hashlib.sha256()
    for obj in sorted(objects, key=lambda o: o.key):
        digest.update(f"{obj.key}\x1f{obj.etag}\x1e".encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class BulkJob:
    """A bulk ingestion of one source into one workspace, with its progress."""

    workspace_id: str
    job_id: str
    source: str
    status: str = "running"
    """``running``, then ``succeeded`` or ``failed`` (the workflow's last step sets it)."""
    counts: BatchCounts = field(default_factory=BatchCounts)
    batches: int = 0
    started_at: str = ""
    finished_at: str = ""
    error: str = ""


class BulkProgress(Protocol):
    """Where a job's progress is kept in the workspace (one record per job + one per batch)."""

    def start_job(self, job: BulkJob) -> None: ...
    def record_batch(self, workspace_id: str, job_id: str, report: BatchReport) -> None: ...
    def finish_job(self, workspace_id: str, job_id: str, status: str, error: str = "") -> None: ...
    def get_job(self, workspace_id: str, job_id: str) -> BulkJob | None: ...


Reader = Callable[[BulkObject], bytes]
"""Reads one object's bytes; raises when it cannot (the object is then counted ``failed``)."""
Describer = Callable[[BulkObject], BulkObject]
"""Completes an object a key list named without its size and modification time (an S3
``HeadObject``); raises when it cannot (the object is then counted ``failed``)."""


def ingest_batch(
    ingestor: Ingestor,
    workspace: Workspace,
    objects: Sequence[BulkObject],
    read: Reader,
    *,
    prefix: str = "",
    source: str = "",
    describe: Describer | None = None,
) -> BatchReport:
    """Ingest one batch of listed objects; never raises for one object.

    Parameters
    ----------
    read:
        Fetches an object's bytes (an S3 ``GetObject``, a file read).
    prefix:
        The listed prefix; an object's document name is its key below it.
    source:
        ``s3://bucket`` or a folder, recorded with each chunk as ``source`` metadata (an object
        that names its own bucket is recorded as ``s3://<its bucket>/<key>``).
    describe:
        Completes an object listed without size or modification time (a key list); without
        it such an object is ``failed``.
    """
    report = BatchReport(batch_id(objects))
    names: dict[str, str] = {}

    def inputs() -> Iterator[DocumentInput]:
        for obj in objects:
            if not obj.described:
                try:
                    if describe is None:
                        raise BadRequest("the listing gives no size or modification time")
                    obj = describe(obj)
                except Exception as exc:  # the object, not the batch: count it and go on
                    report.add(
                        ObjectResult(
                            obj.key, "failed", reason=f"cannot read the object: {exc}"[:500]
                        )
                    )
                    continue
            size = obj.size or 0
            name = document_name(prefix, obj.key)
            doc_id = document_id_for(name)
            version = object_version(obj)
            if obj.key.endswith("/") or size == 0:
                report.add(ObjectResult(obj.key, "skipped", reason="a folder marker or empty"))
                continue
            if size > ingestor.max_document_bytes:
                report.add(
                    ObjectResult(
                        obj.key,
                        "skipped",
                        reason=f"{size} bytes is over the {ingestor.max_document_bytes}-byte "
                        "limit; split it or raise limits.maxUploadBytes",
                    )
                )
                continue
            existing = ingestor.metadata.get_document(workspace.id, doc_id)
            if (
                existing is not None
                and existing.version == version
                and existing.status is DocumentStatus.INDEXED
            ):
                report.add(ObjectResult(obj.key, "unchanged", doc_id))
                continue
            try:
                data = read(obj)
            except Exception as exc:  # the object, not the batch: count it and go on
                report.add(
                    ObjectResult(obj.key, "failed", reason=f"cannot read the object: {exc}"[:500])
                )
                continue
            names[name] = obj.key
            if obj.bucket:
                origin = f"s3://{obj.bucket}/{obj.key}"
            else:
                origin = f"{source.rstrip('/')}/{obj.key}" if source else obj.key
            metadata = {"source": origin}
            yield DocumentInput(name, data, doc_id, metadata, version)

    def on_result(result: IngestResult) -> None:
        key = names.get(result.name, result.name)
        status = _OUTCOME_STATUS[result.outcome]
        chunks = result.chunks if status == "ingested" else 0
        report.add(ObjectResult(key, status, result.document_id, chunks, result.reason))

    ingestor.ingest_many(workspace, inputs(), on_result=on_result)
    return report
