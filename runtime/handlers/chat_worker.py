"""Chat worker: answers queued chat jobs and takes ``document-changed`` notifications.

One function serves two SQS sources, told apart by ``eventSourceARN``: the chat queue (batch 1:
retrieval, models, frames back through the management API) and the cache-invalidation queue
(SNS ``document-changed``, raw delivery), whose notifications drop the workspace's cached
answers. With an idempotency table a redelivered job is not answered (and billed) twice.
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


def queue_name(arn_or_url: str) -> str:
    """The queue name at the end of an SQS ARN (``…:name``) or URL (``…/name``)."""
    return arn_or_url.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]


def answer_job(services: ChatWiring, record: SQSRecord, context: Any = None) -> dict:
    try:
        job = ChatJob.model_validate_json(record.body)
    except ValidationError as exc:
        raise BadRequest(f"chat job is malformed: {exc.error_count()} problem(s)") from None

    def answer(*, job: dict[str, Any]) -> dict[str, Any]:
        return run_chat_job(services, ChatJob.model_validate(job))

    run = idempotent(
        services, answer, "job", key_prefix="chat", event_key_jmespath="requestId", context=context
    )
    final = run(job=job.model_dump(mode="json"))
    metrics.add_metric(name=f"Chat_{final.get('type', 'unknown')}", unit=MetricUnit.Count, value=1)
    return final


def invalidate_cache(services: ChatWiring, record: SQSRecord) -> dict[str, Any]:
    """A ``document-changed`` notification: drop the workspace's cached answers."""
    outcome = invalidate_on_document_changed(services, record.body)
    logger.info("document changed", extra={"change": outcome})
    if outcome["invalidated"]:
        metrics.add_metric(
            name="CacheEntriesInvalidated", unit=MetricUnit.Count, value=outcome["invalidated"]
        )
    return outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = chat_wiring()
    chat_queue = queue_name(services.settings.chat_queue_url)

    def record_handler(record: SQSRecord) -> Any:
        if queue_name(record.event_source_arn) == chat_queue:
            return answer_job(services, record, context)
        return invalidate_cache(services, record)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
