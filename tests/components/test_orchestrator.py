"""ChatOrchestrator: routes, functions, queues, event sources, workflows and alarms."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.orchestrator import (
    AURORA_CLIENTS,
    HTTP_ROUTES,
    IDEMPOTENCY_ACTIONS,
    PUBLIC_HTTP_ROUTES,
    WEBSOCKET_ROUTES,
    ChatOrchestrator,
)

from .conftest import ACCOUNT, REGION, deploy

ARN = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
INPUTS = {
    "code": pulumi.AssetArchive({"runtime/__init__.py": pulumi.StringAsset("")}),
    "layers": [f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps:1"],
    "issuer_url": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_abc",
    "jwks_url": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_abc/.well-known/jwks.json",
    "client_id": "client123",
    "cdn_secret_parameter_name": "/chorus/shared/cdn-origin-secret",
    "config_parameter_name": "/chorus/test/config",
    "api_keys_secret_arn": ARN.format("secretsmanager", "secret:api-keys"),
    "workspace_table_arn": ARN.format("dynamodb", "table/workspace"),
    "document_table_arn": ARN.format("dynamodb", "table/document"),
    "documents_bucket_arn": "arn:aws:s3:::documents",
    "ingest_queue_arn": ARN.format("sqs", "ingest"),
    "ingest_dlq_name": "ingest-dlq",
    "cluster_arn": ARN.format("rds", "cluster:vectors"),
    "database_secret_arn": ARN.format("secretsmanager", "secret:rds-db"),
    "bedrock_model_arns": [
        f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    ],
    "sagemaker_endpoint_arns": [ARN.format("sagemaker", "endpoint/embedding")],
}


def _orchestrator(**overrides):
    def program():
        orch = ChatOrchestrator("chat", {**INPUTS, **overrides})
        return {"ws": orch.websocket_url, "http": orch.http_api_url, "fns": orch.function_names}

    return deploy(program)


@pytest.fixture(scope="module")
def d():
    return _orchestrator()


def _fn_by_id(d, physical_id):
    """A function resource from the id/ARN/name an input refers to."""
    for fn in d.of_type("aws:lambda/function:Function"):
        if physical_id in (
            fn.state["id"],
            fn.state["arn"],
            fn.state["name"],
            fn.state["invokeArn"],
        ):
            return fn
    raise AssertionError(f"no function {physical_id}")


def test_websocket_routes_point_at_the_right_functions(d):
    integrations = {i.state["id"]: i for i in d.of_type("aws:apigatewayv2/integration:Integration")}
    routes = {
        r.inputs["routeKey"]: r.inputs
        for r in d.of_type("aws:apigatewayv2/route:Route")
        if not r.inputs["routeKey"].startswith(("GET", "POST", "PUT", "PATCH", "DELETE"))
    }
    assert set(routes) == set(WEBSOCKET_ROUTES)
    for route_key, module in WEBSOCKET_ROUTES.items():
        integration = integrations[routes[route_key]["target"].removeprefix("integrations/")]
        fn = _fn_by_id(d, integration.inputs["integrationUri"])
        assert fn.inputs["handler"] == f"runtime.handlers.{module}.handler", route_key


def test_connect_route_uses_the_lambda_request_authorizer(d):
    authorizer = d.one("aws:apigatewayv2/authorizer:Authorizer", "ws-authorizer")
    assert authorizer.inputs["authorizerType"] == "REQUEST"
    assert authorizer.inputs["identitySources"] == [
        "route.request.querystring.token",
        "route.request.header.x-chorus-origin-verify",
    ]
    fn = _fn_by_id(d, authorizer.inputs["authorizerUri"])
    assert fn.inputs["handler"] == "runtime.handlers.ws_authorizer.handler"
    connect = d.named("chat-ws-route-connect").inputs
    assert connect["authorizationType"] == "CUSTOM"
    assert connect["authorizerId"] == authorizer.state["id"]
    for other in ("disconnect", "sendmessage", "heartbeat", "default"):
        assert d.named(f"chat-ws-route-{other}").inputs["authorizationType"] == "NONE"


def test_apis_check_the_cdn_origin_header(d):
    for module in ("ws_authorizer", "rest_api"):
        fn = d.one("aws:lambda/function:Function", module.replace("_", "-"))
        env = fn.inputs["environment"]["variables"]
        assert env["CHORUS_CDN_SECRET_HEADER"] == "x-chorus-origin-verify"
        assert env["CHORUS_REQUIRE_CDN_HEADER"] == "true"
        policy = json.loads(
            d.one("aws:iam/rolePolicy:RolePolicy", module.replace("_", "-")).inputs["policy"]
        )
        read = next(s for s in policy["Statement"] if s["Sid"] == "ReadCdnSecret")
        assert read["Resource"] == [
            f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/chorus/shared/cdn-origin-secret"
        ]


def test_http_api_app_routes_all_require_the_cognito_jwt(d):
    jwt = d.one("aws:apigatewayv2/authorizer:Authorizer", "http-jwt").inputs
    assert jwt["jwtConfiguration"] == {"issuer": INPUTS["issuer_url"], "audiences": ["client123"]}
    http_routes = [
        r.inputs for r in d.of_type("aws:apigatewayv2/route:Route") if " /" in r.inputs["routeKey"]
    ]
    assert sorted(r["routeKey"] for r in http_routes) == sorted(HTTP_ROUTES + PUBLIC_HTTP_ROUTES)
    assert {r["authorizationType"] for r in http_routes if r["routeKey"] in HTTP_ROUTES} == {"JWT"}


def test_every_function_has_tracing_logs_and_its_own_role(d):
    functions = d.of_type("aws:lambda/function:Function")
    assert {f.inputs["handler"].split(".")[2] for f in functions} == {
        "ws_authorizer", "ws_connect", "ws_disconnect", "ws_message", "chat_worker",
        "ingest_worker", "rest_api", "fanout_model", "fanout_agreement", "reindex_document",
    }  # fmt: skip
    log_groups = {g.state["name"]: g for g in d.of_type("aws:cloudwatch/logGroup:LogGroup")}
    roles = [f.inputs["role"] for f in functions]
    assert len(set(roles)) == len(functions)
    for fn in functions:
        assert fn.inputs["tracingConfig"] == {"mode": "Active"}
        assert fn.inputs["runtime"] == "python3.12"
        assert fn.inputs["layers"] == INPUTS["layers"]
        group = log_groups[fn.inputs["loggingConfig"]["logGroup"]]
        assert group.inputs["retentionInDays"] == 14


def test_every_queue_has_a_dead_letter_queue(d):
    queues = d.of_type("aws:sqs/queue:Queue")
    arns = {q.state["arn"] for q in queues}
    main = [q for q in queues if not q.name.endswith("-dlq")]
    assert {q.name for q in main} == {"chat-chat", "chat-cache-invalidation"}
    for q in main:
        target = json.loads(q.inputs["redrivePolicy"])["deadLetterTargetArn"]
        assert target in arns and target != q.state["arn"]


def test_event_sources_report_batch_failures_with_a_concurrency_cap():
    d = _orchestrator(chat_max_concurrency=3)
    mappings = {
        m.name: m.inputs for m in d.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    }
    assert set(mappings) == {"chat-chat-source", "chat-cache-source", "chat-ingest-source"}
    for mapping in mappings.values():
        assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["scalingConfig"]["maximumConcurrency"] >= 2
    assert mappings["chat-chat-source"]["scalingConfig"] == {"maximumConcurrency": 3}
    assert mappings["chat-ingest-source"]["eventSourceArn"] == INPUTS["ingest_queue_arn"]
    ingest = _fn_by_id(d, mappings["chat-ingest-source"]["functionName"])
    assert ingest.inputs["handler"] == "runtime.handlers.ingest_worker.handler"


def test_document_changed_topic_fans_out_to_an_encrypted_queue(d):
    topic = d.one("aws:sns/topic:Topic", "document-changed")
    assert topic.inputs["kmsMasterKeyId"] == "alias/aws/sns"
    subscription = d.one("aws:sns/topicSubscription:TopicSubscription", "to-cache").inputs
    queue = d.named("chat-cache-invalidation", "aws:sqs/queue:Queue")
    assert subscription["topic"] == topic.state["arn"]
    assert subscription["endpoint"] == queue.state["arn"]
    assert queue.inputs["sqsManagedSseEnabled"] is True  # SNS cannot use alias/aws/sqs


def test_state_machines_substitute_the_task_arns(d):
    machines = {m.inputs["type"]: m.inputs for m in d.of_type("aws:sfn/stateMachine:StateMachine")}
    assert set(machines) == {"EXPRESS", "STANDARD"}
    fanout = json.loads(machines["EXPRESS"]["definition"])
    task = fanout["States"]["AskModels"]["ItemProcessor"]["States"]["AskOneModel"]
    fn = _fn_by_id(d, task["Parameters"]["FunctionName"])
    assert fn.inputs["handler"] == "runtime.handlers.fanout_model.handler"
    agreement = fanout["States"]["ScoreAgreement"]["Parameters"]["FunctionName"]
    assert _fn_by_id(d, agreement).inputs["handler"] == "runtime.handlers.fanout_agreement.handler"
    reindex = json.loads(machines["STANDARD"]["definition"])
    item_states = reindex["States"]["ReindexDocuments"]["ItemProcessor"]["States"]
    item = item_states["ReindexDocument"]
    fn = _fn_by_id(d, item["Parameters"]["FunctionName"])
    assert fn.inputs["handler"] == "runtime.handlers.reindex_document.handler"
    abandon = item_states["AbandonDocument"]["Parameters"]["FunctionName"]
    assert abandon == item["Parameters"]["FunctionName"]  # the same function gives up
    assert "${" not in machines["EXPRESS"]["definition"] + machines["STANDARD"]["definition"]
    for machine in machines.values():
        assert machine["tracingConfiguration"] == {"enabled": True}
        assert machine["loggingConfiguration"]["logDestination"].endswith(":*")


def test_alarms_watch_every_dlq_and_every_function(d):
    alarms = d.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    dlq = [a.inputs for a in alarms if a.name.endswith("-dlq-depth")]
    dlq_names = {
        q.state["name"] for q in d.of_type("aws:sqs/queue:Queue") if q.name.endswith("-dlq")
    }
    assert {a["dimensions"]["QueueName"] for a in dlq} == dlq_names | {"ingest-dlq"}
    errors = [a.inputs for a in alarms if a.inputs.get("metricName") == "Errors"]
    assert {a["dimensions"]["FunctionName"] for a in errors} == {
        f.state["name"] for f in d.of_type("aws:lambda/function:Function")
    }
    topic = d.one("aws:sns/topic:Topic", "alarms").state["arn"]
    assert all(a.inputs["alarmActions"] == [topic] for a in alarms)


def test_aggregate_error_alarm_replaces_per_function_alarms():
    d = _orchestrator(lambda_error_alarms="aggregate")
    errors = [
        a.inputs
        for a in d.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("metricName") == "Errors"
    ]
    assert len(errors) == 1 and "dimensions" not in errors[0]


def test_customer_key_encrypts_queues_topics_tables_logs_and_workflows():
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    d = _orchestrator(kms_key_arn=key)
    for q in d.of_type("aws:sqs/queue:Queue"):
        assert q.inputs["kmsMasterKeyId"] == key
    for t in d.of_type("aws:sns/topic:Topic"):
        assert t.inputs["kmsMasterKeyId"] == key
    for t in d.of_type("aws:dynamodb/table:Table"):
        assert t.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key}
    for g in d.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert g.inputs["kmsKeyId"] == key
    for m in d.of_type("aws:sfn/stateMachine:StateMachine"):
        assert m.inputs["encryptionConfiguration"]["kmsKeyId"] == key
    for f in d.of_type("aws:lambda/function:Function"):
        assert f.inputs["kmsKeyArn"] == key


def test_connections_table_expires_items(d):
    table = d.one("aws:dynamodb/table:Table", "connections").inputs
    assert table["hashKey"] == "connection_id"
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    sessions = d.one("aws:dynamodb/table:Table", "sessions").inputs
    assert (sessions["hashKey"], sessions["rangeKey"]) == ("session_id", "sort_key")


def test_workers_can_join_a_vpc():
    d = _orchestrator(subnet_ids=["subnet-p1"], security_group_ids=["sg-l"])
    in_vpc = {
        f.inputs["handler"].split(".")[2]
        for f in d.of_type("aws:lambda/function:Function")
        if f.inputs.get("vpcConfig")
    }
    assert in_vpc == set(AURORA_CLIENTS)
    assert in_vpc == {"chat_worker", "ingest_worker", "reindex_document", "rest_api"}
    for f in d.of_type("aws:lambda/function:Function"):
        if f.inputs.get("vpcConfig"):
            assert f.inputs["vpcConfig"]["subnetIds"] == ["subnet-p1"]
            assert f.inputs["vpcConfig"]["securityGroupIds"] == ["sg-l"]


def test_functions_stay_out_of_the_vpc_by_default(d):
    assert not any(f.inputs.get("vpcConfig") for f in d.of_type("aws:lambda/function:Function"))


# -- idempotency and IAM grants against what the runtime calls ---------------------------------


def _statements(d, module):
    policy = d.named(f"chat-{module.replace('_', '-')}-policy", "aws:iam/rolePolicy:RolePolicy")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def _grants(d, module):
    """(action, resource) pairs a function's role allows."""
    pairs = set()
    for statement in _statements(d, module).values():
        resources = statement["Resource"]
        for action in statement["Action"]:
            for resource in resources if isinstance(resources, list) else [resources]:
                pairs.add((action, resource))
    return pairs


