"""Answer evaluation: ask every case through the real chat service and score what came back.

``evaluate_answers`` sends each ``EvalCase`` question as a fresh chat turn (no history) through
``ChatService.chat`` in the chosen mode and models, records the events the turn streams, and
scores, per question and overall:

- retrieval: ``hit@k`` (a relevant document among the first ``k`` distinct documents of the
  ``sources`` event) and ``ndcg@10`` over that ranking (``evaluation.ndcg_at_k``);
- citations: the documents the answer cites (``[n]`` is ``sources[n - 1]``) against the case's
  relevant documents — precision (cited that are relevant; none when nothing is cited) and
  recall (relevant that are cited);
- grounding: the shares of the answer's checked words the chat service's grounding report found
  supported, unsupported and contradicted (``final``'s ``grounding`` score is the supported
  share; the other two split the rest by the words of the sentences it lists); none for a
  refusal, which claims nothing;
- agreement between models (``final``'s ``agreement``: cascade and consensus only);
- similarity to the reference answer (embedding cosine, citations removed) when there is one;
- refusal: whether the answer declines (``covered`` is false, or it says it does not know);
  correct when it declines exactly the questions marked unanswerable;
- latency to the first token and to ``final``, on the evaluator's clock; tokens and cost.

Each question also gets ``quality``, the mean of its available scores (an error scores 0): the
report lists questions worst first. Generated (synthetic) cases are flagged on each row and
counted in the summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .agreement import strip_citations
from .chat import ChatService
from .clock import Clock, SystemClock
from .errors import BadRequest
from .eval_cases import EvalCase
from .evaluation import latency_summary, ndcg_at_k
from .ports import Embedder
from .protocol import SendMessageData

__all__ = [
    "REPORT_KIND",
    "AnswerSimilarity",
    "CaseResult",
    "compare_reports",
    "declines",
    "evaluate_answers",
    "score_turn",
    "summarize",
]

REPORT_KIND = "chorus.eval.answers"
NDCG_DEPTH = 10
_CITED = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_DECLINING = re.compile(
    r"\b(do not|don't|does not|doesn't|cannot|can't|could not|couldn't) "
    r"(know|cover|contain|answer|find|say|mention)\b"
    r"|\bno (information|answer|mention)\b|\bnot (mentioned|covered|stated)\b",
    re.IGNORECASE,
)
"""How an LLM says it cannot answer from the sources (the system prompt asks it to say it does
not know); the extractive answerer's standard reply sets ``covered: false`` instead."""


def declines(answer: str, covered: bool = True) -> bool:
    """Whether an answer declines: not ``covered``, empty, or a sentence saying it cannot."""
    return not covered or not answer.strip() or bool(_DECLINING.search(answer))


class AnswerSimilarity:
    """Cosine between an answer (citations removed) and a reference, with the Embedder."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, answer: str, reference: str) -> float:
        vectors = np.asarray(
            self.embedder.embed([strip_citations(answer), reference], kind="passage"),
            dtype=np.float64,
        )
        norms = np.linalg.norm(vectors, axis=1)
        if not norms.all():
            return 0.0
        return round(float(vectors[0] @ vectors[1] / (norms[0] * norms[1])), 4)


@dataclass(frozen=True)
class TurnRecord:
    """What one chat turn produced, as the evaluator saw it."""

    events: list[dict[str, Any]]
    first_token_ms: float | None
    final_ms: float


@dataclass(frozen=True)
class CaseResult:
    """One question's scores (``None``: does not apply to this question or this turn)."""

    id: str
    question: str
    answerable: bool
    synthetic: bool
    origin: str
    answer: str
    model: str | None
    error: str | None
    retrieved_documents: list[str]
    cited_documents: list[str]
    relevant_documents: list[str]
    hit: bool | None
    ndcg: float | None
    citation_precision: float | None
    citation_recall: float | None
    supported: float | None
    unsupported: float | None
    contradicted: float | None
    agreement: float | None
    similarity: float | None
    refused: bool
    refusal_correct: bool
    first_token_ms: float | None
    final_ms: float
    input_tokens: int
    output_tokens: int
    cost: float
    quality: float

    def to_dict(self, k: int) -> dict[str, Any]:
        out = asdict(self)
        out[f"hit@{k}"] = out.pop("hit")
        out[f"ndcg@{NDCG_DEPTH}"] = out.pop("ndcg")
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _words(texts: Sequence[str]) -> int:
    return sum(len(t.split()) for t in texts)


def grounding_shares(final: Mapping[str, Any]) -> tuple[float | None, ...]:
    """(supported, unsupported, contradicted) shares of the answer's checked words."""
    score = final.get("grounding")
    if score is None:
        return None, None, None
    unsupported = _words(final.get("unsupported") or [])
    contradicted = _words([c.get("text", "") for c in final.get("contradicted") or []])
    rest = 1.0 - float(score)
    if unsupported + contradicted == 0:
        return _round(float(score)), 0.0, 0.0
    return (
        _round(float(score)),
        _round(rest * unsupported / (unsupported + contradicted)),
        _round(rest * contradicted / (unsupported + contradicted)),
    )


