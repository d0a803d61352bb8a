"""``chorus eval retrieval``: BEIR-format retrieval evaluation on the local stack.

The corpus is ingested into a fresh workspace (each corpus ``_id`` becomes a document id, so
chunk hits map back to judged documents), every query is run through the same ``Retriever`` the
chat uses, and the workspace is deleted afterwards. ``bm25`` mode is the reference baseline on
the ``bm25s`` package and never touches the store.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from ..core.evaluation import (
    Bm25Baseline,
    evaluate_run,
    latency_summary,
    load_corpus,
    load_qrels,
    load_queries,
)
from ..core.ingestion import DocumentInput
from ..core.models import SearchHit
from ..core.retrieval import RetrievalSettings
from .settings import LocalSettings

# A query asks for this many chunks per wanted document, so that a document split into several
# chunks does not crowd the others out of the top k.
_CHUNKS_PER_DOCUMENT = 3


def documents_in_rank_order(hits: list[SearchHit], k: int) -> list[str]:
    """Document ids of the hits, best first, each once, at most ``k``."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.document_id, None)
        if len(seen) == k:
            break
    return list(seen)


def run_retrieval_eval(
    settings: LocalSettings,
    corpus_path: Path,
    queries_path: Path,
    qrels_path: Path,
    *,
    mode: str = "hybrid",
    k: int = 10,
    rerank_model: Path | None = None,
    fusion: str = "weighted",
    services: Any = None,
) -> dict[str, Any]:
    """Run the evaluation and return the report printed by the CLI."""
    corpus = load_corpus(corpus_path)
    queries = load_queries(queries_path)
    qrels = load_qrels(qrels_path)
    run: dict[str, list[str]] = {}
    latencies: list[float] = []

    if mode == "bm25":
        started = time.perf_counter()
        baseline = Bm25Baseline()
        baseline.index(corpus)
        ingest_seconds = time.perf_counter() - started
        for qid, text in queries.items():
            t0 = time.perf_counter()
            run[qid] = [doc_id for doc_id, _ in baseline.search(text, k)]
            latencies.append((time.perf_counter() - t0) * 1000)
        return _report(mode, k, run, qrels, latencies, ingest_seconds, len(corpus))

    own_services = services is None
    if own_services:
        from .services import open_services

        if rerank_model is not None:
            settings.rerank_model_path = rerank_model
        services = open_services(settings)
    workspace = services.create_workspace(f"eval-{uuid.uuid4().hex[:10]}")
    try:
        started = time.perf_counter()
        summary = services.ingestor.ingest_many(
            workspace,
            (
                DocumentInput(f"{doc.id}.txt", doc.full_text.encode("utf-8"), document_id=doc.id)
                for doc in corpus.values()
            ),
        )
        ingest_seconds = time.perf_counter() - started
        retrieval_mode = "hybrid" if mode == "hybrid+rerank" else mode
        retrieval = RetrievalSettings(
            mode=retrieval_mode,  # type: ignore[arg-type]
            k=k * _CHUNKS_PER_DOCUMENT,
            candidates=max(40, k * _CHUNKS_PER_DOCUMENT),
            fusion=fusion,  # type: ignore[arg-type]
            rerank=mode == "hybrid+rerank",
        )
        if mode == "hybrid+rerank" and services.reranker is None:
            raise ValueError("hybrid+rerank needs a reranker (--rerank-model)")
        for qid, text in queries.items():
            t0 = time.perf_counter()
            hits = services.retriever.retrieve(workspace.id, text, settings=retrieval)
            latencies.append((time.perf_counter() - t0) * 1000)
            run[qid] = documents_in_rank_order(hits, k)
    finally:
        services.delete_workspace(workspace.id)
        if own_services:
            services.close()
    report = _report(mode, k, run, qrels, latencies, ingest_seconds, len(corpus))
    report["skipped_documents"] = summary.count("skipped") + summary.count("failed")
    return report


def _report(
    mode: str,
    k: int,
    run: dict[str, list[str]],
    qrels: dict[str, dict[str, int]],
    latencies: list[float],
    ingest_seconds: float,
    documents: int,
) -> dict[str, Any]:
    metrics = evaluate_run(run, qrels, k)
    latency = latency_summary(latencies) if latencies else {"p50": 0.0, "p95": 0.0}
    return {
        "mode": mode,
        **{key: round(v, 4) if isinstance(v, float) else v for key, v in metrics.items()},
        "p50_ms": round(latency["p50"], 2),
        "p95_ms": round(latency["p95"], 2),
        "ingest_seconds": round(ingest_seconds, 2),
        "documents": documents,
    }
