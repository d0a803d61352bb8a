"""Fuse ranked lists from several retrievers into one.

Three methods: reciprocal rank fusion (rank-based, robust to incomparable scores), a weighted
sum of min-max-normalised scores, and the same sum with per-query weights that follow how
clearly each list singles out its best hits (``fuse_adaptive``). All take per-retriever weights,
because an unweighted fusion of a strong and a weak retriever can rank below the strong one
alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .evidence import query_term_coverage
from .models import SearchHit

RRF_K = 60
CONFIDENCE_DEPTH = 40
"""Hits whose scores ``leg_confidence`` compares: a retrieval's whole candidate list (40).
With BM25 keyword scores, the first ten of a list that matched only common words are already
spread apart; the flatness that says "no rare term matched" shows over the whole list."""
CONFIDENCE_SATURATION = 0.75
"""Confidence at which an adaptive leg gets its full weight (its best hit scores at least
four times its last). Chosen with ``CONFIDENCE_DEPTH`` and the keyword weight on three
evaluation sets, for the worst case first (docs/retrieval.md)."""


def fuse_rrf(
    rankings: Sequence[Sequence[SearchHit]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[SearchHit]:
    """Reciprocal rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.

    Example
    -------
    >>> fused = fuse_rrf([vector_hits, keyword_hits], k=60)
    """
    weights = _weights(rankings, weights)
    scores: dict[str, float] = {}
    first_seen: dict[str, SearchHit] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (k + rank)
            first_seen.setdefault(hit.chunk_id, hit)
    return _ordered(first_seen, scores)


def fuse_weighted(
    rankings: Sequence[Sequence[SearchHit]],
    *,
    weights: Sequence[float] | None = None,
) -> list[SearchHit]:
    """Weighted sum of per-list min-max normalised scores (missing from a list counts 0)."""
    weights = _weights(rankings, weights)
    scores: dict[str, float] = {}
    first_seen: dict[str, SearchHit] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        values = [h.score for h in ranking]
        low, high = min(values), max(values)
        span = high - low
        for hit in ranking:
            normalised = (hit.score - low) / span if span > 0 else 1.0
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight * normalised
            first_seen.setdefault(hit.chunk_id, hit)
    return _ordered(first_seen, scores)


def leg_confidence(
    ranking: Sequence[SearchHit], depth: int = CONFIDENCE_DEPTH, query: str | None = None
) -> float:
    """How far a retriever's best hit stands out from the rest of its head, in [0, 1].

    ``(s_1 - s_depth) / |s_1|`` over the first ``depth`` scores: a keyword leg that matched only
    common words scores its head nearly alike (flat, ~0), one that matched a rare identifier puts
    one hit far above the others (~1). A single hit is singled out completely (1) when it holds
    the ``query``'s words, as the one chunk with an error code or an identifier does; when it
    holds only some (one chunk says "plants" of "how do plants make sugar from sunlight"), the
    square of the share it holds (1/16 for one word of four): one word matched once is the
    weakest evidence a keyword leg gives. No hit: 0.
    """
    head = [h.score for h in ranking[:depth]]
    if not head or head[0] == 0:
        return 0.0
    if len(head) == 1:
        return 1.0 if query is None else query_term_coverage(query, ranking[0].text) ** 2
    return max(0.0, min(1.0, (head[0] - head[-1]) / abs(head[0])))


def fuse_adaptive(
    rankings: Sequence[Sequence[SearchHit]],
    *,
    weights: Sequence[float] | None = None,
    adaptive: Sequence[bool] | None = None,
    saturation: float = CONFIDENCE_SATURATION,
    depth: int = CONFIDENCE_DEPTH,
    query: str | None = None,
) -> list[SearchHit]:
    """Weighted fusion in which a leg that cannot tell its candidates apart loses its vote.

    The weight of each list marked ``adaptive`` (default: all) is multiplied by
    ``min(1, leg_confidence / saturation)``: a keyword leg that matched only common words
    (a flat head) counts for little on that query, one that singled out a rare identifier
    counts fully. Lists not marked keep their weight — the anchor the others are measured
    against (retrieval anchors on the vector leg, whose cosines are close together by nature).
    ``query``: the question, which a list's lone hit must hold to count fully
    (``leg_confidence``).
    """
    weights = _weights(rankings, weights)
    marks = list(adaptive) if adaptive is not None else [True] * len(rankings)
    if len(marks) != len(rankings):
        raise ValueError("give one adaptive flag per ranking")
    adjusted = [
        w * min(1.0, leg_confidence(r, depth, query) / saturation) if mark else w
        for r, w, mark in zip(rankings, weights, marks, strict=True)
    ]
    if not any(adjusted):
        adjusted = list(weights)
    return fuse_weighted(rankings, weights=adjusted)


def _weights(
    rankings: Sequence[Sequence[SearchHit]], weights: Sequence[float] | None
) -> Sequence[float]:
    if weights is None:
        return [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("give one weight per ranking")
    if any(w < 0 for w in weights):
        raise ValueError("fusion weights must be non-negative")
    return weights


def _ordered(hits: dict[str, SearchHit], scores: dict[str, float]) -> list[SearchHit]:
    order = sorted(scores, key=lambda cid: (-scores[cid], cid))
    return [replace(hits[cid], score=scores[cid]) for cid in order]
