"""Cost and effect of the evidence steps (exact identifiers, sibling sections) per question.

Ingests one documentation set with the default chunking, searches both legs once per question
(``collect_legs``), then times ``boost_exact_terms`` and ``boost_by_siblings`` on each fused
candidate list next to the fusion itself, and prints p50/p95 in milliseconds. The identifier
step is also timed with ``--force HEAD~2`` appended to every question, so that every question
has identifiers to look for (the worst case).

    .venv/bin/python bench/retrieval_evidence.py [--set git-man] [--home /tmp/chorus-bench]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from chorus.runtime.core.evidence import boost_by_siblings, boost_exact_terms
from chorus.runtime.core.models import ChunkingSettings
from chorus.runtime.core.retrieval import RetrievalSettings, fuse_legs
from chorus.runtime.local.evaluation import EvalSet, _open, collect_legs
from chorus.runtime.local.settings import LocalSettings

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5


def _timed(step: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    step(*args)
    return (time.perf_counter() - started) * 1000


def _summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{name:32s} p50 {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="git-man", choices=["git-man", "sqlite"])
    parser.add_argument("--home", default=None, help="chorus home whose eval-cache to reuse")
    args = parser.parse_args()
    folder = ROOT / "bench" / "data" / "retrieval" / args.set
    eval_set = EvalSet.load(
        folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv"
    )
    settings = RetrievalSettings()
    with tempfile.TemporaryDirectory(prefix="chorus-evidence-", dir="/tmp") as scratch:
        home = Path(args.home) if args.home else Path(scratch)
        services, cache = _open(LocalSettings(home=home), None, None)
        try:
            legs = collect_legs(services, eval_set, ChunkingSettings(), settings.candidates)
        finally:
            if cache is not None:
                cache.save()
            services.close()
    times: dict[str, list[float]] = {
        "fusion": [],
        "exact identifiers": [],
        "exact identifiers (worst case)": [],
        "sibling sections": [],
    }
    sizes = []
    for _ in range(REPEATS):
        for qid, query in eval_set.queries.items():
            vector, keyword = legs.vector[qid], legs.keyword[qid]
            fused = fuse_legs(vector, keyword, settings)
            sizes.append(len(fused))
            times["fusion"].append(_timed(fuse_legs, vector, keyword, settings))
            times["exact identifiers"].append(
                _timed(boost_exact_terms, fused, query, settings.exact_term_weight)
            )
            times["exact identifiers (worst case)"].append(
                _timed(
                    boost_exact_terms, fused, query + " --force HEAD~2", settings.exact_term_weight
                )
            )
            times["sibling sections"].append(
                _timed(boost_by_siblings, fused, settings.sibling_weight)
            )
    print(
        f"{args.set}: {len(eval_set.queries)} questions x {REPEATS},"
        f" {statistics.median(sizes):.0f} fused candidates (median), load average"
        f" {os.getloadavg()[0]:.1f}"
    )
    for name, values in times.items():
        print(_summary(name, values))


if __name__ == "__main__":
    main()
