"""Fetch web and feed sources into their workspaces (``runtime/cloud/sources.py``).

Invoked asynchronously by ``rest_api`` with ``{"workspaceId", "url"}`` (a source just added),
``{"workspaceId"}`` (``POST .../sources/sync``), ``{"workspaceId", "text": {name, text}}`` or
``{"workspaceId", "qa": [{question, answer}, ...]}``, and by the EventBridge Scheduler schedule
with ``{"minAgeSeconds": N}`` (every due source of every workspace). Re-fetching is idempotent
(ETag / Last-Modified, content hashes); a source that fails is recorded ``failed`` with its
reason and the others carry on. The fetcher refuses every non-public address (no opt-in here).
Returns ``{"sources": [report, ...]}``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ..cloud.sources import SyncRequest, run_sync
from ..cloud.wiring.ingest import ingest_wiring
from .observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = SyncRequest.from_event(event)
    reports = run_sync(ingest_wiring(), request)
    for report in reports:
        logger.info("source synced", extra=report.as_dict())
    return {"sources": [r.as_dict() for r in reports]}
