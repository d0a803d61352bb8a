"""Local bulk ingestion throughput (``chorus ingest FOLDER``: the bulk batch code) against raw
batch encoding of the same chunks, measured in the same run (target: ratio >= 0.8).

Writes the bench corpus to a folder, ingests it with ``runtime.local.bulk.ingest_folder`` into
the embedded PostgreSQL (list, read, parse, chunk, embed, write, record), then runs it again
(every file unchanged: skipped without being read) and prints documents/s, chunks/s and the
ratio to ``embedder.embed`` on the very texts the ingestor embedded.

    .venv/bin/python bench/bulk_ingest.py [--documents 300] [--repeats 3]
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
from chorus.runtime.local.bulk import ingest_folder
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    docs = documents(args.documents)
    print(f"cores: {len(os.sched_getaffinity(0))}, documents: {len(docs)}")
    with tempfile.TemporaryDirectory(prefix="chorus-bench-", dir="/tmp") as home:
        folder = Path(home) / "corpus"
        for name, text in docs:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        services = open_services(LocalSettings(home=Path(home)))
        services.embedder.embed(["warm up"] * 8)
        ratios, ingest_rates, raw_rates, doc_rates, rerun_rates = [], [], [], [], []
        for repeat in range(args.repeats):
            workspace = services.create_workspace(f"bench-bulk-{repeat}")
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
            report = ingest_folder(services.ingestor, workspace, folder)
            seconds = time.perf_counter() - started
            assert report.counts.ingested == len(docs), report.results[:3]
            ingest_rates.append(report.counts.chunks / seconds)
            doc_rates.append(len(docs) / seconds)
            ratios.append(ingest_rates[-1] / raw_rates[-1])

            started = time.perf_counter()
            again = ingest_folder(services.ingestor, workspace, folder)
            rerun_rates.append(len(docs) / (time.perf_counter() - started))
            assert again.counts.unchanged == len(docs)
            print(
                f"run {repeat + 1}: {doc_rates[-1]:.1f} documents/s, {ingest_rates[-1]:.1f} "
                f"chunks/s ({report.counts.chunks} chunks); raw encode {raw_rates[-1]:.1f} "
                f"chunks/s; ratio {ratios[-1]:.2f}; unchanged re-run {rerun_rates[-1]:.0f} "
                "documents/s"
            )
            services.delete_workspace(workspace.id)
        services.close()
    print(
        f"median: bulk ingest {statistics.median(ingest_rates):.1f} chunks/s "
        f"({statistics.median(doc_rates):.1f} documents/s), raw encode "
        f"{statistics.median(raw_rates):.1f} chunks/s, ratio {statistics.median(ratios):.2f} "
        f"(target >= 0.8); unchanged re-run {statistics.median(rerun_rates):.0f} documents/s"
    )


if __name__ == "__main__":
    main()
