"""Grounding check: is each sentence of an answer supported by the retrieved sources?

A RAG answer is only as trustworthy as its weakest claim, so each answer sentence is compared
with every sentence of the cited context (embedding cosine, the best match wins); a sentence
whose best match is under the threshold is marked unsupported. The answer's grounding score is
the supported share of its words: a short "Yes." that happens to match counts for little, a long
invented paragraph for a lot. An NLI model or an LLM judge plugs in through ``GroundingJudge``.

Bedrock Guardrails' contextual grounding check (ApplyGuardrail) is a separate, optional step
behind the ``GuardrailCheck`` protocol (adapter: ``runtime/adapters/bedrock_guardrails.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .agreement import strip_citations
from .answering import NO_ANSWER, split_sentences
from .context import AssembledContext
from .ports import Embedder

DEFAULT_THRESHOLD = 0.65
"""Cosine (all-MiniLM-L6-v2) a sentence needs against its best source sentence. Measured on
tests/runtime/core/test_grounding.py: paraphrases of a source sentence score 0.7–0.95, claims
the sources do not make 0.05–0.55. On-topic contradictions ("bees make honey from tree sap"
against "bees turn nectar into honey") still score ~0.7: embeddings see topic, not truth —
plug an NLI model in through ``GroundingJudge`` to catch those."""


@dataclass(frozen=True)
class SentenceSupport:
    """One answer sentence: its best source match and whether that is enough."""

    text: str
    score: float
    supported: bool
    source: int | None = None
    """Citation number of the best-matching source, ``None`` without sources."""


@dataclass(frozen=True)
class GroundingReport:
    """How well one answer is supported.

    score:
        Supported share of the answer's words in [0, 1]; ``None`` when the answer has no
        sentence to check (an empty answer) or the answer is the standard "not found" reply,
        which claims nothing.
    """

    score: float | None
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def unsupported(self) -> list[str]:
        return [s.text for s in self.sentences if not s.supported]

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "unsupported": self.unsupported}


@runtime_checkable
class GroundingJudge(Protocol):
    """Checks answers against the context they were written from (one report per answer)."""

    def check(self, answers: Sequence[str], context: AssembledContext) -> list[GroundingReport]: ...


@dataclass(frozen=True)
class GuardrailVerdict:
    """What a guardrail decided: ``intervened`` and, if so, the text to show instead."""

    intervened: bool
    output: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class GuardrailCheck(Protocol):
    """An optional post-answer guardrail, e.g. Bedrock ApplyGuardrail with a contextual
    grounding policy (source = the context, query = the question, content = the answer);
    ``runtime/adapters/bedrock_guardrails.py`` implements it."""

    def apply(self, question: str, answer: str, context: AssembledContext) -> GuardrailVerdict: ...


class EmbeddingGroundingJudge:
    """Max cosine of each answer sentence against the context's sentences.

    Parameters
    ----------
    embedder:
        The retrieval Embedder (no second model to load).
    threshold:
        Best-match cosine a sentence needs to count as supported (``DEFAULT_THRESHOLD``).
    min_words:
        Shorter sentences ("Yes.", "In short:") are not checked: they claim nothing an
        embedding can verify, and they would be noise in either direction.
    """

    def __init__(
        self, embedder: Embedder, *, threshold: float = DEFAULT_THRESHOLD, min_words: int = 3
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.min_words = min_words
        self._lock = threading.Lock()
        self._memo: tuple[tuple[tuple[int, str], ...], list[tuple[str, int]], np.ndarray] | None
        self._memo = None

    def _sources(self, context: AssembledContext) -> tuple[list[tuple[str, int]], np.ndarray]:
        """The context's sentences and their vectors, remembered for the last context: the
        answers of one turn are often checked one by one as they arrive."""
        key = tuple((c.number, c.hit.text) for c in context.citations)
        with self._lock:
            if self._memo is not None and self._memo[0] == key:
                return self._memo[1], self._memo[2]
        sources: list[tuple[str, int]] = []
        seen: set[str] = set()
        for citation in context.citations:
            for sentence in split_sentences(citation.hit.text):
                if sentence.lower() not in seen:
                    seen.add(sentence.lower())
                    sources.append((sentence, citation.number))
        vectors = (
            np.asarray(self.embedder.embed([s for s, _ in sources], kind="passage"))
            if sources
            else np.zeros((0, self.embedder.dimension), dtype=np.float32)
        )
        with self._lock:
            self._memo = (key, sources, vectors)
        return sources, vectors

    def check(self, answers: Sequence[str], context: AssembledContext) -> list[GroundingReport]:
        """One report per answer; the context's sentences are embedded once per context."""
        per_answer: list[list[str]] = []
        for answer in answers:
            if answer.strip() == NO_ANSWER:
                per_answer.append([])
                continue
            sentences = [
                strip_citations(s)
                for s in split_sentences(answer)
                if len(strip_citations(s).split()) >= self.min_words
            ]
            per_answer.append(sentences)
        claims = [s for sentences in per_answer for s in sentences]
        if not claims:
            return [GroundingReport(None) for _ in answers]
        found = self._support(claims, context)
        reports: list[GroundingReport] = []
        offset = 0
        for sentences in per_answer:
            supports = [
                SentenceSupport(sentence, score, score >= self.threshold, source)
                for sentence, (score, source) in zip(
                    sentences, found[offset : offset + len(sentences)], strict=True
                )
            ]
            offset += len(sentences)
            reports.append(grounding_report(supports))
        return reports

    def _support(
        self, claims: Sequence[str], context: AssembledContext
    ) -> list[tuple[float, int | None]]:
        """Each claim's best cosine with a context sentence and that sentence's citation.

        A claim that *is* a context sentence (what the extractive answerer writes, and what
        LLMs often quote) scores 1.0 without embedding anything; the context is embedded only
        when some claim is not verbatim.
        """
        verbatim: dict[str, int] = {}
        for citation in context.citations:
            for sentence in split_sentences(citation.hit.text):
                verbatim.setdefault(_normalised(sentence), citation.number)
        found: list[tuple[float, int | None]] = [
            (1.0, verbatim[_normalised(c)]) if _normalised(c) in verbatim else (0.0, None)
            for c in claims
        ]
        rest = [i for i, (_, source) in enumerate(found) if source is None]
        if not rest:
            return found
        sources, source_vecs = self._sources(context)
        if not sources:
            return found
        claim_vecs = self.embedder.embed([claims[i] for i in rest], kind="passage")
        similarity = np.asarray(claim_vecs @ source_vecs.T, dtype=np.float64)
        for row, i in enumerate(rest):
            best = int(similarity[row].argmax())
            found[i] = (round(float(similarity[row, best]), 4), sources[best][1])
        return found


def _normalised(sentence: str) -> str:
    """The sentence as compared verbatim: citations, case, spacing and the final stop (which
    an answer may add to a quoted fragment) do not count."""
    return " ".join(strip_citations(sentence).split()).lower().rstrip(".!?:; ")


def grounding_report(sentences: Sequence[SentenceSupport]) -> GroundingReport:
    """Supported share of the words (``None`` without sentences)."""
    total = sum(len(s.text.split()) for s in sentences)
    if not total:
        return GroundingReport(None, list(sentences))
    supported = sum(len(s.text.split()) for s in sentences if s.supported)
    return GroundingReport(round(supported / total, 4), list(sentences))
