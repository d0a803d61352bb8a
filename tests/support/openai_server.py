"""A real OpenAI-compatible chat completions server for tests, on 127.0.0.1.

A small Starlette app served by uvicorn in a background thread. ``POST /v1/chat/completions``
streams Server-Sent Events in OpenAI's documented chunk shape, or fails on purpose: the request's
``model`` picks the script (see ``SCRIPTS``). Every request is recorded, so a test can check what
actually went over the wire.

Example
-------
    with OpenAICompatibleServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")
        ...
        assert server.requests[0].body["model"] == "echo"
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from support.threaded_server import ThreadedServer

DEFAULT_REPLY = ("Paris", " is", " the", " capital", " of", " France", ".")

#: model name → what the server does with the request; any other model streams ``reply``.
SCRIPTS = {
    "rate-limited": "429 with OpenAI's rate-limit error body (retry-after-ms: 10)",
    "server-error": "500 with OpenAI's server_error body (retry-after-ms: 10)",
    "context-too-long": "400 with code context_length_exceeded",
    "invalid-request": "400 invalid_request_error that is not about the context",
    "slow": "waits ``slow_seconds`` before sending any header",
    "stall": "sends the first token, then waits ``slow_seconds`` mid-stream",
    "malformed": "200 text/event-stream whose data line is not JSON",
    "wrong-shape": "200 text/event-stream whose data lines are JSON but not chunks",
    "drop": "sends the first token, then breaks the connection",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: Any


def prompt_tokens(messages: Sequence[dict[str, Any]]) -> int:
    """The server's token count of a prompt: whitespace-separated words of every message."""
    return sum(len(str(m.get("content", "")).split()) for m in messages)


class OpenAICompatibleServer:
    """Serves the scripted chat completions API on a free local port until closed.

    Parameters
    ----------
    reply:
        The content pieces a normal request streams, one SSE chunk each; or a function of the
        request body that returns them (a script that answers from the prompt).
    slow_seconds:
        How long the ``slow`` and ``stall`` scripts wait (they stop early when the client
        disconnects).
    """

    def __init__(
        self,
        reply: Sequence[str] | Callable[[dict[str, Any]], Sequence[str]] = DEFAULT_REPLY,
        *,
        slow_seconds: float = 5.0,
    ):
        self.reply = reply if callable(reply) else list(reply)
        self.slow_seconds = slow_seconds
        self.requests: list[RecordedRequest] = []
        self._runner: ThreadedServer | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> OpenAICompatibleServer:
        self._runner = ThreadedServer(
            self._app(), name="test OpenAI-compatible server", timeout_graceful_shutdown=2
        )
        self.port = self._runner.start()
        return self

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the API ------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
        if not isinstance(body, dict):
            return _error(400, "We could not parse the JSON body of your request.", None)
        model = str(body.get("model", ""))
        fast_retry = {"retry-after-ms": "10"}
        if model == "rate-limited":
            message = f"Rate limit reached for {model} on requests per min (RPM): Limit 3."
            return _error(429, message, "rate_limit_exceeded", "requests", fast_retry)
        if model == "server-error":
            message = "The server had an error while processing your request. Sorry about that!"
            return _error(500, message, None, "server_error", fast_retry)
        if model == "context-too-long":
            message = (
                "This model's maximum context length is 8192 tokens. However, your messages "
                "resulted in 9000 tokens. Please reduce the length of the messages."
            )
            return _error(400, message, "context_length_exceeded", param="messages")
        if model == "invalid-request":
            return _error(400, "Invalid value for 'temperature'.", None, param="temperature")
        if model == "slow":
            await _wait_or_disconnect(request, self.slow_seconds)
        if model == "malformed":
            return Response(
                b'data: {"id": "chatcmpl-1", "choices": [{"delta": {"content": "Par\n\n',
                media_type="text/event-stream",
            )
        if model == "wrong-shape":
            return Response(
                b'data: [1, 2, 3]\n\ndata: "Paris"\n\ndata: {"choices": "none"}\n\n'
                b"data: [DONE]\n\n",
                media_type="text/event-stream",
            )
        return StreamingResponse(self._events(request, body), media_type="text/event-stream")

    async def _events(self, request: Request, body: dict[str, Any]) -> AsyncIterator[str]:
        model = str(body["model"])
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return _sse(_chunk(completion_id, created, model, [choice]))

        pieces = list(self.reply(body) if callable(self.reply) else self.reply)
        yield chunk({"role": "assistant", "content": ""})
        for i, piece in enumerate(pieces):
            yield chunk({"content": piece})
            if i == 0 and model == "stall":
                await _wait_or_disconnect(request, self.slow_seconds)
            if i == 0 and model == "drop":
                raise ConnectionResetError("scripted: the server drops the stream")
        yield chunk({}, "stop")
        options = body.get("stream_options") or {}
        if options.get("include_usage"):
            usage = {
                "prompt_tokens": prompt_tokens(body.get("messages") or []),
                "completion_tokens": len(pieces),
            }
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            yield _sse({**_chunk(completion_id, created, model, []), "usage": usage})
        yield "data: [DONE]\n\n"


def _chunk(completion_id: str, created: int, model: str, choices: list[Any]) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_chorus_test",
        "choices": choices,
    }


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _error(
    status: int,
    message: str,
    code: str | None,
    error_type: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
    *,
    param: str | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _wait_or_disconnect(request: Request, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)
