"""``chorus tune retrieval``: pick a workspace's chunking and fusion from a sweep and store them.

The sweep (``evaluation.run_retrieval_sweep``) scores a small grid on an evaluation set that
stands for the workspace's documents; the best hybrid configuration becomes the workspace's
settings: chunking on the workspace record (the ingestor reads it), fusion as retrieval
overrides (the ``Retriever`` reads them at each question, locally and in the cloud). A chunking
change leaves the indexed chunks stale, so the workspace's documents are marked ``queued`` — the
next ``chorus ingest`` of their folder re-chunks them instead of skipping them as unchanged — and
re-ingested at once when the folder is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.models import ChunkingSettings, DocumentStatus, Workspace
from ..core.ports import MetadataStore
from ..core.retrieval import TUNABLE_SETTINGS, RetrievalSettings
from .evaluation import SweepRow


@dataclass(frozen=True)
class TunedSettings:
    """What a tune stores on a workspace."""

    chunking: ChunkingSettings
    retrieval: Mapping[str, Any]
    ndcg: float


def best_hybrid(rows: Sequence[SweepRow], k: int = 10) -> TunedSettings:
    """The best-scoring hybrid row (ties: the earlier row, i.e. the sweep's order).

    Single-leg rows are reference points, not candidates: a workspace keeps both legs so that a
    question only keyword search can answer (an identifier, an error code) still finds it.

    Raises
    ------
    ValueError
        No hybrid row in the sweep.
    """
    hybrid = [r for r in rows if r.retrieval.mode == "hybrid"]
    if not hybrid:
        raise ValueError("the sweep has no hybrid configuration to choose from")
    best = max(hybrid, key=lambda r: float(r.metrics[f"ndcg@{k}"]))
    return TunedSettings(
        best.chunking, retrieval_overrides(best.retrieval), float(best.metrics[f"ndcg@{k}"])
    )


def retrieval_overrides(settings: RetrievalSettings) -> dict[str, Any]:
    """The tunable fields of ``settings`` that differ from the defaults."""
    defaults = RetrievalSettings()
    return {
        name: getattr(settings, name)
        for name in sorted(TUNABLE_SETTINGS - {"candidates", "rerank_candidates"})
        if getattr(settings, name) != getattr(defaults, name)
    }


def apply_tuning(metadata: MetadataStore, workspace: Workspace, tuned: TunedSettings) -> bool:
    """Store ``tuned`` on the workspace; True when its chunking changed (documents queued)."""
    metadata.update_workspace_settings(workspace.id, tuned.chunking, tuned.retrieval)
    if tuned.chunking == workspace.chunking:
        return False
    for document in metadata.list_documents(workspace.id):
        metadata.set_document_status(workspace.id, document.id, DocumentStatus.QUEUED)
    return True
