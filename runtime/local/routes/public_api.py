"""The public API on the local server: key management under ``/api/workspaces/{id}/api-keys``
(the dev caller, a workspace manager) and the key-authenticated ``/api/v1`` routes, with the
cloud's paths, bodies and statuses (docs/public_api.md). ``"stream": true`` answers as
Server-Sent Events; the OpenAPI document is at ``/api/openapi.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ...application import api_keys as key_ops
from ...application import public_api as public_ops
from ...application.openapi import openapi_document
from ...application.requests import AskQuestion, UploadRequest, read_request
from ...application.rest_routes import API_KEY_ROUTES
from ...core.api_keys import ApiKey
from ..services import LocalServices
from .api import _one_file, _path_id, _run, rest_api_routes
from .responses import handles_errors


def presented_key(request: Request) -> str | None:
    """The key sent as ``Authorization: Bearer`` or ``X-Api-Key``."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-api-key")


def public_api_routes(services: LocalServices) -> list[Route]:
    backend = services.backend

    async def _key(request: Request, workspace_id: str, scope: str) -> ApiKey:
        return await run_in_threadpool(
            key_ops.authenticate, backend, presented_key(request), workspace_id, scope, time.time()
        )

    @handles_errors
    async def answers(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        body = read_request(AskQuestion, await request.body())
        key = await _key(request, workspace_id, "answers")
        if not body.stream:
            return await _run(public_ops.answer, backend, key, body)
        return StreamingResponse(
            _events(backend, key, body),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )

    @handles_errors
    async def documents(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        key = await _key(request, workspace_id, "documents")
        if request.headers.get("content-type", "").startswith("application/json"):
            body = read_request(UploadRequest, await request.body())
            return await _run(public_ops.request_document_upload, backend, key, body)
        name, data = await _one_file(request, backend.offer.max_upload_bytes)
        return await _run(public_ops.add_document, backend, key, name, data)

    async def openapi(_request: Request) -> Response:
        return JSONResponse(openapi_document())

    public = "/api/v1/workspaces/{workspace_id}"
    return [
        *rest_api_routes(API_KEY_ROUTES, backend),
        Route(f"{public}/answers", answers, methods=["POST"]),
        Route(f"{public}/documents", documents, methods=["POST"]),
        Route("/api/openapi.json", openapi, methods=["GET"]),
    ]


async def _events(backend: Any, key: ApiKey, body: AskQuestion) -> AsyncIterator[str]:
    """The turn's events as Server-Sent Events (``event: <type>``, ``data: <JSON>``), ending
    with ``final`` or ``error``; the turn runs in a worker thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def send(event: dict[str, Any] | None) -> bool:
        loop.call_soon_threadsafe(queue.put_nowait, event)
        return True

    def turn() -> None:
        try:
            public_ops.ask(backend, key, body, send)
        except Exception as exc:  # e.g. the workspace vanished: still one closing event
            code = getattr(exc, "code", "internal_error")
            message = getattr(exc, "message", "the server failed; see its log")
            send({"type": "error", "code": code, "message": message})
        finally:
            send(None)

    running = loop.run_in_executor(None, turn)
    try:
        while (event := await queue.get()) is not None:
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
    finally:
        await running
