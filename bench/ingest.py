"""Ingestion throughput on the local stack, against raw batch encoding of the same chunks.

Prints documents/s and chunks/s of ``Ingestor.ingest_many`` (parse, chunk, embed, write to the
embedded PostgreSQL) and the ratio to ``embedder.embed`` on the very same chunk texts, measured
in the same run (target: ratio >= 0.8).

    .venv/bin/python bench/ingest.py [--documents 300]
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _corpus
from chorus.runtime.core.ingestion import DocumentInput


def main() -> None:
    args = _corpus.ingest_arguments(__doc__.splitlines()[0])
    docs = _corpus.documents(args.documents)
    with _corpus.warm_local_services() as (_home, services):
        ingest_rates, raw_rates, chunk_counts = [], [], []
        for repeat in range(args.repeats):
            workspace = services.create_workspace(f"bench-{repeat}")
            raw_rates.append(_corpus.raw_encode_rate(services.embedder, docs, workspace))

            started = time.perf_counter()
            summary = services.ingestor.ingest_many(
                workspace, (DocumentInput(name, text.encode()) for name, text in docs)
            )
            seconds = time.perf_counter() - started
            assert summary.count("indexed") == len(docs), summary.results[:3]
            ingest_rates.append(summary.chunks / seconds)
            chunk_counts.append(summary.chunks)
            print(
                f"run {repeat + 1}: {len(docs) / seconds:.1f} documents/s, "
                f"{summary.chunks / seconds:.1f} chunks/s; raw encode {raw_rates[-1]:.1f} chunks/s"
            )
            services.delete_workspace(workspace.id)
    ingest = statistics.median(ingest_rates)
    raw = statistics.median(raw_rates)
    print(
        f"median: ingest {ingest:.1f} chunks/s ({ingest / chunk_counts[0] * len(docs):.1f} "
        f"documents/s, {chunk_counts[0]} chunks), raw encode {raw:.1f} chunks/s, "
        f"ratio {ingest / raw:.2f} (target >= 0.8)"
    )


if __name__ == "__main__":
    main()
