"""The REST API of the local server: the application layer's operations over HTTP.

Each route of ``application.rest_routes`` checks the path ids, names the caller, reads the body
and runs its operation in a worker thread (PostgreSQL and embedding block), then sends its
``Reply``. Paths, bodies, shapes and statuses are the cloud REST API's (docs/protocol.md), under
``/api``. Only the laptop indexes an uploaded file at once (a multipart ``POST`` of documents).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...application import Reply
from ...application import documents as document_ops
from ...application import workspaces as workspace_ops
from ...application.rest_routes import REST_ROUTES, RestRoute
from ...core.errors import BadRequest, PayloadTooLarge
from ...core.protocol import valid_id
from ..services import LocalServices
from .identity import caller_of
from .responses import Endpoint, handles_errors, send

MULTIPART_SLACK = 64 * 1024
"""Room for the multipart envelope around a file of the largest allowed size."""


def _path_id(request: Request, name: str) -> str:
    return valid_id(request.path_params[name], name.removesuffix("_id"))


async def _run(fn: Callable[..., Reply], *args: Any) -> Response:
    return send(await run_in_threadpool(fn, *args))


def serve(route: RestRoute, backend: Any) -> Endpoint:
    """The endpoint of ``route``: path ids, caller, body (a raw one read only up to its limit),
    then the operation in a worker thread."""

    async def endpoint(request: Request) -> Response:
        ids = route.path_ids(request.path_params)
        caller = caller_of(request)
        query = request.query_params.get(route.query) if route.query else None
        if route.raw_body_limit is not None:
            body = await _bounded_body(request, route.raw_body_limit)
        else:
            body = await request.body() if route.body is not None else b""
        return await _run(route.run, backend, caller, ids, query, body)

    endpoint.__name__ = endpoint.__qualname__ = route.name
    return endpoint


def rest_api_routes(
    routes: Sequence[RestRoute], backend: Any, *, own: dict[str, Endpoint] | None = None
) -> list[Route]:
    """Starlette routes under ``/api`` for ``routes``; ``own`` replaces the endpoint of the
    operations it names."""
    own = own or {}
    return [
        Route(
            f"/api{route.path}",
            handles_errors(own.get(route.name) or serve(route, backend)),
            methods=[route.method],
        )
        for route in routes
    ]


def api_routes(services: LocalServices) -> list[Route]:
    """The ``/api`` routes over the services' ``Backend``."""
    backend = services.backend
    upload_route = next(r for r in REST_ROUTES if r.operation is document_ops.request_upload)
    request_upload = serve(upload_route, backend)

    async def add_document(request: Request) -> Response:
        """A multipart file is indexed now; a JSON upload request (the cloud's presigned flow)
        is answered 400 ``not_deployed`` by the operation."""
        if request.headers.get("content-type", "").startswith("application/json"):
            return await request_upload(request)
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        # Unknown workspace: 404 before a large body is read.
        await run_in_threadpool(workspace_ops.find_workspace, backend, caller, workspace_id)
        name, data = await _one_file(request, backend.offer.max_upload_bytes)
        return await _run(document_ops.upload_document, backend, caller, workspace_id, name, data)

    return rest_api_routes(REST_ROUTES, backend, own={upload_route.name: add_document})


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes (not read whole first)."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
    return bytes(body)


async def _one_file(request: Request, limit: int) -> tuple[str, bytes]:
    """The name and bytes of the one file in the form field ``file`` (at most ``limit``)."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + MULTIPART_SLACK:
        raise PayloadTooLarge(f"upload is {declared} bytes; the limit is {limit} bytes")
    try:
        form = await request.form(max_files=1, max_fields=5, max_part_size=limit)
    except (HTTPException, MultiPartException, ValueError) as exc:
        # A broken body (bad boundary, two files ...) is the client's fault, not a 500.
        detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or exc
        raise BadRequest(
            f"the upload is not a valid multipart form ({detail}); send one file in a form "
            'field named "file"'
        ) from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest('send the document as a multipart form field named "file"')
        return upload.filename or "", await upload.read(limit + 1)
    finally:
        await form.close()