def _table_arn(d, fragment):
    return d.one("aws:dynamodb/table:Table", fragment).state["arn"]


def test_idempotency_table_matches_powertools_defaults(d):
    table = d.one("aws:dynamodb/table:Table", "idempotency").inputs
    assert table["hashKey"] == "id" and "rangeKey" not in table
    assert table["attributes"] == [{"name": "id", "type": "S"}]
    assert table["ttl"] == {"attributeName": "expiration", "enabled": True}
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"]["enabled"] is True
    assert table["serverSideEncryption"]["enabled"] is True


def test_only_the_chat_and_ingest_workers_use_the_idempotency_table(d):
    arn = _table_arn(d, "idempotency")
    users = set()
    for fn in d.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].split(".")[2]
        if any(resource == arn for _, resource in _grants(d, module)):
            users.add(module)
            assert {a for a, r in _grants(d, module) if r == arn} == set(IDEMPOTENCY_ACTIONS)
    assert users == {"chat_worker", "ingest_worker"}


def test_ws_message_enqueues_reads_workspaces_and_tracks_sessions_and_connections(d):
    grants = _grants(d, "ws_message")
    chat_queue = next(
        q.state["arn"] for q in d.of_type("aws:sqs/queue:Queue") if q.name == "chat-chat"
    )
    assert ("sqs:SendMessage", chat_queue) in grants
    assert ("dynamodb:GetItem", INPUTS["workspace_table_arn"]) in grants
    assert ("dynamodb:PutItem", INPUTS["workspace_table_arn"]) not in grants
    sessions = _table_arn(d, "sessions")
    assert {("dynamodb:GetItem", sessions), ("dynamodb:PutItem", sessions)} <= grants
    connections = _table_arn(d, "connections")
    assert {("dynamodb:GetItem", connections), ("dynamodb:DeleteItem", connections)} <= grants
    manage = [r for a, r in grants if a == "execute-api:ManageConnections"]
    assert manage == [f"arn:aws:execute-api:{REGION}:{ACCOUNT}:chat-ws/live/POST/@connections/*"]


