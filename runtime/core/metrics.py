"""Operations metrics: what a turn, a model call and an ingest tell the people who run chorus.

The chat service, the resilient providers and the ingestor report here, and only here; a
``MetricsSink`` decides where the figures go (CloudWatch EMF lines in Lambda, an in-process
counter on the laptop). Metric names and dimensions live in this module alone, so the cloud
dashboard and alarms (``components/``) and the local ``chorus stats`` read the same catalogue.

Dimensions are few on purpose: every distinct dimension combination is a CloudWatch custom
metric billed by the month while it receives data. Per turn: ``Mode`` and ``Outcome`` (both
also rolled up to the service); per model: ``Model``; retrieval: ``Store``; ingest failures:
``Reason`` (an exception type, a bounded set, never free text).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol

from .errors import UnsupportedDocument

NAMESPACE = "chorus"
"""The one CloudWatch namespace (the functions' IAM condition allows only this one)."""
SERVICE = "chorus"
"""The ``service`` dimension every metric carries (Powertools adds it)."""


class Unit(StrEnum):
    """CloudWatch units chorus uses."""

    COUNT = "Count"
    MILLISECONDS = "Milliseconds"
    SECONDS = "Seconds"
    NONE = "None"


class MetricName(StrEnum):
    """Every metric chorus emits (namespace ``chorus``)."""

    TURNS = "Turns"
    """One per turn; dimension sets: service, service+Mode, service+Outcome."""
    TURN_ERRORS = "TurnErrors"
    """One per turn that ended in a server-side error (not the user's bad request)."""
    TURN_LATENCY = "TurnLatency"
    """Milliseconds from the message to ``final``; service and service+Mode."""
    TURN_FIRST_TOKEN = "TurnFirstTokenLatency"
    """Milliseconds from the message to the first streamed token; service and service+Mode."""
    CACHE_HITS = "CacheHits"
    CACHE_MISSES = "CacheMisses"
    RETRIEVAL_LATENCY = "RetrievalLatency"
    """Milliseconds of retrieval; dimension ``Store``."""
    MODEL_LATENCY = "ModelLatency"
    MODEL_ERRORS = "ModelErrors"
    MODEL_RETRIES = "ModelRetries"
    MODEL_THROTTLES = "ModelThrottles"
    MODEL_BREAKER_OPENS = "ModelBreakerOpens"
    MODEL_INPUT_TOKENS = "ModelInputTokens"
    MODEL_OUTPUT_TOKENS = "ModelOutputTokens"
    MODEL_COST = "ModelCost"
    """USD (unit None)."""
    MODEL_GROUNDING = "ModelGrounding"
    MODEL_AGREEMENT = "ModelAgreement"
    TURN_COST = "TurnCost"
    """USD of a whole turn (unit None); service only."""
    INGEST_DOCUMENTS = "IngestDocuments"
    """One per document; dimension ``Outcome`` (indexed, unchanged, skipped, failed, ...)."""
    INGEST_CHUNKS = "IngestChunks"
    INGEST_SECONDS = "IngestSeconds"
    INGEST_FAILURES = "IngestFailures"
    """One per failed or unreadable (skipped) document; dimension ``Reason`` (the exception
    type)."""
    EVAL_CITATION_PRECISION = "EvalCitationPrecision"
    """Scheduled evaluation (``core.scheduled_evaluation``): one value per run, dimension
    ``Workspace``; shares in [0, 1] (unit None)."""
    EVAL_CITATION_RECALL = "EvalCitationRecall"
    EVAL_GROUNDING_SUPPORTED = "EvalGroundingSupported"
    EVAL_REFUSAL_ACCURACY = "EvalRefusalAccuracy"
    EVAL_QUALITY = "EvalQuality"
    EVAL_LATENCY_P95 = "EvalLatencyP95"
    """Milliseconds to ``final``, 95th percentile over the run's questions."""
    EVAL_REGRESSIONS = "EvalRegressions"
    """Headline figures worse than the workspace's accepted baseline by more than the margin;
    dimension ``Workspace``, also rolled up to the service (what the alarm watches)."""


CLIENT_ERROR_CODES = frozenset(
    {
        "bad_request",
        "payload_too_large",
        "not_found",
        "forbidden",
        "unauthorized",
        "unknown_model",
        "conflict",
        "context_too_long",
    }
)
"""Error codes that say the request was wrong, not that chorus failed: not ``TurnErrors``."""


class MetricsSink(Protocol):
    """Where figures go. ``rollup`` also publishes the value without ``dimensions`` (service
    only), so one line gives both the total and the breakdown."""

    def record(
        self,
        name: str,
        value: float,
        unit: Unit,
        dimensions: Mapping[str, str] | None = None,
        *,
        rollup: bool = False,
    ) -> None: ...

    def flush(self) -> None:
        """Send what is buffered (a sink that sends nothing later does nothing)."""
        ...


class Spans(Protocol):
    """Where a slow turn spent its time: named spans (X-Ray subsegments in Lambda)."""

    def span(
        self, name: str, annotations: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[Any]: ...


class NoSpans:
    """Spans that record nothing (the default, and the laptop's)."""

    def span(
        self, name: str, annotations: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()


class NoMetricsSink:
    """A sink that drops every figure."""

    def record(
        self,
        name: str,
        value: float,
        unit: Unit,
        dimensions: Mapping[str, str] | None = None,
        *,
        rollup: bool = False,
    ) -> None:
        return None

    def flush(self) -> None:
        return None


def store_label(store: object) -> str:
    """A vector store's name for the ``Store`` dimension: its ``kind`` or its class name."""
    kind = getattr(store, "kind", None)
    return kind if isinstance(kind, str) and kind else type(store).__name__


def turn_outcome(event: Mapping[str, Any]) -> str:
    """``answered``, ``cached``, or the error code of an ``error`` event."""
    if event.get("type") == "error":
        return str(event.get("code") or "internal_error")
    return "cached" if event.get("cached") else "answered"


class OperationsMetrics:
    """The domain's figures, recorded through one sink (and spans through one tracer).

    Example
    -------
    >>> ops = OperationsMetrics(InProcessMetrics())
    >>> ops.turn(final_event)            # after every turn, success or error
    >>> ops.model_retry("claude", "throttled")
    """

    def __init__(self, sink: MetricsSink, spans: Spans | None = None) -> None:
        self.sink = sink
        self.spans: Spans = spans or NoSpans()

    def span(
        self, name: str, annotations: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[Any]:
        return self.spans.span(name, annotations)

    def flush(self) -> None:
        """Send the buffered figures (after a turn, a document, an invocation)."""
        self.sink.flush()

    # -- chat -------------------------------------------------------------------------------

    def turn(self, event: Mapping[str, Any], mode: str) -> None:
        """Record one turn from the ``final`` or ``error`` event that ended it."""
        record = self.sink.record
        outcome = turn_outcome(event)
        record(MetricName.TURNS, 1, Unit.COUNT, {"Mode": mode}, rollup=True)
        record(MetricName.TURNS, 1, Unit.COUNT, {"Outcome": outcome})
        if event.get("type") == "error":
            if outcome not in CLIENT_ERROR_CODES:
                record(MetricName.TURN_ERRORS, 1, Unit.COUNT)
            return
        latency = event.get("latencyMs") or {}
        if isinstance(latency.get("total"), int | float):
            record(
                MetricName.TURN_LATENCY,
                latency["total"],
                Unit.MILLISECONDS,
                {"Mode": mode},
                rollup=True,
            )
        if isinstance(latency.get("firstToken"), int | float):
            record(
                MetricName.TURN_FIRST_TOKEN,
                latency["firstToken"],
                Unit.MILLISECONDS,
                {"Mode": mode},
                rollup=True,
            )
        if isinstance(event.get("cost"), int | float):
            record(MetricName.TURN_COST, event["cost"], Unit.NONE)
        if event.get("cached"):
            return  # no model was called: nothing per model
        answers = list(event.get("answers") or [])
        if event.get("judge"):
            answers.append(event["judge"])
        for answer in answers:
            self.model_answer(answer)

    def model_answer(self, answer: Mapping[str, Any]) -> None:
        """One model's part in a turn (an item of ``final.answers``)."""
        model = {"Model": str(answer.get("model"))}
        record = self.sink.record
        if answer.get("error"):
            record(MetricName.MODEL_ERRORS, 1, Unit.COUNT, model)
        values: Sequence[tuple[MetricName, Any, Unit]] = (
            (MetricName.MODEL_LATENCY, answer.get("latencyMs"), Unit.MILLISECONDS),
            (MetricName.MODEL_COST, answer.get("cost"), Unit.NONE),
            (MetricName.MODEL_GROUNDING, answer.get("grounding"), Unit.NONE),
            (MetricName.MODEL_AGREEMENT, answer.get("agreement"), Unit.NONE),
        )
        usage = answer.get("usage") or {}
        tokens = (
            (MetricName.MODEL_INPUT_TOKENS, usage.get("inputTokens"), Unit.COUNT),
            (MetricName.MODEL_OUTPUT_TOKENS, usage.get("outputTokens"), Unit.COUNT),
        )
        for name, value, unit in (*values, *tokens):
            if isinstance(value, int | float) and not isinstance(value, bool):
                record(name, value, unit, model)

    def cache_lookup(self, hit: bool) -> None:
        self.sink.record(MetricName.CACHE_HITS if hit else MetricName.CACHE_MISSES, 1, Unit.COUNT)

    def retrieval(self, store: str, milliseconds: float) -> None:
        self.sink.record(
            MetricName.RETRIEVAL_LATENCY, milliseconds, Unit.MILLISECONDS, {"Store": store}
        )

    # -- resilience -------------------------------------------------------------------------

    def model_retry(self, model: str, code: str) -> None:
        """A call to ``model`` failed with ``code`` and is tried again."""
        self.sink.record(MetricName.MODEL_RETRIES, 1, Unit.COUNT, {"Model": model})
        if code == "throttled":
            self.sink.record(MetricName.MODEL_THROTTLES, 1, Unit.COUNT, {"Model": model})

    def breaker_opened(self, model: str) -> None:
        """``model``'s circuit breaker opened: calls to it fail fast for a while."""
        self.sink.record(MetricName.MODEL_BREAKER_OPENS, 1, Unit.COUNT, {"Model": model})

    # -- ingest -----------------------------------------------------------------------------

    def ingested(self, outcome: str, chunks: int, seconds: float, reason: str | None) -> None:
        """One document's ingest (``IngestResult`` fields)."""
        record = self.sink.record
        record(MetricName.INGEST_DOCUMENTS, 1, Unit.COUNT, {"Outcome": outcome}, rollup=True)
        if outcome == "indexed":
            record(MetricName.INGEST_CHUNKS, chunks, Unit.COUNT)
        if outcome in ("indexed", "failed", "paused"):
            record(MetricName.INGEST_SECONDS, seconds, Unit.SECONDS)
        if outcome in ("failed", "skipped"):
            # a skipped document is one chorus cannot read (the only reason it skips one)
            label = UnsupportedDocument.__name__ if outcome == "skipped" else failure_reason(reason)
            record(MetricName.INGEST_FAILURES, 1, Unit.COUNT, {"Reason": label}, rollup=True)

    # -- scheduled evaluation -----------------------------------------------------------------

    def evaluation(self, workspace_id: str, figures: Mapping[str, float], regressions: int) -> None:
        """One scheduled run's headline ``figures`` (``MetricName`` value → number) and its
        count of regressions against the baseline, per workspace."""
        workspace = {"Workspace": workspace_id}
        for name, value in figures.items():
            unit = Unit.MILLISECONDS if name == MetricName.EVAL_LATENCY_P95 else Unit.NONE
            self.sink.record(MetricName(name), value, unit, workspace)
        self.sink.record(
            MetricName.EVAL_REGRESSIONS, regressions, Unit.COUNT, workspace, rollup=True
        )


def failure_reason(reason: str | None) -> str:
    """The bounded part of an ingest failure's reason (``"TypeName: message"`` → the type)."""
    if not reason:
        return "unknown"
    head = reason.split(":", 1)[0].strip()
    return head if head.isidentifier() else "unknown"


NO_METRICS = OperationsMetrics(NoMetricsSink())
"""Where a service without metrics reports (nothing is kept)."""
