"""Fuse ranked lists from several retrievers into one.

Two methods: reciprocal rank fusion (rank-based, robust to incomparable scores) and a weighted
sum of min-max-normalised scores. Both take per-retriever weights, because an unweighted fusion
of a strong and a weak retriever can rank below the strong one alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .models import SearchHit

RRF_K = 60


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
