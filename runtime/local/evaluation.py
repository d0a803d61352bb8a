"""``chorus eval retrieval``: BEIR-format retrieval evaluation on the local stack.

The corpus is ingested into a fresh workspace (each corpus ``_id`` becomes a document id, its
``title`` the document's title, so chunk hits map back to judged documents), every query is run
through the same ``Retriever`` the chat uses, and the workspace is deleted afterwards. ``bm25``
mode is the reference baseline on the ``bm25s`` package and never touches the store.

Every hybrid run also reports **plain dense search** with the same embedding model — each passage
embedded whole, brute-force cosine, no chunking, no keyword leg — because that is what the
simplest vector-store setup gives a user, and a hybrid retriever that ranks below it has not
earned its complexity. ``--sweep`` searches once per chunking and compares many fusions on the
same candidate lists (``fuse_legs`` is a pure function).

Passage and query vectors are cached on disk under the chorus home (``eval-cache/``): the second
run of a set embeds only the chunks that changed.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.evaluation import (
    Bm25Baseline,
    CorpusDoc,
    evaluate_run,
    latency_summary,
    load_corpus,
    load_qrels,
    load_queries,
)
from ..core.evidence import boost_by_siblings
from ..core.ingestion import DocumentInput
from ..core.models import ChunkingSettings, SearchHit
from ..core.retrieval import RetrievalSettings, fuse_legs
from .settings import LocalSettings

# A query asks for this many chunks per wanted document, so that a document split into several
# chunks does not crowd the others out of the top k.
_CHUNKS_PER_DOCUMENT = 3


@dataclass(frozen=True)
class EvalSet:
    """A BEIR-format set: passages by id, queries by id, graded judgements."""

    corpus: dict[str, CorpusDoc]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @classmethod
    def load(cls, corpus: Path, queries: Path, qrels: Path) -> EvalSet:
        return cls(load_corpus(corpus), load_queries(queries), load_qrels(qrels))


def documents_in_rank_order(hits: Sequence[SearchHit], k: int) -> list[str]:
    """Document ids of the hits, best first, each once, at most ``k``."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.document_id, None)
        if len(seen) == k:
            break
    return list(seen)


def plain_dense_run(
    eval_set: EvalSet, embedder: Any, k: int, *, with_title: bool = True
) -> dict[str, list[str]]:
    """Each passage embedded whole (title + text, or text only), brute-force cosine top ``k``."""
    ids = list(eval_set.corpus)
    texts = [eval_set.corpus[i].full_text if with_title else eval_set.corpus[i].text for i in ids]
    passages = _unit(np.asarray(embedder.embed(texts, kind="passage"), dtype=np.float32))
    qids = list(eval_set.queries)
    queries = _unit(
        np.asarray(embedder.embed([eval_set.queries[q] for q in qids], kind="query"), np.float32)
    )
    scores = queries @ passages.T
    run: dict[str, list[str]] = {}
    for row, qid in enumerate(qids):
        order = np.argsort(-scores[row], kind="stable")[:k]
        run[qid] = [ids[i] for i in order]
    return run


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def _documents(eval_set: EvalSet) -> Iterable[DocumentInput]:
    for doc in eval_set.corpus.values():
        yield DocumentInput(
            f"{doc.id}.txt",
            doc.text.encode("utf-8"),
            document_id=doc.id,
            metadata={"title": doc.title} if doc.title else None,
        )


@dataclass
class LegRankings:
    """Each query's vector and keyword candidates on one ingested workspace."""

    vector: dict[str, list[SearchHit]]
    keyword: dict[str, list[SearchHit]]
    ingest_seconds: float
    chunks: int
    skipped: int
    queries: dict[str, str] = field(default_factory=dict)
    """Each query's text, for the evidence fusion adds (exact identifiers)."""


