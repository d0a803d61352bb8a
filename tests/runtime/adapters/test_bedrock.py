"""runtime/adapters/bedrock.py through a real ``bedrock-runtime`` boto3 client.

moto does not implement Bedrock runtime, so the answers are Bedrock's documented shapes:
Converse responses and client errors through botocore's ``Stubber``; ConverseStream through an
HTTP-level stub (``tests/support/aws_eventstream.py``) whose bodies are real
``application/vnd.amazon.eventstream`` encodings, so botocore parses every event and every
exception event exactly as it does against AWS. Nothing of ours is mocked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from chorus.runtime.adapters.bedrock import BedrockProvider, converse_request
from chorus.runtime.core.errors import ContextTooLong, ProviderError, ProviderTimeout, Throttled
from chorus.runtime.core.models import ChatMessage, LLMDelta, TokenUsage
from chorus.runtime.core.ports import LLMProvider
from chorus.runtime.core.resilience import ResilientProvider, RetryPolicy
from support import aws_eventstream as es

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [
    ChatMessage("system", "Answer from the sources and cite them."),
    ChatMessage("user", "What is the capital of France?"),
]
PIECES = ["Paris", " is the capital", " of France."]


def client() -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def stream_events(pieces: list[str] = PIECES, *, usage: dict[str, int] | None = None) -> list:
    """The events ConverseStream sends for a one-block text answer, in the documented order."""
    events = [es.event("messageStart", {"role": "assistant"})]
    events += [
        es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        for piece in pieces
    ]
    events += [
        es.event("contentBlockStop", {"contentBlockIndex": 0}),
        es.event("messageStop", {"stopReason": "end_turn"}),
        es.event(
            "metadata",
            {
                "usage": usage or {"inputTokens": 25, "outputTokens": 9, "totalTokens": 34},
                "metrics": {"latencyMs": 412},
            },
        ),
    ]
    return events


@pytest.fixture
def streaming() -> tuple[BedrockProvider, Any]:
    bedrock = client()
    return BedrockProvider(model_id=MODEL_ID, client=bedrock), es.HTTPStub(bedrock)


# -- ConverseStream ---------------------------------------------------------------------------


def test_the_provider_satisfies_the_llm_provider_port():
    assert isinstance(BedrockProvider(model_id=MODEL_ID, client=client()), LLMProvider)


def test_stream_deltas_arrive_in_order_and_usage_comes_from_the_metadata_event(streaming):
    provider, stub = streaming
    stub.add(200, stream_events())

    deltas = list(provider.stream_chat(MESSAGES))

    assert [d.text for d in deltas[:-1]] == PIECES
    assert all(d.usage is None for d in deltas[:-1])
    assert deltas[-1] == LLMDelta(usage=TokenUsage(input_tokens=25, output_tokens=9))


def test_the_stream_request_carries_system_messages_and_inference_config(streaming):
    provider, stub = streaming
    stub.add(200, stream_events())

    list(provider.stream_chat(MESSAGES, temperature=0.3, max_tokens=77))

    (request,) = stub.requests
    assert request.url.endswith(f"/model/{quote(MODEL_ID, safe='')}/converse-stream")
    assert request.body == {
        "messages": [{"role": "user", "content": [{"text": "What is the capital of France?"}]}],
        "system": [{"text": "Answer from the sources and cite them."}],
        "inferenceConfig": {"maxTokens": 77, "temperature": 0.3},
    }


def test_consecutive_turns_of_one_role_are_merged_so_roles_alternate():
    request = converse_request(
        "m",
        [
            ChatMessage("system", "a"),
            ChatMessage("user", "b"),
            ChatMessage("user", "c"),
            ChatMessage("assistant", "d"),
            ChatMessage("system", "e"),
            ChatMessage("user", "f"),
        ],
        temperature=0.0,
        max_tokens=5,
    )

    assert request["system"] == [{"text": "a"}, {"text": "e"}]
    assert request["messages"] == [
        {"role": "user", "content": [{"text": "b"}, {"text": "c"}]},
        {"role": "assistant", "content": [{"text": "d"}]},
        {"role": "user", "content": [{"text": "f"}]},
    ]


def test_a_stream_without_metadata_reports_zero_usage(streaming):
    provider, stub = streaming
    stub.add(200, stream_events()[:-1])

    deltas = list(provider.stream_chat(MESSAGES))

    assert "".join(d.text for d in deltas) == "".join(PIECES)
    assert deltas[-1].usage == TokenUsage(0, 0)


def test_non_text_deltas_are_skipped(streaming):
    provider, stub = streaming
    events = stream_events()
    reasoning = {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}}
    events.insert(1, es.event("contentBlockDelta", reasoning))
    stub.add(200, events)

    assert "".join(d.text for d in provider.stream_chat(MESSAGES)) == "".join(PIECES)


def test_an_exception_event_mid_stream_raises_throttled_after_the_first_tokens(streaming):
    provider, stub = streaming
    events = stream_events()[:2]  # messageStart, one delta
    events.append(es.exception("throttlingException", {"message": "Too many tokens, slow down."}))
    stub.add(200, events)
    stream = provider.stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    with pytest.raises(Throttled) as caught:
        next(stream)
    assert "Too many tokens" in caught.value.message


@pytest.mark.parametrize(
    ("exception_type", "error"),
    [
        ("modelStreamErrorException", ProviderError),
        ("internalServerException", ProviderError),
        ("serviceUnavailableException", ProviderError),
        ("validationException", ProviderError),
    ],
)
def test_other_exception_events_raise_typed_provider_errors(streaming, exception_type, error):
    provider, stub = streaming
    stub.add(200, [*stream_events()[:2], es.exception(exception_type, {"message": "boom"})])

    with pytest.raises(ProviderError) as caught:
        list(provider.stream_chat(MESSAGES))

    assert type(caught.value) is error
    assert caught.value.code == "provider_unavailable"


def test_a_corrupted_event_stream_raises_provider_error(streaming):
    provider, stub = streaming
    good = es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Paris"}})
    broken = bytearray(good)
    broken[-1] ^= 0xFF  # the message CRC no longer matches
    stub.add(200, [bytes(broken)])

    with pytest.raises(ProviderError) as caught:
        list(provider.stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"


def test_an_event_that_breaks_the_documented_shape_raises_provider_error(streaming):
    provider, stub = streaming
    # a content block start must name exactly one kind of block; botocore refuses an empty one
    stub.add(200, [es.event("contentBlockStart", {"contentBlockIndex": 0, "start": {}})])

    with pytest.raises(ProviderError) as caught:
        list(provider.stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"


def test_an_http_429_answer_is_parsed_by_botocore_and_raises_throttled(streaming):
    provider, stub = streaming
    stub.add_error(429, "ThrottlingException", "Too many requests, please wait.")

    with pytest.raises(Throttled) as caught:
        list(provider.stream_chat(MESSAGES))

    assert caught.value.code == "throttled"
    assert "please wait" in caught.value.message


def test_closing_the_stream_early_closes_the_http_body(streaming):
    provider, stub = streaming
    stub.add(200, stream_events())
    stream = provider.stream_chat(MESSAGES)
    next(stream)

    assert not stub.bodies[0].closed

    stream.close()

    assert stub.bodies[0].closed


# -- client errors (Stubber) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aws_code", "status", "message", "error", "code"),
    [
        ("ThrottlingException", 429, "Too many requests", Throttled, "throttled"),
        ("ModelTimeoutException", 408, "Model has timed out", ProviderTimeout, "timeout"),
        (
            "ValidationException",
            400,
            "Input is too long for requested model.",
            ContextTooLong,
            "context_too_long",
        ),
        (
            "ValidationException",
            400,
            "prompt is too long: 210000 tokens > 200000 maximum",
            ContextTooLong,
            "context_too_long",
        ),
        ("ServiceUnavailableException", 503, "unavailable", ProviderError, "provider_unavailable"),
        ("ModelNotReadyException", 429, "model not ready", ProviderError, "provider_unavailable"),
        ("InternalServerException", 500, "internal", ProviderError, "provider_unavailable"),
    ],
)
def test_converse_stream_client_errors_map_to_typed_errors(aws_code, status, message, error, code):
    bedrock = client()
    with Stubber(bedrock) as stubber:
        stubber.add_client_error(
            "converse_stream",
            service_error_code=aws_code,
            service_message=message,
            http_status_code=status,
        )
        with pytest.raises(error) as caught:
            list(BedrockProvider(model_id=MODEL_ID, client=bedrock).stream_chat(MESSAGES))

    assert caught.value.code == code
    assert message in caught.value.message


def test_transient_faults_are_provider_errors_the_resilience_layer_may_retry():
    bedrock = client()
    with Stubber(bedrock) as stubber:
        stubber.add_client_error(
            "converse_stream", service_error_code="ModelNotReadyException", http_status_code=429
        )
        with pytest.raises(ProviderError) as caught:
            list(BedrockProvider(model_id=MODEL_ID, client=bedrock).stream_chat(MESSAGES))

    assert type(caught.value) is ProviderError
    assert getattr(caught.value, "retryable", True) is True


@pytest.mark.parametrize(
    ("aws_code", "status", "message"),
    [
        ("ValidationException", 400, "The provided model identifier is invalid."),
        ("AccessDeniedException", 403, "You don't have access to the model."),
        ("ResourceNotFoundException", 404, "Model not found."),
    ],
)
def test_requests_bedrock_rejects_are_provider_errors_not_retried(aws_code, status, message):
    bedrock = client()
    with Stubber(bedrock) as stubber:
        stubber.add_client_error(
            "converse_stream",
            service_error_code=aws_code,
            service_message=message,
            http_status_code=status,
        )
        with pytest.raises(ProviderError) as caught:
            list(BedrockProvider(model_id=MODEL_ID, client=bedrock).stream_chat(MESSAGES))

    assert type(caught.value) is ProviderError
    assert caught.value.code == "provider_unavailable"
    assert caught.value.retryable is False
    assert message in caught.value.message


# -- Converse (not streaming) -----------------------------------------------------------------


def test_converse_answers_in_one_delta_with_usage_and_sends_the_documented_request():
    bedrock = client()
    response = {
        "output": {
            "message": {"role": "assistant", "content": [{"text": "Paris is the capital."}]}
        },
        "stopReason": "end_turn",
        "usage": {"inputTokens": 31, "outputTokens": 6, "totalTokens": 37},
        "metrics": {"latencyMs": 640},
    }
    expected = {
        "modelId": MODEL_ID,
        "messages": [{"role": "user", "content": [{"text": "What is the capital of France?"}]}],
        "system": [{"text": "Answer from the sources and cite them."}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.5},
        "additionalModelRequestFields": {"top_k": 40},
    }
    provider = BedrockProvider(
        model_id=MODEL_ID,
        client=bedrock,
        stream=False,
        additional_model_request_fields={"top_k": 40},
    )
    with Stubber(bedrock) as stubber:
        stubber.add_response("converse", response, expected)
        deltas = list(provider.stream_chat(MESSAGES, temperature=0.5, max_tokens=64))
        stubber.assert_no_pending_responses()

    assert deltas == [
        LLMDelta(text="Paris is the capital."),
        LLMDelta(usage=TokenUsage(input_tokens=31, output_tokens=6)),
    ]


def test_converse_errors_map_like_the_stream():
    bedrock = client()
    provider = BedrockProvider(model_id=MODEL_ID, client=bedrock, stream=False)
    with Stubber(bedrock) as stubber:
        stubber.add_client_error(
            "converse",
            service_error_code="ValidationException",
            service_message="Input is too long for requested model.",
            http_status_code=400,
        )
        with pytest.raises(ContextTooLong):
            list(provider.stream_chat(MESSAGES))


def test_the_name_defaults_to_the_model_id_and_can_be_set():
    assert BedrockProvider(model_id=MODEL_ID, client=client()).name == MODEL_ID
    assert BedrockProvider(model_id=MODEL_ID, name="haiku", client=client()).name == "haiku"


# -- with the resilience layer ----------------------------------------------------------------


def test_a_throttled_stream_request_is_retried_by_the_resilience_layer_and_then_streams(streaming):
    provider, stub = streaming
    stub.add_error(429, "ThrottlingException", "Too many requests, please wait.")
    stub.add(200, stream_events())
    retry = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)

    deltas = list(ResilientProvider(provider, deadline=5, retry=retry).stream_chat(MESSAGES))

    assert "".join(d.text for d in deltas) == "".join(PIECES)
    assert len(stub.requests) == 2


def test_a_bedrock_stream_that_stalls_is_cut_off_by_the_deadline(streaming):
    provider, stub = streaming
    events = stream_events()
    # A 30 s pause after the first token: had the deadline not ended the call, the rest of
    # the answer would have come instead of a timeout.
    stub.add(200, [*events[:2], 30.0, *events[2:]])
    stream = ResilientProvider(provider, deadline=1.0).stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    with pytest.raises(ProviderTimeout) as caught:
        list(stream)
    assert "within the 1 s deadline" in caught.value.message
