"""A scripted LLM provider for the fan-out tests: it fails as told, then answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from chorus.runtime.core.models import ChatMessage, LLMDelta, TokenUsage

DEFAULT_USAGE = TokenUsage(1000, 200)


class ScriptedProvider:
    """Raises ``errors`` in turn, then answers ``text`` with ``usage``; counts calls across
    Lambda 'invocations' (thread-safe: a Map runs its iterations concurrently)."""

    def __init__(
        self,
        name: str,
        text: str,
        errors: Sequence[Exception] = (),
        usage: TokenUsage = DEFAULT_USAGE,
    ) -> None:
        self.name = name
        self.text = text
        self.errors = list(errors)
        self.usage = usage
        self.calls = 0
        self.lock = threading.Lock()

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        with self.lock:
            self.calls += 1
            error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        yield LLMDelta(self.text)
        yield LLMDelta(usage=self.usage)