def collect_legs(
    services: Any, eval_set: EvalSet, chunking: ChunkingSettings, candidates: int
) -> LegRankings:
    """Ingest the corpus with ``chunking`` into a scratch workspace and search both legs once."""
    workspace = services.create_workspace(f"eval-{uuid.uuid4().hex[:10]}", chunking)
    try:
        started = time.perf_counter()
        summary = services.ingestor.ingest_many(workspace, _documents(eval_set))
        ingest_seconds = time.perf_counter() - started
        qids = list(eval_set.queries)
        vectors = services.retriever.embedder.embed(
            [eval_set.queries[q] for q in qids], kind="query"
        )
        legs = LegRankings({}, {}, ingest_seconds, summary.chunks, 0, dict(eval_set.queries))
        legs.skipped = summary.count("skipped") + summary.count("failed")
        for qid, vector in zip(qids, vectors, strict=True):
            legs.vector[qid] = services.store.vector_search(workspace.id, vector, candidates)
            legs.keyword[qid] = services.store.keyword_search(
                workspace.id, eval_set.queries[qid], candidates
            )
        return legs
    finally:
        services.delete_workspace(workspace.id)


def run_from_legs(legs: LegRankings, settings: RetrievalSettings, k: int) -> dict[str, list[str]]:
    """The document ranking ``settings`` gives each query, from searched candidates."""
    run = {}
    for qid in legs.vector:
        vector = legs.vector[qid] if settings.mode in ("vector", "hybrid") else None
        keyword = legs.keyword[qid] if settings.mode in ("keyword", "hybrid") else None
        hits = fuse_legs(vector, keyword, settings, legs.queries.get(qid))
        if vector is not None and keyword is not None:
            hits = boost_by_siblings(hits, settings.sibling_weight)
        run[qid] = documents_in_rank_order(hits, k)
    return run


def _open(settings: LocalSettings, rerank_model: Path | None, services: Any) -> tuple[Any, Any]:
    """Services whose ingest embedder reads and fills the disk cache; (services, cache)."""
    from ..adapters.sentence_transformers import SentenceTransformerEmbedder
    from .eval_embeddings import DiskCachedEmbedder
    from .services import open_services

    if services is not None:
        return services, None
    if rerank_model is not None:
        settings.rerank_model_path = rerank_model
    base = SentenceTransformerEmbedder(
        settings.embedding_model_path,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
    )
    cache = DiskCachedEmbedder(base, settings.home / "eval-cache")
    services = open_services(settings, embedder=cache, semantic_cache=False)
    # Questions are encoded for real, so the latency a report prints includes the query encode.
    services.retriever.embedder = base
    return services, cache


