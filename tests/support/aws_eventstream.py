"""AWS event-stream bodies and an HTTP-level stub for botocore clients, for tests.

botocore's ``Stubber`` validates every stubbed response against the output shape, and an event
stream member (Bedrock ``ConverseStream``'s ``stream``, SageMaker's
``InvokeEndpointWithResponseStream`` ``Body``) only accepts a dict there, so it cannot return a
stream. ``HTTPStub`` answers one layer lower instead: it hooks botocore's documented
``before-send`` event and hands back an HTTP response whose body is a real
``application/vnd.amazon.eventstream`` encoding (prelude, headers, payload, CRC32s). botocore then
does everything it does in production: retry checks, error parsing, building the ``EventStream``
and decoding each message, exceptions inside the stream included.

Example
-------
    stub = HTTPStub(client)
    stub.add(200, [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})])
    client.converse_stream(...)
    assert stub.requests[0].body["modelId"] ...
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

EVENTSTREAM = "application/vnd.amazon.eventstream"


def _header(name: str, value: str) -> bytes:
    raw_name = name.encode("utf-8")
    raw_value = value.encode("utf-8")
    # name length (1 byte), name, value type 7 = string, value length (2 bytes), value
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", 7, len(raw_value))
        + raw_value
    )


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message: total length, headers length, prelude CRC, headers, payload,
    message CRC (all big-endian, CRC32 as in the AWS event-stream specification)."""
    raw_headers = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """An ``event`` message with a JSON payload (Bedrock's ConverseStream events)."""
    headers = {
        ":message-type": "event",
        ":event-type": event_type,
        ":content-type": "application/json",
    }
    return encode_message(headers, json.dumps(payload).encode("utf-8"))


def payload_part(data: bytes) -> bytes:
    """A SageMaker ``PayloadPart`` event: the bytes are the blob, raw, as the service sends it."""
    headers = {
        ":message-type": "event",
        ":event-type": "PayloadPart",
        ":content-type": "application/octet-stream",
    }
    return encode_message(headers, data)


def exception(exception_type: str, payload: Mapping[str, Any]) -> bytes:
    """An ``exception`` message (the service failing in the middle of a stream)."""
    headers = {
        ":message-type": "exception",
        ":exception-type": exception_type,
        ":content-type": "application/json",
    }
    return encode_message(headers, json.dumps(payload).encode("utf-8"))


class _Raw:
    """What botocore reads a response body from (the urllib3 response in production)."""

    def __init__(self, chunks: Sequence[bytes | float]) -> None:
        self._chunks = list(chunks)
        self.closed = False

    def stream(self, amt: int | None = None, decode_content: bool = False) -> Iterator[bytes]:
        for chunk in self._chunks:
            if self.closed:
                return
            if isinstance(chunk, float | int):
                time.sleep(chunk)  # a scripted pause between two pieces of the body
                continue
            yield chunk

    def read(self, amt: int | None = None, decode_content: bool = False) -> bytes:
        data = b"".join(c for c in self._chunks if isinstance(c, bytes))
        self._chunks = []
        return data

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class SentRequest:
    """A request as botocore would have sent it."""

    url: str
    headers: dict[str, str]
    body: Any


@dataclass
class HTTPStub:
    """Answers a botocore client's HTTP requests from a queue of scripted responses.

    Each ``add`` queues one response: a status, headers and body chunks (bytes, or a float to
    pause that many seconds before the next chunk). Unanswered requests fail the test loudly.
    """

    client: Any
    requests: list[SentRequest] = field(default_factory=list)
    bodies: list[_Raw] = field(default_factory=list)
    _responses: list[tuple[int, dict[str, str], list[bytes | float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        service = self.client.meta.service_model.service_id.hyphenize()
        self.client.meta.events.register(f"before-send.{service}", self._send)

    def add(
        self,
        status: int,
        chunks: Sequence[bytes | float],
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = EVENTSTREAM,
    ) -> None:
        self._responses.append(
            (status, {"content-type": content_type, **(headers or {})}, list(chunks))
        )

    def add_error(self, status: int, error_type: str, message: str) -> None:
        """A restJson1 error response, as Bedrock and SageMaker runtime send them."""
        self.add(
            status,
            [json.dumps({"message": message}).encode()],
            {"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/"},
            content_type="application/json",
        )

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        body = request.body
        if isinstance(body, bytes):
            with contextlib.suppress(ValueError):
                body = json.loads(body)
        self.requests.append(SentRequest(request.url, dict(request.headers), body))
        if not self._responses:
            raise AssertionError(f"unexpected request to {request.url}")
        status, headers, chunks = self._responses.pop(0)
        self.bodies.append(_Raw(chunks))
        return AWSResponse(request.url, status, headers, self.bodies[-1])

    def assert_done(self) -> None:
        assert not self._responses, f"{len(self._responses)} scripted responses never sent"
