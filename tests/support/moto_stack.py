"""A chorus stack under moto: the seed's tables, bucket → ingest queue, chat queue, topic,
Cognito pool with users and groups, the SSM app config, and a local JWKS endpoint.

Not a test module: handler tests and the end-to-end test load it by path (tests run with
``--import-mode=importlib``) through ``load_moto_stack()`` in their conftest.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests
from chorus.runtime.adapters.dynamodb_metadata import TableNames, create_tables
from chorus.runtime.cloud.services import CloudServices
from chorus.runtime.cloud.settings import CloudSettings, settings_from
from chorus.runtime.core.models import ChunkingSettings, Workspace

REGION = "us-east-1"
ACCOUNT = "123456789012"
WEBSOCKET_ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
PASSWORD = "Correct-Horse-Battery-9!"
LAMBDA_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "chorus",
}
"""What a handler under test sees of its Lambda environment: moto's credentials and region, no
X-Ray (there is no daemon), the metrics namespace Powertools insists on."""


def set_lambda_environment(monkeypatch: Any) -> None:
    """Set ``LAMBDA_ENVIRONMENT`` for one test (``monkeypatch`` undoes it)."""
    for key, value in LAMBDA_ENVIRONMENT.items():
        monkeypatch.setenv(key, value)


@dataclass
class LambdaContext:
    """What Powertools reads from a Lambda context object."""

    function_name: str = "chorus-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:chorus-test"
    aws_request_id: str = "req-0001"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class ShrinkingContext(LambdaContext):
    """A Lambda context whose remaining time drops by ``step_ms`` each time it is read: every
    embedded batch costs ``step_ms``, so one invocation fits a few batches."""

    remaining_ms: int = 100_000
    step_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        now = self.remaining_ms
        self.remaining_ms -= self.step_ms
        return now


@dataclass
class MotoStack:
    session: Any
    config: dict[str, Any]
    env: dict[str, str]
    settings: CloudSettings
    bucket: str
    ingest_queue_url: str
    ingest_dlq_url: str
    chat_queue_url: str
    chat_queue_arn: str
    invalidation_queue_url: str
    invalidation_queue_arn: str
    topic_arn: str
    pool_id: str
    client_id: str
    issuer: str
    jwks_url: str
    users: dict[str, str] = field(default_factory=dict)
    _jwks_server: Any = None

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    def services(self, **kwargs: Any) -> CloudServices:
        return CloudServices(self.settings, session=self.session, **kwargs)

    def tokens(self, username: str) -> dict[str, str]:
        """Real RS256 tokens from moto's Cognito for one of the users."""
        auth = self.client("cognito-idp").admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return {"access": auth["AccessToken"], "id": auth["IdToken"]}

    def user_id(self, username: str) -> str:
        return self.users[username]

    def team_workspace(self, services: Any) -> Workspace:
        """Alice's workspace ``ops`` ("Operations"), shared with team-a, in chunks of 200
        characters with 40 of overlap and no documents yet: the handler tests' workspace."""
        return services.metadata.create_workspace(
            Workspace(
                "ops",
                "Operations",
                services.embedder.model_id,
                services.embedder.dimension,
                ChunkingSettings(200, 40),
            ),
            owner_id=self.user_id("alice"),
            groups=["team-a"],
        )

    def receive(self, queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            page = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=0
            ).get("Messages", [])
            if not page:
                return found
            found.extend(page)

    def close(self) -> None:
        if self._jwks_server is not None:
            self._jwks_server.shutdown()
            self._jwks_server.server_close()


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS → Lambda event for messages from ``receive_message``."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def sqs_record(body: str, queue_arn: str, message_id: str) -> dict[str, Any]:
    return sqs_event(
        [{"MessageId": message_id, "ReceiptHandle": message_id, "Body": body}], queue_arn
    )["Records"][0]


def _serve_json(document: dict[str, Any]) -> tuple[Any, str]:
    body = json.dumps(document).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"