def test_api_key_connections_read_keys_at_connect_and_spend_them_per_question(d):
    table = INPUTS["workspace_table_arn"]
    authorizer = _statements(d, "ws_authorizer")["CheckApiKey"]
    assert (authorizer["Action"], authorizer["Resource"]) == (["dynamodb:GetItem"], [table])
    env = d.one("aws:lambda/function:Function", "ws-authorizer").inputs["environment"]
    assert env["variables"]["CHORUS_WORKSPACE_TABLE"] == table.split(":table/")[1]
    spend = _statements(d, "ws_message")["SpendApiKey"]
    assert (spend["Action"], spend["Resource"]) == (["dynamodb:UpdateItem"], [table])


def test_chat_worker_forgets_gone_connections(d):
    assert ("dynamodb:DeleteItem", _table_arn(d, "connections")) in _grants(d, "chat_worker")


def test_rest_api_presigns_lists_deletes_starts_reindex_and_reads_the_database_secret(d):
    statements = _statements(d, "rest_api")
    objects = "arn:aws:s3:::documents/workspaces/*"
    assert statements["PresignUploads"]["Action"] == ["s3:DeleteObject", "s3:PutObject"]
    assert statements["PresignUploads"]["Resource"] == [objects]
    assert statements["ListUploads"]["Action"] == ["s3:ListBucket"]
    assert statements["ListUploads"]["Resource"] == ["arn:aws:s3:::documents"]
    assert statements["ListUploads"]["Condition"] == {"StringLike": {"s3:prefix": ["workspaces/*"]}}
    grants = _grants(d, "rest_api")
    assert not any(a == "s3:GetObject" for a, _ in grants)  # presigning a PUT reads nothing
    reindex = d.one("aws:sfn/stateMachine:StateMachine", "reindex").state["arn"]
    assert ("states:StartExecution", reindex) in grants
    assert ("secretsmanager:GetSecretValue", INPUTS["database_secret_arn"]) in grants
    topic = d.one("aws:sns/topic:Topic", "document-changed").state["arn"]
    assert ("sns:Publish", topic) in grants  # deleting a document announces it


