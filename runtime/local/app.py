"""The local server: the chat WebSocket, the REST API and the chat page on 127.0.0.1.

It speaks the same protocol as the cloud WebSocket API (docs/protocol.md). Blocking work
(embedding, PostgreSQL, generation) runs in worker threads so one slow answer never stalls the
event loop, heartbeats or other connections.

The page at ``/`` is the React app (``frontend/dist``) when ``create_app`` is given its build, and
the plain page in ``static/`` otherwise (also kept at ``/classic``). Callers are named by a dev
sign-in token (``POST /api/auth/dev-login``; ``Authorization: Bearer`` or ``?token=``), or, for
scripts and older clients, by the ``X-Chorus-User`` header or ``?user=``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.from_thread
import anyio.lowlevel
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..core.bounded_json import parse_json
from ..core.errors import BadRequest, ChorusError, NotFound, PayloadTooLarge, UnsupportedDocument
from ..core.models import ChunkingSettings, Document, Session, Workspace
from ..core.parsing import parse_document, safe_document_name
from ..core.protocol import (
    ID_PATTERN,
    Heartbeat,
    encode_event,
    error_event,
    heartbeat_event,
    parse_client_message,
    valid_id,
)
from .dev_auth import DevTokenSigner, InvalidToken, load_or_create_secret
from .services import LocalServices
from .stats import stats_endpoint

log = logging.getLogger("chorus.local")
STATIC = Path(__file__).parent / "static"
LOCAL_USER = "local"
_USER_HEADER = "x-chorus-user"
LOCAL_STORE = "pgvector"


class Unauthorized(ChorusError):
    """A sign-in token that this server did not issue, or that expired."""

    code = "unauthorized"
    http_status = 401


class CreateWorkspace(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    chunkSize: int = Field(1000, ge=50, le=8000)
    chunkOverlap: int = Field(200, ge=0, le=4000)
    embeddingModel: str | None = Field(None, min_length=1, max_length=200)
    store: str | None = Field(None, min_length=1, max_length=50)


class DevLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    user: str = Field(min_length=1, max_length=128)


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)


class SessionFeedbackBody(FeedbackBody):
    messageId: str = Field(pattern=ID_PATTERN)


def _valid_user(value: str) -> str:
    if len(value) > 128 or not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise BadRequest("the user name may only hold letters, digits, '-', '_' and '.'")
    return value


def _bearer(request: Request | WebSocket) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.query_params.get("token") or None


def _user(request: Request | WebSocket) -> str:
    """The caller: a dev sign-in token when one is sent, else the legacy header or query."""
    token = _bearer(request)
    if token is not None:
        signer: DevTokenSigner = request.app.state.dev_signer
        try:
            return _valid_user(signer.verify(token).user)
        except InvalidToken as exc:
            raise Unauthorized(f"{exc}; sign in again (POST /api/auth/dev-login)") from None
    value = request.headers.get(_USER_HEADER) or request.query_params.get("user") or LOCAL_USER
    return _valid_user(value)


def _error_response(exc: ChorusError) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)


Endpoint = Callable[[Request], Awaitable[Response]]


def _handles_errors(endpoint: Endpoint) -> Endpoint:
    """Turn ChorusErrors into their JSON 4xx/5xx and anything else into a clean 500."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ChorusError as exc:
            return _error_response(exc)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return JSONResponse(
                {"error": {"code": "internal_error", "message": "the server failed; see its log"}},
                status_code=500,
            )

    return wrapper


def _workspace_json(w: Workspace, documents: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": w.id,
        "name": w.name,
        "embeddingModel": w.embedding_model,
        "embeddingDim": w.embedding_dim,
        "chunkSize": w.chunking.chunk_size,
        "chunkOverlap": w.chunking.chunk_overlap,
        "store": w.store,
        "createdAt": w.created_at.isoformat() if w.created_at else None,
    }
    if documents is not None:
        body["documents"] = documents
    return body


def _document_json(d: Document) -> dict[str, Any]:
    return {
        "id": d.id,
        "workspaceId": d.workspace_id,
        "name": d.name,
        "status": d.status.value,
        "chunks": d.chunk_count,
        "sizeBytes": d.size_bytes,
        "contentType": d.content_type,
        "error": d.error,
        "updatedAt": d.updated_at.isoformat() if d.updated_at else None,
        "progress": (
            {"embedded": d.chunks_embedded, "total": d.chunk_count}
            if d.chunks_embedded is not None
            else None
        ),
    }


