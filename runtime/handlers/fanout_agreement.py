"""Step Functions task ``ScoreAgreement``: agreement and grounding over the fan-out's answers.

Input ``{"request", "answers": [...]}`` (failed models carry ``failed: true`` and the caught
``error``); output ``{"answers", "partial", "agreement", "medoid", "model", "answer"}`` plus
``error`` when every model failed — the workflow itself succeeds either way.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from ..cloud.fanout import score_agreement
from ..cloud.wiring.models import model_wiring
from ..core.errors import BadRequest
from .observability import logger, metrics, tracer


class AgreementTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request: dict[str, Any]
    answers: list[dict[str, Any]]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        AgreementTask.model_validate(event)
    except ValidationError as exc:
        raise BadRequest(
            f"the task input must be {{'request': {{...}}, 'answers': [...]}} "
            f"({exc.error_count()} problem(s)); see docs/orchestration.md"
        ) from None
    return score_agreement(model_wiring(), event)
