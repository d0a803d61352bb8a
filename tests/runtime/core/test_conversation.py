"""Conversation: standalone retrieval queries from follow-ups, history within a token budget."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from chorus.runtime.core.conversation import (
    HeuristicCondenser,
    LLMCondenser,
    looks_like_follow_up,
    trim_history,
)
from chorus.runtime.core.errors import Throttled
from chorus.runtime.core.models import ChatMessage, LLMDelta

HISTORY = [
    ChatMessage("user", "What is lava?"),
    ChatMessage("assistant", "Lava is molten rock that reached the surface [1]."),
    ChatMessage("user", "Which volcanoes build steep cones?"),
    ChatMessage("assistant", "Stratovolcanoes such as Mount Fuji [1]."),
]


def words(text: str) -> int:
    return len(text.split())


def test_history_within_budget_is_kept_whole():
    assert trim_history(HISTORY, 1000) == HISTORY


def test_oldest_turns_are_dropped_first():
    kept = trim_history(HISTORY, 20, count_tokens=words)

    assert kept == HISTORY[2:]


def test_trimmed_history_never_starts_with_an_answer():
    # Room for the last three turns: the orphaned answer at the front goes too.
    budget = sum(words(m.content) + 4 for m in HISTORY[1:])

    kept = trim_history(HISTORY, budget, count_tokens=words)

    assert kept == HISTORY[2:]


def test_zero_budget_keeps_nothing():
    assert trim_history(HISTORY, 0) == []


def test_pronouns_and_short_questions_look_like_follow_ups():
    assert looks_like_follow_up("How hot is it?")
    assert looks_like_follow_up("And pyroclastic flows?")
    assert not looks_like_follow_up("Which openings answer the king's pawn with the c-pawn?")


def test_heuristic_prepends_recent_user_turns_to_a_follow_up():
    query = HeuristicCondenser().condense("How hot does it get?", HISTORY)

    assert query == "What is lava? Which volcanoes build steep cones? How hot does it get?"


def test_heuristic_leaves_a_standalone_question_alone():
    question = "Why do honeybees perform a waggle dance for the colony?"

    assert HeuristicCondenser().condense(question, HISTORY) == question


def test_heuristic_query_is_truncated_at_a_word_boundary_keeping_the_question():
    long_history = [ChatMessage("user", "lava " * 400)]

    query = HeuristicCondenser(max_chars=100).condense("Is it hot?", long_history)

    assert len(query) <= 100
    assert query.endswith("Is it hot?")
    assert query.startswith("lava lava")


def test_heuristic_without_history_returns_the_question():
    assert HeuristicCondenser().condense("Is it hot?", []) == "Is it hot?"


class ScriptedProvider:
    name = "scripted"

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.seen: list[Sequence[ChatMessage]] = []

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        self.seen.append(messages)
        if isinstance(self.reply, Exception):
            raise self.reply
        for word in self.reply.split(" "):
            yield LLMDelta(word + " ")


def test_llm_condenser_uses_the_models_rewrite_with_the_conversation():
    provider = ScriptedProvider('"How hot is lava?"')

    query = LLMCondenser(provider).condense("How hot is it?", HISTORY)

    assert query == "How hot is lava?"
    prompt = provider.seen[0][-1].content
    assert "What is lava?" in prompt and prompt.endswith("Last question: How hot is it?")


def test_llm_condenser_falls_back_when_the_model_fails():
    condenser = LLMCondenser(ScriptedProvider(Throttled("slow down")))

    assert condenser.condense("How hot is it?", HISTORY).endswith("How hot is it?")
    assert condenser.condense("How hot is it?", HISTORY).startswith("What is lava?")


def test_llm_condenser_falls_back_on_an_empty_reply():
    condenser = LLMCondenser(ScriptedProvider("   "))

    assert condenser.condense("How hot is it?", HISTORY).startswith("What is lava?")


def test_llm_condenser_is_not_called_without_history():
    provider = ScriptedProvider("unused")

    assert LLMCondenser(provider).condense("What is lava?", []) == "What is lava?"
    assert provider.seen == []
