"""Answer relevance: question–answer cosine, with the real MiniLM."""

from __future__ import annotations

from chorus.runtime.core.answering import NO_ANSWER
from chorus.runtime.core.relevance import EmbeddingRelevanceScorer


def test_answer_that_addresses_the_question_scores_higher_than_an_off_topic_one(embedder):
    scorer = EmbeddingRelevanceScorer(embedder)

    on, off = scorer.score(
        "How do bees tell each other where flowers are?",
        [
            "Bees perform a waggle dance to show the colony where the flowers are [1].",
            "Explosive eruptions throw ash columns high into the sky [2].",
        ],
    )

    assert on is not None and off is not None and on > off + 0.3


def test_the_not_found_reply_has_no_relevance(embedder):
    assert EmbeddingRelevanceScorer(embedder).score("What is lava?", [NO_ANSWER]) == [None]
