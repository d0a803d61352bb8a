"""The consensus fan-out as a Step Functions Express workflow, generated from a Python plan.

The chat worker answers consensus turns in-process (``orchestration.py``); in the cloud the same
fan-out can run as a workflow so each model call is its own Lambda with its own retries, and one
model failing never fails the fan-out. The ASL is generated here and checked in as
``runtime/statemachines/consensus_fanout.asl.json`` (a test fails when they differ); the
infrastructure replaces the ``${FanoutModelFunctionArn}`` and ``${AgreementFunctionArn}``
placeholders with ARNs at deploy time (components/orchestrator.py).

Shape: ``AskModels`` (Map over ``$.models``; per model a Lambda task with Retry — full-jitter
exponential backoff on throttling and transient errors only — and a Catch into a ``ModelFailed``
Pass state that records the error) → ``ScoreAgreement`` (a Lambda task over all results).
The two task functions at the bottom are what those Lambdas do; handlers only parse and call.

Regenerate the file with ``python -m chorus.runtime.core.stepfunctions_plan``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .agreement import AgreementScorer
from .answering import Answerer
from .context import AssembledContext, Citation
from .errors import ChorusError, ProviderError
from .grounding import GroundingJudge
from .models import ChatMessage, SearchHit, TokenUsage
from .orchestration import ModelPrice, usage_dict

ASL_PATH = Path(__file__).resolve().parents[1] / "statemachines" / "consensus_fanout.asl.json"
MODEL_FUNCTION = "${FanoutModelFunctionArn}"
AGREEMENT_FUNCTION = "${AgreementFunctionArn}"

LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
)
"""Lambda's own throttling and 5xx errors (the invoke never reached or finished our code)."""

PROVIDER_RETRY_ERRORS = ("Throttled", "ProviderError", "ThrottlingException")
"""Error types our task raises that are worth retrying: a throttled or unavailable provider.
``ContextTooLong`` and ``ProviderTimeout`` are not — the same call would fail the same way or
spend the whole budget again."""

ERROR_CODES = {
    "Throttled": "throttled",
    "ThrottlingException": "throttled",
    "Lambda.TooManyRequestsException": "throttled",
    "ProviderTimeout": "timeout",
    "States.Timeout": "timeout",
    "ContextTooLong": "context_too_long",
}
"""Step Functions error names → the chat protocol's error codes (others: provider_unavailable)."""


@dataclass(frozen=True)
class RetryPolicy:
    """One ASL ``Retry`` rule."""

    errors: tuple[str, ...]
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    jitter: bool = True

    def to_asl(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "ErrorEquals": list(self.errors),
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": float(self.backoff_rate),  # statelint wants a float
        }
        if self.jitter:
            rule["JitterStrategy"] = "FULL"
        return rule


@dataclass(frozen=True)
class FanoutPlan:
    """The knobs of the consensus workflow; ``to_asl`` renders it.

    max_concurrency:
        Models asked at once (8, the protocol's limit on ``models``).
    model_timeout_s / agreement_timeout_s / total_timeout_s:
        Task and workflow deadlines (Express workflows stop at 5 minutes).
    model_retry / agreement_retry:
        Retry rules of the two tasks.
    """

    model_function: str = MODEL_FUNCTION
    agreement_function: str = AGREEMENT_FUNCTION
    max_concurrency: int = 8
    model_timeout_s: int = 120
    agreement_timeout_s: int = 60
    total_timeout_s: int = 300
    model_retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(LAMBDA_TRANSIENT_ERRORS + PROVIDER_RETRY_ERRORS)
    )
    agreement_retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(LAMBDA_TRANSIENT_ERRORS, max_attempts=2)
    )

    def to_asl(self) -> dict[str, Any]:
        ask_one = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": self.model_function, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "TimeoutSeconds": self.model_timeout_s,
            "Retry": [self.model_retry.to_asl()],
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ModelFailed"}
            ],
            "End": True,
        }
        model_failed = {
            "Type": "Pass",
            "Comment": "A failed model becomes a result with its error: the fan-out goes on.",
            "Parameters": {"model.$": "$.model", "failed": True, "error.$": "$.error"},
            "End": True,
        }
        return {
            "Comment": (
                "chorus consensus: ask every model of the request in parallel (one failing model "
                "never fails the fan-out), then score agreement. Express workflow, started "
                "synchronously by the chat worker. Generated by runtime/core/stepfunctions_plan.py "
                "(do not edit by hand). Placeholders (dollar-brace names) are substituted at "
                "deploy time by components/orchestrator.py."
            ),
            "StartAt": "AskModels",
            "TimeoutSeconds": self.total_timeout_s,
            "States": {
                "AskModels": {
                    "Type": "Map",
                    "Comment": (
                        "One iteration per model; the per-iteration Retry/Catch replace Parallel "
                        "branches for a model list only known at run time."
                    ),
                    "ItemsPath": "$.models",
                    "ItemSelector": {"model.$": "$$.Map.Item.Value", "request.$": "$.request"},
                    "MaxConcurrency": self.max_concurrency,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "AskOneModel",
                        "States": {"AskOneModel": ask_one, "ModelFailed": model_failed},
                    },
                    "ResultPath": "$.answers",
                    "Next": "ScoreAgreement",
                },
                "ScoreAgreement": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {
                        "FunctionName": self.agreement_function,
                        "Payload": {"request.$": "$.request", "answers.$": "$.answers"},
                    },
                    "OutputPath": "$.Payload",
                    "TimeoutSeconds": self.agreement_timeout_s,
                    "Retry": [self.agreement_retry.to_asl()],
                    "End": True,
                },
            },
        }