@pytest.mark.parametrize("module", ["ingest_worker", "reindex_document"])
def test_indexing_functions_read_uploads_and_announce_changes(d, module):
    grants = _grants(d, module)
    assert ("s3:GetObject", "arn:aws:s3:::documents/workspaces/*") in grants
    # without ListBucket a deleted key answers 403, not 404, and the ingest retries forever
    assert ("s3:ListBucket", "arn:aws:s3:::documents") in grants
    # Writes only where paused documents keep their embeddings: uploads are never written.
    writes = {r for a, r in grants if a in ("s3:PutObject", "s3:DeleteObject")}
    staging = {"arn:aws:s3:::documents/ingest-staging/*"}
    assert writes == (staging if module == "reindex_document" else set())
    topic = d.one("aws:sns/topic:Topic", "document-changed").state["arn"]
    assert ("sns:Publish", topic) in grants
    assert ("secretsmanager:GetSecretValue", INPUTS["database_secret_arn"]) in grants


def test_no_function_may_apply_a_guardrail_unless_one_is_configured(d):
    for fn in d.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].split(".")[2]
        assert not any(a == "bedrock:ApplyGuardrail" for a, _ in _grants(d, module)), module


def test_only_the_answering_functions_may_apply_the_configured_guardrail():
    """The chat worker, and ``rest_api`` for the public API's answers."""
    d = _orchestrator(guardrail_id="abc123def456")
    guardrail = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/abc123def456"
    statement = _statements(d, "chat_worker")["ApplyGuardrail"]
    assert statement["Action"] == ["bedrock:ApplyGuardrail"]
    assert statement["Resource"] == [guardrail]
    appliers = set()
    for fn in d.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].split(".")[2]
        if any(a == "bedrock:ApplyGuardrail" for a, _ in _grants(d, module)):
            appliers.add(module)
    assert appliers == {"chat_worker", "rest_api"}