def cited_documents(answer: str, sources: Sequence[Mapping[str, Any]]) -> list[str]:
    """Documents an answer cites, in order of first citation; unknown numbers are ignored."""
    by_number = {int(s["n"]): str(s["documentId"]) for s in sources}
    cited: dict[str, None] = {}
    for group in _CITED.findall(answer):
        for number in group.split(","):
            document = by_number.get(int(number))
            if document is not None:
                cited.setdefault(document, None)
    return list(cited)


def score_turn(
    case: EvalCase,
    turn: TurnRecord,
    *,
    k: int,
    similarity: Callable[[str, str], float] | None = None,
) -> CaseResult:
    """Score one case from the events its turn streamed."""
    final = next((e for e in turn.events if e.get("type") in ("final", "error")), {})
    sources: list[dict[str, Any]] = next(
        (e["sources"] for e in turn.events if e.get("type") == "sources"), []
    )
    failed = final.get("type") != "final"
    answer = "" if failed else str(final.get("answer", ""))
    retrieved = list(dict.fromkeys(str(s["documentId"]) for s in sources))
    cited = cited_documents(answer, sources)
    relevant = set(case.relevant_document_ids)
    refused = failed or declines(answer, bool(final.get("covered", True)))
    hit = ndcg = precision = recall = None
    if case.answerable:
        hit = bool(relevant.intersection(retrieved[:k]))
        ndcg = _round(ndcg_at_k(retrieved, dict.fromkeys(relevant, 1), NDCG_DEPTH))
        recall = _round(len(relevant.intersection(cited)) / len(relevant))
        if cited:
            precision = _round(len(relevant.intersection(cited)) / len(cited))
    # A refusal claims nothing: its "I do not know" is not an unsupported statement.
    no_claims = failed or refused
    supported, unsupported, contradicted = (
        (None, None, None) if no_claims else grounding_shares(final)
    )
    similar = None
    if similarity is not None and case.reference_answer and not failed:
        similar = similarity(answer, case.reference_answer)
    refusal_correct = refused != case.answerable and not failed
    usage = final.get("usage") or {}
    result = CaseResult(
        id=case.id,
        question=case.question,
        answerable=case.answerable,
        synthetic=case.synthetic,
        origin=case.origin,
        answer=answer,
        model=final.get("model"),
        error=None if not failed else str(final.get("code", "no_final_event")),
        retrieved_documents=retrieved,
        cited_documents=cited,
        relevant_documents=list(case.relevant_document_ids),
        hit=hit,
        ndcg=ndcg,
        citation_precision=precision,
        citation_recall=recall,
        supported=supported,
        unsupported=unsupported,
        contradicted=contradicted,
        agreement=_round(final.get("agreement")),
        similarity=similar,
        refused=refused,
        refusal_correct=refusal_correct,
        first_token_ms=turn.first_token_ms,
        final_ms=turn.final_ms,
        input_tokens=int(usage.get("inputTokens", 0)),
        output_tokens=int(usage.get("outputTokens", 0)),
        cost=float(final.get("cost") or 0.0),
        quality=0.0,
    )
    return _with_quality(result)


def _with_quality(result: CaseResult) -> CaseResult:
    """The mean of the case's available scores in [0, 1]; 0 for a turn that failed."""
    if result.error is not None:
        return result
    scores = [
        float(s)
        for s in (
            result.ndcg,
            result.citation_precision,
            result.citation_recall,
            result.supported,
            result.similarity,
            1.0 if result.refusal_correct else 0.0,
        )
        if s is not None
    ]
    quality = round(sum(scores) / len(scores), 4)
    return CaseResult(**{**asdict(result), "quality": quality})


def ask(chat: ChatService, request: SendMessageData, clock: Clock) -> TurnRecord:
    """One chat turn, its events, and when its first token and its end came (``clock``)."""
    events: list[dict[str, Any]] = []
    first: list[float] = []
    started = clock.now()

    def send(event: dict[str, Any]) -> bool:
        if event.get("type") == "token" and not first:
            first.append(clock.now())
        events.append(event)
        return True

    chat.chat(request, user_id="eval", send=send)
    ended = clock.now()
    return TurnRecord(
        events,
        round((first[0] - started) * 1000, 2) if first else None,
        round((ended - started) * 1000, 2),
    )


