"""LLMProvider port on a SageMaker endpoint serving Hugging Face Text Generation Inference (TGI).

TGI takes a prompt, not chat messages: a ``ChatTemplate`` renders the messages in the format the
model was trained on (ChatML by default). ``invoke_endpoint`` sends
``{"inputs": prompt, "parameters": {...}}`` and TGI answers ``[{"generated_text": ..., "details":
{"generated_tokens": n}}]``. ``invoke_endpoint_with_response_stream`` adds ``"stream": true``;
the endpoint then relays TGI's Server-Sent Events (``data:{"token": {"text": ...}, ...}``) as
``PayloadPart`` event-stream messages whose bytes may split a line anywhere.

Failures become typed chorus errors: TGI's input validation about length (``inputs tokens +
max_new_tokens must be <= ...``) → ``ContextTooLong``; throttling or a 429 from the container →
``Throttled``; timeouts → ``ProviderTimeout``; model or stream errors, 5xx → ``ProviderError``
(transient); other 4xx → ``ProviderError`` marked ``retryable = False``.

TGI reports how many tokens it generated but not how many the prompt had; pass ``count_tokens``
(e.g. the model's tokenizer) for exact input counts, otherwise chorus estimates ~4 characters per
token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from ..core.errors import ContextTooLong, ProviderError, Throttled
from ..core.models import ChatMessage, LLMDelta, TokenUsage
from .botocore_errors import ProviderErrors
from .sagemaker import THROTTLING_CODES

JSON = "application/json"
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "ServiceUnavailable",
        "InternalDependencyException",
        "ModelStreamError",
        "InternalStreamFailure",
    }
)
_CONTEXT_ERROR = re.compile(
    r"must be <=|must have less than|too long|\bcontext\b|maximum (input )?length",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ChatTemplate:
    """Renders chat messages as the prompt string a completion model expects.

    Each message is ``message.format(role=..., content=...)``; ``prefix`` comes first and
    ``generation_prompt`` last (the opening of the assistant's turn). ``stop`` sequences end the
    generation and are cut from the answer.
    """

    message: str
    generation_prompt: str
    prefix: str = ""
    stop: tuple[str, ...] = ()
    default_system: str | None = None

    def render(self, messages: Sequence[ChatMessage]) -> str:
        turns = list(messages)
        if self.default_system and not any(m.role == "system" for m in turns):
            turns.insert(0, ChatMessage("system", self.default_system))
        body = "".join(self.message.format(role=m.role, content=m.content) for m in turns)
        return f"{self.prefix}{body}{self.generation_prompt}"


CHATML = ChatTemplate(
    message="<|im_start|>{role}\n{content}<|im_end|>\n",
    generation_prompt="<|im_start|>assistant\n",
    stop=("<|im_end|>",),
)
"""ChatML (Qwen, SmolLM, many fine-tunes): the default."""

LLAMA3 = ChatTemplate(
    prefix="<|begin_of_text|>",
    message="<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>",
    generation_prompt="<|start_header_id|>assistant<|end_header_id|>\n\n",
    stop=("<|eot_id|>",),
)
"""Llama 3.x Instruct."""


def default_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    read_timeout: float = 60.0,
    total_max_attempts: int = 1,
) -> Any:
    """A ``sagemaker-runtime`` client with bounded timeouts and no retries of its own
    (``ResilientProvider`` retries with jitter within the call's deadline)."""
    import boto3

    config = Config(
        connect_timeout=5,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": total_max_attempts},
    )
    return boto3.client(
        "sagemaker-runtime", region_name=region_name, endpoint_url=endpoint_url, config=config
    )


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 characters a token) for when no tokenizer is at hand."""
    return max(1, round(len(text) / 4)) if text else 0


def tgi_parameters(
    *, temperature: float, max_tokens: int, stop: Sequence[str], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """TGI's ``parameters``: greedy at temperature 0 (TGI refuses ``temperature: 0``)."""
    parameters: dict[str, Any] = {
        "max_new_tokens": max_tokens,
        "return_full_text": False,
        "details": True,
    }
    if temperature > 0:
        parameters.update(do_sample=True, temperature=temperature)
    else:
        parameters["do_sample"] = False
    if stop:
        parameters["stop"] = list(stop)
    parameters.update(extra)
    return parameters


def _tgi_error(error: str, error_type: str | None, name: str) -> ProviderError:
    """Map TGI's ``{"error", "error_type"}`` (an HTTP answer or a mid-stream event)."""
    if error_type == "validation" and _CONTEXT_ERROR.search(error):
        return ContextTooLong(f"the prompt is longer than {name} accepts: {error}")
    if error_type == "overloaded":
        return Throttled(f"{name} is overloaded: {error}")
    if error_type == "validation":
        rejected = ProviderError(f"{name} rejected the request: {error}")
        rejected.retryable = False
        return rejected
    return ProviderError(f"{name} failed while generating: {error}")


def _container_error(text: str) -> tuple[str, str | None]:
    """(error, error_type) from the body TGI answered with, if it is TGI's JSON error."""
    try:
        body = json.loads(text)
    except ValueError:
        return text, None
    if isinstance(body, dict) and "error" in body:
        return str(body["error"]), (str(body["error_type"]) if body.get("error_type") else None)
    return text, None


def error_from_client_error(exc: ClientError, name: str) -> ProviderError:
    """Map a botocore ``ClientError`` from either invoke call to a typed chorus error."""
    response: dict[str, Any] = exc.response
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "ModelError":
        original_status = int(response.get("OriginalStatusCode") or 0)
        text, error_type = _container_error(str(response.get("OriginalMessage") or message))
        if original_status == 429:
            return Throttled(f"{name} is busy: {text}")
        if error_type is None and original_status in (400, 413, 422):
            error_type = "validation"
        if error_type is not None:
            return _tgi_error(text, error_type, name)
        return ProviderError(f"{name} failed ({original_status}): {text}")
    if code in THROTTLING_CODES or status == 429:
        return Throttled(f"SageMaker is throttling {name}: {message}")
    if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
        return ProviderError(f"{name} is unavailable on SageMaker ({code}): {message}")
    rejected = ProviderError(f"SageMaker rejected the request to {name} ({code}): {message}")
    rejected.retryable = False
    return rejected


class SageMakerTGIProvider:
    """Streams a chat from a TGI model on a SageMaker endpoint.

    Parameters
    ----------
    endpoint_name:
        The SageMaker endpoint (or use ``inference_component`` for an inference component).
    name:
        How chorus names the model (defaults to the endpoint name).
    template:
        Renders messages into the prompt; ``CHATML`` by default, ``LLAMA3`` included, or any
        object with ``render(messages) -> str`` and ``stop``.
    client:
        A ``sagemaker-runtime`` client (defaults to ``default_client()``).
    stream:
        ``True`` uses ``invoke_endpoint_with_response_stream``; ``False`` ``invoke_endpoint``.
    count_tokens:
        Counts the prompt's tokens for usage (a tokenizer); defaults to ``estimate_tokens``.
    parameters:
        Extra TGI parameters (``top_p``, ``repetition_penalty`` ...).
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        name: str | None = None,
        template: ChatTemplate = CHATML,
        client: Any = None,
        stream: bool = True,
        count_tokens: Callable[[str], int] | None = None,
        parameters: Mapping[str, Any] | None = None,
        inference_component: str | None = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.name = name or endpoint_name
        self.template = template
        self.stream = stream
        self.count_tokens = count_tokens or estimate_tokens
        self.parameters = dict(parameters or {})
        self.inference_component = inference_component
        self._client = client if client is not None else default_client()

    def _request(self, prompt: str, *, temperature: float, max_tokens: int, stream: bool):
        body: dict[str, Any] = {
            "inputs": prompt,
            "parameters": tgi_parameters(
                temperature=temperature,
                max_tokens=max_tokens,
                stop=self.template.stop,
                extra=self.parameters,
            ),
        }
        if stream:
            body["stream"] = True
        request: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "ContentType": JSON,
            "Body": json.dumps(body).encode("utf-8"),
        }
        if not stream:
            request["Accept"] = JSON
        if self.inference_component:
            request["InferenceComponentName"] = self.inference_component
        return request

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
    ) -> Iterator[LLMDelta]:
        prompt = self.template.render(messages)
        request = self._request(
            prompt, temperature=temperature, max_tokens=max_tokens, stream=self.stream
        )
        input_tokens = self.count_tokens(prompt)
        if self.stream:
            yield from self._invoke_stream(request, input_tokens)
        else:
            yield from self._invoke(request, input_tokens)

    def _invoke(self, request: dict[str, Any], input_tokens: int) -> Iterator[LLMDelta]:
        with ProviderErrors(self.name, "SageMaker", error_from_client_error):
            raw = self._client.invoke_endpoint(**request)["Body"].read()
        try:
            body = json.loads(raw)
        except ValueError:
            raise ProviderError(f"{self.name} answered with something other than JSON") from None
        if isinstance(body, dict) and "error" in body:
            raise _tgi_error(str(body["error"]), body.get("error_type"), self.name)
        first = body[0] if isinstance(body, list) and body else body
        if not isinstance(first, dict) or not isinstance(first.get("generated_text"), str):
            raise ProviderError(
                f"{self.name} answered without generated_text: {str(body)[:200]}; "
                "is the endpoint serving TGI?"
            )
        text = self._strip_stop(first["generated_text"])
        details = first.get("details") or {}
        output_tokens = int(details.get("generated_tokens") or 0) or estimate_tokens(text)
        if text:
            yield LLMDelta(text=text)
        yield LLMDelta(usage=TokenUsage(input_tokens, output_tokens))

    def _invoke_stream(self, request: dict[str, Any], input_tokens: int) -> Iterator[LLMDelta]:
        generated = 0
        reported: int | None = None
        stream = None
        try:
            with ProviderErrors(self.name, "SageMaker", error_from_client_error):
                stream = self._client.invoke_endpoint_with_response_stream(**request)["Body"]
                for event in _sse_events(_payload_bytes(stream), self.name):
                    if "error" in event:
                        raise _tgi_error(str(event["error"]), event.get("error_type"), self.name)
                    token = event.get("token")
                    if not isinstance(token, dict):
                        raise ProviderError(
                            f"{self.name} sent a stream event without a token: {str(event)[:200]}"
                        )
                    generated += 1
                    details = event.get("details")
                    if isinstance(details, dict) and details.get("generated_tokens"):
                        reported = int(details["generated_tokens"])
                    text = str(token.get("text") or "")
                    if token.get("special") or text in self.template.stop:
                        continue
                    if text:
                        yield LLMDelta(text=text)
        finally:
            if stream is not None:
                stream.close()
        yield LLMDelta(usage=TokenUsage(input_tokens, reported or generated))

    def _strip_stop(self, text: str) -> str:
        for stop in self.template.stop:
            if text.endswith(stop):
                return text[: -len(stop)]
        return text


def _payload_bytes(stream: Any) -> Iterator[bytes]:
    for event in stream:
        part = event.get("PayloadPart")
        if part and part.get("Bytes"):
            yield part["Bytes"]


def _sse_events(chunks: Iterator[bytes], name: str) -> Iterator[dict[str, Any]]:
    """TGI's ``data:`` lines as JSON objects, however the bytes were split into parts."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            event = _sse_line(line, name)
            if event is not None:
                yield event
    event = _sse_line(buffer, name)
    if event is not None:
        yield event


def _sse_line(line: bytes, name: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith(b"data:"):
        return None  # blank separators, comments, "event:" lines
    data = line[len(b"data:") :].strip()
    if not data or data == b"[DONE]":
        return None
    try:
        event = json.loads(data)
    except ValueError:
        raise ProviderError(
            f"{name} sent a stream line that is not JSON: {data[:200]!r}; is it serving TGI?"
        ) from None
    if not isinstance(event, dict):
        raise ProviderError(f"{name} sent a stream event that is not an object: {data[:200]!r}")
    return event
