"""Turning the application layer's replies and errors into Starlette responses."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...application import Reply
from ...core.errors import ChorusError

log = logging.getLogger("chorus.local")

Endpoint = Callable[[Request], Awaitable[Response]]


def send(reply: Reply) -> Response:
    """The reply as JSON with its status (no body: an empty ``204``)."""
    if reply.body is None:
        return Response(status_code=reply.status)
    return JSONResponse(reply.body, status_code=reply.status)


def error_response(exc: ChorusError) -> JSONResponse:
    """The error's JSON body; a spent rate or quota (``LimitExceeded``) adds ``Retry-After``."""
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


def handles_errors(endpoint: Endpoint) -> Endpoint:
    """Turn ChorusErrors into their JSON 4xx/5xx and anything else into a clean 500."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ChorusError as exc:
            return error_response(exc)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return JSONResponse(
                {"error": {"code": "internal_error", "message": "the server failed; see its log"}},
                status_code=500,
            )

    return wrapper


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 4xx (no such route, method not allowed) in the API's JSON shape, so a
    client switches on a ``code`` for every error, not only for the ones chorus raised."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = _HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    message = "no such route; see docs/protocol.md" if status == 404 else str(exc)
    headers = getattr(exc, "headers", None)
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )
