"""Cross-model agreement: how much several answers to one question say the same thing.

When independent models converge on one answer it is more likely right than an answer only one
of them gives; a wrong answer tends to be wrong in its own way. ``agreement_score`` measures that
with the Embedder already loaded for retrieval (pairwise cosine of the answers' embeddings) and
picks the medoid — the answer closest to all the others — as the consensus answer. An NLI model
or an LLM judge plugs in through ``PairwiseJudge`` / ``AgreementScorer`` instead.

Cosine sees topic, not truth: "Sydney is the capital of Australia" sits next to "Canberra is
the capital of Australia". So two answers whose sentences state the same fact with a flipped
negation, another number, date or name (``contradiction.py``) count as *disagreeing* — their
pair scores 0 whatever the cosine — and the conflict is reported with its words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .answering import claim_sentences
from .claims import Claim, lexical_overlap, read_claim
from .contradiction import Difference, compare
from .ports import Embedder

_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def strip_citations(text: str) -> str:
    """The text without ``[n]`` markers: two answers citing different source numbers for the
    same statement must not look different, and the markers are noise to an embedding model."""
    return " ".join(_CITATION.sub("", text).split())


@dataclass(frozen=True)
class AgreementResult:
    """Pairwise agreement of N answers.

    score:
        Mean of the pairwise similarities (upper triangle); ``None`` with fewer than two answers,
        where agreement means nothing.
    medoid:
        Index of the answer with the highest mean similarity to the others (the first of ties);
        ``None`` when there is no answer.
    per_answer:
        Each answer's mean similarity to the others (``None`` entries when alone).
    pairwise:
        The full symmetric matrix, 1.0 on the diagonal.
    conflicts:
        Pairs of answers that contradict each other, with the sentences and differing words.
    """

    score: float | None
    medoid: int | None
    per_answer: list[float | None]
    pairwise: list[list[float]]
    conflicts: list[AnswerConflict] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerConflict:
    """Two answers (by index) stating the same fact differently: ``first`` says one thing in
    ``first_sentence``, ``second`` another in ``second_sentence``."""

    first: int
    second: int
    first_sentence: str
    second_sentence: str
    differences: tuple[Difference, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answers": [self.first, self.second],
            "sentences": [self.first_sentence, self.second_sentence],
            "differences": [d.to_dict() for d in self.differences],
        }


@runtime_checkable
class AgreementScorer(Protocol):
    """Scores how much answers to the same question agree."""

    def score(self, question: str, answers: Sequence[str]) -> AgreementResult: ...


@runtime_checkable
class PairwiseJudge(Protocol):
    """Similarity in [0, 1] (or [-1, 1]) of two answers: an NLI model's bidirectional
    entailment probability or an LLM judge's verdict plug in here."""

    def similarity(self, question: str, first: str, second: str) -> float: ...


def result_from_matrix(
    matrix: np.ndarray, conflicts: Sequence[AnswerConflict] = ()
) -> AgreementResult:
    """Mean, medoid and per-answer means of a symmetric similarity matrix; each conflicting
    pair's similarity is set to 0 first."""
    n = int(matrix.shape[0])
    if n == 0:
        return AgreementResult(None, None, [], [])
    if n == 1:
        return AgreementResult(None, 0, [None], [[1.0]])
    matrix = np.clip(matrix.astype(np.float64), -1.0, 1.0)
    for conflict in conflicts:
        matrix[conflict.first, conflict.second] = matrix[conflict.second, conflict.first] = 0.0
    np.fill_diagonal(matrix, 1.0)
    off_diagonal = matrix.sum(axis=1) - 1.0
    per_answer = off_diagonal / (n - 1)
    upper = matrix[np.triu_indices(n, k=1)]
    return AgreementResult(
        score=round(float(upper.mean()), 6),
        medoid=int(np.argmax(per_answer)),
        per_answer=[round(float(v), 6) for v in per_answer],
        pairwise=[[round(float(v), 6) for v in row] for row in matrix],
        conflicts=list(conflicts),
    )


def find_conflicts(answers: Sequence[str], *, min_overlap: float = 0.5) -> list[AnswerConflict]:
    """Pairs of answers with a sentence each that state the same thing differently.

    Sentences are paired when they share at least ``min_overlap`` of their content words
    (either way round), or when both answers are a single sentence; each pair is compared word
    by word (``contradiction.compare``). Cheap: no model, a few milliseconds per turn.
    """
    read = [[read_claim(s) for s in claim_sentences(strip_citations(a))] for a in answers]
    out: list[AnswerConflict] = []
    for i in range(len(read)):
        for j in range(i + 1, len(read)):
            conflict = _first_conflict(read[i], read[j], min_overlap)
            if conflict is not None:
                mine, theirs, differences = conflict
                out.append(AnswerConflict(i, j, mine.text, theirs.text, tuple(differences)))
    return out


def _first_conflict(
    first: Sequence[Claim], second: Sequence[Claim], min_overlap: float
) -> tuple[Claim, Claim, list[Difference]] | None:
    single = len(first) == 1 and len(second) == 1
    for mine in first:
        for theirs in second:
            overlap = max(lexical_overlap(mine, theirs), lexical_overlap(theirs, mine))
            if overlap < min_overlap and not single:
                continue
            differences = compare(mine, theirs)
            if differences:
                return mine, theirs, differences
    return None


def agreement_score(
    answers: Sequence[str], embedder: Embedder, *, conflicts: bool = True
) -> AgreementResult:
    """Pairwise cosine similarity of the answers' embeddings, its mean and the medoid; pairs
    that contradict each other score 0 (``conflicts=False``: cosine only, for comparison).

    Citation markers are removed first. Embeddings are L2-normalised (the Embedder contract), so
    the dot product is the cosine.

    Example
    -------
    >>> result = agreement_score(["Paris.", "It is Paris.", "Lyon."], embedder)  # doctest: +SKIP
    >>> result.medoid  # doctest: +SKIP
    0
    """
    if not answers:
        return result_from_matrix(np.zeros((0, 0)))
    vectors = np.asarray(
        embedder.embed([strip_citations(a) or a for a in answers], kind="passage"),
        dtype=np.float64,
    )
    return result_from_matrix(vectors @ vectors.T, find_conflicts(answers) if conflicts else ())


class EmbeddingAgreementScorer:
    """The default scorer: ``agreement_score`` through the retrieval Embedder (no extra model)."""

    def __init__(self, embedder: Embedder, *, conflicts: bool = True) -> None:
        self.embedder = embedder
        self.conflicts = conflicts

    def score(self, question: str, answers: Sequence[str]) -> AgreementResult:
        return agreement_score(answers, self.embedder, conflicts=self.conflicts)


class PairwiseAgreementScorer:
    """Builds the agreement matrix from any ``PairwiseJudge`` (NLI, LLM judge), symmetrised
    by averaging both directions because entailment is not symmetric."""

    def __init__(self, judge: PairwiseJudge) -> None:
        self.judge = judge

    def score(self, question: str, answers: Sequence[str]) -> AgreementResult:
        n = len(answers)
        texts = [strip_citations(a) or a for a in answers]
        matrix = np.eye(n)
        for i in range(n):
            for j in range(i + 1, n):
                forward = self.judge.similarity(question, texts[i], texts[j])
                backward = self.judge.similarity(question, texts[j], texts[i])
                matrix[i, j] = matrix[j, i] = (forward + backward) / 2
        return result_from_matrix(matrix, find_conflicts(answers))


CONTRADICTED_WEIGHT = 0.25
"""What is left of an answer's confidence when the sources contradict one of its sentences."""


def answer_confidence(
    agreement: float | None, grounding: float | None, contradicted: bool = False
) -> float:
    """One answer's confidence from the signals a turn computes: its mean agreement with the
    other answers, scaled by its grounding (half weight: an answer no source supports keeps
    half its agreement, since sources may be silent rather than wrong), and cut to a quarter
    when a source contradicts it. Either signal missing counts as neutral (1.0 agreement with
    a single answer, 0.5 grounding without a judge). Measured on
    ``bench/data/agreement_answers.yaml`` it tells right answers from wrong better than
    agreement or grounding alone; answer relevance does not (wrong answers are on-topic too),
    so it stays a tie-break."""
    mean = 1.0 if agreement is None else max(0.0, agreement)
    support = 0.5 if grounding is None else grounding
    return mean * (0.5 + 0.5 * support) * (CONTRADICTED_WEIGHT if contradicted else 1.0)