def run_retrieval_eval(
    settings: LocalSettings,
    corpus_path: Path,
    queries_path: Path,
    qrels_path: Path,
    *,
    mode: str = "hybrid",
    k: int = 10,
    rerank_model: Path | None = None,
    fusion: str | None = None,
    chunking: ChunkingSettings | None = None,
    services: Any = None,
) -> dict[str, Any]:
    """Run the evaluation and return the report printed by the CLI.

    A ``hybrid`` report carries ``baselines``: nDCG@k of each leg alone, ``bm25`` and plain
    dense search (with and without the passage title), and ``vs_plain_dense``, hybrid's nDCG
    divided by the better plain dense one (≥ 1.0 means hybrid earned its complexity here).
    """
    eval_set = EvalSet.load(corpus_path, queries_path, qrels_path)
    queries, qrels = eval_set.queries, eval_set.qrels
    run: dict[str, list[str]] = {}
    latencies: list[float] = []

    if mode == "bm25":
        started = time.perf_counter()
        baseline = Bm25Baseline()
        baseline.index(eval_set.corpus)
        ingest_seconds = time.perf_counter() - started
        for qid, text in queries.items():
            t0 = time.perf_counter()
            run[qid] = [doc_id for doc_id, _ in baseline.search(text, k)]
            latencies.append((time.perf_counter() - t0) * 1000)
        return _report(mode, k, run, qrels, latencies, ingest_seconds, len(eval_set.corpus))

    own_services = services is None
    services, cache = _open(settings, rerank_model, services)
    workspace = services.create_workspace(
        f"eval-{uuid.uuid4().hex[:10]}", chunking or ChunkingSettings()
    )
    baselines: dict[str, float] = {}
    try:
        started = time.perf_counter()
        summary = services.ingestor.ingest_many(workspace, _documents(eval_set))
        ingest_seconds = time.perf_counter() - started
        retrieval_mode = "hybrid" if mode == "hybrid+rerank" else mode
        defaults = RetrievalSettings()
        retrieval = RetrievalSettings(
            mode=retrieval_mode,  # type: ignore[arg-type]
            k=k * _CHUNKS_PER_DOCUMENT,
            candidates=max(defaults.candidates, k * _CHUNKS_PER_DOCUMENT),
            fusion=fusion or defaults.fusion,  # type: ignore[arg-type]
            rerank=mode == "hybrid+rerank",
        )
        if mode == "hybrid+rerank" and services.reranker is None:
            raise ValueError("hybrid+rerank needs a reranker (--rerank-model)")
        vector_leg: dict[str, list[str]] = {}
        keyword_leg: dict[str, list[str]] = {}
        for qid, text in queries.items():
            t0 = time.perf_counter()
            hits = services.retriever.retrieve(workspace.id, text, settings=retrieval)
            latencies.append((time.perf_counter() - t0) * 1000)
            run[qid] = documents_in_rank_order(hits, k)
            if mode.startswith("hybrid"):
                vector = services.retriever.embedder.embed([text], kind="query")[0]
                found = services.store.vector_search(workspace.id, vector, retrieval.candidates)
                vector_leg[qid] = documents_in_rank_order(found, k)
                found = services.store.keyword_search(workspace.id, text, retrieval.candidates)
                keyword_leg[qid] = documents_in_rank_order(found, k)
        if mode.startswith("hybrid"):
            embedder = services.ingestor.embedder
            bm25 = Bm25Baseline()
            bm25.index(eval_set.corpus)
            runs = {
                "vector": vector_leg,
                "keyword": keyword_leg,
                "bm25": {q: [d for d, _ in bm25.search(t, k)] for q, t in queries.items()},
                "plain_dense": plain_dense_run(eval_set, embedder, k, with_title=True),
                "plain_dense_text_only": plain_dense_run(eval_set, embedder, k, with_title=False),
            }
            baselines = {
                name: round(float(evaluate_run(r, qrels, k)[f"ndcg@{k}"]), 4)
                for name, r in runs.items()
            }
    finally:
        services.delete_workspace(workspace.id)
        if cache is not None:
            cache.save()
        if own_services:
            services.close()
    report = _report(mode, k, run, qrels, latencies, ingest_seconds, len(eval_set.corpus))
    report["chunks"] = summary.chunks
    report["skipped_documents"] = summary.count("skipped") + summary.count("failed")
    if baselines:
        best_plain = max(baselines["plain_dense"], baselines["plain_dense_text_only"])
        report["baselines"] = baselines
        report["vs_plain_dense"] = (
            round(report[f"ndcg@{k}"] / best_plain, 3) if best_plain else None
        )
    return report


# --------------------------------------------------------------------------------------------
# sweep


