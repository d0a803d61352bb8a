"""runtime/adapters/sagemaker_tgi.py through a real ``sagemaker-runtime`` boto3 client.

``invoke_endpoint`` answers and errors come through botocore's ``Stubber`` with TGI's documented
bodies; the response stream through an HTTP-level stub whose body is a real event stream of
``PayloadPart`` messages carrying TGI's Server-Sent Events (``tests/support/aws_eventstream.py``),
split at awkward places the way the endpoint may split them.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber
from chorus.runtime.adapters.sagemaker_tgi import (
    CHATML,
    LLAMA3,
    ChatTemplate,
    SageMakerTGIProvider,
    estimate_tokens,
)
from chorus.runtime.core.errors import ContextTooLong, ProviderError, ProviderTimeout, Throttled
from chorus.runtime.core.models import ChatMessage, LLMDelta, TokenUsage
from chorus.runtime.core.ports import LLMProvider
from support import aws_eventstream as es

ENDPOINT = "chorus-dev-tgi"
MESSAGES = [
    ChatMessage("system", "Answer from the sources."),
    ChatMessage("user", "What is the capital of France?"),
]
PROMPT = (
    "<|im_start|>system\nAnswer from the sources.<|im_end|>\n"
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
    "<|im_start|>assistant\n"
)
TOKENS = ["Paris", " is", " the", " capital", "."]


def client() -> Any:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def tgi_sse(tokens: list[str] = TOKENS, *, eos: str = "<|im_end|>") -> bytes:
    """TGI's stream for ``tokens``: one ``data:`` line each, then the special end token whose
    event carries the full text and the details."""
    lines = []
    for i, text in enumerate(tokens):
        token = {"id": 100 + i, "text": text, "logprob": -0.1, "special": False}
        event = {"index": i + 1, "token": token, "generated_text": None, "details": None}
        lines.append(f"data:{json.dumps(event)}\n\n")
    end = {"id": 2, "text": eos, "logprob": -0.01, "special": True}
    details = {"finish_reason": "eos_token", "generated_tokens": len(tokens) + 1, "seed": None}
    final = {
        "index": len(tokens) + 1,
        "token": end,
        "generated_text": "".join(tokens),
        "details": details,
    }
    lines.append(f"data:{json.dumps(final)}\n\n")
    return "".join(lines).encode("utf-8")


def parts(data: bytes, size: int) -> list[bytes]:
    """The SSE bytes as PayloadPart messages of ``size`` bytes (splitting lines anywhere)."""
    return [es.payload_part(data[i : i + size]) for i in range(0, len(data), size)]


def body(payload: Any) -> StreamingBody:
    raw = json.dumps(payload).encode("utf-8")
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def streaming() -> tuple[SageMakerTGIProvider, Any]:
    runtime = client()
    return SageMakerTGIProvider(ENDPOINT, client=runtime), es.HTTPStub(runtime)


# -- chat templates ---------------------------------------------------------------------------


def test_the_default_template_is_chatml_ending_with_the_assistant_turn():
    assert CHATML.render(MESSAGES) == PROMPT


def test_the_llama3_template_renders_headers_and_eot():
    prompt = LLAMA3.render([ChatMessage("user", "Hi")])

    assert prompt == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_a_template_can_add_a_default_system_prompt_when_none_is_given():
    template = ChatTemplate(
        message="[{role}] {content}\n", generation_prompt="[assistant] ", default_system="Be brief."
    )

    assert template.render([ChatMessage("user", "Hi")]) == (
        "[system] Be brief.\n[user] Hi\n[assistant] "
    )


# -- streaming --------------------------------------------------------------------------------


def test_the_provider_satisfies_the_llm_provider_port():
    assert isinstance(SageMakerTGIProvider(ENDPOINT, client=client()), LLMProvider)


@pytest.mark.parametrize("size", [7, 64, 10_000])
def test_tokens_stream_in_order_however_the_payload_parts_split_the_lines(streaming, size):
    provider, stub = streaming
    stub.add(200, parts(tgi_sse(), size))

    deltas = list(provider.stream_chat(MESSAGES))

    assert [d.text for d in deltas[:-1]] == TOKENS
    assert deltas[-1].usage == TokenUsage(estimate_tokens(PROMPT), len(TOKENS) + 1)


def test_the_stream_request_is_tgi_json_with_stream_true(streaming):
    provider, stub = streaming
    stub.add(200, parts(tgi_sse(), 100))

    list(provider.stream_chat(MESSAGES, temperature=0.7, max_tokens=40))

    (request,) = stub.requests
    assert request.url.endswith(f"/endpoints/{ENDPOINT}/invocations-response-stream")
    assert request.headers["Content-Type"] == b"application/json"
    assert request.body == {
        "inputs": PROMPT,
        "parameters": {
            "max_new_tokens": 40,
            "return_full_text": False,
            "details": True,
            "do_sample": True,
            "temperature": 0.7,
            "stop": ["<|im_end|>"],
        },
        "stream": True,
    }


def test_temperature_zero_asks_for_greedy_decoding_without_a_temperature(streaming):
    provider, stub = streaming
    stub.add(200, parts(tgi_sse(), 100))

    list(provider.stream_chat(MESSAGES, temperature=0.0))

    parameters = stub.requests[0].body["parameters"]
    assert parameters["do_sample"] is False
    assert "temperature" not in parameters


def test_usage_counts_the_prompt_with_the_given_tokenizer(streaming):
    _, stub = streaming
    provider = SageMakerTGIProvider(
        ENDPOINT, client=stub.client, count_tokens=lambda text: len(text.split())
    )
    stub.add(200, parts(tgi_sse(), 100))

    deltas = list(provider.stream_chat(MESSAGES))

    assert deltas[-1].usage.input_tokens == len(PROMPT.split())


def test_a_tgi_error_event_mid_stream_raises_after_the_first_tokens(streaming):
    provider, stub = streaming
    first = tgi_sse(TOKENS[:1]).split(b"\n\n")[0] + b"\n\n"
    error = b'data:{"error":"CUDA out of memory","error_type":"generation"}\n\n'
    stub.add(200, [es.payload_part(first), es.payload_part(error)])
    stream = provider.stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    with pytest.raises(ProviderError) as caught:
        next(stream)
    assert "CUDA out of memory" in caught.value.message


@pytest.mark.parametrize(
    ("exception_type", "payload"),
    [
        ("ModelStreamError", {"Message": "model crashed", "ErrorCode": "ModelError"}),
        ("InternalStreamFailure", {"Message": "stream failed"}),
    ],
)
def test_stream_exception_events_raise_provider_error(streaming, exception_type, payload):
    provider, stub = streaming
    stub.add(200, [*parts(tgi_sse(TOKENS[:2]), 1000)[:1], es.exception(exception_type, payload)])

    with pytest.raises(ProviderError) as caught:
        list(provider.stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"
    assert payload["Message"] in caught.value.message


def test_a_stream_that_is_not_tgi_json_raises_provider_error(streaming):
    provider, stub = streaming
    stub.add(200, [es.payload_part(b"data:<html>502 Bad Gateway</html>\n\n")])

    with pytest.raises(ProviderError) as caught:
        list(provider.stream_chat(MESSAGES))

    assert "not JSON" in caught.value.message


def test_a_context_length_validation_error_event_raises_context_too_long(streaming):
    provider, stub = streaming
    error = {
        "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. "
        "Given: 4000 `inputs` tokens and 512 `max_new_tokens`",
        "error_type": "validation",
    }
    stub.add(200, [es.payload_part(f"data:{json.dumps(error)}\n\n".encode())])

    with pytest.raises(ContextTooLong):
        list(provider.stream_chat(MESSAGES))


# -- invoke_endpoint (Stubber) ----------------------------------------------------------------


def test_invoke_endpoint_answers_generated_text_without_the_stop_sequence():
    runtime = client()
    provider = SageMakerTGIProvider(ENDPOINT, client=runtime, stream=False)
    answer = [
        {
            "generated_text": "Paris is the capital.<|im_end|>",
            "details": {"finish_reason": "stop_sequence", "generated_tokens": 6, "seed": None},
        }
    ]
    expected_body = {
        "inputs": PROMPT,
        "parameters": {
            "max_new_tokens": 32,
            "return_full_text": False,
            "details": True,
            "do_sample": False,
            "stop": ["<|im_end|>"],
        },
    }
    with Stubber(runtime) as stubber:
        stubber.add_response(
            "invoke_endpoint",
            {"Body": body(answer), "ContentType": "application/json"},
            {
                "EndpointName": ENDPOINT,
                "ContentType": "application/json",
                "Accept": "application/json",
                "Body": json.dumps(expected_body).encode("utf-8"),
            },
        )
        deltas = list(provider.stream_chat(MESSAGES, max_tokens=32))

    assert deltas == [
        LLMDelta(text="Paris is the capital."),
        LLMDelta(usage=TokenUsage(estimate_tokens(PROMPT), 6)),
    ]


def test_an_answer_without_generated_text_raises_provider_error():
    runtime = client()
    with Stubber(runtime) as stubber:
        stubber.add_response("invoke_endpoint", {"Body": body({"vectors": [[0.1]]})})
        with pytest.raises(ProviderError) as caught:
            list(SageMakerTGIProvider(ENDPOINT, client=runtime, stream=False).stream_chat(MESSAGES))

    assert "generated_text" in caught.value.message


def _model_error(status: int, original: Any) -> dict[str, Any]:
    message = json.dumps(original) if not isinstance(original, str) else original
    return {
        "service_error_code": "ModelError",
        "service_message": f"Received client error ({status}) from primary with message ...",
        "http_status_code": 424,
        "modeled_fields": {"OriginalStatusCode": status, "OriginalMessage": message},
    }


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (
            _model_error(
                422,
                {
                    "error": "Input validation error: `inputs` must have less than 4096 tokens. "
                    "Given: 5000",
                    "error_type": "validation",
                },
            ),
            ContextTooLong,
            "context_too_long",
        ),
        (
            _model_error(429, {"error": "Model is overloaded", "error_type": "overloaded"}),
            Throttled,
            "throttled",
        ),
        (
            _model_error(424, {"error": "Request failed during generation", "error_type": "x"}),
            ProviderError,
            "provider_unavailable",
        ),
        (
            {"service_error_code": "ThrottlingException", "http_status_code": 400},
            Throttled,
            "throttled",
        ),
        (
            {"service_error_code": "ServiceUnavailable", "http_status_code": 503},
            ProviderError,
            "provider_unavailable",
        ),
    ],
)
def test_invoke_endpoint_errors_map_to_typed_errors(error, expected, code):
    runtime = client()
    with Stubber(runtime) as stubber:
        stubber.add_client_error("invoke_endpoint", **error)
        with pytest.raises(expected) as caught:
            list(SageMakerTGIProvider(ENDPOINT, client=runtime, stream=False).stream_chat(MESSAGES))

    assert caught.value.code == code


def test_a_validation_error_that_is_not_about_length_is_not_retryable():
    runtime = client()
    error = {"error": "`temperature` must be strictly positive", "error_type": "validation"}
    with Stubber(runtime) as stubber:
        stubber.add_client_error("invoke_endpoint_with_response_stream", **_model_error(422, error))
        with pytest.raises(ProviderError) as caught:
            list(SageMakerTGIProvider(ENDPOINT, client=runtime).stream_chat(MESSAGES))

    assert type(caught.value) is ProviderError
    assert caught.value.retryable is False


def test_an_unknown_endpoint_is_a_provider_error_that_is_not_retryable():
    runtime = client()
    with Stubber(runtime) as stubber:
        stubber.add_client_error(
            "invoke_endpoint_with_response_stream",
            service_error_code="ValidationError",
            service_message=f"Endpoint {ENDPOINT} of account 123456789012 not found.",
            http_status_code=400,
        )
        with pytest.raises(ProviderError) as caught:
            list(SageMakerTGIProvider(ENDPOINT, client=runtime).stream_chat(MESSAGES))

    assert caught.value.retryable is False
    assert "not found" in caught.value.message


def test_a_read_timeout_while_streaming_raises_provider_timeout():
    from botocore.exceptions import ReadTimeoutError

    runtime = client()

    def timeout(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url=f"https://runtime.sagemaker/endpoints/{ENDPOINT}")

    runtime.meta.events.register("before-send.sagemaker-runtime", timeout)

    with pytest.raises(ProviderTimeout):
        list(SageMakerTGIProvider(ENDPOINT, client=runtime).stream_chat(MESSAGES))
