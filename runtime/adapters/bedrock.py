"""LLMProvider port on Amazon Bedrock's Converse and ConverseStream APIs (any model id).

Converse is Bedrock's one request shape for every chat model: system prompts go to ``system``,
the turns to ``messages`` (content blocks), sampling to ``inferenceConfig``; the answer comes back
with ``usage`` (``inputTokens``/``outputTokens``). ConverseStream sends the same answer as an
event stream: ``messageStart``, ``contentBlockDelta`` (the text), ``contentBlockStop``,
``messageStop`` and a final ``metadata`` event with the usage. Failures become typed chorus
errors, whether they arrive as the HTTP answer or as an exception event mid-stream:

- ``ThrottlingException`` (and ``ServiceQuotaExceededException``) → ``Throttled``;
- ``ModelTimeoutException``, read/connect timeouts → ``ProviderTimeout``;
- ``ValidationException`` about the input's length or the context window → ``ContextTooLong``;
- ``ServiceUnavailableException``, ``ModelNotReadyException``, ``InternalServerException``,
  ``ModelErrorException``, ``modelStreamErrorException``, connection errors → ``ProviderError``
  (transient: the resilience layer retries them);
- any other 4xx (access denied, unknown model, another validation error) → ``ProviderError``
  marked ``retryable = False``: the same request would fail the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
)

from ..core.errors import ContextTooLong, ProviderError, ProviderTimeout, Throttled
from ..core.models import ChatMessage, LLMDelta, TokenUsage
from .botocore_errors import ProviderErrors

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
)
TIMEOUT_CODES = frozenset({"ModelTimeoutException"})
TRANSIENT_CODES = frozenset(
    {
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "InternalServerException",
        "ModelErrorException",
        "ModelStreamErrorException",
    }
)
_CONTEXT_ERROR = re.compile(
    r"too long|\bcontext\b|input length|too many (input )?tokens", re.IGNORECASE
)


def default_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    read_timeout: float = 60.0,
    total_max_attempts: int = 1,
) -> Any:
    """A ``bedrock-runtime`` client with bounded timeouts.

    ``total_max_attempts=1`` (the first attempt only) means the client itself does not retry:
    wrap the provider in ``ResilientProvider``, whose retries have full jitter and respect the
    call's deadline, instead of multiplying two layers of retries.
    """
    import boto3

    config = Config(
        connect_timeout=5,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": total_max_attempts},
    )
    return boto3.client(
        "bedrock-runtime", region_name=region_name, endpoint_url=endpoint_url, config=config
    )


def converse_request(
    model_id: str,
    messages: Sequence[ChatMessage],
    *,
    temperature: float,
    max_tokens: int,
    additional_model_request_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Converse / ConverseStream parameters for a chat.

    System messages become ``system`` blocks; consecutive turns of one role are merged into one
    message with several text blocks, because Converse wants user and assistant to alternate.
    """
    system = [{"text": m.content} for m in messages if m.role == "system"]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role not in ("user", "assistant"):
            raise ValueError(f"role must be system, user or assistant, not {message.role!r}")
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.content})
        else:
            turns.append({"role": message.role, "content": [{"text": message.content}]})
    request: dict[str, Any] = {
        "modelId": model_id,
        "messages": turns,
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
    }
    if system:
        request["system"] = system
    if additional_model_request_fields:
        request["additionalModelRequestFields"] = dict(additional_model_request_fields)
    return request


def _usage(raw: Any) -> TokenUsage:
    if not isinstance(raw, Mapping):
        return TokenUsage()
    return TokenUsage(int(raw.get("inputTokens") or 0), int(raw.get("outputTokens") or 0))


def _normalised_code(code: str) -> str:
    """``throttlingException`` (an event-stream exception type) → ``ThrottlingException``."""
    return code[:1].upper() + code[1:]


