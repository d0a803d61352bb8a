"""Model judges behind the GroundingJudge port: NLI over the aligned sentence, an LLM judge
through a real OpenAI-compatible server, and the conservative combination."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from chorus.runtime.adapters.openai_compatible import OpenAICompatibleProvider
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.grounding import EmbeddingGroundingJudge
from chorus.runtime.core.model_judges import (
    CombinedGroundingJudge,
    LLMGroundingJudge,
    NLIGroundingJudge,
)
from chorus.runtime.core.models import SearchHit
from support.openai_server import OpenAICompatibleServer

SOURCE = "Aurora can pause at zero capacity when idle. Bees turn nectar into honey."
CLAIMS = "Aurora is able to pause at zero capacity when idle. Bees make honey out of nectar."


@pytest.fixture(scope="module")
def context():
    return assemble_context([SearchHit("c1", "d1", 0, SOURCE, 1.0, {})], budget_tokens=2000)


@pytest.fixture(scope="module")
def words(embedder):
    return EmbeddingGroundingJudge(embedder)


class KeywordNLI:
    """An EntailmentModel that calls a pair a contradiction when the hypothesis mentions a
    keyword, an entailment otherwise (the port's shape, with a rule instead of weights)."""

    def __init__(self, keyword: str) -> None:
        self.keyword = keyword
        self.pairs: list[tuple[str, str]] = []

    def predict(self, pairs: Sequence[tuple[str, str]]) -> list[Mapping[str, float]]:
        self.pairs.extend(pairs)
        return [
            {"contradiction": 0.9, "entailment": 0.05, "neutral": 0.05}
            if self.keyword in hypothesis
            else {"contradiction": 0.05, "entailment": 0.9, "neutral": 0.05}
            for _, hypothesis in pairs
        ]


def test_nli_judge_asks_the_model_about_each_claim_and_its_aligned_sentence(words, context):
    model = KeywordNLI("Bees")

    [report] = NLIGroundingJudge(model, words).check([CLAIMS], context)

    assert model.pairs == [
        ("Aurora can pause at zero capacity when idle.", CLAIMS.split(". ")[0] + "."),
        ("Bees turn nectar into honey.", "Bees make honey out of nectar."),
    ]
    assert [s.verdict for s in report.sentences] == ["supported", "contradicted"]
    assert report.contradicted[0].evidence == "Bees turn nectar into honey."


def test_combined_judge_supports_only_what_every_judge_supports(words, context):
    nli = NLIGroundingJudge(KeywordNLI("Bees"), words)

    [report] = CombinedGroundingJudge([words, nli]).check([CLAIMS], context)

    assert [s.verdict for s in report.sentences] == ["supported", "contradicted"]
    assert 0.0 < report.score < 1.0


def test_combined_judge_keeps_a_contradiction_any_judge_finds(words, context):
    flipped = "Aurora cannot pause at zero capacity when idle."
    nli = NLIGroundingJudge(KeywordNLI("nothing matches this"), words)

    [report] = CombinedGroundingJudge([nli, words]).check([flipped], context)

    [sentence] = report.sentences
    assert sentence.verdict == "contradicted"
    assert [d.kind for d in sentence.differences] == ["negation"]


def test_llm_judge_reads_one_verdict_per_claim_from_the_reply(words, context):
    reply = ("1: supported [1]\n", "2: contradicted [1]\n")
    with OpenAICompatibleServer(reply) as server:
        provider = OpenAICompatibleProvider(
            model="judge", base_url=server.base_url, api_key="sk-test", max_retries=0
        )
        [report] = LLMGroundingJudge(provider, words).check([CLAIMS], context)
        prompt = server.requests[0].body["messages"][-1]["content"]

    assert "1. Aurora is able to pause" in prompt and "2. Bees make honey" in prompt
    assert [(s.verdict, s.source) for s in report.sentences] == [
        ("supported", 1),
        ("contradicted", 1),
    ]


def test_a_claim_the_llm_leaves_out_is_unsupported(words, context):
    with OpenAICompatibleServer(("1: supported [1]",)) as server:
        provider = OpenAICompatibleProvider(
            model="judge", base_url=server.base_url, api_key="sk-test", max_retries=0
        )
        [report] = LLMGroundingJudge(provider, words).check([CLAIMS], context)

    assert [s.verdict for s in report.sentences] == ["supported", "unsupported"]


def test_combined_judge_gives_one_merged_verdict_per_claim_as_given(words, context):
    claims = [
        "Aurora is able to pause at zero capacity when idle.",
        "Bees make honey out of nectar.",
    ]
    combined = CombinedGroundingJudge([words, NLIGroundingJudge(KeywordNLI("Bees"), words)])

    verdicts = combined.judge_claims(claims, context)

    assert [v.verdict for v in verdicts] == ["supported", "contradicted"]
    assert verdicts[1].evidence == "Bees turn nectar into honey."


def test_a_combined_judge_of_a_judge_that_cannot_judge_claims_says_so(words, context):
    class ReportsOnly:
        def check(self, answers, context):
            return words.check(answers, context)

    with pytest.raises(TypeError, match="judge_claims"):
        CombinedGroundingJudge([words, ReportsOnly()]).judge_claims(["Bees make honey."], context)
