"""A disk cache of passage and query vectors for repeated evaluation runs.

Encoding a few thousand passages with MiniLM takes minutes on a laptop CPU; a retrieval sweep
re-ingests the same corpus under several chunkings whose chunks largely repeat. Vectors are kept
by (model, kind, text) in one ``.npz`` file per model under the chorus home, so the second run of
an evaluation embeds only what changed. Used by the evaluation only: ingestion in the product
embeds each chunk once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..core.ports import Embedder

_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


class DiskCachedEmbedder:
    """An Embedder that answers texts it has embedded before from a file, and saves new ones.

    Call ``save()`` when done (the evaluation does); until then new vectors live in memory.
    """

    def __init__(self, embedder: Embedder, folder: Path) -> None:
        self.inner = embedder
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.path = Path(folder) / f"{_SLUG.sub('-', embedder.model_id)}-{embedder.dimension}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
                    self._vectors = {str(k): v for k, v in zip(keys, vectors, strict=True)}
            except (OSError, KeyError, ValueError):  # a broken cache only costs time
                self._vectors = {}
        self.hits = 0
        self.misses = 0

    def _key(self, kind: str, text: str) -> str:
        return hashlib.sha256(f"{kind}\x1f{text}".encode()).hexdigest()[:32]

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        keys = [self._key(kind, t) for t in texts]
        missing = [i for i, key in enumerate(keys) if key not in self._vectors]
        if missing:
            unique = list(dict.fromkeys(texts[i] for i in missing))
            computed = np.asarray(self.inner.embed(unique, kind=kind), dtype=np.float32)
            for text, vector in zip(unique, computed, strict=True):
                self._vectors[self._key(kind, text)] = vector
            self._dirty = True
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32)

    def save(self) -> None:
        """Write the cache if anything was added (atomically: a temp file, then a rename)."""
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U32")
        vectors = np.stack(list(self._vectors.values())).astype(np.float32)
        temporary = self.path.with_suffix(".tmp.npz")
        np.savez(temporary, keys=keys, vectors=vectors)
        temporary.replace(self.path)
        self._dirty = False