def test_a_guardrail_given_by_arn_is_granted_as_it_is():
    arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/abc123def456"
    d = _orchestrator(guardrail_id=arn)
    assert _statements(d, "chat_worker")["ApplyGuardrail"]["Resource"] == [arn]


def test_missing_required_input_names_the_key():
    args = {k: v for k, v in INPUTS.items() if k != "issuer_url"}
    with pytest.raises(ValueError, match="'issuer_url' is required"):
        ChatOrchestrator("bad", args)


def test_the_ingest_worker_continues_large_documents_through_its_own_queue_and_staging():
    queue_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/ingest"
    d = _orchestrator(ingest_queue_url=queue_url)
    fn = d.one("aws:lambda/function:Function", "ingest-worker")
    assert fn.inputs["environment"]["variables"]["CHORUS_INGEST_QUEUE_URL"] == queue_url
    statements = _statements(d, "ingest_worker")
    assert statements["ContinueLargeDocuments"]["Action"] == ["sqs:SendMessage"]
    assert statements["ContinueLargeDocuments"]["Resource"] == [INPUTS["ingest_queue_arn"]]
    assert statements["StageEmbeddings"]["Action"] == [
        "s3:DeleteObject", "s3:GetObject", "s3:PutObject",
    ]  # fmt: skip
    assert statements["StageEmbeddings"]["Resource"] == ["arn:aws:s3:::documents/ingest-staging/*"]
    # Writes stay confined to the staging prefix: uploads are never written by the worker.
    writes = {r for a, r in _grants(d, "ingest_worker") if a in ("s3:PutObject", "s3:DeleteObject")}
    assert writes == {"arn:aws:s3:::documents/ingest-staging/*"}
    # A re-index continues through its workflow's loop: it stages, but sends no message.
    reindex = _statements(d, "reindex_document")
    assert "ContinueLargeDocuments" not in reindex
    assert reindex["StageEmbeddings"] == statements["StageEmbeddings"]


