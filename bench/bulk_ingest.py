"""Local bulk ingestion throughput (``chorus ingest FOLDER``: the bulk batch code) against raw
batch encoding of the same chunks, measured in the same run (target: ratio >= 0.8).

Writes the bench corpus to a folder, ingests it with ``runtime.local.bulk.ingest_folder`` into
the embedded PostgreSQL (list, read, parse, chunk, embed, write, record), then runs it again
(every file unchanged: skipped without being read) and prints documents/s, chunks/s and the
ratio to ``embedder.embed`` on the very texts the ingestor embedded.

    .venv/bin/python bench/bulk_ingest.py [--documents 300] [--repeats 3]
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _corpus
from chorus.runtime.local.bulk import ingest_folder


def main() -> None:
    args = _corpus.ingest_arguments(__doc__.splitlines()[0])
    docs = _corpus.documents(args.documents)
    print(f"cores: {len(os.sched_getaffinity(0))}, documents: {len(docs)}")
    with _corpus.warm_local_services() as (home, services):
        folder = home / "corpus"
        for name, text in docs:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        ratios, ingest_rates, raw_rates, doc_rates, rerun_rates = [], [], [], [], []
        for repeat in range(args.repeats):
            workspace = services.create_workspace(f"bench-bulk-{repeat}")
            raw_rates.append(_corpus.raw_encode_rate(services.embedder, docs, workspace))

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
    print(
        f"median: bulk ingest {statistics.median(ingest_rates):.1f} chunks/s "
        f"({statistics.median(doc_rates):.1f} documents/s), raw encode "
        f"{statistics.median(raw_rates):.1f} chunks/s, ratio {statistics.median(ratios):.2f} "
        f"(target >= 0.8); unchanged re-run {statistics.median(rerun_rates):.0f} documents/s"
    )


if __name__ == "__main__":
    main()
