"""Follow-up questions and history: what retrieval searches for, what a model gets to read.

"How hot is it?" retrieves nothing useful on its own; retrieval needs a standalone query
("How hot is lava?"). An LLM rewrites the follow-up when one is configured; without one a
deterministic fallback prepends the recent user turns when the question looks like a follow-up.
The history sent to a model is trimmed to a token budget, oldest turns first, so a long session
never overflows the context window.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .context import TokenCounter, approximate_token_count
from .errors import ProviderError
from .models import ChatMessage
from .ports import LLMProvider

MAX_QUERY_CHARS = 1000

CONDENSE_PROMPT = (
    "Rewrite the user's last question as one standalone search query that can be understood "
    "without the conversation: replace pronouns and references with what they refer to. "
    "Reply with the query only, no explanation, no quotes."
)

_FOLLOW_UP_WORDS = frozenset(
    [
        "it",
        "its",
        "it's",
        "they",
        "them",
        "their",
        "theirs",
        "this",
        "that",
        "these",
        "those",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "there",
        "then",
        "such",
        "one",
        "ones",
        "same",
        "above",
        "previous",
        "former",
        "latter",
        "also",
        "more",
        "else",
    ]
)
_WORD = re.compile(r"[a-z']+")


def trim_history(
    history: Sequence[ChatMessage],
    budget_tokens: int,
    *,
    count_tokens: TokenCounter = approximate_token_count,
) -> list[ChatMessage]:
    """The most recent turns whose tokens fit ``budget_tokens``, oldest dropped first.

    A turn that does not fit ends the walk back (older turns would leave a gap in the
    conversation). A leading assistant turn without its question is dropped too, so a model
    never reads an answer to a question it cannot see.
    """
    kept: list[ChatMessage] = []
    used = 0
    for message in reversed(history):
        cost = count_tokens(message.content) + 4  # role and separators
        if used + cost > budget_tokens:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    while kept and kept[0].role == "assistant":
        kept.pop(0)
    return kept


def looks_like_follow_up(question: str, *, max_words: int = 6) -> bool:
    """Short questions and questions with references ("it", "they", "that") lean on history."""
    words = _WORD.findall(question.lower())
    return len(words) <= max_words or any(w in _FOLLOW_UP_WORDS for w in words)


@runtime_checkable
class QueryCondenser(Protocol):
    """Turns a question plus the conversation into a standalone retrieval query."""

    def condense(self, question: str, history: Sequence[ChatMessage]) -> str: ...


class HeuristicCondenser:
    """No LLM: the last user turns, then the question, when it looks like a follow-up.

    Parameters
    ----------
    user_turns:
        Earlier user questions to prepend (2).
    max_chars:
        The query is cut to its last ``max_chars`` characters (the question itself is kept).
    always:
        Prepend history even to questions that look standalone.
    """

    def __init__(
        self, *, user_turns: int = 2, max_chars: int = MAX_QUERY_CHARS, always: bool = False
    ) -> None:
        self.user_turns = user_turns
        self.max_chars = max_chars
        self.always = always

    def condense(self, question: str, history: Sequence[ChatMessage]) -> str:
        question = " ".join(question.split())
        earlier = [m.content for m in history if m.role == "user" and m.content.strip()]
        if not earlier or not (self.always or looks_like_follow_up(question)):
            return question
        prefix = " ".join(" ".join(t.split()) for t in earlier[-self.user_turns :])
        room = self.max_chars - len(question) - 1
        if room <= 0:
            return question  # the question alone fills the budget: history cannot help
        if len(prefix) > room:
            prefix = prefix[-room:].partition(" ")[2]  # cut at a word boundary
        return f"{prefix} {question}".strip()


class LLMCondenser:
    """Asks an LLM to rewrite the follow-up; falls back to the heuristic when the model fails
    or replies with nothing usable, because retrieval must not fail for want of a rewrite."""

    def __init__(
        self,
        provider: LLMProvider,
        *,
        history_turns: int = 6,
        max_tokens: int = 96,
        fallback: QueryCondenser | None = None,
    ) -> None:
        self.provider = provider
        self.history_turns = history_turns
        self.max_tokens = max_tokens
        self.fallback = fallback or HeuristicCondenser()

    def condense(self, question: str, history: Sequence[ChatMessage]) -> str:
        if not history:
            return question
        transcript = "\n".join(
            f"{m.role}: {' '.join(m.content.split())[:500]}" for m in history[-self.history_turns :]
        )
        messages = [
            ChatMessage("system", CONDENSE_PROMPT),
            ChatMessage("user", f"Conversation:\n{transcript}\n\nLast question: {question}"),
        ]
        try:
            deltas = self.provider.stream_chat(
                messages, temperature=0.0, max_tokens=self.max_tokens
            )
            text = "".join(d.text for d in deltas)
        except ProviderError:
            return self.fallback.condense(question, history)
        query = " ".join(text.strip().strip("\"'").split())
        if not query or len(query) > MAX_QUERY_CHARS:
            return self.fallback.condense(question, history)
        return query
