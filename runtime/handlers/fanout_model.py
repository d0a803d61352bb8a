"""Step Functions task ``AskOneModel``: one model of a consensus fan-out answers.

Input ``{"model", "request": {"question", "context", "history", "temperature", "maxTokens"}}``
(one item of the workflow's ``Map``); output ``{"model", "text", "usage", "cost", "latencyMs"}``.
A failure raises a typed error whose class name is the Lambda error type the workflow's
``Retry``/``Catch`` match on (``Throttled``, ``ProviderError``, ``ContextTooLong``,
``ProviderTimeout`` ...; see ``runtime/cloud/fanout.py``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..cloud.fanout import ask_model
from ..cloud.wiring.models import model_wiring
from ..core.errors import BadRequest
from .observability import logger, metrics, tracer


class ModelTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    request: dict[str, Any]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        task = ModelTask.model_validate(event)
    except ValidationError as exc:
        raise BadRequest(
            f"the task input must be {{'model': ..., 'request': {{...}}}} "
            f"({exc.error_count()} problem(s)); see docs/orchestration.md"
        ) from None
    logger.append_keys(model=task.model)
    services = model_wiring()
    try:
        return ask_model(services, event)
    finally:
        services.metrics.flush()  # the model's breaker openings
