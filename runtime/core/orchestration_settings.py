"""The knobs of the multi-model modes, apart from the orchestrator that reads them.

A module of its own so that reading the app config (``runtime/cloud/settings.py``, which every
Lambda does on its first call) does not load the orchestrator, the scorers and numpy.
``runtime.core.orchestration`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrchestrationSettings:
    """Knobs of the multi-model modes.

    model_timeout_s:
        Deadline of one model call, first byte to last token (60 s).
    cascade_grounding:
        Grounding score at or above which a cascade stops (0.75).
    cascade_agreement:
        Agreement with the previous model's answer at or above which a cascade stops even when
        grounding is under ``cascade_grounding``: two models converging is evidence too (0.85) ...
    cascade_agreement_floor:
        ... but only when grounding reaches this floor (0.4): two models repeating the same
        unsupported claim is a shared hallucination, not a consensus.
    judge_model:
        Model that synthesises the consensus answer from the others; None picks the medoid.
    turn_budget_s:
        Budget of a whole turn, retrieval to last token (240 s, under the 300 s chat worker):
        a cascade of hung models ends with ``timeout`` when it is spent, never with silence.
    """

    model_timeout_s: float = 60.0
    turn_budget_s: float = 240.0
    cascade_grounding: float = 0.75
    cascade_agreement: float = 0.85
    cascade_agreement_floor: float = 0.4
    judge_model: str | None = None
