"""Multi-model orchestration with simulated providers of known latency and known quality.

Prints:
1. consensus wall time as a ratio of the slowest provider (target <= 1.05), for the fan-out
   alone and with grounding + agreement scoring (real MiniLM) on top;
2. cascade cost vs always asking the strongest model, on a question set where the cheap model
   is right 70% of the time and the middle one 90%, with the answer quality each got.

    .venv/bin/python bench/fanout.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder
from chorus.runtime.core.agreement import EmbeddingAgreementScorer
from chorus.runtime.core.answering import LLMAnswerer
from chorus.runtime.core.context import AssembledContext, assemble_context
from chorus.runtime.core.grounding import EmbeddingGroundingJudge
from chorus.runtime.core.models import ChatMessage, LLMDelta, SearchHit, TokenUsage
from chorus.runtime.core.orchestration import ModelPrice, OrchestrationSettings, Orchestrator

FACTS = [
    ("What is lava?", "Lava is molten magma that reaches the surface through the crust."),
    ("How do stratovolcanoes form?", "Stratovolcanoes build steep cones from layers of ash."),
    ("How does sourdough rise?", "Sourdough rises with a starter of wild yeast and bacteria."),
    ("Why do bees dance?", "Bees dance to tell the colony where the flowers are."),
    ("What is castling?", "Castling moves the king two squares toward a rook."),
    ("What is a gambit?", "A gambit sacrifices a pawn in the opening for development."),
    ("How is honey made?", "Worker bees turn nectar from flowers into honey in the hive."),
    ("What makes sourdough sour?", "A long cold fermentation gives the loaf its sour taste."),
    ("What do explosive eruptions do?", "Explosive eruptions throw ash columns into the sky."),
    ("Who rules a bee colony?", "A honeybee colony has one queen and thousands of workers."),
]
WRONG = "The answer is that purple elephants negotiate tax treaties on the Moon every winter."


@dataclass
class Simulated:
    """A provider that streams ``tokens`` pieces evenly over ``latency`` seconds."""

    name: str
    latency: float
    answers: dict[str, str]
    tokens: int = 20
    usage: TokenUsage = field(default_factory=lambda: TokenUsage(1500, 150))

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        question = messages[-1].content.rsplit("Question: ", 1)[-1]
        text = self.answers.get(question, WRONG)
        words = text.split(" ")
        step = self.latency / self.tokens
        for i in range(self.tokens):
            time.sleep(step)
            if i < len(words):
                yield LLMDelta(words[i] + " ")
        if len(words) > self.tokens:
            yield LLMDelta(" ".join(words[self.tokens :]))
        yield LLMDelta(usage=self.usage)


def context_for(answer: str) -> AssembledContext:
    return assemble_context([SearchHit("c", "d", 0, answer, 1.0, {})], budget_tokens=500)


def consensus_ratio(embedder: SentenceTransformerEmbedder, repeats: int) -> None:
    latencies = [0.2, 0.5, 0.8, 1.0]
    right = dict(FACTS)
    providers = [Simulated(f"m{i}", lat, right) for i, lat in enumerate(latencies)]
    answerers = {p.name: LLMAnswerer(p) for p in providers}
    plain = Orchestrator(answerers)
    scored = Orchestrator(
        answerers,
        grounding=EmbeddingGroundingJudge(embedder),
        agreement=EmbeddingAgreementScorer(embedder),
    )
    question, answer = FACTS[0]
    context = context_for(answer)
    scored.run("consensus", list(answerers), question, context)  # warm-up
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"consensus over {len(latencies)} providers, latencies {latencies} s (slowest 1.0 s); "
        f"load average {load} on {os.cpu_count()} CPUs (scoring time grows with CPU contention)"
    )
    for label, orch in (("fan-out only", plain), ("fan-out + scoring", scored)):
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            orch.run("consensus", list(answerers), question, context)
            walls.append(time.perf_counter() - started)
        ratios = [w / max(latencies) for w in walls]
        print(
            f"  {label:18s} wall {statistics.median(walls) * 1000:7.1f} ms  "
            f"ratio to slowest: median {statistics.median(ratios):.3f}  max {max(ratios):.3f}"
            f"  (sum of latencies would be {sum(latencies) / max(latencies):.2f})"
        )


def cascade_cost(embedder: SentenceTransformerEmbedder) -> None:
    prices = {
        "cheap": ModelPrice(0.00025, 0.00125),
        "mid": ModelPrice(0.003, 0.015),
        "strong": ModelPrice(0.015, 0.075),
    }
    questions = [q for q, _ in FACTS] * 2
    truth = dict(FACTS)
    # cheap knows 7 of 10 facts, mid 9 of 10, strong all of them.
    cheap = Simulated("cheap", 0.0, dict(FACTS[:7]), tokens=1)
    mid = Simulated("mid", 0.0, dict(FACTS[:9]), tokens=1)
    strong = Simulated("strong", 0.0, truth, tokens=1)
    answerers = {p.name: LLMAnswerer(p) for p in (cheap, mid, strong)}
    orch = Orchestrator(
        answerers,
        prices=prices,
        grounding=EmbeddingGroundingJudge(embedder),
        agreement=EmbeddingAgreementScorer(embedder),
        settings=OrchestrationSettings(),
    )
    cascade_total = strong_total = 0.0
    cascade_right = strong_right = 0
    stopped_at: dict[str, int] = {}
    for question in questions:
        context = context_for(truth[question])
        result = orch.run("cascade", ["cheap", "mid", "strong"], question, context)
        cascade_total += result.cost
        cascade_right += int(result.answer == truth[question])
        stopped_at[result.model] = stopped_at.get(result.model, 0) + 1
        only = orch.run("single", ["strong"], question, context)
        strong_total += only.cost
        strong_right += int(only.answer == truth[question])
    n = len(questions)
    print(f"cascade cheap→mid→strong over {n} questions (cheap right 70%, mid 90%, strong 100%)")
    print(f"  answered by: {stopped_at}")
    print(
        f"  cascade  ${cascade_total:.4f}  right {cascade_right}/{n}\n"
        f"  strong   ${strong_total:.4f}  right {strong_right}/{n}\n"
        f"  cascade costs {cascade_total / strong_total:.1%} of always-the-strongest"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    consensus_ratio(embedder, args.repeats)
    cascade_cost(embedder)


if __name__ == "__main__":
    main()
