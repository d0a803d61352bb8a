"""Property-based: no input makes a cloud entry point fail uncleanly.

Every Lambda entry point a client or a queue can reach — the REST API, the WebSocket
``sendMessage`` route, the ``$connect`` authorizer, the ingest worker's SQS records, the chat
worker's jobs — gets generated hostile input (tests/support/hostile.py). The property: a 2xx, or
a 4xx / ``error`` event with a stable code; never a 5xx, an unhandled exception or a reply that
does not arrive. Each test prints how many examples ran.
"""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chorus.runtime.core.errors import ChorusError
from chorus.runtime.handlers import chat_worker, ingest_worker, rest_api, ws_authorizer, ws_message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import moto_stack
from support.hostile import (
    client_frames,
    ids,
    is_stable_code,
    json_values,
    request_bodies,
    sqs_bodies,
    texts,
)

pytestmark = pytest.mark.timeout(600)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
ROUTES = [
    ("GET", "/workspaces"),
    ("POST", "/workspaces"),
    ("GET", "/workspaces/{w}"),
    ("DELETE", "/workspaces/{w}"),
    ("GET", "/workspaces/{w}/documents"),
    ("POST", "/workspaces/{w}/documents"),
    ("DELETE", "/workspaces/{w}/documents/{d}"),
    ("POST", "/workspaces/{w}/reindex"),
    ("PUT", "/workspaces/{w}/settings"),
    ("GET", "/sessions"),
    ("GET", "/sessions/{s}"),
    ("DELETE", "/sessions/{s}"),
    ("POST", "/sessions/{s}/feedback"),
    ("PUT", "/workspaces"),
    ("GET", "/{w}"),
]
INGEST_ARN = "arn:aws:sqs:us-east-1:123456789012:chorus-ingest"
CHAT_ARN = "arn:aws:sqs:us-east-1:123456789012:chorus-chat"


@pytest.fixture
def workspace(stack, services):
    return stack.team_workspace(services)


def _path(template: str, w: str, d: str, s: str) -> str:
    from urllib.parse import quote

    return template.format(
        w=quote(w, safe="", errors="surrogatepass"),
        d=quote(d, safe="", errors="surrogatepass"),
        s=quote(s, safe="", errors="surrogatepass"),
    )


@given(
    route=st.sampled_from(ROUTES),
    w=ids,
    d=ids,
    s=ids,
    body=request_bodies,
    binary=st.one_of(st.none(), st.binary(max_size=64)),
    status=st.one_of(st.none(), texts),
)
@FUZZ
def test_rest_api_answers_every_request_with_a_2xx_or_a_coded_4xx(
    stack, services, wiring, workspace, context, route, w, d, s, body, binary, status
):
    method, template = route
    claims = moto_stack.http_claims(stack.tokens("alice")["access"])
    query = {"status": status} if status is not None else None
    event = moto_stack.http_event(
        method, _path(template, w, d, s), claims=claims, body=body, query=query
    )
    if binary is not None:
        event["body"], event["isBase64Encoded"] = base64.b64encode(binary).decode(), True

    response = rest_api.handler(event, context)

    assert response["statusCode"] < 500, response
    if response["statusCode"] >= 400:
        reply = json.loads(response["body"])
        assert is_stable_code(reply["error"]["code"]), reply
    COUNTS["cloud REST"] += 1


_connections = itertools.count()


@given(frame=client_frames)
@FUZZ
def test_the_websocket_answers_every_frame_and_never_fails(
    stack, services, workspace, context, frame
):
    connection = f"fuzz-{next(_connections)}"
    authorizer = {"userId": stack.user_id("alice"), "groups": "team-a,workspace_manager"}
    event = moto_stack.ws_event("sendMessage", connection, body=frame, authorizer=authorizer)

    assert ws_message.handler(event, context) == {"statusCode": 200}

    try:
        replies = moto_stack.delivered_frames(connection)
    except KeyError:  # nothing was posted: the question was queued
        replies = []
    for reply in replies:
        assert reply["type"] in ("error", "heartbeat"), reply
        if reply["type"] == "error":
            assert is_stable_code(reply["code"]), reply
    COUNTS["cloud WebSocket"] += 1


@given(
    token=st.one_of(
        texts,
        st.builds(lambda a, b, c: f"{a}.{b}.{c}", texts, texts, texts),
        st.builds(
            lambda header, claims: ".".join(
                base64.urlsafe_b64encode(
                    json.dumps(part, ensure_ascii=False).encode("utf-8", "surrogatepass")
                )
                .decode()
                .rstrip("=")
                for part in (header, claims, "sig")
            ),
            st.fixed_dictionaries(
                {"alg": st.sampled_from(["RS256", "none", "HS256"])}, optional={"kid": json_values}
            ),
            json_values,
        ),
    ),
    headers=st.dictionaries(texts, texts, max_size=3),
)
@FUZZ
def test_the_authorizer_allows_or_denies_and_never_fails(stack, services, context, token, headers):
    response = ws_authorizer.handler(moto_stack.authorizer_event(token, headers=headers), context)

    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert is_stable_code(response["context"]["reason"]), response["context"]  # foreseen
    COUNTS["authorizer"] += 1


@given(body=sqs_bodies)
@FUZZ
def test_an_ingest_record_is_applied_or_fails_alone_with_a_coded_error(
    stack, services, workspace, context, body
):
    record = moto_stack.sqs_record(body, INGEST_ARN, f"m-{next(_connections)}")
    try:
        ingest_worker.ingest_record(services, SQSRecord(record))
    except ChorusError as exc:  # reported in batchItemFailures: retried, then dead-lettered
        assert is_stable_code(exc.code) or exc.code == "ingest_failed", exc.code
    except Exception as exc:  # pragma: no cover - the property failing
        pytest.fail(f"{type(exc).__name__} escaped the ingest worker: {exc}")

    result = ingest_worker.handler({"Records": [record]}, context)

    assert set(result) == {"batchItemFailures"}
    COUNTS["ingest SQS"] += 1


@given(body=st.one_of(sqs_bodies, json_values.map(json.dumps)))
@FUZZ
def test_a_chat_job_that_is_not_one_fails_alone(stack, services, context, body):
    record = moto_stack.sqs_record(body, CHAT_ARN, f"j-{next(_connections)}")

    result = chat_worker.handler({"Records": [record]}, context)

    assert result["batchItemFailures"] in ([], [{"itemIdentifier": record["messageId"]}])
    COUNTS["chat SQS"] += 1


COUNTS: dict[str, int] = {
    "cloud REST": 0,
    "cloud WebSocket": 0,
    "authorizer": 0,
    "ingest SQS": 0,
    "chat SQS": 0,
}


@pytest.fixture(autouse=True, scope="module")
def _report_counts() -> Any:
    yield
    ran = ", ".join(f"{name}: {n}" for name, n in COUNTS.items())
    print(f"\nhostile-input examples run ({sum(COUNTS.values())}): {ran}")
