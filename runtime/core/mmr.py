"""Maximal marginal relevance: trade relevance for diversity among retrieved chunks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .models import SearchHit


def mmr_select(
    query_embedding: np.ndarray,
    hits: Sequence[SearchHit],
    embeddings: Mapping[str, np.ndarray],
    *,
    k: int,
    lambda_mult: float = 0.7,
) -> list[SearchHit]:
    """Pick ``k`` hits greedily by ``lambda * sim(query) - (1 - lambda) * max sim(picked)``.

    Hits without an embedding keep their place after the selected ones. ``lambda_mult=1``
    is pure relevance, ``0`` pure diversity.
    """
    if not 0.0 <= lambda_mult <= 1.0:
        raise ValueError("lambda_mult must be within [0, 1]")
    candidates = [h for h in hits if h.chunk_id in embeddings]
    if not candidates:
        return list(hits[:k])
    matrix = np.stack([_unit(embeddings[h.chunk_id]) for h in candidates])
    relevance = matrix @ _unit(query_embedding)
    chosen: list[int] = []
    remaining = list(range(len(candidates)))
    while remaining and len(chosen) < k:
        if chosen:
            redundancy = (matrix[remaining] @ matrix[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(remaining))
        gains = lambda_mult * relevance[remaining] - (1 - lambda_mult) * redundancy
        best = remaining[int(np.argmax(gains))]
        chosen.append(best)
        remaining.remove(best)
    picked = [candidates[i] for i in chosen]
    if len(picked) < k:
        picked.extend(h for h in hits if h.chunk_id not in embeddings)
    return picked[:k]


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