def build_stack(
    *, idempotency: bool = True, users: dict[str, list[str]] | None = None
) -> MotoStack:
    """Create every resource; call inside ``mock_aws()``."""
    session = boto3.session.Session(region_name=REGION)
    tables = TableNames("chorus-workspace", "chorus-document", "chorus-sessions", "chorus-conns")
    ddb = session.client("dynamodb")
    create_tables(ddb, tables)
    if idempotency:
        ddb.create_table(
            TableName="chorus-idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    sqs = session.client("sqs")

    def queue(name: str, **attributes: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    dlq_url, dlq_arn = queue("chorus-ingest-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    ingest_url, ingest_arn = queue("chorus-ingest", RedrivePolicy=redrive)
    chat_url, chat_arn = queue("chorus-chat")
    inval_url, inval_arn = queue("chorus-cache-invalidation")

    bucket = "chorus-documents-test"
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": ingest_arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": "workspaces/"}]}
                    },
                }
            ]
        },
    )
    sqs.purge_queue(QueueUrl=ingest_url)  # drop the s3:TestEvent

    sns = session.client("sns")
    topic_arn = sns.create_topic(Name="chorus-document-changed")["TopicArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=inval_arn,
        Attributes={"RawMessageDelivery": "true"},
    )

    idp = session.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="chorus")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="spa",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for group in ("admin", "workspace_manager", "user", "team-a", "team-b"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    user_ids: dict[str, str] = {}
    for username, groups in (users or {}).items():
        idp.admin_create_user(UserPoolId=pool_id, Username=username)
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True
        )
        for group in groups:
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
        attributes = idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]
        user_ids[username] = next(a["Value"] for a in attributes if a["Name"] == "sub")
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    jwks = requests.get(f"{issuer}/.well-known/jwks.json", timeout=5).json()  # served by moto
    server, jwks_url = _serve_json(jwks)

    config = {
        "stack": "test",
        "region": REGION,
        "tables": {
            "workspace": tables.workspace,
            "document": tables.document,
            "sessions": tables.sessions,
            "connections": tables.connections,
            **({"idempotency": "chorus-idempotency"} if idempotency else {}),
        },
        "documentsBucket": bucket,
        "chatQueueUrl": chat_url,
        "documentChangedTopicArn": topic_arn,
        "vectorStore": {"kind": "pgvector", "embeddingDimension": 384},
        "models": {"endpoints": {}, "openai": [], "bedrock": [], "defaultMode": "single"},
        "limits": {"maxUploadBytes": 200_000},
    }
    session.client("ssm").put_parameter(
        Name="/chorus/test/config", Value=json.dumps(config), Type="SecureString"
    )
    env = {
        "CHORUS_CONFIG_PARAMETER": "/chorus/test/config",
        "CHORUS_SESSIONS_TABLE": tables.sessions,
        "CHORUS_CONNECTIONS_TABLE": tables.connections,
        "CHORUS_WEBSOCKET_ENDPOINT": WEBSOCKET_ENDPOINT,
        "CHORUS_ISSUER_URL": issuer,
        "CHORUS_JWKS_URL": jwks_url,
        "CHORUS_CLIENT_ID": client_id,
        "CHORUS_WORKSPACE_TABLE": tables.workspace,
        "CHORUS_REQUIRE_CDN_HEADER": "false",
        "CHORUS_CHAT_QUEUE_URL": chat_url,
        "CHORUS_DOCUMENT_CHANGED_TOPIC_ARN": topic_arn,
    }
    return MotoStack(
        session=session,
        config=config,
        env=env,
        settings=settings_from(config, env),
        bucket=bucket,
        ingest_queue_url=ingest_url,
        ingest_dlq_url=dlq_url,
        chat_queue_url=chat_url,
        chat_queue_arn=chat_arn,
        invalidation_queue_url=inval_url,
        invalidation_queue_arn=inval_arn,
        topic_arn=topic_arn,
        pool_id=pool_id,
        client_id=client_id,
        issuer=issuer,
        jwks_url=jwks_url,
        users=user_ids,
        _jwks_server=server,
    )


def delivered_frames(connection_id: str) -> list[dict[str, Any]]:
    """Every JSON frame moto's API Gateway management API received for a connection.

    moto appends each ``post_to_connection`` body to one buffer; frames are decoded back one
    JSON value at a time.
    """
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    data = apigatewaymanagementapi_backends[ACCOUNT][REGION].connections[connection_id].data
    text = data.decode("utf-8")
    decoder = json.JSONDecoder()
    frames, index = [], 0
    while index < len(text):
        frame, index = decoder.raw_decode(text, index)
        frames.append(frame)
    return frames


def http_claims(token: str) -> dict[str, Any]:
    """Claims as API Gateway's HTTP JWT authorizer passes them: lists flattened to ``"[a b]"``."""
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    return {k: f"[{' '.join(v)}]" if isinstance(v, list) else v for k, v in claims.items()}


def http_event(
    method: str,
    path: str,
    *,
    claims: dict[str, Any] | None,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event, as API Gateway sends it after the JWT authorizer."""
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    authorizer = {"jwt": {"claims": claims, "scopes": None}} if claims is not None else None
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {"content-type": "application/json", **(headers or {})},
        "queryStringParameters": query,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "api",
            "authorizer": authorizer,
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.1",
                "userAgent": "pytest",
            },
            "requestId": "req",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "25/Nov/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "body": body,
        "isBase64Encoded": False,
    }


WS_API = "abc123"


def authorizer_event(
    token: str | None,
    connection_id: str = "conn-1",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A WebSocket ``$connect`` REQUEST authorizer event (``query``: more query parameters)."""
    parameters = {**({"token": token} if token is not None else {}), **(query or {})}
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{WS_API}/prod/$connect",
        "headers": headers or {},
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": parameters,
        "multiValueQueryStringParameters": {k: [v] for k, v in parameters.items()},
        "stageVariables": {},
        "requestContext": ws_request_context("$connect", "CONNECT", connection_id),
    }


def ws_request_context(
    route: str, event_type: str, connection_id: str, authorizer: dict[str, Any] | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": "ext",
        "requestTime": "25/Nov/2026:00:00:00 +0000",
        "messageDirection": "IN",
        "stage": "prod",
        "connectedAt": 1_795_600_000_000,
        "requestTimeEpoch": 1_795_600_000_000,
        "identity": {"sourceIp": "203.0.113.1"},
        "requestId": "req",
        "domainName": f"{WS_API}.execute-api.{REGION}.amazonaws.com",
        "connectionId": connection_id,
        "apiId": WS_API,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return context


def ws_event(
    route: str,
    connection_id: str,
    *,
    body: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A WebSocket route event (``$connect``, ``$disconnect``, ``sendMessage``, ...)."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": ws_request_context(route, event_type, connection_id, authorizer),
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event