def test_no_function_may_rerank_unless_a_rerank_model_is_configured(d):
    for fn in d.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].split(".")[2]
        assert not any(a == "bedrock:Rerank" for a, _ in _grants(d, module)), module


def test_only_the_answering_functions_may_rerank_and_invoke_only_the_rerank_model():
    """The chat worker, and ``rest_api`` for the public API's answers."""
    d = _orchestrator(rerank_model="amazon.rerank-v1:0")
    model = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.rerank-v1:0"
    statements = _statements(d, "chat_worker")
    assert (statements["Rerank"]["Action"], statements["Rerank"]["Resource"]) == (
        ["bedrock:Rerank"],
        ["*"],  # Rerank supports no resource-level permission; the model is checked below
    )
    invoke = statements["InvokeRerankModel"]
    assert (invoke["Action"], invoke["Resource"]) == (["bedrock:InvokeModel"], [model])
    rerankers = set()
    for fn in d.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].split(".")[2]
        if any(a == "bedrock:Rerank" or r == model for a, r in _grants(d, module)):
            rerankers.add(module)
    assert rerankers == {"chat_worker", "rest_api"}


def test_a_rerank_model_given_by_arn_is_granted_as_it_is():
    arn = "arn:aws:bedrock:eu-central-1::foundation-model/cohere.rerank-v3-5:0"
    d = _orchestrator(rerank_model=arn)
    assert _statements(d, "chat_worker")["InvokeRerankModel"]["Resource"] == [arn]


def test_no_function_may_invoke_an_nli_endpoint_unless_one_is_configured(d):
    for fn in d.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].split(".")[2]
        assert "InvokeNliEndpoint" not in _statements(d, module), module


def test_only_the_answering_functions_may_invoke_the_nli_endpoint_and_only_it():
    """The grounding judge runs where answers are checked: the chat worker and ``rest_api``."""
    d = _orchestrator(nli_endpoint="Grounding-NLI")
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/grounding-nli"  # IAM: lower case
    statement = _statements(d, "chat_worker")["InvokeNliEndpoint"]
    assert (statement["Action"], statement["Resource"]) == (
        ["sagemaker:InvokeEndpoint"],
        [endpoint],
    )
    judges = set()
    for fn in d.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].split(".")[2]
        if any(r == endpoint for _, r in _grants(d, module)):
            judges.add(module)
    assert judges == {"chat_worker", "rest_api"}


def test_snap_start_workers_get_the_live_alias_and_their_queues_invoke_it():
    d = _orchestrator(snap_start_workers=True)
    aliases = {a.inputs["functionName"]: a for a in d.of_type("aws:lambda/alias:Alias")}
    snap = {
        fn.inputs["handler"].split(".")[-2]
        for fn in d.of_type("aws:lambda/function:Function")
        if fn.inputs.get("snapStart") == {"applyOn": "PublishedVersions"}
    }
    assert snap == {"chat_worker", "ingest_worker"}
    assert len(aliases) == 2
    mappings = {
        m.name: m.inputs for m in d.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    }
    for source in ("chat-chat-source", "chat-cache-source", "chat-ingest-source"):
        target = mappings[source]["functionName"]
        assert target.endswith(":live"), target  # $LATEST is never restored from a snapshot
        assert target in {alias.state["arn"] for alias in aliases.values()}


