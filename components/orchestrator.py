"""The chat path: WebSocket and HTTP APIs, the handlers, queues, topic, workflows and alarms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .function import XRAY_ACTIONS, LambdaFunction, LambdaFunctionArgs
from .iam import Statement, allow, assume_role_policy, kms_statements, policy_json
from .naming import tagged
from .queues import QueueWithDlq
from .rules import (
    RUNTIME_DOCUMENTS_PREFIX,
    EventSourceConcurrency,
    LambdaErrorAlarms,
    LambdaTimeout,
    LogRetentionDays,
    ReservedConcurrency,
    StageName,
    ThrottleBurst,
    ThrottleRate,
)
from .shared import CDN_SECRET_HEADER, parameter_arn
from .statemachines import definition
from .validation import check_args
from .vector_store import (
    KENDRA_METADATA_PREFIX,
    dynamodb_store_statements,
    gsi,
    s3_vectors_statements,
)

HANDLERS = "runtime.handlers"
"""Package of the Lambda entry points (``runtime/handlers/<name>.py``, function ``handler``)."""

WEBSOCKET_ROUTES = {
    "$connect": "ws_connect",
    "$disconnect": "ws_disconnect",
    "sendMessage": "ws_message",
    "heartbeat": "ws_message",
    "$default": "ws_message",
}
"""WebSocket route key → handler module."""

HTTP_ROUTES = (
    "GET /workspaces",
    "POST /workspaces",
    "GET /workspaces/{workspaceId}",
    "DELETE /workspaces/{workspaceId}",
    "GET /workspaces/{workspaceId}/documents",
    "POST /workspaces/{workspaceId}/documents",
    "DELETE /workspaces/{workspaceId}/documents/{documentId}",
    "POST /workspaces/{workspaceId}/reindex",
    "GET /sessions",
    "GET /sessions/{sessionId}",
    "DELETE /sessions/{sessionId}",
    "POST /sessions/{sessionId}/feedback",
)
"""REST routes served by ``rest_api``, all behind the Cognito JWT authorizer."""

SFN_LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]
"""Step Functions log delivery; AWS documents these with Resource "*" only."""


AURORA_CLIENTS = ("chat_worker", "ingest_worker", "reindex_document", "rest_api")
"""Functions that open PostgreSQL connections to Aurora (retrieval, indexing, deleting a
document's or a workspace's chunks); ``subnet_ids`` attaches exactly these."""

CONSUME_QUEUE_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
]
"""What an SQS event source needs of its queue."""
ANSWER_CACHE_ACTIONS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
"""What the DynamoDB semantic cache does: a transaction (ConditionCheck on the epoch + Put),
counter updates, scope queries, batch deletes."""

IDEMPOTENCY_ACTIONS = [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
"""What Powertools' ``DynamoDBPersistenceLayer`` calls on its table."""


def guardrail_arn(
    guardrail: pulumi.Input[str], region: pulumi.Input[str], account: pulumi.Input[str]
) -> pulumi.Output[str]:
    """ARN of a Bedrock guardrail from its id (an ARN is kept as it is)."""

    def arn(values: list[str]) -> str:
        identifier, in_region, in_account = values
        if identifier.startswith("arn:"):
            return identifier
        return f"arn:aws:bedrock:{in_region}:{in_account}:guardrail/{identifier}"

    return pulumi.Output.all(guardrail, region, account).apply(arn)


def table_and_indexes(table_arn: pulumi.Input[str]) -> list[pulumi.Input[str]]:
    """A table and its secondary indexes (``Query`` on a GSI needs the index ARN)."""
    return [table_arn, pulumi.Output.concat(table_arn, "/index/*")]


def _expiring_table(
    name: str,
    parent: pulumi.Resource,
    *,
    hash_key: str,
    attributes: Sequence[str],
    ttl_attribute: str,
    kms_key_arn: pulumi.Input[str] | None,
    range_key: str | None = None,
    indexes: Sequence[aws.dynamodb.TableGlobalSecondaryIndexArgs] | None = None,
) -> aws.dynamodb.Table:
    """An on-demand table of string keys whose items expire at ``ttl_attribute``; encrypted,
    with point-in-time recovery. ``attributes`` keep their order (it is part of the inputs)."""
    return aws.dynamodb.Table(
        name,
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        range_key=range_key,
        attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in attributes],
        global_secondary_indexes=indexes,
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=ttl_attribute, enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
            enabled=True, kms_key_arn=kms_key_arn
        ),
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        opts=pulumi.ResourceOptions(parent=parent),
    )


CHAT_REQUIRED = (
    "code",
    "issuer_url",
    "jwks_url",
    "client_id",
    "config_parameter_name",
    "workspace_table_arn",
    "document_table_arn",
    "documents_bucket_arn",
    "ingest_queue_arn",
)
"""Inputs ``ChatOrchestrator`` cannot do without."""


def _cdn_header_rule(args) -> str | None:
    """The header can be required only when its secret (hence a CDN) exists."""
    required = args.get("require_cdn_header")
    if required is True and args.get("cdn_secret_parameter_name") is None:
        return (
            "'require_cdn_header' is on but 'cdn_secret_parameter_name' is not given: only a "
            "Frontend CDN sends the header (with Shared's secret), so every call would be "
            "refused; pass Shared.cdn_secret_parameter_name and deploy a Frontend, or leave "
            "require_cdn_header off"
        )
    return None


DEFAULT_STATEMACHINE_DIR = Path(__file__).resolve().parent.parent / "runtime" / "statemachines"


class ChatOrchestratorArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    code: pulumi.Input[pulumi.Archive]
    """Lambda package with ``runtime/handlers``. Required."""
    layers: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Layer ARNs of every function (``Shared.layer_arns``). Default: none."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key; default: AWS-managed keys (SSE-SQS where SNS must deliver)."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Log retention of functions, workflows and API access logs. Default: 14."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Attach the functions that connect to Aurora with psycopg2 (``AURORA_CLIENTS``: chat and
    ingest workers, ``reindex_document``, ``rest_api``) to these (private) subnets. They then
    reach AWS APIs only through VPC endpoints or a NAT gateway (docs/infrastructure.md, "Aurora
    access"). Default: not in a VPC."""
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups of VPC-attached functions (``Network.lambda_security_group_id``, which the
    database group admits on 5432). Default: none."""

    issuer_url: pulumi.Input[str]
    """Cognito issuer URL (``Auth.issuer_url``). Required."""
    jwks_url: pulumi.Input[str]
    """Cognito JWKS URL (``Auth.jwks_url``). Required."""
    client_id: pulumi.Input[str]
    """SPA client id, the JWT audience (``Auth.client_id``). Required."""
    cors_allowed_origins: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Origins the HTTP API answers CORS for. Default: ``["http://localhost:5173"]``."""
    require_cdn_header: pulumi.Input[bool]
    """Reject requests without the CDN's secret header: API Gateway refuses a WebSocket
    ``$connect`` without it (identity source), the authorizer and ``rest_api`` check its value
    (``CHORUS_REQUIRE_CDN_HEADER``). Only a ``Frontend`` CDN sends the header, so turn it on
    only behind one. Needs ``cdn_secret_parameter_name``. Default: on when
    ``cdn_secret_parameter_name`` is given, off without it."""
    cdn_secret_parameter_name: pulumi.Input[str]
    """SSM parameter with the CDN header value (``Shared.cdn_secret_parameter_name``). Default:
    none (no CDN: the header is not checked)."""
    config_parameter_name: pulumi.Input[str]
    """SSM parameter with the app config JSON. Required."""
    api_keys_secret_arn: pulumi.Input[str]
    """Secret with external API keys (``Shared.api_keys_secret_arn``). Default: none."""

    workspace_table_arn: pulumi.Input[str]
    """``VectorStore.workspace_table_arn``. Required."""
    document_table_arn: pulumi.Input[str]
    """``VectorStore.document_table_arn``. Required."""
    documents_bucket_arn: pulumi.Input[str]
    """``VectorStore.documents_bucket_arn``. Required."""
    ingest_queue_arn: pulumi.Input[str]
    """``VectorStore.ingest_queue_arn``; consumed by ``ingest_worker``. Required."""
    semantic_cache_table: bool
    """Create the DynamoDB table of the semantic answer cache (``semanticCache.store:
    dynamodb``), read and written by ``chat_worker`` only. Default False."""
    ingest_queue_url: pulumi.Input[str]
    """``VectorStore.ingest_queue_url``: where ``ingest_worker`` sends the continuation of a
    document it could not finish in one invocation (``CHORUS_INGEST_QUEUE_URL``). Default: no
    continuation; each document must be embedded within one invocation."""
    ingest_dlq_name: pulumi.Input[str]
    """``VectorStore.ingest_dlq_name``, alarmed on. Default: not alarmed here."""
    cluster_arn: pulumi.Input[str]
    """Aurora cluster for the RDS Data API. Default: none (no SQL access granted)."""
    database_secret_arn: pulumi.Input[str]
    """Aurora credentials secret. Default: none."""
    collection_arn: pulumi.Input[str]
    """OpenSearch Serverless collection. Default: none."""
    kendra_index_arn: pulumi.Input[str]
    """Kendra index: ``kendra:Retrieve`` for the chat worker and ``rest_api``. Default: none."""
    kendra_metadata_prefix: pulumi.Input[str]
    """With ``kendra_index_arn``: prefix of the documents bucket where the ingest worker (and
    ``reindex_document``) write and delete ``<prefix><key>.metadata.json`` files for the Kendra
    data source (``VectorStore.kendra_metadata_prefix``). Default: ``kendra-metadata/``."""
    chunks_table_arn: pulumi.Input[str]
    """Chunks table of the ``dynamodb`` store (``VectorStore.chunks_table_arn``): ``Query`` for
    the chat worker, ``Query`` + ``BatchWriteItem`` for the functions that index or delete.
    Default: none."""
    s3_vectors_index_arn: pulumi.Input[str]
    """S3 Vectors index (``VectorStore.s3_vectors_index_arn``): read actions for the chat
    worker, read and write for the functions that index or delete. Default: none."""
    bedrock_model_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Foundation-model / inference-profile ARNs the answerers may invoke. Default: none."""
    sagemaker_endpoint_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    """SageMaker endpoints (LLMs, embedding, cross-encoder) workers may invoke. Default: none."""
    guardrail_id: pulumi.Input[str]
    """Bedrock guardrail (id or ARN) the chat worker, and only it, may apply
    (``bedrock:ApplyGuardrail`` on that guardrail alone). Default: none (no guardrail grant)."""

    chat_max_concurrency: pulumi.Input[EventSourceConcurrency]
    """Event-source maximum concurrency of the chat worker; caps calls into rate-limited LLM
    APIs (2..1000). Default: 5."""
    ingest_max_concurrency: pulumi.Input[EventSourceConcurrency]
    """Event-source maximum concurrency of the ingest worker (protects the embedder). Default: 2."""
    fanout_reserved_concurrency: pulumi.Input[ReservedConcurrency]
    """Reserved concurrency of ``fanout_model`` (a quota guard; -1 = unreserved). Default: -1."""
    chat_worker_timeout: pulumi.Input[LambdaTimeout]
    """Seconds. Default: 300."""
    ingest_worker_timeout: pulumi.Input[LambdaTimeout]
    """Seconds. Default: 900."""
    stage_name: pulumi.Input[StageName]
    """WebSocket stage. Default: ``live``."""
    throttling_rate_limit: pulumi.Input[ThrottleRate]
    """Steady requests/second per API stage. Default: 20."""
    throttling_burst_limit: pulumi.Input[ThrottleBurst]
    """Burst per API stage. Default: 40."""
    alarm_email: pulumi.Input[str]
    """E-mail subscribed to the alarm topic. Default: none."""
    lambda_error_alarms: LambdaErrorAlarms
    """One Errors alarm per function, or one on the account's aggregate Lambda Errors metric
    (cheaper: alarms cost $0.10/month each). Default: ``per_function``."""
    notification_emails: Sequence[str]
    """E-mails subscribed to ``document-changed``. Default: none."""
    statemachine_dir: str
    """Folder holding ``consensus_fanout.asl.json`` and ``reindex_workspace.asl.json``.
    Default: ``runtime/statemachines`` next to this package."""


class ChatOrchestrator(pulumi.ComponentResource):
    """Everything between the browser and the models: APIs, handlers, queues, workflows."""

    websocket_url: pulumi.Output[str]
    """``wss://`` URL of the chat WebSocket stage."""
    http_api_url: pulumi.Output[str]
    """Base URL of the REST/HTTP API."""
    chat_queue_url: pulumi.Output[str]
    """Queue the ``message`` handler enqueues chat turns on."""
    document_changed_topic_arn: pulumi.Output[str]
    """SNS topic published after a document is (re)indexed or deleted."""
    fanout_state_machine_arn: pulumi.Output[str]
    """Express workflow of the multi-model fan-out."""
    reindex_state_machine_arn: pulumi.Output[str]
    """Standard workflow re-indexing a workspace."""
    connections_table_name: pulumi.Output[str]
    """WebSocket connections (TTL ``expires_at``)."""
    sessions_table_name: pulumi.Output[str]
    """Chat sessions and turns."""
    idempotency_table_name: pulumi.Output[str]
    """Powertools idempotency records (key ``id``, TTL ``expiration``); the app config's
    ``tables.idempotency``."""
    idempotency_table_arn: pulumi.Output[str]
    """ARN of the idempotency table (read/write for the chat and ingest workers only)."""
    semantic_cache_table_name: pulumi.Output[str] | None
    """The semantic answer cache's table (None without ``semantic_cache_table``)."""
    alarm_topic_arn: pulumi.Output[str]
    """Topic the alarms notify."""
    function_names: pulumi.Output[dict[str, str]]
    """Handler module → function name."""
    worker_role_arns: pulumi.Output[list[str]]
    """Roles that read/write vector stores (for data access policies such as OpenSearch's)."""

    def __init__(
        self, name: str, args: ChatOrchestratorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(  # type: ignore[assignment]
            "ChatOrchestrator",
            name,
            ChatOrchestratorArgs,
            args,
            required=CHAT_REQUIRED,
            rules=[_cdn_header_rule],
        )
        super().__init__("chorus:index:ChatOrchestrator", name, {}, tagged(opts, args.get("tags")))
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        retention = args.get("log_retention_days", 14)

        # Tables -------------------------------------------------------------------------------
        connections = _expiring_table(
            f"{name}-connections",
            self,
            hash_key="connection_id",
            attributes=["connection_id", "user_id"],
            indexes=[gsi("by_user_id", "user_id", projection_type="KEYS_ONLY")],
            ttl_attribute="expires_at",
            kms_key_arn=kms_key_arn,
        )
        sessions = _expiring_table(
            f"{name}-sessions",
            self,
            hash_key="session_id",
            range_key="sort_key",
            attributes=["session_id", "sort_key", "user_id", "updated_at"],
            indexes=[gsi("by_user_id", "user_id", "updated_at")],
            ttl_attribute="expires_at",
            kms_key_arn=kms_key_arn,
        )

        idempotency = _expiring_table(
            f"{name}-idempotency",
            self,
            hash_key="id",
            attributes=["id"],
            ttl_attribute="expiration",
            kms_key_arn=kms_key_arn,
        )
        idempotency_records = allow("IdempotencyRecords", IDEMPOTENCY_ACTIONS, [idempotency.arn])
        answer_cache = None
        answer_cache_access: list[Statement] = []
        if args.get("semantic_cache_table"):
            # runtime/adapters/dynamodb_cache.py: an epoch item, entries and counters per
            # workspace; entries carry expires_at so stale answers leave even without a change.
            answer_cache = _expiring_table(
                f"{name}-answer-cache",
                self,
                hash_key="workspace_id",
                range_key="sk",
                attributes=["workspace_id", "sk"],
                ttl_attribute="expires_at",
                kms_key_arn=kms_key_arn,
            )
            answer_cache_access = [
                allow("UseAnswerCache", ANSWER_CACHE_ACTIONS, [answer_cache.arn])
            ]

        # Queues and topics ----------------------------------------------------------------------
        worker_timeout = args.get("chat_worker_timeout", 300)
        chat_queue = QueueWithDlq(
            f"{name}-chat",
            {
                "kms_key_arn": kms_key_arn,
                "visibility_timeout_seconds": pulumi.Output.from_input(worker_timeout).apply(
                    lambda t: 6 * t
                ),
                "max_receive_count": 2,
                "message_retention_seconds": 3600,
            },
            opts=child,
        )
        topic = aws.sns.Topic(
            f"{name}-document-changed",
            kms_master_key_id=kms_key_arn or "alias/aws/sns",
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-document-changed-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sns:Publish",
                            "Resource": topic.arn,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        changes_queue = QueueWithDlq(
            f"{name}-cache-invalidation",
            {
                "kms_key_arn": kms_key_arn,
                "sse_sqs_without_key": True,
                "visibility_timeout_seconds": pulumi.Output.from_input(worker_timeout).apply(
                    lambda t: 6 * t
                ),
                "allow_services": [("sns.amazonaws.com", topic.arn)],
            },
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-document-changed-to-cache",
            topic=topic.arn,
            protocol="sqs",
            endpoint=changes_queue.queue_arn,
            raw_message_delivery=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[changes_queue]),
        )
        for i, email in enumerate(args.get("notification_emails", [])):
            aws.sns.TopicSubscription(
                f"{name}-document-changed-email-{i}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )

        # APIs (created before the functions so their ARNs can be granted) ----------------------
        ws_api = aws.apigatewayv2.Api(
            f"{name}-ws",
            protocol_type="WEBSOCKET",
            route_selection_expression="$request.body.action",
            description="chorus chat (JSON protocol in docs/protocol.md)",
            opts=child,
        )
        stage_name = args.get("stage_name", "live")
        manage_connections = [
            pulumi.Output.concat(ws_api.execution_arn, "/", stage_name, "/POST/@connections/*")
        ]
        http_api = aws.apigatewayv2.Api(
            f"{name}-http",
            protocol_type="HTTP",
            description="chorus REST API: workspaces, documents, sessions, feedback",
            cors_configuration=aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=args.get("cors_allowed_origins", ["http://localhost:5173"]),
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                allow_headers=["authorization", "content-type"],
                max_age=3600,
            ),
            opts=child,
        )

        # Common permissions -------------------------------------------------------------------
        config_arn = parameter_arn(args["config_parameter_name"], region, account)
        cdn_parameter = args.get("cdn_secret_parameter_name")
        read_cdn_secret = (
            [
                allow(
                    "ReadCdnSecret",
                    ["ssm:GetParameter"],
                    [parameter_arn(cdn_parameter, region, account)],
                )
            ]
            if cdn_parameter is not None
            else []
        )
        cdn_env: dict[str, pulumi.Input[str]] = (
            {
                "CHORUS_CDN_SECRET_PARAMETER": cdn_parameter,
                "CHORUS_CDN_SECRET_HEADER": CDN_SECRET_HEADER,
            }
            if cdn_parameter is not None
            else {}
        )
        read_config = allow("ReadAppConfig", ["ssm:GetParameter"], [config_arn])
        bucket_objects = pulumi.Output.concat(
            args["documents_bucket_arn"], "/", RUNTIME_DOCUMENTS_PREFIX, "*"
        )
        # HeadObject answers 404 for a missing key only with s3:ListBucket (else 403); the
        # ingest path tells "deleted" from "replaced" by that 404, so the grant has no prefix
        # condition (HeadObject's request context carries no s3:prefix).
        list_for_not_found = allow(
            "ListUploadsForNotFound", ["s3:ListBucket"], [args["documents_bucket_arn"]]
        )
        ws_table, doc_table = args["workspace_table_arn"], args["document_table_arn"]
        read_items = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
        write_items = [
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ]
        store_reads = self._store_statements(args, writes=False)
        store_access = self._store_statements(args, writes=True)
        kendra_retrieve = self._kendra_retrieve(args)
        kendra_metadata = self._kendra_metadata(args)
        llm_access = self._llm_statements(args)

        base_env = {
            "CHORUS_CONFIG_PARAMETER": args["config_parameter_name"],
            "CHORUS_SESSIONS_TABLE": sessions.name,
            "CHORUS_CONNECTIONS_TABLE": connections.name,
            "CHORUS_WEBSOCKET_ENDPOINT": pulumi.Output.concat(
                ws_api.api_endpoint.apply(lambda e: e.replace("wss://", "https://")),
                "/",
                stage_name,
            ),
            "POWERTOOLS_METRICS_NAMESPACE": "chorus",
        }
        functions: dict[str, LambdaFunction] = {}
        in_vpc: dict = {}
        if args.get("subnet_ids") is not None:
            in_vpc = {
                "subnet_ids": args["subnet_ids"],
                "security_group_ids": args.get("security_group_ids", []),
            }

        def function(module: str, statements: list[Statement], **extra) -> LambdaFunction:
            env = {**base_env, **extra.pop("environment", {})}
            fn_args: LambdaFunctionArgs = {
                "handler": f"{HANDLERS}.{module}.handler",
                "code": args["code"],
                "layers": args.get("layers", []),
                "environment": env,
                "statements": [read_config, *statements],
                "kms_key_arn": kms_key_arn,
                "log_retention_days": retention,
                **extra,
            }
            fn = LambdaFunction(f"{name}-{module.replace('_', '-')}", fn_args, opts=child)
            functions[module] = fn
            return fn

        # The WebSocket side ---------------------------------------------------------------------
        require_cdn_input = args.get("require_cdn_header", cdn_parameter is not None)
        require_cdn = pulumi.Output.from_input(require_cdn_input).apply(
            lambda required: "true" if required else "false"
        )
        authorizer_fn = function(
            "ws_authorizer",
            read_cdn_secret,
            environment={
                "CHORUS_ISSUER_URL": args["issuer_url"],
                "CHORUS_JWKS_URL": args["jwks_url"],
                "CHORUS_CLIENT_ID": args["client_id"],
                **cdn_env,
                "CHORUS_REQUIRE_CDN_HEADER": require_cdn,
            },
            memory_size=256,
            timeout=10,
        )
        function(
            "ws_connect",
            [allow("StoreConnection", ["dynamodb:PutItem"], [connections.arn])],
            memory_size=256,
            timeout=10,
        )
        function(
            "ws_disconnect",
            [allow("DeleteConnection", ["dynamodb:DeleteItem"], [connections.arn])],
            memory_size=256,
            timeout=10,
        )
        function(
            "ws_message",
            [
                allow("StoreTurn", read_items + write_items, table_and_indexes(sessions.arn)),
                allow(
                    "TrackConnection",
                    ["dynamodb:DeleteItem", "dynamodb:GetItem"],
                    [connections.arn],
                ),
                allow("ReadWorkspace", read_items, table_and_indexes(ws_table)),
                allow("EnqueueChat", ["sqs:SendMessage"], [chat_queue.queue_arn]),
                allow("ReplyToClient", ["execute-api:ManageConnections"], manage_connections),
                *kms_statements(kms_key_arn, encrypt=True),
            ],
            environment={"CHORUS_CHAT_QUEUE_URL": chat_queue.queue_url},
            memory_size=512,
            timeout=15,
        )

        # Workers and workflow tasks ----------------------------------------------------------
        fanout_model = function(
            "fanout_model",
            [
                *llm_access,
                allow("StreamTokens", ["execute-api:ManageConnections"], manage_connections),
            ],
            timeout=120,
            memory_size=512,
            reserved_concurrency=args.get("fanout_reserved_concurrency", -1),
        )
        agreement = function(
            "fanout_agreement",
            [s for s in llm_access if s["Sid"] == "InvokeSageMakerEndpoints"],
            timeout=60,
            memory_size=512,
        )
        fanout_machine = self._state_machine(
            "consensus-fanout",
            "consensus_fanout.asl.json",
            {
                "FanoutModelFunctionArn": fanout_model.arn,
                "AgreementFunctionArn": agreement.arn,
            },
            [fanout_model, agreement],
            workflow_type="EXPRESS",
        )
        guardrail: list[Statement] = []
        if args.get("guardrail_id") is not None:
            guardrail.append(
                allow(
                    "ApplyGuardrail",
                    ["bedrock:ApplyGuardrail"],
                    [guardrail_arn(args["guardrail_id"], region, account)],
                )
            )
        chat_worker = function(
            "chat_worker",
            [
                *llm_access,
                *guardrail,
                *store_reads,
                *kendra_retrieve,
                allow("StoreTurn", read_items + write_items, table_and_indexes(sessions.arn)),
                allow("ReadConnections", read_items, table_and_indexes(connections.arn)),
                allow("ForgetGoneConnections", ["dynamodb:DeleteItem"], [connections.arn]),
                idempotency_records,
                allow("ReadWorkspaces", read_items, table_and_indexes(ws_table)),
                allow("ReadDocuments", read_items, table_and_indexes(doc_table)),
                allow("StreamToClient", ["execute-api:ManageConnections"], manage_connections),
                allow("RunFanout", ["states:StartSyncExecution"], [fanout_machine.arn]),
                *answer_cache_access,
                allow(
                    "ConsumeQueues",
                    CONSUME_QUEUE_ACTIONS,
                    [chat_queue.queue_arn, changes_queue.queue_arn],
                ),
            ],
            environment={"CHORUS_FANOUT_STATE_MACHINE_ARN": fanout_machine.arn},
            timeout=worker_timeout,
            memory_size=1024,
            **in_vpc,
        )
        ingest_timeout = args.get("ingest_worker_timeout", 900)
        ingest_statements = [
            *store_access,
            *kendra_metadata,
            *[s for s in llm_access if s["Sid"] in ("InvokeSageMakerEndpoints", "InvokeBedrock")],
            allow("ReadUploads", ["s3:GetObject", "s3:GetObjectVersion"], [bucket_objects]),
            list_for_not_found,
            allow("TrackDocuments", read_items + write_items, table_and_indexes(doc_table)),
            allow("ReadWorkspaces", read_items, table_and_indexes(ws_table)),
            allow("AnnounceChanges", ["sns:Publish"], [topic.arn]),
            *kms_statements(kms_key_arn, encrypt=True),
        ]
        # A document too large to embed in one invocation: the embeddings so far go to
        # ingest-staging/ (outside the notified workspaces/ prefix) and the next invocation
        # resumes from them — the ingest worker's through a continuation message to its own
        # queue, a re-index's through the workflow's Choice loop (runtime/cloud/ingest.py).
        stage_embeddings = allow(
            "StageEmbeddings",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            [pulumi.Output.concat(args["documents_bucket_arn"], "/ingest-staging/*")],
        )
        ingest_env: dict[str, pulumi.Input[str]] = {"CHORUS_DOCUMENT_CHANGED_TOPIC_ARN": topic.arn}
        continuation: list[Statement] = []
        if args.get("ingest_queue_url") is not None:
            ingest_env["CHORUS_INGEST_QUEUE_URL"] = args["ingest_queue_url"]
            continuation = [
                allow("ContinueLargeDocuments", ["sqs:SendMessage"], [args["ingest_queue_arn"]]),
                stage_embeddings,
            ]
        ingest_worker = function(
            "ingest_worker",
            [
                *ingest_statements,
                *continuation,
                idempotency_records,
                allow(
                    "ConsumeIngestQueue",
                    CONSUME_QUEUE_ACTIONS,
                    [args["ingest_queue_arn"]],
                ),
            ],
            environment=ingest_env,
            timeout=ingest_timeout,
            memory_size=2048,
            **in_vpc,
        )
        reindex_document = function(
            "reindex_document",
            [*ingest_statements, stage_embeddings],
            environment={"CHORUS_DOCUMENT_CHANGED_TOPIC_ARN": topic.arn},
            timeout=ingest_timeout,
            memory_size=2048,
            **in_vpc,
        )
        reindex_machine = self._state_machine(
            "reindex-workspace",
            "reindex_workspace.asl.json",
            {"ReindexDocumentFunctionArn": reindex_document.arn},
            [reindex_document],
            workflow_type="STANDARD",
        )
        rest_api = function(
            "rest_api",
            [
                *store_access,
                *kendra_retrieve,
                allow("ManageWorkspaces", read_items + write_items, table_and_indexes(ws_table)),
                allow("ManageDocuments", read_items + write_items, table_and_indexes(doc_table)),
                allow("ManageSessions", read_items + write_items, table_and_indexes(sessions.arn)),
                allow("PresignUploads", ["s3:DeleteObject", "s3:PutObject"], [bucket_objects]),
                allow(
                    "ListUploads",
                    ["s3:ListBucket"],
                    [args["documents_bucket_arn"]],
                    {"StringLike": {"s3:prefix": [f"{RUNTIME_DOCUMENTS_PREFIX}*"]}},
                ),
                allow("StartReindex", ["states:StartExecution"], [reindex_machine.arn]),
                allow("AnnounceChanges", ["sns:Publish"], [topic.arn]),
                *read_cdn_secret,
                *kms_statements(kms_key_arn, encrypt=True),
            ],
            environment={
                "CHORUS_REINDEX_STATE_MACHINE_ARN": reindex_machine.arn,
                **cdn_env,
                "CHORUS_REQUIRE_CDN_HEADER": require_cdn,
            },
            timeout=29,
            memory_size=512,
            **in_vpc,
        )

        # Event sources --------------------------------------------------------------------------
        for source, fn, arn, concurrency, batch in (
            ("chat", chat_worker, chat_queue.queue_arn, args.get("chat_max_concurrency", 5), 1),
            ("cache", chat_worker, changes_queue.queue_arn, 2, 10),
            (
                "ingest",
                ingest_worker,
                args["ingest_queue_arn"],
                args.get("ingest_max_concurrency", 2),
                5,
            ),
        ):
            aws.lambda_.EventSourceMapping(
                f"{name}-{source}-source",
                event_source_arn=arn,
                function_name=fn.arn,
                batch_size=batch,
                maximum_batching_window_in_seconds=0 if batch == 1 else 1,
                function_response_types=["ReportBatchItemFailures"],
                scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                    maximum_concurrency=concurrency
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[fn]),
            )

        # WebSocket wiring --------------------------------------------------------------------
        identity_sources = ["route.request.querystring.token"]
        if require_cdn_input:
            identity_sources.append(f"route.request.header.{CDN_SECRET_HEADER}")
        ws_authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-ws-authorizer",
            api_id=ws_api.id,
            authorizer_type="REQUEST",
            authorizer_uri=authorizer_fn.invoke_arn,
            identity_sources=identity_sources,
            name="cognito-jwt",
            opts=child,
        )
        self._allow_api(f"{name}-ws-authorizer", authorizer_fn, ws_api, "/authorizers/*")
        integrations: dict[str, aws.apigatewayv2.Integration] = {}
        routes = []
        for route_key, module in WEBSOCKET_ROUTES.items():
            if module not in integrations:
                integrations[module] = aws.apigatewayv2.Integration(
                    f"{name}-ws-{module}",
                    api_id=ws_api.id,
                    integration_type="AWS_PROXY",
                    integration_uri=functions[module].invoke_arn,
                    content_handling_strategy="CONVERT_TO_TEXT",
                    passthrough_behavior="WHEN_NO_MATCH",
                    opts=child,
                )
                self._allow_api(f"{name}-ws-{module}", functions[module], ws_api, "/*")
            slug = route_key.strip("$").lower()
            routes.append(
                aws.apigatewayv2.Route(
                    f"{name}-ws-route-{slug}",
                    api_id=ws_api.id,
                    route_key=route_key,
                    target=pulumi.Output.concat("integrations/", integrations[module].id),
                    authorization_type="CUSTOM" if route_key == "$connect" else "NONE",
                    authorizer_id=ws_authorizer.id if route_key == "$connect" else None,
                    opts=child,
                )
            )
        throttle = {
            "throttling_rate_limit": args.get("throttling_rate_limit", 20),
            "throttling_burst_limit": args.get("throttling_burst_limit", 40),
        }
        ws_stage = aws.apigatewayv2.Stage(
            f"{name}-ws-stage",
            api_id=ws_api.id,
            name=stage_name,
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(**throttle),
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )

        # HTTP API wiring --------------------------------------------------------------------
        jwt = aws.apigatewayv2.Authorizer(
            f"{name}-http-jwt",
            api_id=http_api.id,
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                issuer=args["issuer_url"], audiences=[args["client_id"]]
            ),
            name="cognito",
            opts=child,
        )
        rest_integration = aws.apigatewayv2.Integration(
            f"{name}-http-rest-api",
            api_id=http_api.id,
            integration_type="AWS_PROXY",
            integration_uri=rest_api.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=29000,
            opts=child,
        )
        self._allow_api(f"{name}-http-rest-api", rest_api, http_api, "/*/*")
        http_routes = [
            aws.apigatewayv2.Route(
                f"{name}-http-route-{i}",
                api_id=http_api.id,
                route_key=route_key,
                target=pulumi.Output.concat("integrations/", rest_integration.id),
                authorization_type="JWT",
                authorizer_id=jwt.id,
                opts=child,
            )
            for i, route_key in enumerate(HTTP_ROUTES)
        ]
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-http-access-logs",
            retention_in_days=retention,
            kms_key_id=kms_key_arn,
            opts=child,
        )
        http_stage = aws.apigatewayv2.Stage(
            f"{name}-http-stage",
            api_id=http_api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(**throttle),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn,
                format=(
                    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                    '"routeKey":"$context.routeKey","status":"$context.status",'
                    '"latency":"$context.integrationLatency","sub":"$context.authorizer.claims.sub"}'
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=http_routes),
        )

        # Alarms -------------------------------------------------------------------------------
        alarm_topic = aws.sns.Topic(
            f"{name}-alarms", kms_master_key_id=kms_key_arn or "alias/aws/sns", opts=child
        )
        if args.get("alarm_email") is not None:
            aws.sns.TopicSubscription(
                f"{name}-alarms-email",
                topic=alarm_topic.arn,
                protocol="email",
                endpoint=args["alarm_email"],
                opts=child,
            )
        dlqs: list[tuple[str, pulumi.Input[str]]] = [
            ("chat", chat_queue.dlq_name),
            ("cache-invalidation", changes_queue.dlq_name),
        ]
        if args.get("ingest_dlq_name") is not None:
            dlqs.append(("ingest", args["ingest_dlq_name"]))
        # Every alarm fires on the first five minutes above zero and notifies the alarm topic.
        above_zero = {
            "period": 300,
            "evaluation_periods": 1,
            "threshold": 0,
            "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
            "alarm_actions": [alarm_topic.arn],
        }
        for label, dlq_name in dlqs:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{label}-dlq-depth",
                alarm_description=f"Messages are waiting in the {label} dead-letter queue",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": dlq_name},
                statistic="Maximum",
                **above_zero,
                ok_actions=[alarm_topic.arn],
                opts=child,
            )
        # (slug, description, dimensions): one alarm on the account's aggregate, or one each.
        error_alarms: list[tuple[str, str, dict[str, pulumi.Input[str]] | None]] = (
            [("lambda", "Lambda functions of this account/region report errors", None)]
            if args.get("lambda_error_alarms", "per_function") == "aggregate"
            else [
                (
                    module.replace("_", "-"),
                    f"{module} reports errors",
                    {"FunctionName": fn.function_name},
                )
                for module, fn in functions.items()
            ]
        )
        for slug, description, dimensions in error_alarms:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{slug}-errors",
                alarm_description=description,
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions=dimensions,
                statistic="Sum",
                **above_zero,
                opts=child,
            )

        self.functions = functions
        """Handler module → its ``LambdaFunction`` (Python-side, for wiring extra permissions)."""
        self.websocket_url = pulumi.Output.concat(ws_api.api_endpoint, "/", ws_stage.name)
        self.http_api_url = http_stage.invoke_url
        self.chat_queue_url = chat_queue.queue_url
        self.document_changed_topic_arn = topic.arn
        self.fanout_state_machine_arn = fanout_machine.arn
        self.reindex_state_machine_arn = reindex_machine.arn
        self.connections_table_name = connections.name
        self.sessions_table_name = sessions.name
        self.idempotency_table_name = idempotency.name
        self.idempotency_table_arn = idempotency.arn
        self.semantic_cache_table_name = answer_cache.name if answer_cache else None
        self.alarm_topic_arn = alarm_topic.arn
        self.function_names = pulumi.Output.all(
            **{module: fn.function_name for module, fn in functions.items()}
        )
        self.worker_role_arns = pulumi.Output.all(
            *[
                functions[m].role_arn
                for m in ("chat_worker", "ingest_worker", "reindex_document", "rest_api")
            ]
        )
        self.register_outputs(
            {
                "websocket_url": self.websocket_url,
                "http_api_url": self.http_api_url,
                "chat_queue_url": self.chat_queue_url,
                "document_changed_topic_arn": self.document_changed_topic_arn,
                "fanout_state_machine_arn": self.fanout_state_machine_arn,
                "reindex_state_machine_arn": self.reindex_state_machine_arn,
                "connections_table_name": self.connections_table_name,
                "sessions_table_name": self.sessions_table_name,
                "idempotency_table_name": self.idempotency_table_name,
                "idempotency_table_arn": self.idempotency_table_arn,
                "alarm_topic_arn": self.alarm_topic_arn,
                "function_names": self.function_names,
                "worker_role_arns": self.worker_role_arns,
            }
        )

    # -- pieces ---------------------------------------------------------------------------------

    def _allow_api(
        self, name: str, fn: LambdaFunction, api: aws.apigatewayv2.Api, suffix: str
    ) -> None:
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=fn.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, suffix),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _store_statements(args: ChatOrchestratorArgs, *, writes: bool) -> list[Statement]:
        """The vector stores a function reaches: read-only (chat) or read/write (indexing and
        deleting). Aurora, its secret and OpenSearch are granted alike to both."""
        statements: list[Statement] = []
        if args.get("chunks_table_arn") is not None:
            statements += dynamodb_store_statements(args["chunks_table_arn"], read_only=not writes)
        if args.get("s3_vectors_index_arn") is not None:
            statements += s3_vectors_statements(
                args["s3_vectors_index_arn"], args.get("kms_key_arn"), read_only=not writes
            )
        if args.get("cluster_arn") is not None:
            statements.append(
                allow(
                    "QueryAurora",
                    [
                        "rds-data:BatchExecuteStatement",
                        "rds-data:BeginTransaction",
                        "rds-data:CommitTransaction",
                        "rds-data:ExecuteStatement",
                        "rds-data:RollbackTransaction",
                    ],
                    [args["cluster_arn"]],
                )
            )
        if args.get("database_secret_arn") is not None:
            statements.append(
                allow(
                    "ReadDatabaseSecret",
                    ["secretsmanager:GetSecretValue"],
                    [args["database_secret_arn"]],
                )
            )
        if args.get("collection_arn") is not None:
            statements.append(
                allow("UseOpenSearch", ["aoss:APIAccessAll"], [args["collection_arn"]])
            )
        return statements

    @staticmethod
    def _kendra_retrieve(args: ChatOrchestratorArgs) -> list[Statement]:
        """Kendra is retrieve-only: the chat worker and ``rest_api`` call ``Retrieve``."""
        if args.get("kendra_index_arn") is None:
            return []
        return [allow("RetrieveKendra", ["kendra:Retrieve"], [args["kendra_index_arn"]])]

    @staticmethod
    def _kendra_metadata(args: ChatOrchestratorArgs) -> list[Statement]:
        """The indexing functions write (and delete) the Kendra data source's metadata files."""
        if args.get("kendra_index_arn") is None:
            return []
        prefix = args.get("kendra_metadata_prefix", KENDRA_METADATA_PREFIX)
        return [
            allow(
                "WriteKendraMetadata",
                ["s3:DeleteObject", "s3:PutObject"],
                [pulumi.Output.concat(args["documents_bucket_arn"], "/", prefix, "*")],
            )
        ]

    @staticmethod
    def _llm_statements(args: ChatOrchestratorArgs) -> list[Statement]:
        statements: list[Statement] = []
        if args.get("api_keys_secret_arn") is not None:
            statements.append(
                allow(
                    "ReadApiKeys", ["secretsmanager:GetSecretValue"], [args["api_keys_secret_arn"]]
                )
            )
        if args.get("bedrock_model_arns"):
            statements.append(
                allow(
                    "InvokeBedrock",
                    ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                    args["bedrock_model_arns"],
                )
            )
        if args.get("sagemaker_endpoint_arns"):
            statements.append(
                allow(
                    "InvokeSageMakerEndpoints",
                    ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                    args["sagemaker_endpoint_arns"],
                )
            )
        return statements

    def _state_machine(
        self,
        label: str,
        filename: str,
        values: Mapping[str, pulumi.Input[str]],
        tasks: Sequence[LambdaFunction],
        *,
        workflow_type: str,
    ) -> aws.sfn.StateMachine:
        name = f"{self._name}-{label}"
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = self._args.get("kms_key_arn")
        folder = Path(self._args.get("statemachine_dir", DEFAULT_STATEMACHINE_DIR))
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=self._args.get("log_retention_days", 14),
            kms_key_id=kms_key_arn,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("states.amazonaws.com"),
            description=f"Execution role of the {label} workflow only",
            opts=child,
        )
        task_arns: list[pulumi.Input[str]] = []
        for fn in tasks:
            task_arns += [fn.arn, pulumi.Output.concat(fn.arn, ":*")]
        statements = [
            allow("InvokeTasks", ["lambda:InvokeFunction"], task_arns),
            allow("DeliverLogs", SFN_LOG_DELIVERY_ACTIONS, ["*"]),
            allow(
                "XRayWrite",
                [*XRAY_ACTIONS, "xray:GetSamplingRules", "xray:GetSamplingTargets"],
                ["*"],
            ),
        ]
        if kms_key_arn is not None:
            statements.append(
                allow("EncryptState", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn])
            )
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=policy_json(statements), opts=child
        )
        return aws.sfn.StateMachine(
            name,
            type=workflow_type,
            role_arn=role.arn,
            definition=definition(folder / filename, values),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                log_destination=pulumi.Output.concat(log_group.arn, ":*"),
                include_execution_data=False,
                level="ERROR" if workflow_type == "EXPRESS" else "ALL",
            ),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            encryption_configuration=aws.sfn.StateMachineEncryptionConfigurationArgs(
                type="CUSTOMER_MANAGED_KMS_KEY",
                kms_key_id=kms_key_arn,
                kms_data_key_reuse_period_seconds=300,
            )
            if kms_key_arn is not None
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
