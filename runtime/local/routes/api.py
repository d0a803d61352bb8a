"""The REST API of the local server: the application layer's operations over HTTP.

Each route names the caller, reads the path ids and the body, runs one operation in a worker
thread (PostgreSQL and embedding block) and sends its ``Reply``. Paths, bodies, shapes and
statuses are the cloud REST API's (docs/protocol.md), under ``/api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...application import Reply
from ...application import bulk_ingestions as bulk_ops
from ...application import documents as document_ops
from ...application import eval_sets as eval_ops
from ...application import sessions as session_ops
from ...application import sources as source_ops
from ...application import workspaces as workspace_ops
from ...application.requests import (
    AddSource,
    CreateEvalCase,
    CreateWorkspace,
    FeedbackRequest,
    MarkTurn,
    StartBulkIngestion,
    TuneWorkspace,
    UpdateEvalCase,
    UploadRequest,
    read_request,
)
from ...core.errors import BadRequest, PayloadTooLarge
from ...core.protocol import valid_id
from ..services import LocalServices
from .identity import caller_of
from .responses import handles_errors, send

MULTIPART_SLACK = 64 * 1024
"""Room for the multipart envelope around a file of the largest allowed size."""


def _path_id(request: Request, name: str) -> str:
    return valid_id(request.path_params[name], name.removesuffix("_id"))


async def _run(fn: Callable[..., Reply], *args: Any) -> Response:
    return send(await run_in_threadpool(fn, *args))


def api_routes(services: LocalServices) -> list[Route]:
    """The ``/api`` routes over the services' ``Backend``."""
    backend = services.backend

    @handles_errors
    async def list_workspaces(request: Request) -> Response:
        return await _run(workspace_ops.list_workspaces, backend, caller_of(request))

    @handles_errors
    async def create_workspace(request: Request) -> Response:
        caller = caller_of(request)
        body = read_request(CreateWorkspace, await request.body())
        return await _run(workspace_ops.create_workspace, backend, caller, body)

    @handles_errors
    async def get_workspace(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        return await _run(workspace_ops.get_workspace, backend, caller_of(request), workspace_id)

    @handles_errors
    async def delete_workspace(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        return await _run(workspace_ops.delete_workspace, backend, caller, workspace_id)

    @handles_errors
    async def reindex(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        return await _run(workspace_ops.start_reindex, backend, caller_of(request), workspace_id)

    @handles_errors
    async def tune_workspace(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        body = read_request(TuneWorkspace, await request.body())
        return await _run(workspace_ops.tune_workspace, backend, caller, workspace_id, body)

    @handles_errors
    async def list_documents(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        status = request.query_params.get("status")
        caller = caller_of(request)
        return await _run(document_ops.list_documents, backend, caller, workspace_id, status)

    @handles_errors
    async def add_document(request: Request) -> Response:
        """A multipart file is indexed now; a JSON upload request (the cloud's presigned flow)
        is answered 400 ``not_deployed`` by the operation."""
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        if request.headers.get("content-type", "").startswith("application/json"):
            body = read_request(UploadRequest, await request.body())
            return await _run(document_ops.request_upload, backend, caller, workspace_id, body)
        # Unknown workspace: 404 before a large body is read.
        await run_in_threadpool(workspace_ops.find_workspace, backend, caller, workspace_id)
        name, data = await _one_file(request, backend.offer.max_upload_bytes)
        return await _run(document_ops.upload_document, backend, caller, workspace_id, name, data)

    @handles_errors
    async def delete_document(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        document_id = _path_id(request, "document_id")
        caller = caller_of(request)
        return await _run(document_ops.delete_document, backend, caller, workspace_id, document_id)

    @handles_errors
    async def add_source(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        body = read_request(AddSource, await request.body())
        return await _run(source_ops.add_source, backend, caller, workspace_id, body)

    @handles_errors
    async def list_sources(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        return await _run(source_ops.list_sources, backend, caller_of(request), workspace_id)

    @handles_errors
    async def sync_sources(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        return await _run(source_ops.sync_sources, backend, caller_of(request), workspace_id)

    @handles_errors
    async def list_sessions(request: Request) -> Response:
        return await _run(session_ops.list_sessions, backend, caller_of(request))

    @handles_errors
    async def get_session(request: Request) -> Response:
        session_id = _path_id(request, "session_id")
        return await _run(session_ops.get_session, backend, caller_of(request), session_id)

    @handles_errors
    async def delete_session(request: Request) -> Response:
        session_id = _path_id(request, "session_id")
        return await _run(session_ops.delete_session, backend, caller_of(request), session_id)

    @handles_errors
    async def give_feedback(request: Request) -> Response:
        session_id = _path_id(request, "session_id")
        caller = caller_of(request)
        body = read_request(FeedbackRequest, await request.body())
        return await _run(session_ops.give_feedback, backend, caller, session_id, body)

    @handles_errors
    async def list_eval_cases(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        status = request.query_params.get("status")
        caller = caller_of(request)
        return await _run(eval_ops.list_cases, backend, caller, workspace_id, status)

    @handles_errors
    async def create_eval_case(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        body = read_request(CreateEvalCase, await request.body())
        return await _run(eval_ops.create_case, backend, caller, workspace_id, body)

    @handles_errors
    async def import_eval_cases(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        raw = await _bounded_body(request, eval_ops.MAX_IMPORT_BYTES)
        return await _run(eval_ops.import_cases, backend, caller, workspace_id, raw)

    @handles_errors
    async def get_eval_case(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        case_id = _path_id(request, "case_id")
        caller = caller_of(request)
        return await _run(eval_ops.get_case, backend, caller, workspace_id, case_id)

    @handles_errors
    async def update_eval_case(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        case_id = _path_id(request, "case_id")
        caller = caller_of(request)
        body = read_request(UpdateEvalCase, await request.body())
        return await _run(eval_ops.update_case, backend, caller, workspace_id, case_id, body)

    @handles_errors
    async def delete_eval_case(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        case_id = _path_id(request, "case_id")
        caller = caller_of(request)
        return await _run(eval_ops.delete_case, backend, caller, workspace_id, case_id)

    @handles_errors
    async def mark_turn(request: Request) -> Response:
        session_id = _path_id(request, "session_id")
        message_id = _path_id(request, "message_id")
        caller = caller_of(request)
        body = read_request(MarkTurn, await request.body())
        return await _run(eval_ops.mark_turn, backend, caller, session_id, message_id, body)

    @handles_errors
    async def start_bulk_ingestion(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        caller = caller_of(request)
        body = read_request(StartBulkIngestion, await request.body())
        return await _run(bulk_ops.start_bulk_ingestion, backend, caller, workspace_id, body)

    @handles_errors
    async def get_bulk_ingestion(request: Request) -> Response:
        workspace_id = _path_id(request, "workspace_id")
        job_id = request.path_params["job_id"]
        caller = caller_of(request)
        return await _run(bulk_ops.get_bulk_ingestion, backend, caller, workspace_id, job_id)

    workspace = "/api/workspaces/{workspace_id}"
    eval_case = f"{workspace}/eval-cases/{{case_id}}"
    return [
        Route("/api/workspaces", list_workspaces, methods=["GET"]),
        Route("/api/workspaces", create_workspace, methods=["POST"]),
        Route(workspace, get_workspace, methods=["GET"]),
        Route(workspace, delete_workspace, methods=["DELETE"]),
        Route(f"{workspace}/reindex", reindex, methods=["POST"]),
        Route(f"{workspace}/settings", tune_workspace, methods=["PUT"]),
        Route(f"{workspace}/bulk-ingestions", start_bulk_ingestion, methods=["POST"]),
        Route(f"{workspace}/bulk-ingestions/{{job_id}}", get_bulk_ingestion, methods=["GET"]),
        Route(f"{workspace}/documents", list_documents, methods=["GET"]),
        Route(f"{workspace}/documents", add_document, methods=["POST"]),
        Route(f"{workspace}/documents/{{document_id}}", delete_document, methods=["DELETE"]),
        Route(f"{workspace}/sources", list_sources, methods=["GET"]),
        Route(f"{workspace}/sources", add_source, methods=["POST"]),
        Route(f"{workspace}/sources/sync", sync_sources, methods=["POST"]),
        Route("/api/sessions", list_sessions, methods=["GET"]),
        Route("/api/sessions/{session_id}", get_session, methods=["GET"]),
        Route("/api/sessions/{session_id}", delete_session, methods=["DELETE"]),
        Route("/api/sessions/{session_id}/feedback", give_feedback, methods=["POST"]),
        Route(f"{workspace}/eval-cases", list_eval_cases, methods=["GET"]),
        Route(f"{workspace}/eval-cases", create_eval_case, methods=["POST"]),
        Route(f"{workspace}/eval-cases/import", import_eval_cases, methods=["POST"]),
        Route(eval_case, get_eval_case, methods=["GET"]),
        Route(eval_case, update_eval_case, methods=["PATCH"]),
        Route(eval_case, delete_eval_case, methods=["DELETE"]),
        Route(
            "/api/sessions/{session_id}/messages/{message_id}/eval-case",
            mark_turn,
            methods=["POST"],
        ),
    ]


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
