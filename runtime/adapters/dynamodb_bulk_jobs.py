"""``BulkProgress`` on the workspace table: a bulk ingestion's progress lives in its workspace.

Items (``workspace_id``, ``object_type``) next to the workspace's own record:

* ``bulk#<job id>``: source, status (``running`` → ``succeeded``/``failed``), times, error;
* ``bulk#<job id>#batch#<batch id>``: one batch's counts, overwritten when the Map retries the
  same batch (so a retry never doubles a count).

Reading a job is one ``Query`` on ``begins_with(object_type, "bulk#<job id>")`` that adds the
batches up. No ``created_at`` is written, so the items stay out of the ``by_object_type`` index
that lists workspaces.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core.bulk_ingestion import BatchCounts, BatchReport, BulkJob

JOB_PREFIX = "bulk#"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def job_sort_key(job_id: str) -> str:
    return f"{JOB_PREFIX}{job_id}"


class DynamoBulkProgress:
    """Progress records of bulk ingestions in the workspace table."""

    def __init__(self, resource: Any, workspace_table: str) -> None:
        self._table = resource.Table(workspace_table)

    def start_job(self, job: BulkJob) -> None:
        self._table.put_item(
            Item={
                "workspace_id": job.workspace_id,
                "object_type": job_sort_key(job.job_id),
                "source": job.source,
                "status": job.status,
                "started_at": job.started_at or _now(),
            }
        )

    def record_batch(self, workspace_id: str, job_id: str, report: BatchReport) -> None:
        self._table.put_item(
            Item={
                "workspace_id": workspace_id,
                "object_type": f"{job_sort_key(job_id)}#batch#{report.batch_id}",
                "counts": report.counts.as_dict(),
                "recorded_at": _now(),
            }
        )

    def finish_job(self, workspace_id: str, job_id: str, status: str, error: str = "") -> None:
        self._table.update_item(
            Key={"workspace_id": workspace_id, "object_type": job_sort_key(job_id)},
            UpdateExpression="SET #s = :s, finished_at = :t, #e = :e",
            ExpressionAttributeNames={"#s": "status", "#e": "error"},
            ExpressionAttributeValues={":s": status, ":t": _now(), ":e": error[:1000]},
        )

    def get_job(self, workspace_id: str, job_id: str) -> BulkJob | None:
        from boto3.dynamodb.conditions import Key

        head = job_sort_key(job_id)
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("workspace_id").eq(workspace_id)
            & Key("object_type").begins_with(head),
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**query)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        record = next((i for i in items if i["object_type"] == head), None)
        batches = [i for i in items if i["object_type"].startswith(f"{head}#batch#")]
        if record is None and not batches:
            return None
        counts = BatchCounts()
        for batch in batches:
            counts.merge(BatchCounts.from_dict(batch.get("counts", {})))
        record = record or {}
        return BulkJob(
            workspace_id=workspace_id,
            job_id=job_id,
            source=str(record.get("source", "")),
            status=str(record.get("status", "running")),
            counts=counts,
            batches=len(batches),
            started_at=str(record.get("started_at", "")),
            finished_at=str(record.get("finished_at", "")),
            error=str(record.get("error", "")),
        )
