"""REST API (HTTP API payload 2.0, Cognito JWT authorizer on every route).

Routes are ``orchestrator.HTTP_ROUTES``; each parses its body, calls one function of
``runtime.cloud.workspaces`` and shapes the reply. Every error is a JSON body
``{"error": {"code", "message"}}`` with the status its ``ChorusError`` names — the same shape as
the local server's REST API.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from ..cloud import workspaces as ops
from ..cloud.access import Caller, caller_from_claims, origin_header_ok
from ..cloud.services import get_services
from ..core.bounded_json import parse_json
from ..core.errors import BadRequest, ChorusError, Forbidden, PayloadTooLarge
from ..core.protocol import printable, valid_id
from .observability import logger, metrics, tracer

MAX_BODY_BYTES = 64 * 1024

app = APIGatewayHttpResolver()


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=printable(
            json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
        ),
    )


@app.exception_handler(ChorusError)
def _chorus_error(exc: ChorusError) -> Response:
    if exc.http_status >= 500:
        logger.exception("request failed")
    return _error(exc.http_status, exc.code, exc.message)


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    """Anything chorus did not foresee: a 500 with a request id the log line carries too."""
    request_id = uuid.uuid4().hex
    logger.exception("request failed unexpectedly", extra={"requestId": request_id})
    return _error(
        500,
        "internal_error",
        f"something went wrong on our side (request id {request_id}); retry, and quote the "
        "request id if it happens again",
    )


@app.not_found
def _not_found(_exc: Exception) -> Response:
    return _error(404, "not_found", "no such route; see docs/cloud_runtime.md for the REST API")


def _caller() -> Caller:
    claims = app.current_event.request_context.authorizer.jwt_claim
    return caller_from_claims(claims)


def _raw_body() -> bytes:
    """The request body as bytes (API Gateway base64-encodes bodies it takes for binary)."""
    event = app.current_event
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("request body is not valid base64") from None


def _body(model: type[BaseModel]) -> Any:
    raw = _raw_body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    payload = parse_json(raw or b"{}", what="request body")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise BadRequest(f"invalid request body: {details}") from None


def _json(status: int, payload: Any) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(payload)
    )


# -- workspaces ------------------------------------------------------------------------------


@app.get("/workspaces")
def list_workspaces() -> Response:
    found = ops.list_workspaces(get_services(), _caller())
    return _json(200, {"workspaces": [ops.workspace_json(w) for w in found]})


@app.post("/workspaces")
def create_workspace() -> Response:
    body = _body(ops.CreateWorkspace)
    workspace = ops.create_workspace(get_services(), _caller(), body)
    return _json(HTTPStatus.CREATED, ops.workspace_json(workspace))


@app.get("/workspaces/<workspace_id>")
def get_workspace(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    workspace = ops.get_workspace(get_services(), _caller(), workspace_id)
    return _json(200, ops.workspace_json(workspace))


@app.delete("/workspaces/<workspace_id>")
def delete_workspace(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    removed = ops.delete_workspace(get_services(), _caller(), workspace_id)
    return _json(200, {"deleted": workspace_id, "chunks": removed})


@app.get("/workspaces/<workspace_id>/documents")
def list_documents(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    status = app.current_event.get_query_string_value("status")
    documents = ops.list_documents(get_services(), _caller(), workspace_id, status)
    return _json(200, {"documents": [ops.document_json(d) for d in documents]})


@app.post("/workspaces/<workspace_id>/documents")
def request_upload(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    body = _body(ops.UploadRequest)
    ticket = ops.request_upload(get_services(), _caller(), workspace_id, body)
    return _json(HTTPStatus.CREATED, ticket)


@app.delete("/workspaces/<workspace_id>/documents/<document_id>")
def delete_document(workspace_id: str, document_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    document_id = valid_id(document_id, "document")
    removed = ops.delete_document(get_services(), _caller(), workspace_id, document_id)
    return _json(200, {"deleted": document_id, "chunks": removed})


@app.post("/workspaces/<workspace_id>/reindex")
def reindex(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    started = ops.start_reindex(get_services(), _caller(), workspace_id)
    return _json(HTTPStatus.ACCEPTED, started)


@app.put("/workspaces/<workspace_id>/settings")
def tune_workspace(workspace_id: str) -> Response:
    body = _body(ops.TuneWorkspace)
    return _json(200, ops.tune_workspace(get_services(), _caller(), workspace_id, body))


# -- sessions --------------------------------------------------------------------------------


@app.get("/sessions")
def list_sessions() -> Response:
    caller = _caller()
    sessions = get_services().metadata.list_sessions(caller.user_id)
    return _json(200, {"sessions": [ops.session_json(s) for s in sessions]})


@app.get("/sessions/<session_id>")
def get_session(session_id: str) -> Response:
    session_id = valid_id(session_id, "session")
    return _json(200, ops.get_session(get_services(), _caller(), session_id))


@app.delete("/sessions/<session_id>")
def delete_session(session_id: str) -> Response:
    session_id = valid_id(session_id, "session")
    ops.delete_session(get_services(), _caller(), session_id)
    return _json(200, {"deleted": session_id})


@app.post("/sessions/<session_id>/feedback")
def give_feedback(session_id: str) -> Response:
    session_id = valid_id(session_id, "session")
    body = _body(ops.FeedbackRequest)
    feedback = ops.give_feedback(get_services(), _caller(), session_id, body)
    return _json(
        HTTPStatus.CREATED,
        {"messageId": feedback.message_id, "rating": feedback.rating, "comment": feedback.comment},
    )


def _origin_ok(event: dict[str, Any]) -> bool:
    services = get_services()
    if not services.settings.require_cdn_header:
        return True
    return origin_header_ok(
        event.get("headers"), services.settings.cdn_secret_header, services.cdn_secret
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not _origin_ok(event):
        exc = Forbidden("requests must come through the CDN")
        return {
            "statusCode": exc.http_status,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"error": exc.to_dict()}),
        }
    return app.resolve(event, context)
