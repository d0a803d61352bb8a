"""Chat worker: answers chat jobs and takes ``document-changed`` notifications.

One function serves two SQS sources, told apart by ``eventSourceARN``: the chat queue (batch 1:
retrieval, models, frames back through the management API) and the cache-invalidation queue
(SNS ``document-changed``, raw delivery), whose notifications drop the workspace's cached
answers. With an idempotency table a redelivered job is not answered (and billed) twice.

On the asynchronous path (``eventPaths.chat: async``) the event is the job itself (the
``message`` handler invoked the worker) or an SNS notification (``document-changed`` invokes
the worker directly): a failure raises, Lambda retries it and then sends it, with the reason,
to the chat dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from ..cloud.cache_invalidation import invalidate_on_document_changed
from ..cloud.chat_jobs import ChatJob, run_chat_job
from ..cloud.idempotency import idempotent
from ..cloud.wiring.chat import ChatWiring, chat_wiring
from ..cloud.wiring.snapshot import CHAT_TURN, preload, snap_start_init
from ..core.errors import BadRequest
from .observability import logger, metrics, tracer

# A batch whose every record failed is reported like any other (each record in
# batchItemFailures, to be retried and then dead-lettered), never as a Lambda error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

if snap_start_init():  # the snapshot holds what the first turn imports
    preload(CHAT_TURN)
    tracer.get()


def queue_name(arn_or_url: str) -> str:
    """The queue name at the end of an SQS ARN (``…:name``) or URL (``…/name``)."""
    return arn_or_url.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]


def answer_job(services: ChatWiring, record: SQSRecord, context: Any = None) -> dict:
    try:
        job = ChatJob.model_validate_json(record.body)
    except ValidationError as exc:
        raise BadRequest(f"chat job is malformed: {exc.error_count()} problem(s)") from None
    return _answer(services, job, context)


def answer_invoked_job(services: ChatWiring, event: dict[str, Any], context: Any = None) -> dict:
    """A job the ``message`` handler invoked the worker with (asynchronous path)."""
    try:
        job = ChatJob.model_validate(event)
    except ValidationError as exc:
        raise BadRequest(f"chat job is malformed: {exc.error_count()} problem(s)") from None
    return _answer(services, job, context)


def _answer(services: ChatWiring, job: ChatJob, context: Any) -> dict:
    def answer(*, job: dict[str, Any]) -> dict[str, Any]:
        return run_chat_job(services, ChatJob.model_validate(job))

    run = idempotent(
        services, answer, "job", key_prefix="chat", event_key_jmespath="requestId", context=context
    )
    # The turn's figures (Turns by Mode and Outcome, latency, per-model tokens and cost) are
    # recorded by the chat service itself (services.metrics).
    return run(job=job.model_dump(mode="json"))


def invalidate_cache(services: ChatWiring, record: SQSRecord) -> dict[str, Any]:
    """A ``document-changed`` notification: drop the workspace's cached answers."""
    return _invalidate(services, record.body)


def invalidate_from_sns(services: ChatWiring, event: dict[str, Any]) -> dict[str, Any]:
    """``document-changed`` delivered by SNS invoking the worker (one record per invocation)."""
    outcomes = [_invalidate(services, record["Sns"]["Message"]) for record in event["Records"]]
    return {"invalidated": sum(o.get("invalidated") or 0 for o in outcomes)}


def _invalidate(services: ChatWiring, body: str) -> dict[str, Any]:
    outcome = invalidate_on_document_changed(services, body)
    logger.info("document changed", extra={"change": outcome})
    if outcome["invalidated"]:
        metrics.add_metric(
            name="CacheEntriesInvalidated", unit=MetricUnit.Count, value=outcome["invalidated"]
        )
    return outcome


def invocation_source(event: Any) -> str:
    """``sqs`` (an event source's batch), ``sns`` (``document-changed`` invoking the worker) or
    ``job`` (a chat job invoked asynchronously; anything else is validated as one)."""
    records = event.get("Records") if isinstance(event, dict) else None
    first = records[0] if isinstance(records, list) and records else None
    if isinstance(first, dict) and first.get("eventSource") == "aws:sqs":
        return "sqs"
    if isinstance(first, dict) and first.get("EventSource") == "aws:sns":
        return "sns"
    return "job"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = chat_wiring()
    try:
        return _dispatch(services, event, context)
    finally:
        services.metrics.flush()  # what a turn left buffered (a model's retries, ...)


def _dispatch(services: ChatWiring, event: dict[str, Any], context: Any) -> dict[str, Any]:
    source = invocation_source(event)
    if source == "job":
        return answer_invoked_job(services, event, context)
    if source == "sns":
        return invalidate_from_sns(services, event)
    chat_queue = queue_name(services.settings.chat_queue_url)

    def record_handler(record: SQSRecord) -> Any:
        if queue_name(record.event_source_arn) == chat_queue:
            return answer_job(services, record, context)
        return invalidate_cache(services, record)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
