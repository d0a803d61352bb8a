"""Bulk ingestion batch: one child of the Distributed Map workflow (or its final ``finish``).

Input: what ``ItemBatcher`` sends (``{"BatchInput": {...}, "Items": [...]}``) or ``{"finish":
...}``; see ``runtime/cloud/bulk_ingest.py``. Returns the batch's counts and per-object results
(they go to the map's ``ResultWriter`` in S3). One bad object is counted, never raised; a batch
that cannot run at all (malformed input, a missing workspace, the store down) raises so the
state machine's ``Retry`` and ``ToleratedFailurePercentage`` decide.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ..cloud.bulk_ingest import run_bulk_event
from ..cloud.wiring.bulk import bulk_wiring
from .observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = bulk_wiring()
    try:
        result = run_bulk_event(services, event)
        logger.info("bulk event applied", extra={"counts": result.get("counts")})
        return result
    finally:
        services.metrics.flush()