def error_from_client_error(exc: ClientError, name: str) -> ProviderError:
    """Map a botocore ``ClientError`` (also an ``EventStreamError``) to a typed chorus error."""
    error = exc.response.get("Error", {})
    code = _normalised_code(str(error.get("Code", "")))
    message = str(error.get("Message") or exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in THROTTLING_CODES:
        return Throttled(f"Bedrock is throttling {name}: {message}")
    if code in TIMEOUT_CODES:
        return ProviderTimeout(f"{name} did not answer in time on Bedrock: {message}")
    if code == "ValidationException" and _CONTEXT_ERROR.search(message):
        return ContextTooLong(f"the prompt is longer than {name} accepts on Bedrock: {message}")
    if code in TRANSIENT_CODES:
        return ProviderError(f"{name} is unavailable on Bedrock ({code}): {message}")
    if status == 429:
        return Throttled(f"Bedrock is throttling {name}: {code} {message}")
    if isinstance(status, int) and status >= 500:
        return ProviderError(f"{name} is unavailable on Bedrock ({code}): {message}")
    rejected = ProviderError(f"Bedrock rejected the request to {name} ({code}): {message}")
    rejected.retryable = False
    return rejected


class BedrockProvider:
    """Streams a chat from any Bedrock model through ConverseStream (or Converse).

    Parameters
    ----------
    model_id:
        A Bedrock model id or inference profile (``anthropic.claude-3-haiku-20240307-v1:0``,
        ``us.amazon.nova-lite-v1:0`` ...).
    name:
        How chorus names the model (defaults to ``model_id``).
    client:
        A ``bedrock-runtime`` client (defaults to ``default_client()``).
    stream:
        ``True`` uses ConverseStream (tokens as they come); ``False`` uses Converse and yields
        the whole answer as one delta.
    additional_model_request_fields:
        Model-specific parameters Converse passes through (``{"top_k": 50}``).

    Example
    -------
        provider = BedrockProvider(model_id="amazon.nova-lite-v1:0")
        for delta in provider.stream_chat([ChatMessage("user", "Hi")], max_tokens=64):
            print(delta.text, end="")
    """

    def __init__(
        self,
        *,
        model_id: str,
        name: str | None = None,
        client: Any = None,
        stream: bool = True,
        additional_model_request_fields: Mapping[str, Any] | None = None,
    ) -> None:
        self.model_id = model_id
        self.name = name or model_id
        self.stream = stream
        self.additional_model_request_fields = dict(additional_model_request_fields or {})
        self._client = client if client is not None else default_client()

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
    ) -> Iterator[LLMDelta]:
        request = converse_request(
            self.model_id,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            additional_model_request_fields=self.additional_model_request_fields,
        )
        if self.stream:
            yield from self._converse_stream(request)
        else:
            yield from self._converse(request)

    def _converse(self, request: dict[str, Any]) -> Iterator[LLMDelta]:
        with self._errors_mapped():
            response = self._client.converse(**request)
        try:
            blocks = response["output"]["message"]["content"]
            text = "".join(str(b["text"]) for b in blocks if "text" in b)
        except (KeyError, TypeError) as exc:
            raise ProviderError(
                f"{self.name} answered Converse without an output message: {exc!r}"
            ) from None
        if text:
            yield LLMDelta(text=text)
        yield LLMDelta(usage=_usage(response.get("usage")))

    def _converse_stream(self, request: dict[str, Any]) -> Iterator[LLMDelta]:
        usage = TokenUsage()
        stream = None
        try:
            with self._errors_mapped():
                stream = self._client.converse_stream(**request)["stream"]
                for event in stream:
                    if "contentBlockDelta" in event:
                        text = (event["contentBlockDelta"].get("delta") or {}).get("text")
                        if text:
                            yield LLMDelta(text=text)
                    elif "metadata" in event:
                        usage = _usage(event["metadata"].get("usage"))
        finally:
            if stream is not None:
                stream.close()
        yield LLMDelta(usage=usage)

    def _errors_mapped(self) -> ProviderErrors:
        return ProviderErrors(
            self.name, "Bedrock", error_from_client_error, malformed_is_error=True
        )
