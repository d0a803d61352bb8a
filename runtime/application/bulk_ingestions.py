"""Bulk ingestion of an S3 prefix into a workspace, for admins and workspace managers.

``POST /workspaces/{id}/bulk-ingestions {"uri": "s3://bucket/prefix/"}`` (or the ``uri`` of an S3
Inventory ``manifest.json`` or a CSV/JSON key list, with an optional ``kind``) starts the
deployed Distributed Map workflow (202 with the job);
``GET /workspaces/{id}/bulk-ingestions/{jobId}`` reads its progress (counts per status,
recorded in the workspace by each batch). Where no workflow is deployed (the local server:
``chorus ingest FOLDER`` is the local bulk path) both answer 400 ``not_deployed`` and nothing
changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..core.errors import BadRequest, NotFound
from ..core.identifiers import valid_id
from .access import require_manager, require_workspace
from .caller import Caller
from .ports import Backend
from .views import Reply

if TYPE_CHECKING:
    from ..core.bulk_ingestion import BulkJob  # numpy (via ingestion): annotations only
    from .requests import StartBulkIngestion


class BulkIngestions(Protocol):
    """Starts the bulk workflow and reads a job's progress (``cloud.bulk_ingest``)."""

    def start(self, workspace_id: str, uri: str, kind: str | None = None) -> BulkJob: ...
    def get(self, workspace_id: str, job_id: str) -> BulkJob | None: ...


def _bulk(backend: Backend) -> BulkIngestions:
    bulk = getattr(backend, "bulk_ingestions", None)
    if bulk is None:
        raise BadRequest(
            "bulk ingestion from S3 is not deployed here (chorus:bulkIngestion.enabled); "
            "locally, run chorus ingest FOLDER",
            code="not_deployed",
        )
    return bulk


def job_view(job: BulkJob) -> dict[str, Any]:
    return {
        "jobId": job.job_id,
        "workspaceId": job.workspace_id,
        "source": job.source,
        "status": job.status,
        "counts": job.counts.as_dict(),
        "batches": job.batches,
        "startedAt": job.started_at or None,
        "finishedAt": job.finished_at or None,
        "error": job.error or None,
    }


def start_bulk_ingestion(
    backend: Backend, caller: Caller, workspace_id: str, body: StartBulkIngestion
) -> Reply:
    """Start ingesting ``body.uri`` (a prefix, an inventory manifest or a key list: ``body.kind``
    or its name says which) into the workspace. ``202`` with the job."""
    require_manager(caller)
    require_workspace(backend.records, caller, workspace_id)
    job = _bulk(backend).start(workspace_id, body.uri, body.kind)
    return Reply(202, job_view(job))


def get_bulk_ingestion(backend: Backend, caller: Caller, workspace_id: str, job_id: str) -> Reply:
    """A job's progress. ``200``; ``404`` for a job this workspace never ran."""
    require_manager(caller)
    require_workspace(backend.records, caller, workspace_id)
    job_id = valid_id(job_id, "bulk ingestion job")
    job = _bulk(backend).get(workspace_id, job_id)
    if job is None:
        raise NotFound(f"bulk ingestion {job_id!r} does not exist in this workspace")
    return Reply(200, job_view(job))
