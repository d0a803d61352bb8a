"""runtime/adapters/openai_compatible.py against a real OpenAI-compatible HTTP server.

The official ``openai`` client talks HTTP to ``tests/support/openai_server.py`` (Starlette +
uvicorn on 127.0.0.1), which streams OpenAI's chunk shape or fails the way OpenAI does, chosen by
the request's model name. Nothing of ours is mocked.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from chorus.runtime.adapters.openai_compatible import OpenAICompatibleProvider
from chorus.runtime.core.errors import (
    ContextTooLong,
    ProviderError,
    ProviderTimeout,
    Throttled,
)
from chorus.runtime.core.models import ChatMessage, LLMDelta, TokenUsage
from chorus.runtime.core.ports import LLMProvider
from support import openai_server

MESSAGES = [
    ChatMessage("system", "Answer from the sources and cite them."),
    ChatMessage("user", "What is the capital of France?"),
]
SLOW_SECONDS = 120.0
"""Far past every client timeout here: a test that got an answer instead of a timeout would
have waited for the server, not stopped at its deadline (no wall-clock assertion needed)."""


@pytest.fixture(scope="module")
def server() -> Iterator[openai_server.OpenAICompatibleServer]:
    with openai_server.OpenAICompatibleServer(slow_seconds=SLOW_SECONDS) as running:
        yield running


@pytest.fixture(autouse=True)
def _forget_requests(server: openai_server.OpenAICompatibleServer) -> None:
    server.requests.clear()


def provider(
    server: openai_server.OpenAICompatibleServer, model: str = "echo", **kwargs: object
) -> OpenAICompatibleProvider:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10.0)
    return OpenAICompatibleProvider(
        model=model, base_url=server.base_url, api_key="sk-test", **kwargs
    )


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- streaming --------------------------------------------------------------------------------


def test_the_provider_satisfies_the_llm_provider_port(server):
    assert isinstance(provider(server), LLMProvider)


def test_tokens_stream_in_order_and_join_to_the_scripted_text(server):
    deltas = list(provider(server).stream_chat(MESSAGES))

    texts = [d.text for d in deltas if d.text]
    assert texts == list(openai_server.DEFAULT_REPLY)
    assert "".join(texts) == "Paris is the capital of France."


def test_tokens_arrive_while_the_stream_is_still_open(server):
    stream = provider(server).stream_chat(MESSAGES)

    first = next(stream)

    assert first == LLMDelta(text="Paris")
    assert [d.text for d in stream if d.text] == list(openai_server.DEFAULT_REPLY[1:])


def test_usage_from_the_final_chunk_is_reported_on_the_last_delta_only(server):
    deltas = list(provider(server).stream_chat(MESSAGES))

    expected = TokenUsage(
        input_tokens=openai_server.prompt_tokens([{"content": m.content} for m in MESSAGES]),
        output_tokens=len(openai_server.DEFAULT_REPLY),
    )
    assert deltas[-1] == LLMDelta(text="", usage=expected)
    assert all(d.usage is None for d in deltas[:-1])


def test_messages_temperature_and_max_tokens_reach_the_server_exactly(server):
    messages = [*MESSAGES, ChatMessage("assistant", "Paris."), ChatMessage("user", "Sûr ? 東京?")]

    list(provider(server, "gpt-4o-mini").stream_chat(messages, temperature=0.3, max_tokens=77))

    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["messages"] == [{"role": m.role, "content": m.content} for m in messages]
    assert request.body["temperature"] == 0.3
    assert request.body["max_tokens"] == 77
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


def test_without_include_usage_no_stream_options_are_sent_and_usage_is_zero(server):
    deltas = list(provider(server, include_usage=False).stream_chat(MESSAGES))

    (request,) = server.requests
    assert "stream_options" not in request.body
    assert "".join(d.text for d in deltas) == "Paris is the capital of France."
    assert deltas[-1].usage == TokenUsage(0, 0)


def test_the_provider_name_defaults_to_the_model_and_can_be_set(server):
    assert provider(server, "llama3.1:8b").name == "llama3.1:8b"
    assert provider(server, "llama3.1:8b", name="local-llama").name == "local-llama"


# -- failures ---------------------------------------------------------------------------------


def test_rate_limiting_raises_throttled_after_the_clients_retries(server):
    with pytest.raises(Throttled) as caught:
        list(provider(server, "rate-limited", max_retries=1).stream_chat(MESSAGES))

    assert caught.value.code == "throttled"
    assert "Rate limit reached" in caught.value.message
    assert len(server.requests) == 2  # the first attempt and one retry


def test_a_server_error_raises_provider_unavailable_after_the_clients_retries(server):
    with pytest.raises(ProviderError) as caught:
        list(provider(server, "server-error", max_retries=1).stream_chat(MESSAGES))

    assert type(caught.value) is ProviderError
    assert caught.value.code == "provider_unavailable"
    assert "HTTP 500" in caught.value.message
    assert len(server.requests) == 2


def test_a_context_length_error_raises_context_too_long(server):
    with pytest.raises(ContextTooLong) as caught:
        list(provider(server, "context-too-long").stream_chat(MESSAGES))

    assert caught.value.code == "context_too_long"
    assert "maximum context length is 8192 tokens" in caught.value.message
    assert len(server.requests) == 1  # a 400 is never retried


def test_another_bad_request_raises_provider_error_not_context_too_long(server):
    with pytest.raises(ProviderError) as caught:
        list(provider(server, "invalid-request").stream_chat(MESSAGES))

    assert type(caught.value) is ProviderError
    assert "Invalid value for 'temperature'" in caught.value.message


def test_a_server_slower_than_the_timeout_raises_provider_timeout(server):
    with pytest.raises(ProviderTimeout) as caught:
        list(provider(server, "slow", timeout=0.5).stream_chat(MESSAGES))

    assert caught.value.code == "timeout"
    assert "did not answer in time" in caught.value.message


def test_a_stream_that_stalls_after_the_first_token_raises_provider_timeout(server):
    stream = provider(server, "stall", timeout=0.5).stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    with pytest.raises(ProviderTimeout):
        next(stream)  # the server would stall for SLOW_SECONDS: only the deadline ends this


def test_a_stream_that_breaks_off_raises_provider_error(server):
    stream = provider(server, "drop").stream_chat(MESSAGES)

    with pytest.raises(ProviderError) as caught:
        list(stream)

    assert caught.value.code == "provider_unavailable"


def test_malformed_server_sent_events_raise_provider_error(server):
    with pytest.raises(ProviderError) as caught:
        list(provider(server, "malformed").stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"


def test_server_sent_events_that_are_json_but_not_chunks_raise_provider_error(server):
    with pytest.raises(ProviderError) as caught:
        list(provider(server, "wrong-shape").stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"


def test_a_closed_port_raises_provider_error(server):
    closed = OpenAICompatibleProvider(
        model="echo",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        api_key="sk-test",
        max_retries=0,
        timeout=5.0,
    )

    with pytest.raises(ProviderError) as caught:
        list(closed.stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"
    assert "cannot reach echo" in caught.value.message
