"""The consensus fan-out as the Step Functions Express workflow: ``ModelFanOut`` over
``StartSyncExecution``.

The chat worker retrieves once, then starts ``consensus_fanout.asl.json`` synchronously: a
``Map`` asks each model in its own Lambda (retrying throttling with full jitter, catching a
failed model as a result), then ``ScoreAgreement`` scores the answers. One model's failure is a
failed answer; the workflow itself failing, timing out, being throttled or refusing the input
size is ``FanOutUnavailable``, and the orchestrator then asks the models in process.

The input is ``{"models", "request": {"question", "context", "history", "temperature",
"maxTokens"}}`` (``core/stepfunctions_plan.py`` reads the same shape); the output is the
agreement task's ``{"answers", "agreement", "medoid", ...}``. Express executions take at most
256 KiB of input, so a larger request is not sent at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.agreement import AgreementResult
from ..core.context import AssembledContext
from ..core.errors import ContextTooLong, ProviderError, ProviderTimeout, Throttled
from ..core.models import ChatMessage, TokenUsage
from ..core.orchestration import FanOutResult, FanOutUnavailable, ModelAnswer
from ..core.stepfunctions_plan import context_payload

MAX_INPUT_BYTES = 256 * 1024
"""Step Functions' limit on an execution's input (and on each state's data)."""

_ERRORS_BY_CODE: dict[str, type[ProviderError]] = {
    "context_too_long": ContextTooLong,
    "throttled": Throttled,
    "timeout": ProviderTimeout,
}


class StepFunctionsFanOut:
    """Asks models through the fan-out workflow and waits for its result.

    Parameters
    ----------
    client:
        A boto3 ``stepfunctions`` client whose read timeout outlasts the workflow's
        ``TimeoutSeconds`` (300 s), since ``StartSyncExecution`` answers when it ends.
    state_machine_arn:
        The Express state machine (``fanoutStateMachineArn`` of the app config).
    """

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def ask_all(
        self,
        models: Sequence[str],
        question: str,
        context: AssembledContext,
        history: Sequence[ChatMessage],
        *,
        temperature: float | None,
        max_tokens: int | None,
    ) -> FanOutResult:
        payload = json.dumps(
            {
                "models": list(models),
                "request": {
                    "question": question,
                    "context": context_payload(context),
                    "history": [{"role": m.role, "content": m.content} for m in history],
                    "temperature": temperature,
                    "maxTokens": max_tokens,
                },
            },
            ensure_ascii=False,
        )
        size = len(payload.encode())
        if size > MAX_INPUT_BYTES:
            raise FanOutUnavailable(
                f"the fan-out input is {size} bytes, over Step Functions' {MAX_INPUT_BYTES}"
            )
        try:
            response = self.client.start_sync_execution(
                stateMachineArn=self.state_machine_arn, input=payload
            )
        except (ClientError, BotoCoreError) as exc:
            raise FanOutUnavailable(f"StartSyncExecution failed: {exc}") from None
        status = response.get("status")
        if status != "SUCCEEDED":
            reason = response.get("error") or status
            cause = response.get("cause") or ""
            raise FanOutUnavailable(
                f"the fan-out workflow ended {status}: {reason} {cause}".strip()
            )
        try:
            return parse_output(json.loads(response.get("output") or "{}"), models)
        except (ValueError, KeyError, TypeError) as exc:
            raise FanOutUnavailable(f"the fan-out workflow's output is malformed: {exc}") from None


def parse_output(output: Mapping[str, Any], models: Sequence[str]) -> FanOutResult:
    """Model answers in the order asked (a model the output lacks is a failed answer) and the
    agreement the workflow scored over the answers that succeeded."""
    by_model = {str(item["model"]): item for item in output.get("answers") or []}
    answers = [_answer(model, by_model.get(model)) for model in models]
    answered = [a for a in answers if a.ok]
    agreement = None
    score = output.get("agreement")
    if score is not None and len(answered) > 1:
        medoid_model = output.get("model")
        medoid = next((i for i, a in enumerate(answered) if a.model == medoid_model), 0)
        agreement = AgreementResult(
            score=float(score),
            medoid=medoid,
            per_answer=[_float(by_model[a.model].get("agreement")) for a in answered],
            pairwise=[[float(v) for v in row] for row in output.get("pairwise") or []],
        )
    return FanOutResult(answers, agreement)


def _answer(model: str, item: Mapping[str, Any] | None) -> ModelAnswer:
    if item is None:
        return ModelAnswer(model, error=ProviderError(f"the fan-out returned no answer of {model}"))
    error = item.get("error")
    if error:
        code = str(error.get("code") or "provider_unavailable")
        kind = _ERRORS_BY_CODE.get(code, ProviderError)
        return ModelAnswer(model, error=kind(str(error.get("message") or code), code=code))
    usage = item.get("usage") or {}
    return ModelAnswer(
        model,
        text=str(item["text"]),
        usage=TokenUsage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))),
        cost=float(item.get("cost") or 0.0),
        latency_ms=float(item.get("latencyMs") or 0.0),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