@dataclass(frozen=True)
class SweepGrid:
    """What ``--sweep`` varies: chunkings (each one ingest) × fusions (each one re-ranking)."""

    chunk_sizes: Sequence[int] = (500, 1000)
    chunk_overlaps: Sequence[int] = (100,)
    title_modes: Sequence[str] = ("keyword", "embed")
    fusions: Sequence[Mapping[str, Any]] = (
        {"mode": "vector"},
        {"mode": "keyword"},
        {"fusion": "rrf", "rrf_k": 60, "keyword_weight": 1.0},
        {"fusion": "rrf", "rrf_k": 60, "keyword_weight": 0.5},
        {"fusion": "weighted", "keyword_weight": 0.5},
        {"fusion": "weighted", "keyword_weight": 0.25},
        {"fusion": "adaptive", "keyword_weight": 0.5},
        {"fusion": "adaptive", "keyword_weight": 0.75},
        {"fusion": "adaptive", "keyword_weight": 1.0},
        {"fusion": "adaptive", "keyword_weight": 1.25},
        {"fusion": "adaptive", "keyword_weight": 1.0, "sibling_weight": 0.0},
        {"fusion": "adaptive", "keyword_weight": 1.0, "sibling_weight": 0.3},
    )

    def chunkings(self) -> list[ChunkingSettings]:
        return [
            ChunkingSettings(chunk_size=size, chunk_overlap=min(overlap, size // 2), title_mode=t)
            for size, overlap, t in itertools.product(
                self.chunk_sizes, self.chunk_overlaps, self.title_modes
            )
        ]


@dataclass(frozen=True)
class SweepRow:
    """One configuration's scores."""

    chunking: ChunkingSettings
    retrieval: RetrievalSettings
    metrics: Mapping[str, float | int]

    def label(self) -> str:
        r = self.retrieval
        if r.mode != "hybrid":
            fusion = r.mode
        elif r.fusion == "rrf":
            fusion = f"rrf k={r.rrf_k} kw={r.keyword_weight:g}"
        else:
            fusion = f"{r.fusion} kw={r.keyword_weight:g}"
        if r.mode == "hybrid" and r.sibling_weight != RetrievalSettings.sibling_weight:
            fusion += f" sib={r.sibling_weight:g}"
        c = self.chunking
        return f"{c.chunk_size}/{c.chunk_overlap} title={c.title_mode:<7} {fusion}"


def run_retrieval_sweep(
    settings: LocalSettings,
    eval_set: EvalSet,
    *,
    grid: SweepGrid | None = None,
    k: int = 10,
    services: Any = None,
) -> tuple[list[SweepRow], dict[str, float]]:
    """Score every grid point; returns rows best first and the plain dense baselines."""
    grid = grid or SweepGrid()
    own_services = services is None
    services, cache = _open(settings, None, services)
    rows: list[SweepRow] = []
    try:
        embedder = services.ingestor.embedder
        plain = {
            "plain_dense": evaluate_run(plain_dense_run(eval_set, embedder, k), eval_set.qrels, k)[
                f"ndcg@{k}"
            ],
            "plain_dense_text_only": evaluate_run(
                plain_dense_run(eval_set, embedder, k, with_title=False), eval_set.qrels, k
            )[f"ndcg@{k}"],
        }
        # Fusions are compared on the same searched candidates; pseudo-relevance feedback
        # searches again per fusion, so sweep rows are without it — and a tuned workspace,
        # which stores feedback_weight 0 with them, is served as it was measured.
        base = RetrievalSettings(
            k=k * _CHUNKS_PER_DOCUMENT, candidates=40, rerank=False, feedback_weight=0.0
        )
        for chunking in grid.chunkings():
            legs = collect_legs(services, eval_set, chunking, base.candidates)
            for overrides in grid.fusions:
                retrieval = replace(base, **overrides)
                metrics = evaluate_run(run_from_legs(legs, retrieval, k), eval_set.qrels, k)
                rows.append(SweepRow(chunking, retrieval, metrics))
            if cache is not None:
                cache.save()
    finally:
        if own_services:
            services.close()
    rows.sort(key=lambda r: (-float(r.metrics[f"ndcg@{k}"]), r.label()))
    return rows, {name: round(float(v), 4) for name, v in plain.items()}


def sweep_table(rows: Sequence[SweepRow], plain: Mapping[str, float], k: int = 10) -> str:
    """The sweep as a fixed-width table, best first, with each row's ratio to plain dense."""
    best_plain = max(plain.values()) if plain else 0.0
    lines = [
        f"plain dense (whole passages): title+text {plain.get('plain_dense', 0):.4f}, "
        f"text only {plain.get('plain_dense_text_only', 0):.4f}",
        f"{'configuration':<52} {'ndcg@' + str(k):>8} {'recall':>8} {'mrr':>8} {'vs plain':>9}",
    ]
    for row in rows:
        ndcg = float(row.metrics[f"ndcg@{k}"])
        ratio = ndcg / best_plain if best_plain else 0.0
        lines.append(
            f"{row.label():<52} {ndcg:>8.4f} {float(row.metrics[f'recall@{k}']):>8.4f} "
            f"{float(row.metrics[f'mrr@{k}']):>8.4f} {ratio:>8.3f}x"
        )
    return "\n".join(lines)


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
