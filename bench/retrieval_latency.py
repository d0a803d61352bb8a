"""Hybrid retrieval latency on a 5,000-chunk workspace of real documentation.

The workspace holds the passages of the two bundled documentation sets (bench/data/retrieval:
git man pages, the SQLite manual), copied under new document ids until it has ``--chunks``
chunks, chunked with the default settings. Chunk vectors come from the evaluation's disk cache
when ``chorus eval retrieval`` has embedded these sets before (else they are computed once);
every question is encoded for real at each retrieval. Prints p50/p95 per retrieval setting.
Target: hybrid p95 < 100 ms.

    .venv/bin/python bench/retrieval_latency.py [--chunks 5000 --home /tmp/chorus-bench]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder
from chorus.runtime.core.evaluation import load_corpus, load_queries
from chorus.runtime.core.ingestion import DocumentInput
from chorus.runtime.core.retrieval import RetrievalSettings
from chorus.runtime.local.eval_embeddings import DiskCachedEmbedder
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings

SETS = Path(__file__).resolve().parent / "data" / "retrieval"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--home", default=None, help="chorus home whose eval-cache to reuse")
    args = parser.parse_args()
    corpora = [load_corpus(SETS / name / "corpus.jsonl") for name in ("git-man", "sqlite")]
    questions = [
        q
        for name in ("git-man", "sqlite")
        for q in load_queries(SETS / name / "queries.jsonl").values()
    ]
    with tempfile.TemporaryDirectory(prefix="chorus-bench-", dir="/tmp") as scratch:
        home = Path(args.home) if args.home else Path(scratch)
        base = SentenceTransformerEmbedder()
        cached = DiskCachedEmbedder(base, home / "eval-cache")
        services = open_services(
            LocalSettings(home=Path(scratch)), embedder=cached, semantic_cache=False
        )
        services.retriever.embedder = base  # questions are encoded for real
        workspace = services.create_workspace("latency")
        copy, chunks, started = 0, 0, time.perf_counter()
        while chunks < args.chunks:
            for corpus in corpora:
                summary = services.ingestor.ingest_many(
                    workspace,
                    (
                        DocumentInput(
                            f"{copy}-{doc.id}.txt",
                            doc.text.encode(),
                            metadata={"title": doc.title},
                        )
                        for doc in corpus.values()
                    ),
                )
                chunks += summary.chunks
            copy += 1
        cached.save()
        print(f"workspace: {chunks} chunks ({time.perf_counter() - started:.0f} s to build)")
        rows = {
            "vector": RetrievalSettings(mode="vector"),
            "keyword": RetrievalSettings(mode="keyword"),
            "hybrid, adaptive (default)": RetrievalSettings(),
            "hybrid, weighted": RetrievalSettings(fusion="weighted", keyword_weight=0.5),
            "hybrid, rrf": RetrievalSettings(fusion="rrf"),
        }
        for q in questions[:10]:  # warm code paths and caches of the database
            services.retriever.retrieve(workspace.id, q)
        for name, settings in rows.items():
            samples = []
            for q in questions:
                t0 = time.perf_counter()
                services.retriever.retrieve(workspace.id, q, settings=settings)
                samples.append((time.perf_counter() - t0) * 1000)
            p50, p95 = np.percentile(np.asarray(samples), [50, 95])
            print(f"{name:28s} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   ({len(samples)} questions)")
        services.close()


if __name__ == "__main__":
    main()
