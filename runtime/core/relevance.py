"""Answer relevance: does the answer address the question, not only is it supported?

Grounding tells whether an answer's sentences come from the sources; it cannot tell an
answer built from on-topic sentences from one built from off-topic ones (every quoted
sentence is grounded). Relevance is the cosine between the question (embedded as a query)
and the answer (as a passage), with the retrieval Embedder: one extra embedding per answer.
Consensus uses it to break ties and the ``final`` event carries it per answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .agreement import strip_citations
from .answering import NO_ANSWER
from .ports import Embedder


@runtime_checkable
class RelevanceScorer(Protocol):
    """Scores how well each answer addresses the question, in [0, 1] (None: nothing to score,
    as for the standard "not found" reply)."""

    def score(self, question: str, answers: Sequence[str]) -> list[float | None]: ...


class EmbeddingRelevanceScorer:
    """Question–answer cosine with the retrieval Embedder, clipped to [0, 1]."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def score(self, question: str, answers: Sequence[str]) -> list[float | None]:
        texts = [strip_citations(a) for a in answers]
        scored = [i for i, t in enumerate(texts) if t and t != NO_ANSWER]
        out: list[float | None] = [None] * len(answers)
        if not scored or not question.strip():
            return out
        query = np.asarray(self.embedder.embed([question], kind="query")[0], dtype=np.float64)
        vectors = np.asarray(
            self.embedder.embed([texts[i] for i in scored], kind="passage"), dtype=np.float64
        )
        for i, value in zip(scored, vectors @ query, strict=True):
            out[i] = round(float(np.clip(value, 0.0, 1.0)), 4)
        return out
