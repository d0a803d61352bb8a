"""``evaluate_workspace``: the chat stack of ``chat_worker`` (retrieval, models, grounding) with
the workspaces' eval sets and the results bucket; no semantic cache, so every question of a run
is really answered."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from ..settings import ConfigurationError
from .base import current, from_environment
from .chat import ChatWiring

if TYPE_CHECKING:
    from ...adapters.dynamodb_eval_cases import DynamoDBEvalCases
    from ...adapters.s3_eval_results import EvalResultsBucket
    from ...core.clock import Clock
    from ...core.semantic_cache import SemanticCache

DEFAULT_MARGIN = 0.02


@dataclass(frozen=True)
class EvaluationConfig:
    """What a scheduled run asks and where it keeps the result (the function's environment,
    set by ``components.scheduled_evaluation``)."""

    results_bucket: str
    margin: float = DEFAULT_MARGIN
    """How far below the baseline a headline figure may fall before it counts as a
    regression (absolute, on the 0–1 scale)."""
    mode: str = "single"
    models: tuple[str, ...] = ()
    k: int = 5

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> EvaluationConfig:
        """``CHORUS_EVAL_RESULTS_BUCKET`` (required), ``CHORUS_EVAL_MARGIN``,
        ``CHORUS_EVAL_MODE``, ``CHORUS_EVAL_MODELS`` (comma-separated), ``CHORUS_EVAL_K``."""
        bucket = env.get("CHORUS_EVAL_RESULTS_BUCKET", "")
        if not bucket:
            raise ConfigurationError(
                "CHORUS_EVAL_RESULTS_BUCKET is not set: deploy the function with "
                "chorus:evaluation.enabled (components.ScheduledEvaluation sets it)"
            )
        try:
            margin = float(env.get("CHORUS_EVAL_MARGIN", DEFAULT_MARGIN))
            k = int(env.get("CHORUS_EVAL_K", 5))
        except ValueError as exc:
            raise ConfigurationError(f"CHORUS_EVAL_MARGIN / CHORUS_EVAL_K: {exc}") from None
        if margin < 0 or k < 1:
            raise ConfigurationError("CHORUS_EVAL_MARGIN must be >= 0 and CHORUS_EVAL_K >= 1")
        models = tuple(m.strip() for m in env.get("CHORUS_EVAL_MODELS", "").split(",") if m.strip())
        return cls(bucket, margin, env.get("CHORUS_EVAL_MODE", "single"), models, k)


class EvaluationWiring(ChatWiring):
    """The chat service, the eval sets and the results bucket of one container."""

    evaluation_config: EvaluationConfig | None = None
    """Set by a test; None: read from the environment on first use."""
    eval_clock: Clock | None = None
    """The evaluator's clock for latencies (a test's fake); None: the system clock."""
    run_time: Callable[[], datetime] = staticmethod(lambda: datetime.now(UTC))
    """When a run starts (its result's key); a test pins it."""

    @cached_property
    def config(self) -> EvaluationConfig:
        return self.evaluation_config or EvaluationConfig.from_environment(os.environ)

    @cached_property
    def cache(self) -> SemanticCache | None:
        """Never a semantic cache: a cached answer would score last week's model."""
        return None

    @cached_property
    def eval_cases(self) -> DynamoDBEvalCases:
        from ...adapters.dynamodb_eval_cases import DynamoDBEvalCases

        return DynamoDBEvalCases(self.dynamodb, self.settings.tables.workspace)

    @cached_property
    def results(self) -> EvalResultsBucket:
        from ...adapters.s3_eval_results import EvalResultsBucket

        return EvalResultsBucket(self.client("s3"), self.config.results_bucket)


def evaluation_wiring() -> EvaluationWiring:
    """The evaluation function's wiring, from the app config on the first call."""
    return current(EvaluationWiring, lambda: from_environment(EvaluationWiring))