def test_without_snap_start_the_workers_are_invoked_unqualified(d):
    assert d.of_type("aws:lambda/alias:Alias") == []
    mappings = d.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert all(not m.inputs["functionName"].endswith(":live") for m in mappings)


def test_the_eval_set_lives_in_the_workspace_table_which_rest_api_may_read_and_write(d):
    """Eval cases are items of the workspace table (``object_type = evalcase#<id>``): routes
    for them on the HTTP API, PATCH through CORS, and item access on that table alone."""
    routes = {r.inputs["routeKey"] for r in d.of_type("aws:apigatewayv2/route:Route")}
    assert {
        "GET /workspaces/{workspaceId}/eval-cases",
        "PATCH /workspaces/{workspaceId}/eval-cases/{caseId}",
        "POST /sessions/{sessionId}/messages/{messageId}/eval-case",
    } <= routes
    cors = d.one("aws:apigatewayv2/api:Api", "http").inputs["corsConfiguration"]
    assert "PATCH" in cors["allowMethods"]
    table = INPUTS["workspace_table_arn"]
    grants = _grants(d, "rest_api")
    for action in ("dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert (action, table) in grants
    assert not any(a == "dynamodb:Scan" for a, _ in grants)


def test_the_public_api_routes_skip_the_jwt_authorizer_and_have_their_own_throttling(d):
    """``/v1`` routes are checked by ``rest_api`` against the workspace's API keys; the stage
    throttles each of them more tightly than the app's routes (the outer guard)."""
    routes = {r.inputs["routeKey"]: r.inputs for r in d.of_type("aws:apigatewayv2/route:Route")}
    for route_key in PUBLIC_HTTP_ROUTES:
        assert routes[route_key]["authorizationType"] == "NONE"
        assert "authorizerId" not in routes[route_key]
    for route_key in (
        "POST /workspaces/{workspaceId}/api-keys",
        "GET /workspaces/{workspaceId}/api-keys",
        "DELETE /workspaces/{workspaceId}/api-keys/{keyId}",
    ):
        assert routes[route_key]["authorizationType"] == "JWT"
    stage = d.one("aws:apigatewayv2/stage:Stage", "http-stage").inputs
    limits = {
        s["routeKey"]: (s["throttlingRateLimit"], s["throttlingBurstLimit"])
        for s in stage["routeSettings"]
    }
    assert limits == dict.fromkeys(PUBLIC_HTTP_ROUTES, (10, 20))
    cors = d.one("aws:apigatewayv2/api:Api", "http").inputs["corsConfiguration"]
    assert "x-api-key" in cors["allowHeaders"]


def test_the_public_api_throttling_follows_its_args():
    d = _orchestrator(public_api_rate_limit=3, public_api_burst_limit=6)
    stage = d.one("aws:apigatewayv2/stage:Stage", "http-stage").inputs
    assert {
        (s["throttlingRateLimit"], s["throttlingBurstLimit"]) for s in stage["routeSettings"]
    } == {(3, 6)}


def test_rest_api_may_answer_public_questions_but_not_stream_to_connections(d):
    """Answering needs the models and the fan-out workflow; the API keys are items of the
    workspace table, which ``rest_api`` already manages (no new table, no Scan)."""
    grants = _grants(d, "rest_api")
    model = INPUTS["bedrock_model_arns"][0]
    assert any(a.startswith("bedrock:InvokeModel") and r == model for a, r in grants)
    fanout = d.one("aws:sfn/stateMachine:StateMachine", "fanout").state["arn"]
    assert ("states:StartSyncExecution", fanout) in grants
    assert ("dynamodb:UpdateItem", INPUTS["workspace_table_arn"]) in grants
    assert not any(a == "execute-api:ManageConnections" for a, _ in grants)
    assert not any(a == "dynamodb:Scan" for a, _ in grants)
