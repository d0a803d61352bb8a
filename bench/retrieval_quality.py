"""nDCG@10 of the default hybrid retriever on every evaluation set, with and without feedback.

Each set (the bundled one, git-man, sqlite) is ingested once with the default chunking; every
question is retrieved through the ``Retriever`` the chat uses, with the default settings and
with one setting changed (``--compare feedback_weight=0``: dense pseudo-relevance feedback off,
the default before it). Prints each set's nDCG@10 and ratio to plain dense search (whole
passages, same model), and the average ratio — the issue #19 figures, before and after, from
one run on the same ingested workspaces.

    .venv/bin/python bench/retrieval_quality.py [--home /tmp/chorus-bench] \
        [--compare feedback_weight=0] [--compare keyword_weight=1.0 ...] \
        [--title-mode keyword|embed|none]

``--title-mode`` ingests with that chunking title mode instead of the default (a per-workspace
setting ``chorus tune retrieval`` can choose); both columns are retrieved from it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from chorus.runtime.core.evaluation import evaluate_run
from chorus.runtime.core.models import ChunkingSettings
from chorus.runtime.core.retrieval import RetrievalSettings
from chorus.runtime.local.evaluation import (
    EvalSet,
    _documents,
    _open,
    documents_in_rank_order,
    plain_dense_run,
)
from chorus.runtime.local.settings import LocalSettings

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "bundled": ROOT / "tests" / "data" / "retrieval_set",
    "sqlite": ROOT / "bench" / "data" / "retrieval" / "sqlite",
    "git-man": ROOT / "bench" / "data" / "retrieval" / "git-man",
}
K = 10


def _load(folder: Path) -> EvalSet:
    qrels = folder / "qrels.tsv"
    if not qrels.is_file():
        qrels = folder / "qrels" / "test.tsv"
    return EvalSet.load(folder / "corpus.jsonl", folder / "queries.jsonl", qrels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=None, help="chorus home whose eval-cache to reuse")
    parser.add_argument(
        "--compare",
        action="append",
        default=None,
        help="NAME=VALUE: a retrieval setting changed from the default (repeatable)",
    )
    parser.add_argument(
        "--title-mode",
        default=ChunkingSettings().title_mode,
        choices=["keyword", "embed", "none"],
        help="chunking title mode of the ingested workspaces (default: the default chunking)",
    )
    args = parser.parse_args()
    changes = {}
    for item in args.compare or ["feedback_weight=0"]:
        name, _, value = item.partition("=")
        changes[name] = json.loads(value)
    # The eval's own settings: 3 chunks per wanted document, 40 candidates per leg.
    default = RetrievalSettings(k=K * 3, candidates=40, rerank=False)
    compared = replace(default, **changes)
    with tempfile.TemporaryDirectory(prefix="chorus-quality-", dir="/tmp") as scratch:
        home = Path(args.home) if args.home else Path(scratch)
        services, cache = _open(LocalSettings(home=home), None, None)
        label = ", ".join(f"{k}={v}" for k, v in changes.items())
        print(
            f"{'set':8s} {'plain dense':>11s} {label:>24s} {'ratio':>6s}"
            f" {'default':>8s} {'ratio':>6s}"
        )
        ratios: dict[str, list[float]] = {"compared": [], "default": []}
        try:
            for name, folder in SETS.items():
                eval_set = _load(folder)
                embedder = services.ingestor.embedder
                plain = max(
                    evaluate_run(
                        plain_dense_run(eval_set, embedder, K, with_title=t), eval_set.qrels, K
                    )[f"ndcg@{K}"]
                    for t in (True, False)
                )
                workspace = services.create_workspace(
                    f"quality-{uuid.uuid4().hex[:8]}", ChunkingSettings(title_mode=args.title_mode)
                )
                try:
                    services.ingestor.ingest_many(workspace, _documents(eval_set))
                    scores = {}
                    for which, settings in (("compared", compared), ("default", default)):
                        run = {
                            qid: documents_in_rank_order(
                                services.retriever.retrieve(workspace.id, text, settings=settings),
                                K,
                            )
                            for qid, text in eval_set.queries.items()
                        }
                        scores[which] = float(evaluate_run(run, eval_set.qrels, K)[f"ndcg@{K}"])
                        ratios[which].append(scores[which] / plain)
                finally:
                    services.delete_workspace(workspace.id)
                print(
                    f"{name:8s} {plain:11.3f} {scores['compared']:24.3f}"
                    f" {scores['compared'] / plain:6.3f} {scores['default']:8.3f}"
                    f" {scores['default'] / plain:6.3f}"
                )
            average = {w: sum(r) / len(r) for w, r in ratios.items()}
            print(
                f"{'average ratio':>20s} {average['compared']:24.3f}"
                f" {average['default']:15.3f}   (worst {min(ratios['default']):.3f})"
            )
        finally:
            if cache is not None:
                cache.save()
            services.close()


if __name__ == "__main__":
    main()
