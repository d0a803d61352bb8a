"""The chat protocol: one set of JSON messages for the local server, the cloud WebSocket API
and the web app. Written down in docs/protocol.md; validated here with pydantic.

Client → server: ``sendMessage`` and ``heartbeat``. Server → client events: ``token``,
``sources``, ``final``, ``error``, ``heartbeat``. Anything a client sends that does not parse
gets an ``error`` event with code ``bad_request`` (or ``payload_too_large``), never a dropped
connection.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from .bounded_json import parse_json
from .errors import BadRequest, ChorusError, PayloadTooLarge
from .identifiers import ID_PATTERN, is_valid_id, printable
from .identifiers import valid_id as valid_id  # re-exported: ids are part of the protocol

MAX_MESSAGE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 8_000

Mode = Literal["single", "cascade", "consensus"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ModelKwargs(_Strict):
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    maxTokens: int = Field(512, ge=1, le=8192)


class SendMessageData(_Strict):
    sessionId: str | None = Field(None, pattern=ID_PATTERN)
    workspaceId: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    mode: Mode = "single"
    models: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=8
    )
    modelKwargs: ModelKwargs = Field(default_factory=ModelKwargs)

    @field_validator("text")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value


class SendMessage(_Strict):
    action: Literal["sendMessage"]
    data: SendMessageData


class Heartbeat(_Strict):
    action: Literal["heartbeat"]
    data: dict[str, Any] | None = None


ClientMessage = Annotated[SendMessage | Heartbeat, Field(discriminator="action")]
_client_message = TypeAdapter(ClientMessage)


def parse_client_message(raw: str | bytes) -> SendMessage | Heartbeat:
    """Validate one client frame; raise ``BadRequest`` saying what is wrong.

    Example
    -------
    >>> parse_client_message('{"action": "heartbeat"}').action
    'heartbeat'
    """
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes")
    payload = parse_json(raw, what="message")
    if not isinstance(payload, dict):
        raise BadRequest('message must be a JSON object with an "action"')
    action = payload.get("action")
    if action not in ("sendMessage", "heartbeat"):
        raise BadRequest(f"unknown action {action!r}; expected 'sendMessage' or 'heartbeat'")
    try:
        return _client_message.validate_python(payload)
    except ValidationError as exc:
        raise BadRequest(f"invalid {action}: {_describe(exc)}") from None


def session_id_of(raw: str | bytes | None) -> str | None:
    """The ``data.sessionId`` of a client frame when it is a valid id (for error replies to a
    frame that did not validate); None for anything else."""
    try:
        payload = parse_json(raw or "", what="message")
    except BadRequest:
        return None
    data = payload.get("data") if isinstance(payload, dict) else None
    value = data.get("sessionId") if isinstance(data, dict) else None
    return value if is_valid_id(value) else None


def encode_event(event: dict[str, Any]) -> str:
    """One server → client frame as JSON text that always encodes to UTF-8 (a lone surrogate
    from anywhere becomes U+FFFD instead of failing the delivery)."""
    return printable(json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str))


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


# -- server → client events ------------------------------------------------------------------


def token_event(session_id: str, message_id: str, model: str, text: str) -> dict[str, Any]:
    return {
        "type": "token",
        "sessionId": session_id,
        "messageId": message_id,
        "model": model,
        "text": text,
    }


def sources_event(
    session_id: str, message_id: str, sources: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"type": "sources", "sessionId": session_id, "messageId": message_id, "sources": sources}


def final_event(session_id: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "final", "sessionId": session_id, "messageId": message_id, **fields}


def error_event(
    code: str,
    message: str,
    session_id: str | None = None,
    message_id: str | None = None,
    *,
    retry_after: int | None = None,
) -> dict[str, Any]:
    """An ``error`` event; ``retryAfter`` (seconds) only when waiting is the remedy (an API
    key's rate or quota spent)."""
    event: dict[str, Any] = {
        "type": "error",
        "sessionId": session_id,
        "messageId": message_id,
        "code": code,
        "message": message,
    }
    if retry_after is not None:
        event["retryAfter"] = retry_after
    return event


def exception_event(exc: ChorusError, session_id: str | None = None) -> dict[str, Any]:
    """The ``error`` event for a refused frame, with ``retryAfter`` when the error carries one
    (an API key's plan spent: ``core.api_keys.LimitExceeded``)."""
    return error_event(
        exc.code, exc.message, session_id, retry_after=getattr(exc, "retry_after", None)
    )


def heartbeat_event(session_id: str | None = None) -> dict[str, Any]:
    return {"type": "heartbeat", "sessionId": session_id, "messageId": None}
