"""How well grounding and agreement tell right from wrong, on hand-labelled sets.

Grounding (``bench/data/grounding_claims.yaml``, 250+ claims against passages from documents
installed on this machine): per kind of claim, the share the judge flags (verdict other than
``supported``; for flipped kinds also the share flagged *as contradicted*), the false-flag rate
on supported paraphrases, and the AUROC of the judge's risk score against paraphrases. Both the
cosine-only judge of old and the contradiction-aware one are printed.

Agreement (``bench/data/agreement_answers.yaml``, 21 questions with right and wrong answers):
AUROC of each answer's mean agreement with the others at telling right answers from wrong,
cosine only and with contradictions counted; then of ``answer_confidence`` (agreement scaled
by grounding against the question's source passages, contradicted answers cut) and of each
signal alone.

Both sets are split in two halves by a hash of each group's (document's) id: ``dev`` is what
the judge was tuned on, ``held-out`` is only measured — the gap between them is how much of the
dev figure is tuning. ``SHOW_MISSES=1`` lists the dev half's misses (``SHOW_MISSES=all`` both).

    .venv/bin/python bench/grounding.py
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import yaml
from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder
from chorus.runtime.core.agreement import agreement_score, answer_confidence
from chorus.runtime.core.context import AssembledContext, assemble_context
from chorus.runtime.core.grounding import EmbeddingGroundingJudge, SentenceSupport
from chorus.runtime.core.models import SearchHit
from chorus.runtime.core.relevance import EmbeddingRelevanceScorer

DATA = Path(__file__).resolve().parent / "data"
FLIPPED = ("negation", "antonym", "number", "date", "entity", "quantifier", "comparative")
HALVES = ("dev", "held-out")


def half_of(key: str) -> str:
    """``dev`` or ``held-out``, fixed by the key (a document group's id or a question): the
    same item always lands in the same half, and a document's claims stay together."""
    return HALVES[int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2]


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


def _flag_share(verdicts: list[SentenceSupport]) -> str:
    if not verdicts:
        return f"{'':>4} {'':>6}"
    share = sum(v.verdict != "supported" for v in verdicts) / len(verdicts)
    return f"{len(verdicts):>4} {share:>6.1%}"


def grounding_figures(embedder: SentenceTransformerEmbedder) -> None:
    groups = yaml.safe_load((DATA / "grounding_claims.yaml").read_text())
    judges = {
        "cosine only": EmbeddingGroundingJudge(embedder, contradictions=False),
        "contradiction-aware": EmbeddingGroundingJudge(embedder),
    }
    show = os.environ.get("SHOW_MISSES", "")
    for name, judge in judges.items():
        by_kind: dict[tuple[str, str], list[SentenceSupport]] = defaultdict(list)
        elapsed = 0.0
        for group in groups:
            context = context_of(group)
            texts = [c["text"] for c in group["claims"]]
            judge.judge_claims(texts[:1], context)  # embed the context outside the timing
            started = time.perf_counter()
            verdicts = judge.judge_claims(texts, context)
            elapsed += time.perf_counter() - started
            for claim, verdict in zip(group["claims"], verdicts, strict=True):
                by_kind[(half_of(group["id"]), claim["kind"])].append(verdict)

        def pooled(
            kinds: tuple[str, ...], halves: tuple[str, ...] = HALVES, by_kind=by_kind
        ) -> list[SentenceSupport]:
            return [v for h in halves for k in kinds for v in by_kind[(h, k)]]

        total = sum(len(v) for v in by_kind.values())
        paraphrase_risk = [risk(v) for v in pooled(("paraphrase",))]
        print(f"\ngrounding — {name} judge ({total} claims, {elapsed / total * 1000:.2f} ms/claim)")
        print(
            f"  {'kind':<12} {'dev':>11}  {'held-out':>11}  {'total':>11}  "
            f"{'contradicted':>12}  {'AUROC':>6}"
        )
        for kind in ("paraphrase", "invention", *FLIPPED, "all flipped"):
            kinds = FLIPPED if kind == "all flipped" else (kind,)
            verdicts = pooled(kinds)
            contradicted = sum(v.verdict == "contradicted" for v in verdicts) / len(verdicts)
            score = (
                ""
                if kind == "paraphrase"
                else f"{auroc([risk(v) for v in verdicts], paraphrase_risk):.3f}"
            )
            print(
                f"  {kind:<12} {_flag_share(pooled(kinds, ('dev',)))}  "
                f"{_flag_share(pooled(kinds, ('held-out',)))}  {_flag_share(verdicts)}  "
                f"{contradicted:>12.1%}  {score:>6}"
            )
        if show:
            halves = HALVES if show == "all" else ("dev",)
            for kind in FLIPPED:
                for v in pooled((kind,), halves):
                    if v.verdict == "supported":
                        print(f"    missed {kind}: {v.text}")
            for v in pooled(("paraphrase",), halves):
                if v.verdict != "supported":
                    print(f"    false flag ({v.verdict}, {v.score}): {v.text} {v.differences}")


def agreement_figures(embedder: SentenceTransformerEmbedder) -> None:
    questions = yaml.safe_load((DATA / "agreement_answers.yaml").read_text())
    for name, conflicts in (("cosine only", False), ("contradictions counted", True)):
        right: dict[str, list[float]] = defaultdict(list)
        wrong: dict[str, list[float]] = defaultdict(list)
        picked_right = 0
        elapsed = 0.0
        for q in questions:
            half = half_of(q["question"])
            answers = [*q["right"], *q["wrong"]]
            started = time.perf_counter()
            result = agreement_score(answers, embedder, conflicts=conflicts)
            elapsed += time.perf_counter() - started
            means = [m if m is not None else 0.0 for m in result.per_answer]
            right[half] += means[: len(q["right"])]
            wrong[half] += means[len(q["right"]) :]
            picked_right += int((result.medoid or 0) < len(q["right"]))
        halves = ", ".join(
            f"{h} {auroc(right[h], wrong[h]):.3f} ({len(right[h]) + len(wrong[h])} answers)"
            for h in HALVES
        )
        all_right = [v for h in HALVES for v in right[h]]
        all_wrong = [v for h in HALVES for v in wrong[h]]
        print(
            f"agreement — {name}: AUROC {auroc(all_right, all_wrong):.3f} "
            f"({len(all_right)} right, {len(all_wrong)} wrong answers to {len(questions)} "
            f"questions; {halves}); medoid is a right answer for {picked_right}/{len(questions)}; "
            f"{elapsed / len(questions) * 1000:.1f} ms/question"
        )


def confidence_figures(embedder: SentenceTransformerEmbedder) -> None:
    """AUROC of ``answer_confidence`` (agreement with contradictions counted, scaled by
    grounding against the question's source passages) and of each signal alone."""
    groups = {g["id"]: g for g in yaml.safe_load((DATA / "grounding_claims.yaml").read_text())}
    questions = yaml.safe_load((DATA / "agreement_answers.yaml").read_text())
    judge = EmbeddingGroundingJudge(embedder)
    relevance = EmbeddingRelevanceScorer(embedder)
    signals = ("agreement", "grounding", "relevance", "combined")
    right: dict[tuple[str, str], list[float]] = defaultdict(list)
    wrong: dict[tuple[str, str], list[float]] = defaultdict(list)
    for q in questions:
        answers = [*q["right"], *q["wrong"]]
        agreement = agreement_score(answers, embedder)
        reports = judge.check(answers, context_of(groups[q["source"]]))
        relevant = relevance.score(q["question"], answers)
        for i in range(len(answers)):
            grounding = reports[i].score
            values = {
                "agreement": agreement.per_answer[i] or 0.0,
                "grounding": grounding or 0.0,
                "relevance": relevant[i] or 0.0,
                "combined": answer_confidence(
                    agreement.per_answer[i], grounding, bool(reports[i].contradicted)
                ),
            }
            side = right if i < len(q["right"]) else wrong
            for name in signals:
                side[(half_of(q["question"]), name)].append(values[name])
    for name in signals:
        figures = [
            auroc(
                [v for h in halves for v in right[(h, name)]],
                [v for h in halves for v in wrong[(h, name)]],
            )
            for halves in (("dev",), ("held-out",), HALVES)
        ]
        print(
            f"answer confidence — {name:<9}: AUROC dev {figures[0]:.3f}, held-out "
            f"{figures[1]:.3f}, total {figures[2]:.3f}"
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
    confidence_figures(embedder)


if __name__ == "__main__":
    main()
