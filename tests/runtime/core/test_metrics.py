"""What the operations metrics record for a turn, a model call and an ingest (in-process sink)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from chorus.runtime.adapters.inprocess_metrics import InProcessMetrics
from chorus.runtime.core.errors import ProviderError, Throttled
from chorus.runtime.core.metrics import OperationsMetrics, failure_reason, turn_outcome
from chorus.runtime.core.models import ChatMessage, LLMDelta
from chorus.runtime.core.resilience import BreakerPolicy, ResilientProvider, RetryPolicy

FINAL = {
    "type": "final",
    "cached": False,
    "cost": 0.0042,
    "latencyMs": {"total": 812.5, "firstToken": 140.0},
    "answers": [
        {"model": "claude", "latencyMs": 700.0, "cost": 0.003, "grounding": 0.9,
         "agreement": 0.8, "usage": {"inputTokens": 1200, "outputTokens": 90}},
        {"model": "gpt", "latencyMs": 650.0, "cost": 0.0012, "grounding": 0.7,
         "agreement": 0.8, "usage": {"inputTokens": 1100, "outputTokens": 80}},
    ],
    "judge": None,
}  # fmt: skip
MESSAGES = [ChatMessage("user", "hi")]


@pytest.fixture
def sink() -> InProcessMetrics:
    return InProcessMetrics()


def value(sink: InProcessMetrics, name: str, **dimensions: str) -> float | None:
    row = sink.series(name, **dimensions)
    return None if row is None else row["sum"]


def test_a_turn_counts_by_mode_by_outcome_and_in_total(sink):
    OperationsMetrics(sink).turn(FINAL, "consensus")

    assert value(sink, "Turns", Mode="consensus") == 1
    assert value(sink, "Turns", Outcome="answered") == 1
    assert value(sink, "Turns") == 1  # the rollup the alarms read
    assert value(sink, "TurnErrors") is None


def test_a_turn_records_latency_to_first_token_and_to_final(sink):
    OperationsMetrics(sink).turn(FINAL, "consensus")

    assert value(sink, "TurnLatency") == 812.5
    assert value(sink, "TurnFirstTokenLatency", Mode="consensus") == 140.0
    assert value(sink, "TurnCost") == pytest.approx(0.0042)


def test_each_model_of_a_turn_reports_latency_tokens_cost_grounding_and_agreement(sink):
    OperationsMetrics(sink).turn(FINAL, "consensus")

    assert value(sink, "ModelLatency", Model="claude") == 700.0
    assert value(sink, "ModelInputTokens", Model="gpt") == 1100
    assert value(sink, "ModelOutputTokens", Model="claude") == 90
    assert value(sink, "ModelCost", Model="gpt") == pytest.approx(0.0012)
    assert value(sink, "ModelGrounding", Model="claude") == 0.9
    assert value(sink, "ModelAgreement", Model="gpt") == 0.8


def test_a_server_side_error_is_a_turn_error_but_a_bad_request_is_not(sink):
    ops = OperationsMetrics(sink)
    ops.turn({"type": "error", "code": "all_models_failed"}, "single")
    ops.turn({"type": "error", "code": "bad_request"}, "single")

    assert value(sink, "Turns") == 2
    assert value(sink, "TurnErrors") == 1
    assert value(sink, "Turns", Outcome="bad_request") == 1


def test_a_cached_turn_is_its_own_outcome_and_calls_no_model(sink):
    cached = {**FINAL, "cached": True, "latencyMs": {"total": 20.0, "firstToken": 20.0}}
    OperationsMetrics(sink).turn(cached, "single")

    assert turn_outcome(cached) == "cached"
    assert value(sink, "Turns", Outcome="cached") == 1
    assert sink.series("ModelLatency", Model="claude") is None


def test_retrieval_latency_is_per_store_and_cache_lookups_count_hits_and_misses(sink):
    ops = OperationsMetrics(sink)
    ops.retrieval("PgVectorStore", 35.0)
    ops.cache_lookup(True)
    ops.cache_lookup(False)
    ops.cache_lookup(False)

    assert value(sink, "RetrievalLatency", Store="PgVectorStore") == 35.0
    assert (value(sink, "CacheHits"), value(sink, "CacheMisses")) == (1, 2)


def test_an_ingest_counts_documents_chunks_seconds_and_failures_by_reason(sink):
    ops = OperationsMetrics(sink)
    ops.ingested("indexed", 12, 1.5, None)
    ops.ingested("failed", 0, 0.4, "ProviderError: the embedder answered 503")
    ops.ingested("skipped", 0, 0.0, "cannot read a .xyz file")

    assert value(sink, "IngestDocuments") == 3
    assert value(sink, "IngestDocuments", Outcome="indexed") == 1
    assert value(sink, "IngestChunks") == 12
    assert value(sink, "IngestSeconds") == pytest.approx(1.9)
    assert value(sink, "IngestFailures", Reason="ProviderError") == 1
    assert value(sink, "IngestFailures", Reason="UnsupportedDocument") == 1


def test_a_failure_reason_keeps_only_the_exception_type():
    assert failure_reason("ProviderError: HTTP 503 from the endpoint") == "ProviderError"
    assert failure_reason("a sentence, not a type") == "unknown"
    assert failure_reason(None) == "unknown"


class Failing:
    """A provider that raises ``errors`` in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.name = "claude"
        self.errors = list(errors)

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        if self.errors:
            raise self.errors.pop(0)
        yield LLMDelta("fine")


def test_a_provider_counts_its_retries_and_which_of_them_were_throttles(sink):
    provider = ResilientProvider(
        Failing(Throttled("429"), ProviderError("HTTP 500")),
        retry=RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02),
        breaker=None,
        sleep=lambda _s: None,
        metrics=OperationsMetrics(sink),
    )

    assert [d.text for d in provider.stream_chat(MESSAGES)] == ["fine"]
    assert value(sink, "ModelRetries", Model="claude") == 2
    assert value(sink, "ModelThrottles", Model="claude") == 1


def test_a_breaker_counts_each_time_it_opens(sink):
    provider = ResilientProvider(
        Failing(*[ProviderError("HTTP 500") for _ in range(5)]),
        retry=RetryPolicy(attempts=1),
        breaker=BreakerPolicy(failures=2),
        sleep=lambda _s: None,
        metrics=OperationsMetrics(sink),
    )
    for _ in range(3):
        with pytest.raises(ProviderError):
            list(provider.stream_chat(MESSAGES))

    assert provider.breaker_state == "open"
    assert value(sink, "ModelBreakerOpens", Model="claude") == 1
