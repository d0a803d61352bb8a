"""How well grounding and agreement tell right from wrong, on hand-labelled sets.

Grounding (``bench/data/grounding_claims.yaml``, 250+ claims against passages from documents
installed on this machine): per kind of claim, the share the judge flags (verdict other than
``supported``; for flipped kinds also the share flagged *as contradicted*), the false-flag rate
on supported paraphrases, and the AUROC of the judge's risk score against paraphrases. Both the
cosine-only judge of old and the contradiction-aware one are printed.

Agreement (``bench/data/agreement_answers.yaml``, 21 questions with right and wrong answers):
AUROC of each answer's mean agreement with the others at telling right answers from wrong,
cosine only and with contradictions counted.

    .venv/bin/python bench/grounding.py
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import yaml
from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder
from chorus.runtime.core.agreement import agreement_score
from chorus.runtime.core.context import AssembledContext, assemble_context
from chorus.runtime.core.grounding import EmbeddingGroundingJudge, SentenceSupport
from chorus.runtime.core.models import SearchHit

DATA = Path(__file__).resolve().parent / "data"
FLIPPED = ("negation", "antonym", "number", "date", "entity", "quantifier", "comparative")


def auroc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    pos = np.asarray(positives)[:, None]
    neg = np.asarray(negatives)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def risk(verdict: SentenceSupport) -> float:
    """Higher is more likely wrong: flagged claims above supported ones, then by cosine."""
    return (0.0 if verdict.verdict == "supported" else 1.0) + (1.0 - verdict.score)


def context_of(group: dict) -> AssembledContext:
    hits = [
        SearchHit(s["id"], s["id"], 0, " ".join(s["text"].split()), 1.0 - i / 100, {})
        for i, s in enumerate(group["sources"])
    ]
    return assemble_context(hits, budget_tokens=100_000)


def grounding_figures(embedder: SentenceTransformerEmbedder) -> None:
    groups = yaml.safe_load((DATA / "grounding_claims.yaml").read_text())
    judges = {
        "cosine only": EmbeddingGroundingJudge(embedder, contradictions=False),
        "contradiction-aware": EmbeddingGroundingJudge(embedder),
    }
    for name, judge in judges.items():
        by_kind: dict[str, list[SentenceSupport]] = defaultdict(list)
        elapsed = 0.0
        for group in groups:
            context = context_of(group)
            texts = [c["text"] for c in group["claims"]]
            judge.judge_claims(texts[:1], context)  # embed the context outside the timing
            started = time.perf_counter()
            verdicts = judge.judge_claims(texts, context)
            elapsed += time.perf_counter() - started
            for claim, verdict in zip(group["claims"], verdicts, strict=True):
                by_kind[claim["kind"]].append(verdict)
        total = sum(len(v) for v in by_kind.values())
        paraphrase_risk = [risk(v) for v in by_kind["paraphrase"]]
        print(f"\ngrounding — {name} judge ({total} claims, {elapsed / total * 1000:.2f} ms/claim)")
        print(f"  {'kind':<12} {'n':>3}  {'flagged':>8}  {'contradicted':>12}  {'AUROC':>6}")
        for kind in ("paraphrase", "invention", *FLIPPED):
            verdicts = by_kind[kind]
            flagged = sum(v.verdict != "supported" for v in verdicts) / len(verdicts)
            contradicted = sum(v.verdict == "contradicted" for v in verdicts) / len(verdicts)
            score = (
                ""
                if kind == "paraphrase"
                else f"{auroc([risk(v) for v in verdicts], paraphrase_risk):.3f}"
            )
            print(
                f"  {kind:<12} {len(verdicts):>3}  {flagged:>8.1%}  "
                f"{contradicted:>12.1%}  {score:>6}"
            )
        flipped = [v for kind in FLIPPED for v in by_kind[kind]]
        share = sum(v.verdict != "supported" for v in flipped) / len(flipped)
        print(
            f"  all flipped {len(flipped):>4}  {share:>8.1%}  "
            f"{sum(v.verdict == 'contradicted' for v in flipped) / len(flipped):>12.1%}  "
            f"{auroc([risk(v) for v in flipped], paraphrase_risk):.3f}"
        )
        if os.environ.get("SHOW_MISSES"):
            for kind in FLIPPED:
                for v in by_kind[kind]:
                    if v.verdict == "supported":
                        print(f"    missed {kind}: {v.text}")
            for v in by_kind["paraphrase"]:
                if v.verdict != "supported":
                    print(f"    false flag ({v.verdict}): {v.text} {v.differences}")


def agreement_figures(embedder: SentenceTransformerEmbedder) -> None:
    questions = yaml.safe_load((DATA / "agreement_answers.yaml").read_text())
    for name, conflicts in (("cosine only", False), ("contradictions counted", True)):
        right: list[float] = []
        wrong: list[float] = []
        picked_right = 0
        elapsed = 0.0
        for q in questions:
            answers = [*q["right"], *q["wrong"]]
            started = time.perf_counter()
            result = agreement_score(answers, embedder, conflicts=conflicts)
            elapsed += time.perf_counter() - started
            means = [m if m is not None else 0.0 for m in result.per_answer]
            right += means[: len(q["right"])]
            wrong += means[len(q["right"]) :]
            picked_right += int((result.medoid or 0) < len(q["right"]))
        print(
            f"agreement — {name}: AUROC {auroc(right, wrong):.3f} "
            f"({len(right)} right, {len(wrong)} wrong answers to {len(questions)} questions); "
            f"medoid is a right answer for {picked_right}/{len(questions)}; "
            f"{elapsed / len(questions) * 1000:.1f} ms/question"
        )


def cost_per_answer(embedder: SentenceTransformerEmbedder) -> None:
    """Milliseconds the grounding check adds to an answer of three claims that are not quotes
    (an LLM's), with the context already embedded (the judge remembers it within a turn);
    both judges measured interleaved, so machine load hits them alike."""
    groups = yaml.safe_load((DATA / "grounding_claims.yaml").read_text())
    judges = {
        "cosine only": EmbeddingGroundingJudge(embedder, contradictions=False),
        "contradiction-aware": EmbeddingGroundingJudge(embedder),
    }
    samples: dict[str, list[float]] = {name: [] for name in judges}
    for _ in range(3):
        for group in groups:
            context = context_of(group)
            answer = " ".join(c["text"] for c in group["claims"][:3])
            for name, judge in judges.items():
                judge.check([answer], context)  # the context's sentences, embedded once a turn
                started = time.perf_counter()
                judge.check([answer], context)
                samples[name].append((time.perf_counter() - started) * 1000)
    for name, values in samples.items():
        print(
            f"grounding cost per 3-claim answer — {name}: p50 {np.percentile(values, 50):.1f} ms, "
            f"p95 {np.percentile(values, 95):.1f} ms"
        )


def main() -> None:
    embedder = SentenceTransformerEmbedder()
    grounding_figures(embedder)
    print()
    cost_per_answer(embedder)
    print()
    agreement_figures(embedder)


if __name__ == "__main__":
    main()
