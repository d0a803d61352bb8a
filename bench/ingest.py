"""Ingestion throughput on the local stack, against raw batch encoding of the same chunks.

Prints documents/s and chunks/s of ``Ingestor.ingest_many`` (parse, chunk, embed, write to the
embedded PostgreSQL) and the ratio to ``embedder.embed`` on the very same chunk texts, measured
in the same run (target: ratio >= 0.8).

    .venv/bin/python bench/ingest.py [--documents 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _corpus import documents
from chorus.runtime.core.chunking import split_text
from chorus.runtime.core.ingestion import DocumentInput
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    docs = documents(args.documents)
    with tempfile.TemporaryDirectory(prefix="chorus-bench-", dir="/tmp") as home:
        services = open_services(LocalSettings(home=Path(home)))
        services.embedder.embed(["warm up"] * 8)
        ingest_rates, raw_rates, chunk_counts = [], [], []
        for repeat in range(args.repeats):
            workspace = services.create_workspace(f"bench-{repeat}")
            # The very texts the ingestor embeds: Markdown cut at its headings, the heading
            # path kept out of the embedding (title_mode "keyword").
            texts = [
                d.embed_text
                for name, text in docs
                for d in split_text(
                    text, workspace.id, name, workspace.chunking, markdown=name.endswith(".md")
                )
            ]
            started = time.perf_counter()
            services.embedder.embed(texts)
            raw_rates.append(len(texts) / (time.perf_counter() - started))

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
        services.close()
    ingest = statistics.median(ingest_rates)
    raw = statistics.median(raw_rates)
    print(
        f"median: ingest {ingest:.1f} chunks/s ({ingest / chunk_counts[0] * len(docs):.1f} "
        f"documents/s, {chunk_counts[0]} chunks), raw encode {raw:.1f} chunks/s, "
        f"ratio {ingest / raw:.2f} (target >= 0.8)"
    )


if __name__ == "__main__":
    main()
