"""Ingest worker: S3 object events from SQS, or from EventBridge (asynchronous invocation) →
parse, chunk, embed, index (or remove).

Partial batch responses: a poison message is reported in ``batchItemFailures`` and goes to the
DLQ after the queue's max receives; the rest of its batch is not retried. With an idempotency
table configured, each object version (key + ETag + version id) is applied once even when SQS
delivers it several times at the same moment.

A document that cannot be embedded before the invocation's deadline is paused and continued by
a message the worker sends to its own queue (``CHORUS_INGEST_QUEUE_URL``); each continuation
carries its hop number, so idempotency never mistakes it for the event or an earlier hop.

On the EventBridge path (``eventPaths.ingestion: eventbridge``) each invocation carries one
object event (or one continuation the worker sent itself): a failure raises, Lambda retries it
with backoff and, when every try failed, sends the event to the on-failure dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..cloud.idempotency import idempotent
from ..cloud.ingest import (
    InvocationDeadline,
    ObjectEvent,
    apply_object_event,
    invocation_events,
    object_events,
)
from ..cloud.wiring.ingest import IngestWiring, ingest_wiring
from ..cloud.wiring.snapshot import INGESTION, preload, snap_start_init
from .observability import logger, metrics, tracer

# A batch whose every record failed is reported like any other (each record in
# batchItemFailures, to be retried and then dead-lettered), never as a Lambda error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

if snap_start_init():  # the snapshot holds what the first document imports
    preload(INGESTION)
    tracer.get()


def _apply(services: IngestWiring, context: Any, deadline: InvocationDeadline | None):
    def apply(*, event: dict[str, Any]) -> dict[str, Any]:
        return apply_object_event(services, ObjectEvent(**event), deadline=deadline)

    return idempotent(services, apply, "event", key_prefix="ingest", context=context)


def ingest_record(
    services: IngestWiring,
    record: SQSRecord,
    context: Any = None,
    deadline: InvocationDeadline | None = None,
) -> list[dict]:
    """Apply every object event of one SQS message; raises to report the message failed.

    ``deadline`` (from the invocation's context) lets a large document pause and continue in
    the next invocation instead of running out of time.
    """
    apply = _apply(services, context, deadline)
    results = []
    for event in object_events(record.body):
        result = apply(event=event.as_dict())
        logger.info("object event applied", extra={"key": event.key, **result})
        results.append(result)
    return results


def ingest_invocation(
    services: IngestWiring,
    event: dict[str, Any],
    context: Any = None,
    deadline: InvocationDeadline | None = None,
) -> dict[str, Any]:
    """Apply the object events of one asynchronous invocation; raises to have Lambda retry it
    (and dead-letter it once the retries are spent)."""
    apply = _apply(services, context, deadline)
    results = []
    for object_event in invocation_events(event):
        result = apply(event=object_event.as_dict())
        logger.info("object event applied", extra={"key": object_event.key, **result})
        results.append(result)
    return {"results": results}


def is_sqs_batch(event: Any) -> bool:
    """Whether the invocation is an SQS event source's batch (else one asynchronous event)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        bool(records)
        and isinstance(records[0], dict)
        and records[0].get("eventSource") == "aws:sqs"
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = ingest_wiring()
    deadline = InvocationDeadline.from_context(context)
    try:
        if not is_sqs_batch(event):
            return ingest_invocation(services, event, context, deadline)
        return process_partial_response(
            event=event,
            record_handler=lambda record: ingest_record(services, record, context, deadline),
            processor=processor,
            context=context,
        )
    finally:
        services.metrics.flush()  # IngestDocuments, IngestChunks ... (the ingestor records them)
