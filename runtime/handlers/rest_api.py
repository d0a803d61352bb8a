"""REST API (HTTP API payload 2.0, Cognito JWT authorizer on every route).

Routes are ``orchestrator.HTTP_ROUTES``, served from the application layer's table
(``application.rest_routes``): each checks its path ids, names the ``Caller`` from the JWT
claims, reads its body into a model of ``runtime.application.requests``, calls one operation with
this container's ``RestWiring`` and sends its ``Reply``. Every error is a JSON body
``{"error": {"code", "message"}}`` with the status its ``ChorusError`` names — the same API,
shapes and statuses as the local server's (docs/protocol.md).

The request models (pydantic, ~140 modules) are imported with the first body a route reads, so
a cold container answering a ``GET`` loads none; the X-Ray SDK and boto3 come with the first
invocation (``observability``, ``RestWiring``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..application import Caller, Reply
from ..application import api_keys as key_ops
from ..application import public_api as public_ops
from ..application.rest_routes import API_KEY_ROUTES, REST_ROUTES, RestRoute
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


def _serve(route: RestRoute) -> Callable[..., Response]:
    """The endpoint of ``route``: path ids, caller, body, then the operation."""

    def endpoint(**params: str) -> Response:
        ids = route.path_ids(params)
        caller = _caller()
        event = app.current_event
        query = event.get_query_string_value(route.query) if route.query else None
        body = _raw_body() if route.reads_body else b""
        return _send(route.run(_wiring(), caller, ids, query, body))

    endpoint.__name__ = endpoint.__qualname__ = route.name
    return endpoint


for _route in (*REST_ROUTES, *API_KEY_ROUTES):
    # "/workspaces/{workspace_id}" is "/workspaces/<workspace_id>" to the resolver.
    app.route(re.sub(r"{(\w+)}", r"<\1>", _route.path), _route.method)(_serve(_route))


# -- the public API (docs/public_api.md): a workspace API key, no JWT ------------------------


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