def consensus_fanout_definition(plan: FanoutPlan | None = None) -> dict[str, Any]:
    """The ASL document of the consensus fan-out."""
    return (plan or FanoutPlan()).to_asl()


def render(definition: Mapping[str, Any]) -> str:
    """The checked-in text: stable key order, two-space indent, trailing newline."""
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def write_definition(path: Path = ASL_PATH, plan: FanoutPlan | None = None) -> Path:
    path.write_text(render(consensus_fanout_definition(plan)), encoding="utf-8")
    return path


# -- what the workflow's Lambdas do -------------------------------------------------------------


def context_payload(context: AssembledContext) -> dict[str, Any]:
    """An assembled context as JSON for the workflow input (the chat worker retrieved once)."""
    return {
        "text": context.text,
        "tokens": context.tokens,
        "citations": [
            {
                "n": c.number,
                "chunkId": c.hit.chunk_id,
                "documentId": c.hit.document_id,
                "ordinal": c.hit.ordinal,
                "text": c.hit.text,
                "score": c.hit.score,
                "metadata": dict(c.hit.metadata),
            }
            for c in context.citations
        ],
    }


def context_from_payload(payload: Mapping[str, Any]) -> AssembledContext:
    citations = [
        Citation(
            int(c["n"]),
            SearchHit(
                c["chunkId"],
                c["documentId"],
                int(c.get("ordinal", 0)),
                c["text"],
                float(c.get("score", 0.0)),
                c.get("metadata") or {},
            ),
        )
        for c in payload.get("citations", [])
    ]
    return AssembledContext(str(payload.get("text", "")), citations, int(payload.get("tokens", 0)))


def fanout_model_task(
    event: Mapping[str, Any],
    answerers: Mapping[str, Answerer],
    prices: Mapping[str, ModelPrice] | None = None,
) -> dict[str, Any]:
    """``AskOneModel``: one model answers the request; errors propagate (typed, so the
    workflow's Retry and Catch can tell throttling from a bad request).

    Event: ``{"model": name, "request": {"question", "context", "history", "temperature",
    "maxTokens"}}`` as the chat worker starts the workflow with.
    """
    model = str(event.get("model", ""))
    if model not in answerers:
        raise ChorusError(f"unknown model {model!r}", code="unknown_model")
    request = event.get("request") or {}
    started = time.perf_counter()
    pieces: list[str] = []
    usage = TokenUsage()
    for delta in answerers[model].answer(
        str(request.get("question", "")),
        context_from_payload(request.get("context") or {}),
        [ChatMessage(m["role"], m["content"]) for m in request.get("history", [])],
        temperature=request.get("temperature"),
        max_tokens=request.get("maxTokens"),
    ):
        pieces.append(delta.text)
        if delta.usage is not None:
            usage = delta.usage
    text = "".join(pieces).strip()
    if not text:
        raise ProviderError(f"model {model!r} returned an empty answer")
    price = (prices or {}).get(model, ModelPrice())
    return {
        "model": model,
        "text": text,
        "usage": usage_dict(usage),
        "cost": price.cost(usage),
        "latencyMs": round((time.perf_counter() - started) * 1000, 2),
    }


def fanout_agreement_task(
    event: Mapping[str, Any],
    scorer: AgreementScorer,
    grounding: GroundingJudge | None = None,
) -> dict[str, Any]:
    """``ScoreAgreement``: agreement over the answers that succeeded, the medoid chosen, failed
    models kept with their error code; ``error`` set (and no answer) only when all failed."""
    request = event.get("request") or {}
    results: list[dict[str, Any]] = []
    for item in event.get("answers") or []:
        if item.get("failed"):
            error = item.get("error") or {}
            name = str(error.get("Error", ""))
            results.append(
                {
                    "model": item.get("model"),
                    "text": "",
                    "error": {
                        "code": ERROR_CODES.get(name, "provider_unavailable"),
                        "message": f"{name}: {_cause_message(error.get('Cause'))}",
                    },
                }
            )
        else:
            results.append(dict(item))
    ok = [r for r in results if "error" not in r]
    out: dict[str, Any] = {
        "answers": results,
        "partial": len(ok) < len(results),
        "agreement": None,
        "pairwise": None,
        "medoid": None,
        "model": None,
        "answer": None,
    }
    if not ok:
        codes = sorted({r["error"]["code"] for r in results})
        out["error"] = {
            "code": codes[0] if len(codes) == 1 else "provider_unavailable",
            "message": "every model failed: "
            + "; ".join(f"{r['model']}: {r['error']['code']}" for r in results),
        }
        return out
    agreement = scorer.score(str(request.get("question", "")), [r["text"] for r in ok])
    for r, mean in zip(ok, agreement.per_answer, strict=True):
        r["agreement"] = mean
    if grounding is not None:
        context = context_from_payload(request.get("context") or {})
        for r, report in zip(ok, grounding.check([r["text"] for r in ok], context), strict=True):
            r["grounding"], r["unsupported"] = report.score, report.unsupported
    chosen = ok[agreement.medoid or 0]
    out.update(
        agreement=agreement.score,
        pairwise=agreement.pairwise,
        medoid=results.index(chosen),
        model=chosen["model"],
        answer=chosen["text"],
    )
    return out


def _cause_message(cause: Any) -> str:
    """Lambda puts ``{"errorMessage", "errorType"}`` as a JSON string in ``Cause``."""
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause[:300]
        if isinstance(parsed, dict):
            return str(parsed.get("errorMessage", ""))[:300]
    return str(cause or "")[:300]


def _main(argv: Sequence[str] | None = None) -> None:
    print(write_definition())


if __name__ == "__main__":
    _main()
