"""The pieces ChatOrchestrator composes are components of their own, usable alone; no
component constructor (nor build_stack) is longer than ~150 lines."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from components.alarms import ChatAlarms
from components.chat_apis import HttpApi, WebSocketApi
from components.chat_messaging import ChatMessaging
from components.chat_tables import ChatTables
from components.validation import ComponentInputError
from components.workflows import ChatWorkflows

from .conftest import ACCOUNT, REGION, deploy

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}"


def _target(name: str) -> dict:
    return {
        "function_name": name,
        "invoke_arn": f"arn:aws:apigateway:{REGION}:lambda:path/{FN.format(name)}/invocations",
    }


def test_a_websocket_api_alone_routes_to_the_functions_it_is_given():
    def program():
        ws = WebSocketApi("support", {
            "handlers": {"message": _target("on-message"), "connect": _target("on-connect")},
            "routes": {"$connect": "connect", "$default": "message", "say": "message"},
            "authorizer": _target("auth"),
        })  # fmt: skip
        return {"url": ws.url, "manage": ws.manage_connections_arn}

    d = deploy(program)
    assert len(d.of_type("aws:apigatewayv2/integration:Integration")) == 2
    routes = {r.inputs["routeKey"]: r.inputs for r in d.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes) == {"$connect", "$default", "say"}
    assert routes["$connect"]["authorizationType"] == "CUSTOM"
    assert routes["say"]["authorizationType"] == "NONE"
    authorizer = d.one("aws:apigatewayv2/authorizer:Authorizer").inputs
    assert authorizer["identitySources"] == ["route.request.querystring.token"]
    assert d.outputs["url"].endswith("/live")
    assert d.outputs["manage"].endswith("/live/POST/@connections/*")


def test_a_websocket_route_to_a_missing_handler_is_refused():
    with pytest.raises(ComponentInputError, match="'routes' name handlers that 'handlers' lacks"):
        WebSocketApi(
            "bad", {"handlers": {}, "routes": {"$default": "x"}, "authorizer": _target("a")}
        )


def test_an_http_api_alone_puts_every_route_behind_the_jwt_authorizer():
    def program():
        api = HttpApi("rest", {
            "handler": _target("rest"), "routes": ["GET /things", "POST /things"],
            "issuer_url": "https://issuer", "audience": "client",
        })  # fmt: skip
        return {"url": api.url}

    d = deploy(program)
    routes = d.of_type("aws:apigatewayv2/route:Route")
    assert {r.inputs["routeKey"] for r in routes} == {"GET /things", "POST /things"}
    assert {r.inputs["authorizationType"] for r in routes} == {"JWT"}
    jwt = d.one("aws:apigatewayv2/authorizer:Authorizer").inputs["jwtConfiguration"]
    assert jwt == {"issuer": "https://issuer", "audiences": ["client"]}
    assert d.one("aws:lambda/permission:Permission").inputs["function"] == "rest"


def test_chat_tables_alone_with_the_answer_cache():
    d = deploy(lambda: ChatTables("t", {"semantic_cache_table": True}).answer_cache_table_name)
    names = sorted(t.name for t in d.of_type("aws:dynamodb/table:Table"))
    assert names == ["t-answer-cache", "t-connections", "t-idempotency", "t-sessions"]


def test_chat_messaging_alone_delivers_document_changes_to_its_queue():
    d = deploy(lambda: ChatMessaging("m", {"consumer_timeout": 60}).chat_queue_url)
    queue = d.named("m-chat", "aws:sqs/queue:Queue").inputs
    assert queue["visibilityTimeoutSeconds"] == 360
    subscription = d.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert subscription["protocol"] == "sqs" and subscription["rawMessageDelivery"] is True


def test_chat_workflows_alone_invoke_only_their_tasks():
    def program():
        return ChatWorkflows("w", {
            "fanout_model_arn": FN.format("model"), "fanout_agreement_arn": FN.format("agree"),
            "reindex_document_arn": FN.format("reindex"),
        }).reindex_state_machine_arn  # fmt: skip

    d = deploy(program)
    policy = json.loads(d.named("w-reindex-workspace-policy").inputs["policy"])
    invoke = next(s for s in policy["Statement"] if s["Sid"] == "InvokeTasks")
    assert invoke["Resource"] == [FN.format("reindex"), FN.format("reindex") + ":*"]


def test_chat_alarms_alone_watch_the_queues_and_functions_given():
    def program():
        return ChatAlarms("a", {
            "dead_letter_queues": {"jobs": "jobs-dlq"}, "functions": {"worker": "worker-fn"},
        }).alarm_topic_arn  # fmt: skip

    d = deploy(program)
    alarms = {a.name: a.inputs for a in d.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms["a-jobs-dlq-depth"]["dimensions"] == {"QueueName": "jobs-dlq"}
    assert alarms["a-worker-errors"]["dimensions"] == {"FunctionName": "worker-fn"}


def _long_constructors(limit: int) -> list[str]:
    found = []
    for path in sorted((Path(__file__).resolve().parents[2] / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in ("__init__", "build_stack"):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > limit:
                    found.append(f"{path.name}:{node.name} {length} lines")
    return found


def test_no_constructor_is_longer_than_150_lines():
    assert _long_constructors(150) == []