def evaluate_answers(
    chat: ChatService,
    workspace_id: str,
    cases: Sequence[EvalCase],
    *,
    mode: str = "single",
    models: Sequence[str] = (),
    k: int = 5,
    similarity: Callable[[str, str], float] | None = None,
    clock: Clock | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
) -> dict[str, Any]:
    """Ask every case in ``workspace_id`` and return the report (one JSON-ready object).

    Raises
    ------
    BadRequest
        No cases, ``k`` below 1, a model the chat service does not have (``unknown_model``),
        or a question the chat protocol refuses (too long, NUL).
    """
    if not cases:
        raise BadRequest("the evaluation set is empty: give at least one case")
    if k < 1:
        raise BadRequest(f"k must be at least 1, got {k}")
    unknown = [m for m in models if m not in chat.answerers]
    if unknown:
        raise BadRequest(
            f"unknown model {unknown[0]!r}; available: {', '.join(chat.answerers)}",
            code="unknown_model",
        )
    clock = clock or SystemClock()
    results: list[CaseResult] = []
    for case in cases:
        try:
            request = SendMessageData(
                sessionId=None,
                workspaceId=workspace_id,
                text=case.question,
                mode=mode,  # type: ignore[arg-type]
                models=list(models),
            )
        except ValueError as exc:
            raise BadRequest(f"case {case.id!r}: the question cannot be sent ({exc})") from None
        result = score_turn(case, ask(chat, request, clock), k=k, similarity=similarity)
        results.append(result)
        if on_case is not None:
            on_case(result)
    return summarize(results, mode=mode, models=list(models), k=k)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def summarize(
    results: Sequence[CaseResult], *, mode: str, models: Sequence[str], k: int
) -> dict[str, Any]:
    """The report: overall figures, then every question, worst (lowest quality) first."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    finals = [r.final_ms for r in results]
    firsts = [r.first_token_ms for r in results if r.first_token_ms is not None]
    final_latency = latency_summary(finals)
    first_latency = latency_summary(firsts) if firsts else {"p50": None, "p95": None}
    overall = {
        f"hit@{k}": _mean([float(r.hit) for r in answerable if r.hit is not None]),
        f"ndcg@{NDCG_DEPTH}": _mean([r.ndcg for r in answerable]),
        "citation_precision": _mean([r.citation_precision for r in results]),
        "citation_recall": _mean([r.citation_recall for r in answerable]),
        "grounding": {
            "supported": _mean([r.supported for r in results]),
            "unsupported": _mean([r.unsupported for r in results]),
            "contradicted": _mean([r.contradicted for r in results]),
        },
        "agreement": _mean([r.agreement for r in results]),
        "similarity": _mean([r.similarity for r in results]),
        "refusal": {
            "accuracy": _share([r.refusal_correct for r in results]),
            "unanswerable_declined": _share([r.refused for r in unanswerable]),
            "answerable_refused": _share([r.refused for r in answerable]),
        },
        "quality": _mean([r.quality for r in results]),
        "latency_ms": {
            "first_token_p50": _round(first_latency["p50"]),
            "first_token_p95": _round(first_latency["p95"]),
            "final_p50": round(final_latency["p50"], 4),
            "final_p95": round(final_latency["p95"], 4),
        },
        "tokens": {
            "input": sum(r.input_tokens for r in results),
            "output": sum(r.output_tokens for r in results),
        },
        "cost": round(sum(r.cost for r in results), 6),
    }
    ordered = sorted(results, key=lambda r: (r.quality, r.id))
    return {
        "kind": REPORT_KIND,
        "mode": mode,
        "models": list(models),
        "k": k,
        "cases": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "synthetic": sum(r.synthetic for r in results),
        "errors": sum(r.error is not None for r in results),
        "overall": overall,
        "questions": [r.to_dict(k) for r in ordered],
    }


# --------------------------------------------------------------------------------------------
# comparison

_LOWER_IS_BETTER = ("grounding.unsupported", "grounding.contradicted", "refusal.answerable_refused")
_NOT_GATED = ("latency_ms.", "tokens.", "cost")
"""Reported as deltas but never a regression: timings and spend vary with the machine and the
provider, not with answer quality."""


def _flatten(overall: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    flat: dict[str, float | None] = {}
    for key, value in overall.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif value is None or isinstance(value, int | float):
            flat[f"{prefix}{key}"] = None if value is None else float(value)
    return flat


def compare_reports(
    current: Mapping[str, Any], previous: Mapping[str, Any], *, tolerance: float
) -> dict[str, Any]:
    """Deltas of every overall figure; quality figures worse by more than ``tolerance``
    (absolute, on their 0–1 scale) are regressions.

    Raises
    ------
    BadRequest
        ``previous`` is not an answer-evaluation report, or ``tolerance`` is negative.
    """
    if tolerance < 0:
        raise BadRequest(f"tolerance must be 0 or more, got {tolerance}")
    if previous.get("kind") != REPORT_KIND or not isinstance(previous.get("overall"), Mapping):
        raise BadRequest(
            "the previous report is not a `chorus eval answers` JSON report (no "
            f"'kind': {REPORT_KIND!r} with an 'overall' object); pass the JSON it printed"
        )
    now, before = _flatten(current["overall"]), _flatten(previous["overall"])
    deltas: dict[str, dict[str, Any]] = {}
    regressions: list[str] = []
    for name in now:
        if name not in before:
            continue
        a, b = before[name], now[name]
        delta = None if a is None or b is None else round(b - a, 6)
        gated = not name.startswith(_NOT_GATED)
        worse = delta is not None and (
            delta > tolerance if name in _LOWER_IS_BETTER else -delta > tolerance
        )
        regressed = gated and worse
        deltas[name] = {"previous": a, "current": b, "delta": delta, "regression": regressed}
        if regressed:
            regressions.append(name)
    return {"tolerance": tolerance, "deltas": deltas, "regressions": regressions}
