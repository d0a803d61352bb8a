"""What the grounding judge itself costs per answer, the embedding model left out.

``bench/grounding.py`` times a whole check (the claims' embedding call included), which under
load is mostly the model. This script embeds every text once up front and then times
``EmbeddingGroundingJudge.check`` on a 3-claim answer per document group of
``bench/data/grounding_claims.yaml`` (the claims are reworded, so they take the aligner and the
word-level comparison, not the verbatim-quote shortcut), 5 rounds, median and p95.

To compare with another revision in the same sitting, run it against that revision's tree and
alternate the two (the load moves both alike)::

    .venv/bin/python bench/grounding_cost.py
    git archive REV runtime | tar -x -C /tmp/rev/chorus/ && touch /tmp/rev/chorus/__init__.py
    PYTHONPATH=/tmp/rev .venv/bin/python bench/grounding_cost.py
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import yaml
from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder
from chorus.runtime.core import grounding
from chorus.runtime.core.context import AssembledContext, assemble_context
from chorus.runtime.core.models import SearchHit

DATA = Path(__file__).resolve().parent / "data" / "grounding_claims.yaml"


class RememberingEmbedder:
    """The real MiniLM, each text embedded once: later calls cost a dictionary look-up."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        missing = [t for t in texts if (kind, t) not in self.vectors]
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing, kind=kind), strict=True):
                self.vectors[(kind, text)] = vector
        return np.asarray([self.vectors[(kind, t)] for t in texts], dtype=np.float32)


def context_of(group: dict) -> AssembledContext:
    hits = [
        SearchHit(s["id"], s["id"], 0, " ".join(s["text"].split()), 1.0 - i / 100, {})
        for i, s in enumerate(group["sources"])
    ]
    return assemble_context(hits, budget_tokens=100_000)


def main() -> None:
    groups = yaml.safe_load(DATA.read_text())
    judge = grounding.EmbeddingGroundingJudge(RememberingEmbedder(SentenceTransformerEmbedder()))
    samples: list[float] = []
    for _ in range(5):
        for group in groups:
            context = context_of(group)
            answer = " ".join(c["text"] for c in group["claims"][:3])
            judge.check([answer], context)  # embeds once; the timed call only looks vectors up
            started = time.perf_counter()
            judge.check([answer], context)
            samples.append((time.perf_counter() - started) * 1000)
    print(
        f"judge alone per 3-claim answer ({grounding.__file__}): "
        f"p50 {np.percentile(samples, 50):.1f} ms, p95 {np.percentile(samples, 95):.1f} ms "
        f"({len(samples)} answers); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
