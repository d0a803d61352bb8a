"""Bulk ingestion in the cloud: start the Distributed Map workflow, and run one of its batches.

The workflow (``components/bulk_ingestion.py``) reads the source with its ``ItemReader`` — an S3
prefix (``ListObjectsV2``), an S3 Inventory report (its ``manifest.json``: ``InputType:
MANIFEST``), or a key list (a CSV file with a ``Key`` header, or a JSON array of ``{"Key"}``
objects) — hands batches of items to the ``bulk_ingest_batch`` function and, at the end, calls it
once more with ``{"finish": "succeeded" | "failed"}``. Progress lives in the workspace
(``BulkProgress``): one record per job, one per batch.

Event shapes the function accepts:

* a batch: ``{"BatchInput": {"workspaceId", "jobId", "bucket", "prefix", "kind"?}, "Items":
  [...]}`` (what ``ItemBatcher`` sends). Items are ``ListObjectsV2`` items (``{"Key", "Etag",
  "Size", "LastModified", ...}``), inventory rows (``{"Bucket", "Key", "Size",
  "LastModifiedDate", "ETag"?}``: text, the key URL-encoded) or key-list rows (``{"Key"}``,
  the rest optional: the function asks S3 for what is missing);
* the end: ``{"finish": "succeeded" | "failed", "workspaceId", "jobId", "error"?}``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from ..core.bulk_ingestion import BulkJob, BulkObject, BulkProgress, ingest_batch
from ..core.errors import BadRequest, ChorusError, NotFound

if TYPE_CHECKING:
    from .wiring.bulk import BulkWiring

MAX_ITEMS_PER_EVENT = 1000
"""More items than any ``ItemBatcher`` configuration sends (its cap is 256 KiB of input)."""

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
FINISH_STATUSES = ("succeeded", "failed")

SourceKind = Literal["prefix", "inventory", "csv", "json"]
"""What ``s3://bucket/<key or prefix>`` names: every object below a prefix; an S3 Inventory
report's ``manifest.json`` (CSV inventory); a CSV key list (header row with ``Key``, optionally
``Bucket``, ``Size``, ``LastModified``, ``ETag``); a JSON array of such objects."""
SOURCE_KINDS: tuple[SourceKind, ...] = get_args(SourceKind)
FILE_KINDS: tuple[SourceKind, ...] = ("inventory", "csv", "json")
"""The kinds that name one object (the list), not a prefix."""


class SourceNotReadable(ChorusError):
    """The bucket or prefix to ingest cannot be listed with the caller's permissions."""

    code = "source_not_readable"
    http_status = 403


class EmptySource(BadRequest):
    code = "empty_source"


class MissingList(BadRequest):
    """The manifest or key list named does not exist."""

    code = "source_not_found"


def detect_kind(key: str) -> SourceKind:
    """The kind a key's name says: ``.../manifest.json`` an inventory report, ``.csv`` and
    ``.json`` a key list, anything else (``corpus/``, ``manuals``) a prefix."""
    name = key.rsplit("/", 1)[-1].lower()
    if name == "manifest.json":
        return "inventory"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".json"):
        return "json"
    return "prefix"


@dataclass(frozen=True)
class S3Source:
    """``s3://bucket/prefix`` or ``s3://bucket/key`` of a manifest or key list, checked."""

    bucket: str
    prefix: str
    """The prefix listed, or the key of the manifest / key list (``kind`` says which)."""
    kind: SourceKind = "prefix"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @classmethod
    def parse(cls, uri: str, kind: str | None = None) -> S3Source:
        """``BadRequest`` unless ``uri`` is ``s3://<bucket>[/<prefix or key>]`` with a valid
        bucket (and, for a manifest or key list, an object key). ``kind`` None: from the name
        (``detect_kind``)."""
        match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri.strip())
        if not match or not _BUCKET.match(match.group(1)):
            raise BadRequest(f"{uri!r} is not an S3 location; write s3://bucket/prefix/")
        bucket, key = match.group(1), match.group(2)
        if kind is None:
            chosen = detect_kind(key)
        elif kind in SOURCE_KINDS:
            chosen = cast(SourceKind, kind)
        else:
            raise BadRequest(f"kind must be one of {SOURCE_KINDS}, not {kind!r}")
        if chosen in FILE_KINDS and (not key or key.endswith("/")):
            raise BadRequest(
                f"{uri!r} names no object; a {chosen} source is one file, e.g. "
                "s3://bucket/inventory/corpus/config/2026-12-01T01-00Z/manifest.json"
            )
        return cls(bucket, key, chosen)


