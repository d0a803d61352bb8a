"""Remember embeddings of short texts that a chat turn embeds more than once.

One turn embeds the question up to three times (semantic cache, retrieval, extractive answer)
and the source sentences twice (the extractive answerer picks from them, the grounding check
compares the answer with them); popular chunks come back turn after turn. Measured on the
bench workspace, the grounding check alone re-embedding the sources cost ~290 ms a turn.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .ports import Embedder


class CachedEmbedder:
    """An Embedder that answers repeated (kind, text) pairs from a bounded LRU memory.

    Parameters
    ----------
    embedder:
        The model to ask for texts not seen yet (in one batch per call).
    max_entries:
        Vectors kept; at 384 float32 dimensions, 50,000 entries are ~77 MB.

    Ingestion should use the inner embedder: its texts are seen once and would only churn
    the cache.
    """

    def __init__(self, embedder: Embedder, *, max_entries: int = 50_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.inner = embedder
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.max_entries = max_entries
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for i, text in enumerate(texts):
                vector = self._vectors.get((kind, text))
                if vector is not None:
                    self._vectors.move_to_end((kind, text))
                    found[i] = vector
        missing = [i for i in range(len(texts)) if i not in found]
        if missing:
            unique = list(dict.fromkeys(texts[i] for i in missing))
            computed = np.asarray(self.inner.embed(unique, kind=kind), dtype=np.float32)
            by_text = dict(zip(unique, computed, strict=True))
            for i in missing:
                found[i] = by_text[texts[i]]
            with self._lock:
                for text, vector in by_text.items():
                    self._vectors[(kind, text)] = vector
                    self._vectors.move_to_end((kind, text))
                while len(self._vectors) > self.max_entries:
                    self._vectors.popitem(last=False)
        with self._lock:
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        return np.stack([found[i] for i in range(len(texts))])
