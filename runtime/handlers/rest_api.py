"""REST API (HTTP API payload 2.0, Cognito JWT authorizer on every route).

Routes are ``orchestrator.HTTP_ROUTES``; each names the ``Caller`` from the JWT claims, reads its
body into a model of ``runtime.application.requests``, calls one operation of the application
layer with this container's ``RestWiring`` and sends its ``Reply``. Every error is a JSON body
``{"error": {"code", "message"}}`` with the status its ``ChorusError`` names — the same API,
shapes and statuses as the local server's (docs/protocol.md).

The request models (pydantic, ~140 modules) are imported by the routes that read a body, so a
cold container answering a ``GET`` loads none; the X-Ray SDK and boto3 come with the first
invocation (``observability``, ``RestWiring``).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..application import Caller, Reply
from ..application import api_keys as key_ops
from ..application import bulk_ingestions as bulk_ops
from ..application import documents as document_ops
from ..application import eval_sets as eval_ops
from ..application import public_api as public_ops
from ..application import sessions as session_ops
from ..application import workspaces as workspace_ops
from ..cloud.access import caller_from_claims, origin_header_ok
from ..cloud.rest_wiring import RestWiring, get_rest_wiring
from ..core.errors import BadRequest, ChorusError, Forbidden
from ..core.identifiers import printable, valid_id
from .observability import logger, metrics, tracer

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
    retry_after = getattr(exc, "retry_after", None)  # a spent rate or quota: 429
    if retry_after is None:
        return _error(exc.http_status, exc.code, exc.message)
    return Response(
        status_code=exc.http_status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": exc.to_dict()}),
        headers={"Retry-After": str(retry_after)},
    )


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
    return _error(404, "not_found", "no such route; see docs/protocol.md for the REST API")


def _send(reply: Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, body="")
    return Response(
        status_code=reply.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(reply.body),
    )


def _caller() -> Caller:
    claims = app.current_event.request_context.authorizer.jwt_claim
    return caller_from_claims(claims)


def _wiring() -> RestWiring:
    return get_rest_wiring()


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


# -- workspaces ------------------------------------------------------------------------------


@app.get("/workspaces")
def list_workspaces() -> Response:
    return _send(workspace_ops.list_workspaces(_wiring(), _caller()))


@app.post("/workspaces")
def create_workspace() -> Response:
    caller = _caller()
    from ..application.requests import CreateWorkspace, read_request

    body = read_request(CreateWorkspace, _raw_body())
    return _send(workspace_ops.create_workspace(_wiring(), caller, body))


@app.get("/workspaces/<workspace_id>")
def get_workspace(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    return _send(workspace_ops.get_workspace(_wiring(), _caller(), workspace_id))


@app.delete("/workspaces/<workspace_id>")
def delete_workspace(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    return _send(workspace_ops.delete_workspace(_wiring(), _caller(), workspace_id))


@app.post("/workspaces/<workspace_id>/reindex")
def reindex(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    return _send(workspace_ops.start_reindex(_wiring(), _caller(), workspace_id))


@app.post("/workspaces/<workspace_id>/bulk-ingestions")
def start_bulk_ingestion(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    caller = _caller()
    from ..application.requests import StartBulkIngestion, read_request

    body = read_request(StartBulkIngestion, _raw_body())
    return _send(bulk_ops.start_bulk_ingestion(_wiring(), caller, workspace_id, body))


@app.get("/workspaces/<workspace_id>/bulk-ingestions/<job_id>")
def get_bulk_ingestion(workspace_id: str, job_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    return _send(bulk_ops.get_bulk_ingestion(_wiring(), _caller(), workspace_id, job_id))


@app.put("/workspaces/<workspace_id>/settings")
def tune_workspace(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    caller = _caller()
    from ..application.requests import TuneWorkspace, read_request

    body = read_request(TuneWorkspace, _raw_body())
    return _send(workspace_ops.tune_workspace(_wiring(), caller, workspace_id, body))


# -- documents -------------------------------------------------------------------------------


@app.get("/workspaces/<workspace_id>/documents")
def list_documents(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    status = app.current_event.get_query_string_value("status")
    return _send(document_ops.list_documents(_wiring(), _caller(), workspace_id, status))


@app.post("/workspaces/<workspace_id>/documents")
def request_upload(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    caller = _caller()
    from ..application.requests import UploadRequest, read_request

    body = read_request(UploadRequest, _raw_body())
    return _send(document_ops.request_upload(_wiring(), caller, workspace_id, body))


@app.delete("/workspaces/<workspace_id>/documents/<document_id>")
def delete_document(workspace_id: str, document_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    document_id = valid_id(document_id, "document")
    return _send(document_ops.delete_document(_wiring(), _caller(), workspace_id, document_id))


# -- sources (sites, feeds, text, Q&A; fetched by sync_sources) ------------------------------


@app.get("/workspaces/<workspace_id>/sources")
def list_sources(workspace_id: str) -> Response:
    from ..application import sources as source_ops

    workspace_id = valid_id(workspace_id, "workspace")
    return _send(source_ops.list_sources(_wiring(), _caller(), workspace_id))


@app.post("/workspaces/<workspace_id>/sources")
def add_source(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    caller = _caller()
    from ..application import sources as source_ops
    from ..application.requests import AddSource, read_request

    body = read_request(AddSource, _raw_body())
    return _send(source_ops.add_source(_wiring(), caller, workspace_id, body))


@app.post("/workspaces/<workspace_id>/sources/sync")
def sync_sources(workspace_id: str) -> Response:
    from ..application import sources as source_ops

    workspace_id = valid_id(workspace_id, "workspace")
    return _send(source_ops.sync_sources(_wiring(), _caller(), workspace_id))


# -- sessions --------------------------------------------------------------------------------


@app.get("/sessions")
def list_sessions() -> Response:
    return _send(session_ops.list_sessions(_wiring(), _caller()))


@app.get("/sessions/<session_id>")
def get_session(session_id: str) -> Response:
    session_id = valid_id(session_id, "session")
    return _send(session_ops.get_session(_wiring(), _caller(), session_id))


@app.delete("/sessions/<session_id>")
def delete_session(session_id: str) -> Response:
    session_id = valid_id(session_id, "session")
    return _send(session_ops.delete_session(_wiring(), _caller(), session_id))


@app.post("/sessions/<session_id>/feedback")
def give_feedback(session_id: str) -> Response:
    session_id = valid_id(session_id, "session")
    caller = _caller()
    from ..application.requests import FeedbackRequest, read_request

    body = read_request(FeedbackRequest, _raw_body())
    return _send(session_ops.give_feedback(_wiring(), caller, session_id, body))


# -- eval sets -------------------------------------------------------------------------------


@app.get("/workspaces/<workspace_id>/eval-cases")
def list_eval_cases(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    status = app.current_event.get_query_string_value("status")
    return _send(eval_ops.list_cases(_wiring(), _caller(), workspace_id, status))


@app.post("/workspaces/<workspace_id>/eval-cases")
def create_eval_case(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    caller = _caller()
    from ..application.requests import CreateEvalCase, read_request

    body = read_request(CreateEvalCase, _raw_body())
    return _send(eval_ops.create_case(_wiring(), caller, workspace_id, body))


@app.post("/workspaces/<workspace_id>/eval-cases/import")
def import_eval_cases(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    return _send(eval_ops.import_cases(_wiring(), _caller(), workspace_id, _raw_body()))


@app.get("/workspaces/<workspace_id>/eval-cases/<case_id>")
def get_eval_case(workspace_id: str, case_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    case_id = valid_id(case_id, "case")
    return _send(eval_ops.get_case(_wiring(), _caller(), workspace_id, case_id))


@app.patch("/workspaces/<workspace_id>/eval-cases/<case_id>")
def update_eval_case(workspace_id: str, case_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    case_id = valid_id(case_id, "case")
    caller = _caller()
    from ..application.requests import UpdateEvalCase, read_request

    body = read_request(UpdateEvalCase, _raw_body())
    return _send(eval_ops.update_case(_wiring(), caller, workspace_id, case_id, body))


@app.delete("/workspaces/<workspace_id>/eval-cases/<case_id>")
def delete_eval_case(workspace_id: str, case_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    case_id = valid_id(case_id, "case")
    return _send(eval_ops.delete_case(_wiring(), _caller(), workspace_id, case_id))


@app.post("/sessions/<session_id>/messages/<message_id>/eval-case")
def mark_turn(session_id: str, message_id: str) -> Response:
    session_id = valid_id(session_id, "session")
    message_id = valid_id(message_id, "message")
    caller = _caller()
    from ..application.requests import MarkTurn, read_request

    body = read_request(MarkTurn, _raw_body())
    return _send(eval_ops.mark_turn(_wiring(), caller, session_id, message_id, body))


# -- API keys and the public API (docs/public_api.md) ---------------------------------------


@app.post("/workspaces/<workspace_id>/api-keys")
def create_api_key(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    caller = _caller()
    from ..application.requests import CreateApiKey, read_request

    body = read_request(CreateApiKey, _raw_body())
    return _send(key_ops.create_key(_wiring(), caller, workspace_id, body, time.time()))


@app.get("/workspaces/<workspace_id>/api-keys")
def list_api_keys(workspace_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    return _send(key_ops.list_keys(_wiring(), _caller(), workspace_id))


@app.delete("/workspaces/<workspace_id>/api-keys/<key_id>")
def revoke_api_key(workspace_id: str, key_id: str) -> Response:
    workspace_id = valid_id(workspace_id, "workspace")
    key_id = valid_id(key_id, "API key")
    return _send(key_ops.revoke_key(_wiring(), _caller(), workspace_id, key_id, time.time()))


def _presented_key() -> str | None:
    """``Authorization: Bearer <key>`` or ``X-Api-Key`` (the /v1 routes have no JWT
    authorizer: the key is checked here, against the workspace table)."""
    headers = app.current_event.headers
    header = headers.get("authorization") or ""
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return headers.get("x-api-key")


@app.post("/v1/workspaces/<workspace_id>/answers")
def public_answer(workspace_id: str) -> Response:
    """A non-streaming answer: API Gateway's HTTP API buffers a Lambda's response, so the
    cloud refuses ``"stream": true`` (stream over the WebSocket API instead)."""
    workspace_id = valid_id(workspace_id, "workspace")
    from ..application.requests import AskQuestion, read_request

    body = read_request(AskQuestion, _raw_body())
    if body.stream:
        raise BadRequest(
            "streaming answers are not offered by the cloud's HTTP API (it buffers responses); "
            'send "stream": false, or stream over the WebSocket chat API with this key '
            "(?token=<key>&workspace=<id>; docs/public_api.md)",
            code="streaming_unsupported",
        )
    wiring = _wiring()
    key = key_ops.authenticate(wiring, _presented_key(), workspace_id, "answers", time.time())
    return _send(public_ops.answer(wiring, key, body))


@app.post("/v1/workspaces/<workspace_id>/documents")
def public_document(workspace_id: str) -> Response:
    """A presigned upload, as ``POST /workspaces/{id}/documents`` with JSON."""
    workspace_id = valid_id(workspace_id, "workspace")
    from ..application.requests import UploadRequest, read_request

    wiring = _wiring()
    key = key_ops.authenticate(wiring, _presented_key(), workspace_id, "documents", time.time())
    body = read_request(UploadRequest, _raw_body())
    return _send(public_ops.request_document_upload(wiring, key, body))


def _origin_ok(event: dict[str, Any]) -> bool:
    wiring = _wiring()
    if not wiring.settings.require_cdn_header:
        return True
    return origin_header_ok(
        event.get("headers"), wiring.settings.cdn_secret_header, wiring.cdn_secret
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
