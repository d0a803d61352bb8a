"""LLMProvider port on the official ``openai`` client: OpenAI itself or any server that speaks
its chat completions API (vLLM, Ollama, llama.cpp server, LM Studio).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import openai

from ..core.errors import ContextTooLong, ProviderError, ProviderTimeout, Throttled
from ..core.models import ChatMessage, LLMDelta, TokenUsage


class OpenAICompatibleProvider:
    """Streams chat completions from an OpenAI-compatible endpoint.

    Parameters
    ----------
    model:
        Model name the server knows (``gpt-4o-mini``, ``llama3.1:8b`` ...).
    base_url:
        ``None`` for OpenAI, else e.g. ``http://127.0.0.1:11434/v1`` for Ollama.
    api_key:
        The key; local servers accept any non-empty string.
    timeout:
        Seconds per request (connect, read and the whole stream).
    max_retries:
        The client's own retries on connection errors, 429 and 5xx (with backoff).
    include_usage:
        Ask for token usage in the stream (``stream_options``); turn off for servers that
        reject it.
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        include_usage: bool = True,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.model = model
        self.name = name or model
        self.include_usage = include_usage
        self._client = client or openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=max_retries,
        )

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
    ) -> Iterator[LLMDelta]:
        kwargs: dict[str, Any] = {}
        if self.include_usage:
            kwargs["stream_options"] = {"include_usage": True}
        usage = TokenUsage()
        try:
            stream = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                temperature=temperature,
                max_tokens=max_tokens,
                stream=True,
                **kwargs,
            )
            for chunk in stream:
                if chunk.usage is not None:
                    usage = TokenUsage(
                        chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0
                    )
                for choice in chunk.choices or ():
                    text = choice.delta.content if choice.delta else None
                    if text:
                        yield LLMDelta(text=text)
        except openai.APITimeoutError as exc:
            raise ProviderTimeout(f"{self.name} did not answer in time: {exc}") from None
        except openai.RateLimitError as exc:
            raise Throttled(f"{self.name} is rate limiting requests: {_detail(exc)}") from None
        except openai.BadRequestError as exc:
            if _is_context_error(exc):
                raise ContextTooLong(
                    f"the prompt is longer than {self.name} accepts: {_detail(exc)}"
                ) from None
            raise ProviderError(
                f"{self.name} rejected the request: {_detail(exc)}", retryable=False
            ) from None
        except openai.APIStatusError as exc:
            raise ProviderError(
                f"{self.name} failed with HTTP {exc.status_code}: {_detail(exc)}"
            ) from None
        except openai.APIConnectionError as exc:
            raise ProviderError(f"cannot reach {self.name}: {exc}") from None
        except openai.OpenAIError as exc:
            raise ProviderError(f"{self.name} returned something unexpected: {exc}") from None
        except (ValueError, TypeError, AttributeError) as exc:
            # The client parses each SSE data line itself: a line that is not JSON raises
            # JSONDecodeError, and JSON that is not a chunk fails on attribute access.
            raise ProviderError(
                f"{self.name} sent a stream that is not OpenAI chat completion chunks: {exc}"
            ) from None
        yield LLMDelta(usage=usage)


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc.message)


def _is_context_error(exc: openai.BadRequestError) -> bool:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    text = f"{code} {exc.message}".lower()
    return "context_length" in text or "maximum context" in text or "too long" in text