def new_job_id(now: datetime | None = None) -> str:
    """An execution name (≤ 80 characters, sortable by start time, unique)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"bulk-{stamp}-{uuid.uuid4().hex[:8]}"


def execution_arn(state_machine_arn: str, job_id: str) -> str:
    """The ARN of the execution named ``job_id`` (the job id is the execution's name)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{job_id}"


def check_source(s3: Any, source: S3Source) -> None:
    """Refuse a source that cannot be listed, lists nothing, or (a manifest or key list) does
    not exist, before anything is recorded. Listing is all it needs (``s3:ListBucket``): the
    file itself is read by the workflow."""
    from botocore.exceptions import ClientError

    try:
        page = s3.list_objects_v2(Bucket=source.bucket, Prefix=source.prefix, MaxKeys=1)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        raise SourceNotReadable(
            f"cannot list {source.uri} ({code}); check the bucket name and that the bucket is "
            "in bulkIngestion.sourceBuckets (the workflow's role may read only those)"
        ) from None
    if source.kind in FILE_KINDS:
        listed = [o.get("Key") for o in page.get("Contents", [])]
        if listed != [source.prefix]:
            raise MissingList(f"{source.uri} does not exist; check the {source.kind} file's key")
        return
    if not page.get("KeyCount"):
        raise EmptySource(f"{source.uri} holds no objects; check the prefix")


def start_bulk_ingestion(
    sfn: Any,
    s3: Any,
    progress: BulkProgress,
    state_machine_arn: str,
    workspace_id: str,
    uri: str,
    *,
    kind: str | None = None,
    job_id: str | None = None,
) -> BulkJob:
    """Check the source, record the job in the workspace and start the workflow; returns the
    job (its id is the execution's name). ``kind`` None: from the name (``detect_kind``)."""
    source = S3Source.parse(uri, kind)
    check_source(s3, source)
    job = BulkJob(workspace_id, job_id or new_job_id(), source.uri)
    progress.start_job(job)
    sfn.start_execution(
        stateMachineArn=state_machine_arn,
        name=job.job_id,
        input=json.dumps(workflow_input(workspace_id, job.job_id, source)),
    )
    return job


def workflow_input(workspace_id: str, job_id: str, source: S3Source) -> dict[str, str]:
    """The execution input: the prefix to list (``prefix``), or the manifest / key list to read
    (``key``; documents are then named by their full keys)."""
    listed = source.kind == "prefix"
    return {
        "workspaceId": workspace_id,
        "jobId": job_id,
        "kind": source.kind,
        "bucket": source.bucket,
        "prefix": source.prefix if listed else "",
        "key": "" if listed else source.prefix,
    }


class StepFunctionsBulkIngestions:
    """``BulkIngestions`` of the application layer on the deployed workflow and the workspace
    table's progress records."""

    def __init__(self, sfn: Any, s3: Any, progress: BulkProgress, state_machine_arn: str) -> None:
        self._sfn, self._s3, self._progress = sfn, s3, progress
        self.state_machine_arn = state_machine_arn

    def start(self, workspace_id: str, uri: str, kind: str | None = None) -> BulkJob:
        return start_bulk_ingestion(
            self._sfn,
            self._s3,
            self._progress,
            self.state_machine_arn,
            workspace_id,
            uri,
            kind=kind,
        )

    def get(self, workspace_id: str, job_id: str) -> BulkJob | None:
        return self._progress.get_job(workspace_id, job_id)


@dataclass(frozen=True)
class BatchInput:
    """A batch's ``BatchInput`` and its items, checked."""

    workspace_id: str
    job_id: str
    bucket: str
    prefix: str
    kind: SourceKind
    objects: list[BulkObject]


def _batch_input(event: Mapping[str, Any]) -> BatchInput:
    raw = event.get("BatchInput")
    items = event.get("Items")
    if not isinstance(raw, dict) or not isinstance(items, list):
        raise BadRequest(
            "a bulk batch needs 'BatchInput' and 'Items' (the Distributed Map's ItemBatcher)"
        )
    try:
        ws, job = str(raw["workspaceId"]), str(raw["jobId"])
        bucket, prefix = str(raw["bucket"]), str(raw.get("prefix") or "")
    except KeyError as exc:
        raise BadRequest(f"BatchInput lacks {exc.args[0]!r}") from None
    kind = raw.get("kind") or "prefix"
    if kind not in SOURCE_KINDS:
        raise BadRequest(f"BatchInput kind must be one of {SOURCE_KINDS}, not {kind!r}")
    kind = cast(SourceKind, kind)
    if len(items) > MAX_ITEMS_PER_EVENT:
        raise BadRequest(f"{len(items)} items in one batch; at most {MAX_ITEMS_PER_EVENT}")
    if not all(isinstance(i, Mapping) for i in items):
        raise BadRequest("every bulk item must be an object with a 'Key'")
    # S3 Inventory's CSV reports URL-encode object keys (Step Functions passes them as written)
    encoded = kind == "inventory"
    objects = [BulkObject.from_item(i, url_encoded_key=encoded) for i in items]
    return BatchInput(ws, job, bucket, prefix, kind, objects)


def s3_reader(s3: Any, bucket: str):
    """Read a listed object — exactly the listed version (``IfMatch`` on its ETag): an object
    replaced since the listing fails with a reason instead of being ingested under the old
    version's record. An object that names its bucket (an inventory row) is read there."""

    def read(obj: BulkObject) -> bytes:
        where: dict[str, str] = {"Bucket": obj.bucket or bucket, "Key": obj.key}
        if obj.etag:
            where["IfMatch"] = f'"{obj.etag}"'
        return s3.get_object(**where)["Body"].read()

    return read


def s3_describer(s3: Any, bucket: str):
    """Complete an object a key list names without size or modification time: one
    ``HeadObject`` (its ETag too, so the read that follows gets exactly that version)."""

    def describe(obj: BulkObject) -> BulkObject:
        head = s3.head_object(Bucket=obj.bucket or bucket, Key=obj.key)
        return BulkObject(
            obj.key,
            obj.etag or str(head.get("ETag") or "").strip('"'),
            int(head.get("ContentLength") or 0),
            head["LastModified"].timestamp(),
            obj.bucket,
        )

    return describe


def run_bulk_event(services: BulkWiring, event: Mapping[str, Any]) -> dict[str, Any]:
    """One invocation of ``bulk_ingest_batch``: ingest a batch, or finish a job."""
    if not isinstance(event, Mapping):
        raise BadRequest("a bulk event must be an object")
    if "finish" in event:
        return _finish(services, event)
    batch = _batch_input(event)
    workspace = services.metadata.get_workspace(batch.workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {batch.workspace_id!r} does not exist")
    report = ingest_batch(
        services.ingestor,
        workspace,
        batch.objects,
        s3_reader(services.s3, batch.bucket),
        prefix=batch.prefix,
        source=f"s3://{batch.bucket}",
        describe=s3_describer(services.s3, batch.bucket),
    )
    services.bulk_progress.record_batch(batch.workspace_id, batch.job_id, report)
    return report.as_dict()


def _finish(services: BulkWiring, event: Mapping[str, Any]) -> dict[str, Any]:
    status = event.get("finish")
    if status not in FINISH_STATUSES:
        raise BadRequest(f"'finish' must be one of {FINISH_STATUSES}")
    try:
        ws, job = str(event["workspaceId"]), str(event["jobId"])
    except KeyError as exc:
        raise BadRequest(f"a finish event lacks {exc.args[0]!r}") from None
    error = event.get("error")
    text = json.dumps(error)[:1000] if error else ""
    services.bulk_progress.finish_job(ws, job, str(status), text)
    done = services.bulk_progress.get_job(ws, job)
    return {"jobId": job, "status": status, "counts": done.counts.as_dict() if done else {}}
