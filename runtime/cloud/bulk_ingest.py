"""Bulk ingestion in the cloud: start the Distributed Map workflow, and run one of its batches.

The workflow (``components/bulk_ingestion.py``) lists ``s3://bucket/prefix`` with its
``ItemReader``, hands batches of items to the ``bulk_ingest_batch`` function and, at the end,
calls it once more with ``{"finish": "succeeded" | "failed"}``. Progress lives in the workspace
(``BulkProgress``): one record per job, one per batch.

Event shapes the function accepts:

* a batch: ``{"BatchInput": {"workspaceId", "jobId", "bucket", "prefix"}, "Items": [{"Key",
  "Etag", "Size", "LastModified", ...}]}`` (what ``ItemBatcher`` sends);
* the end: ``{"finish": "succeeded" | "failed", "workspaceId", "jobId", "error"?}``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..core.bulk_ingestion import BulkJob, BulkObject, BulkProgress, ingest_batch
from ..core.errors import BadRequest, ChorusError, NotFound

if TYPE_CHECKING:
    from .wiring.bulk import BulkWiring

MAX_ITEMS_PER_EVENT = 1000
"""More items than any ``ItemBatcher`` configuration sends (its cap is 256 KiB of input)."""

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
FINISH_STATUSES = ("succeeded", "failed")


class SourceNotReadable(ChorusError):
    """The bucket or prefix to ingest cannot be listed with the caller's permissions."""

    code = "source_not_readable"
    http_status = 403


class EmptySource(BadRequest):
    code = "empty_source"


@dataclass(frozen=True)
class S3Source:
    """``s3://bucket/prefix``, checked."""

    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @classmethod
    def parse(cls, uri: str) -> S3Source:
        """``BadRequest`` unless ``uri`` is ``s3://<bucket>[/<prefix>]`` with a valid bucket."""
        match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri.strip())
        if not match or not _BUCKET.match(match.group(1)):
            raise BadRequest(f"{uri!r} is not an S3 location; write s3://bucket/prefix/")
        return cls(match.group(1), match.group(2))


def new_job_id(now: datetime | None = None) -> str:
    """An execution name (≤ 80 characters, sortable by start time, unique)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"bulk-{stamp}-{uuid.uuid4().hex[:8]}"


def execution_arn(state_machine_arn: str, job_id: str) -> str:
    """The ARN of the execution named ``job_id`` (the job id is the execution's name)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{job_id}"


def check_source(s3: Any, source: S3Source) -> None:
    """Refuse a source that cannot be listed or lists nothing, before anything is recorded."""
    from botocore.exceptions import ClientError

    try:
        page = s3.list_objects_v2(Bucket=source.bucket, Prefix=source.prefix, MaxKeys=1)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        raise SourceNotReadable(
            f"cannot list {source.uri} ({code}); check the bucket name and that the bucket is "
            "in bulkIngestion.sourceBuckets (the workflow's role may read only those)"
        ) from None
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
    job_id: str | None = None,
) -> BulkJob:
    """Check the source, record the job in the workspace and start the workflow; returns the
    job (its id is the execution's name)."""
    source = S3Source.parse(uri)
    check_source(s3, source)
    job = BulkJob(workspace_id, job_id or new_job_id(), source.uri)
    progress.start_job(job)
    sfn.start_execution(
        stateMachineArn=state_machine_arn,
        name=job.job_id,
        input=json.dumps(
            {
                "workspaceId": workspace_id,
                "jobId": job.job_id,
                "bucket": source.bucket,
                "prefix": source.prefix,
            }
        ),
    )
    return job


class StepFunctionsBulkIngestions:
    """``BulkIngestions`` of the application layer on the deployed workflow and the workspace
    table's progress records."""

    def __init__(self, sfn: Any, s3: Any, progress: BulkProgress, state_machine_arn: str) -> None:
        self._sfn, self._s3, self._progress = sfn, s3, progress
        self.state_machine_arn = state_machine_arn

    def start(self, workspace_id: str, uri: str) -> BulkJob:
        return start_bulk_ingestion(
            self._sfn, self._s3, self._progress, self.state_machine_arn, workspace_id, uri
        )

    def get(self, workspace_id: str, job_id: str) -> BulkJob | None:
        return self._progress.get_job(workspace_id, job_id)


def _batch_input(event: Mapping[str, Any]) -> tuple[str, str, str, str, list[BulkObject]]:
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
    if len(items) > MAX_ITEMS_PER_EVENT:
        raise BadRequest(f"{len(items)} items in one batch; at most {MAX_ITEMS_PER_EVENT}")
    return ws, job, bucket, prefix, [BulkObject.from_item(i) for i in items]


def s3_reader(s3: Any, bucket: str):
    """Read a listed object — exactly the listed version (``IfMatch`` on its ETag): an object
    replaced since the listing fails with a reason instead of being ingested under the old
    version's record."""

    def read(obj: BulkObject) -> bytes:
        where: dict[str, str] = {"Bucket": bucket, "Key": obj.key}
        if obj.etag:
            where["IfMatch"] = f'"{obj.etag}"'
        return s3.get_object(**where)["Body"].read()

    return read


def run_bulk_event(services: BulkWiring, event: Mapping[str, Any]) -> dict[str, Any]:
    """One invocation of ``bulk_ingest_batch``: ingest a batch, or finish a job."""
    if not isinstance(event, Mapping):
        raise BadRequest("a bulk event must be an object")
    if "finish" in event:
        return _finish(services, event)
    workspace_id, job_id, bucket, prefix, objects = _batch_input(event)
    workspace = services.metadata.get_workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist")
    report = ingest_batch(
        services.ingestor,
        workspace,
        objects,
        s3_reader(services.s3, bucket),
        prefix=prefix,
        source=f"s3://{bucket}",
    )
    services.bulk_progress.record_batch(workspace_id, job_id, report)
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