def _session_json(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "workspaceId": s.workspace_id,
        "title": s.title,
        "createdAt": s.created_at.isoformat() if s.created_at else None,
        "updatedAt": s.updated_at.isoformat() if s.updated_at else None,
    }


def _path_id(request: Request, name: str) -> str:
    return valid_id(request.path_params[name], name.removesuffix("_id"))


async def _json_body(request: Request, limit: int = 64 * 1024) -> Any:
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"request body is {len(body)} bytes; the limit is {limit}")
    return parse_json(body or b"null", what="request body")


def _answer_modes(services: LocalServices) -> list[str]:
    """Modes the chat service answers: all three once it has multi-model orchestration."""
    chat = services.chat
    if hasattr(chat, "consensus_models") and hasattr(chat, "cascade_models"):
        return ["single", "cascade", "consensus"]
    return ["single"]


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first['msg']}" if where else first["msg"]


def create_app(services: LocalServices, frontend_dir: Path | None = None) -> Starlette:
    """The local chorus server over already-open services.

    Parameters:
        services: the open stores, embedder and chat service.
        frontend_dir: the React app's build (``frontend/dist``), served at ``/`` when it holds an
            ``index.html``; without it ``/`` is the plain page of ``static/``.
    """
    settings = services.settings
    signer = DevTokenSigner(load_or_create_secret(settings.home))
    app_dir = frontend_dir if frontend_dir and (frontend_dir / "index.html").is_file() else None

    def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return run_in_threadpool(fn, *args, **kwargs)

    # -- REST ----------------------------------------------------------------------------------

    @_handles_errors
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": services.chat.models})

    @_handles_errors
    async def config(request: Request) -> Response:
        scheme = "wss" if request.url.scheme == "https" else "ws"
        return JSONResponse(
            {
                "mode": "local",
                "websocketUrl": f"{scheme}://{request.url.netloc}/ws",
                "apiUrl": f"{request.url.scheme}://{request.url.netloc}/api",
                "models": services.chat.models,
                "defaultModel": services.chat.default_model,
                "defaultWorkspace": settings.default_workspace,
                "embeddingModel": services.embedder.model_id,
                "reranker": services.reranker.model_id if services.reranker else None,
                "modes": _answer_modes(services),
                "auth": "dev",
                "embeddingModels": [services.embedder.model_id],
                "stores": [LOCAL_STORE],
            }
        )

    @_handles_errors
    async def dev_login(request: Request) -> Response:
        try:
            body = DevLogin.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise BadRequest(f"invalid sign-in: {_validation_message(exc)}") from None
        user = _valid_user(body.user)
        token, expires = signer.sign(user)
        return JSONResponse({"user": user, "token": token, "expiresAt": expires})

    @_handles_errors
    async def list_workspaces(request: Request) -> Response:
        workspaces = await in_thread(services.metadata.list_workspaces)
        return JSONResponse({"workspaces": [_workspace_json(w) for w in workspaces]})

    @_handles_errors
    async def create_workspace(request: Request) -> Response:
        try:
            body = CreateWorkspace.model_validate(await _json_body(request))
            chunking = ChunkingSettings(body.chunkSize, body.chunkOverlap)
        except ValidationError as exc:
            raise BadRequest(f"invalid workspace: {exc.errors()[0]['msg']}") from None
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        model = services.embedder.model_id
        if body.embeddingModel is not None and body.embeddingModel != model:
            raise BadRequest(
                f"this server embeds with {model!r} only; omit embeddingModel or use that name"
            )
        if body.store is not None and body.store != LOCAL_STORE:
            raise BadRequest(f"the local server stores vectors in {LOCAL_STORE!r} only")
        workspace = await in_thread(services.create_workspace, body.name, chunking)
        return JSONResponse(_workspace_json(workspace), status_code=201)

    @_handles_errors
    async def get_workspace(request: Request) -> Response:
        workspace = await in_thread(services.find_workspace, _path_id(request, "workspace_id"))
        documents = await in_thread(services.metadata.list_documents, workspace.id)
        return JSONResponse(_workspace_json(workspace, len(documents)))

    @_handles_errors
    async def delete_workspace(request: Request) -> Response:
        await in_thread(services.delete_workspace, _path_id(request, "workspace_id"))
        return Response(status_code=204)

    @_handles_errors
    async def list_documents(request: Request) -> Response:
        workspace = await in_thread(services.find_workspace, _path_id(request, "workspace_id"))
        documents = await in_thread(services.metadata.list_documents, workspace.id)
        return JSONResponse({"documents": [_document_json(d) for d in documents]})

    @_handles_errors
    async def upload_document(request: Request) -> Response:
        workspace = await in_thread(services.find_workspace, _path_id(request, "workspace_id"))
        services.check_embedding_model(workspace)
        limit = settings.max_upload_bytes
        declared = int(request.headers.get("content-length") or 0)
        if declared > limit + 64 * 1024:
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
            name = safe_document_name(upload.filename or "")
            data = await upload.read(limit + 1)
        finally:
            await form.close()
        if len(data) > limit:
            raise PayloadTooLarge(f"upload is larger than the limit of {limit} bytes")
        # Parse before anything is written, so a bad document changes nothing.
        await in_thread(parse_document, name, data, max_bytes=limit)
        result = await in_thread(services.ingestor.ingest, workspace, name, data)
        if result.outcome == "skipped":
            raise UnsupportedDocument(result.reason or "the document cannot be ingested")
        document = await in_thread(
            services.metadata.get_document, workspace.id, result.document_id or ""
        )
        if document is None:
            raise NotFound("the document vanished while it was being ingested")
        status = 201 if result.outcome == "indexed" else 200
        return JSONResponse(
            {**_document_json(document), "outcome": result.outcome}, status_code=status
        )

    @_handles_errors
    async def delete_document(request: Request) -> Response:
        workspace = await in_thread(services.find_workspace, _path_id(request, "workspace_id"))
        document_id = _path_id(request, "document_id")
        if await in_thread(services.metadata.get_document, workspace.id, document_id) is None:
            raise NotFound(f"no document {document_id!r} in workspace {workspace.name!r}")
        await in_thread(services.ingestor.delete, workspace.id, document_id)
        return Response(status_code=204)

    @_handles_errors
    async def list_sessions(request: Request) -> Response:
        sessions = await in_thread(services.metadata.list_sessions, _user(request))
        return JSONResponse({"sessions": [_session_json(s) for s in sessions]})

    async def _own_session(request: Request) -> Session:
        session_id = _path_id(request, "session_id")
        session = await in_thread(services.metadata.get_session, session_id)
        # Another user's session answers exactly like a missing one: ids are not probeable.
        if session is None or session.user_id != _user(request):
            raise NotFound(f"no session {session_id!r}")
        return session

    @_handles_errors
    async def get_session(request: Request) -> Response:
        session = await _own_session(request)
        messages = await in_thread(services.metadata.list_messages, session.id)
        return JSONResponse(
            {
                **_session_json(session),
                "messages": [
                    {
                        "id": m.id,
                        "role": m.role,
                        "content": m.content,
                        "details": m.details,
                        "createdAt": m.created_at.isoformat() if m.created_at else None,
                    }
                    for m in messages
                ],
            }
        )

    @_handles_errors
    async def delete_session(request: Request) -> Response:
        session = await _own_session(request)
        await in_thread(services.metadata.delete_session, session.id)
        return Response(status_code=204)

    async def _store_feedback(
        request: Request, session: Session, message_id: str, body: FeedbackBody
    ) -> Response:
        feedback = {
            "rating": body.rating,
            "comment": body.comment,
            "user": _user(request),
            "at": datetime.now(UTC).isoformat(),
        }
        stored = await in_thread(services.metadata.set_feedback, session.id, message_id, feedback)
        if not stored:
            raise NotFound(f"no answer {message_id!r} in session {session.id!r}")
        return JSONResponse(
            {"sessionId": session.id, "messageId": message_id, "feedback": feedback}
        )

    @_handles_errors
    async def message_feedback(request: Request) -> Response:
        session = await _own_session(request)
        message_id = _path_id(request, "message_id")
        try:
            body = FeedbackBody.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise BadRequest(f"invalid feedback: {_validation_message(exc)}") from None
        return await _store_feedback(request, session, message_id, body)

    @_handles_errors
    async def session_feedback(request: Request) -> Response:
        """The cloud API's shape (``POST /sessions/{id}/feedback`` with ``messageId``)."""
        session = await _own_session(request)
        try:
            body = SessionFeedbackBody.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise BadRequest(f"invalid feedback: {_validation_message(exc)}") from None
        return await _store_feedback(request, session, body.messageId, body)

    # -- WebSocket -------------------------------------------------------------------------

    async def websocket_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            user_id = _user(websocket)
        except (BadRequest, Unauthorized) as exc:
            await websocket.send_text(encode_event(error_event(exc.code, exc.message)))
            await websocket.close(code=1008)
            return
        send_lock = anyio.Lock()
        # The chat may stream from threads of its own (one per model in consensus mode), not
        # only from the anyio worker thread it runs in: the loop token reaches back from any.
        loop_token = anyio.lowlevel.current_token()

        async def send(event: dict[str, Any]) -> bool:
            try:
                async with send_lock:
                    await websocket.send_text(encode_event(event))
                return True
            except (WebSocketDisconnect, RuntimeError, OSError):
                return False

        def send_from_thread(event: dict[str, Any]) -> bool:
            try:
                return anyio.from_thread.run(send, event, token=loop_token)
            except Exception:  # the loop is closing: the client is gone either way
                log.debug("could not deliver a %s event", event.get("type"), exc_info=True)
                return False

        async def answer(message: Any) -> None:
            try:
                await anyio.to_thread.run_sync(
                    functools.partial(
                        services.chat.chat, message.data, user_id=user_id, send=send_from_thread
                    )
                )
            except Exception:
                log.exception("chat failed")
                await send(
                    error_event(
                        "internal_error", "the server failed; see its log", message.data.sessionId
                    )
                )

        async def receive_one(frame: dict[str, Any]) -> None:
            """One client frame: answered with an event whatever it holds."""
            raw = frame.get("text")
            if raw is None:
                raw = frame.get("bytes") or b""
            try:
                message = parse_client_message(raw)
            except ChorusError as exc:
                await send(error_event(exc.code, exc.message))
                return
            if isinstance(message, Heartbeat):
                await send(heartbeat_event())
                return
            tasks.start_soon(answer, message)

        async with anyio.create_task_group() as tasks:
            while True:
                try:
                    frame = await websocket.receive()
                except (WebSocketDisconnect, RuntimeError):
                    break
                if frame["type"] == "websocket.disconnect":
                    break
                try:
                    await receive_one(frame)
                except Exception:  # the connection outlives any one frame
                    log.exception("a WebSocket frame failed")
                    await send(error_event("internal_error", "the server failed; see its log"))
            tasks.cancel_scope.cancel()

    async def classic_page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def app_page(request: Request) -> Response:
        assert app_dir is not None
        host = request.url.netloc
        csp = (
            "default-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; "
            "img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        return FileResponse(
            app_dir / "index.html",
            headers={
                "content-security-policy": csp,
                "cache-control": "no-cache",
                "x-content-type-options": "nosniff",
                "referrer-policy": "no-referrer",
            },
        )

    page_routes: list[Route | Mount] = [Route("/", app_page if app_dir else classic_page)]
    if app_dir is not None:
        page_routes.append(Route("/classic", classic_page))
        if (app_dir / "assets").is_dir():
            page_routes.append(Mount("/assets", StaticFiles(directory=app_dir / "assets")))
        for path in sorted(app_dir.iterdir()):
            if path.is_file() and path.name != "index.html" and path.name != "config.json":
                page_routes.append(Route(f"/{path.name}", functools.partial(_file_endpoint, path)))

    routes = [
        *page_routes,
        Route("/config.json", config),
        Route("/api/health", health),
        Route("/api/stats", stats_endpoint(services.metrics)),
        Route("/api/auth/dev-login", dev_login, methods=["POST"]),
        Route("/api/workspaces", list_workspaces, methods=["GET"]),
        Route("/api/workspaces", create_workspace, methods=["POST"]),
        Route("/api/workspaces/{workspace_id}", get_workspace, methods=["GET"]),
        Route("/api/workspaces/{workspace_id}", delete_workspace, methods=["DELETE"]),
        Route("/api/workspaces/{workspace_id}/documents", list_documents, methods=["GET"]),
        Route("/api/workspaces/{workspace_id}/documents", upload_document, methods=["POST"]),
        Route(
            "/api/workspaces/{workspace_id}/documents/{document_id}",
            delete_document,
            methods=["DELETE"],
        ),
        Route("/api/sessions", list_sessions, methods=["GET"]),
        Route("/api/sessions/{session_id}", get_session, methods=["GET"]),
        Route("/api/sessions/{session_id}", delete_session, methods=["DELETE"]),
        Route("/api/sessions/{session_id}/feedback", session_feedback, methods=["POST"]),
        Route(
            "/api/sessions/{session_id}/messages/{message_id}/feedback",
            message_feedback,
            methods=["POST"],
        ),
        WebSocketRoute("/ws", websocket_endpoint),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.dev_signer = signer
    return app


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 4xx (no such route, method not allowed) in the API's JSON shape, so a
    client switches on a ``code`` for every error, not only for the ones chorus raised."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = _HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    message = "no such route; see docs/protocol.md" if status == 404 else str(exc)
    headers = getattr(exc, "headers", None)
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def _file_endpoint(path: Path, request: Request) -> Response:
    return FileResponse(path)
