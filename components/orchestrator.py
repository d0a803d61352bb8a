"""The chat path: the handlers, composed with the WebSocket and HTTP APIs, tables, queues,
workflows and alarms (each a component of its own, usable alone)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .alarms import AlarmSet, AlarmThresholds, ChatAlarms, ChatAlarmsArgs
from .bulk_ingestion import BulkIngestion, BulkIngestionArgs
from .chat_apis import (
    HttpApi,
    LambdaTargetArgs,
    WebSocketApi,
    manage_connections_arn,
    websocket_management_endpoint,
)
from .chat_messaging import ChatMessaging
from .chat_tables import ChatTables
from .deployments import DeploymentStrategy, LambdaDeployments
from .function import LambdaFunction, LambdaFunctionArgs
from .iam import Statement, allow, assume_role_policy, kms_statements, policy_json
from .naming import moved_under, tagged
from .queues import DeadLetterQueue
from .rules import (
    RUNTIME_DOCUMENTS_PREFIX,
    AsyncEventAgeSeconds,
    AsyncRetryAttempts,
    ChatPath,
    EventSourceConcurrency,
    LambdaErrorAlarms,
    LambdaTimeout,
    LogRetentionDays,
    ReservedConcurrency,
    StageName,
    ThrottleBurst,
    ThrottleRate,
)
from .scheduled_evaluation import ScheduledEvaluation, ScheduledEvaluationArgs
from .shared import CDN_SECRET_HEADER, parameter_arn
from .validation import check_args
from .vector_store import (
    KENDRA_METADATA_PREFIX,
    dynamodb_store_statements,
    s3_vectors_statements,
)
from .workflows import DEFAULT_STATEMACHINE_DIR, ChatWorkflows

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
    # Appended, not sorted in: routes are named by position, so an insertion would rename them.
    "PUT /workspaces/{workspaceId}/settings",
    "GET /workspaces/{workspaceId}/eval-cases",
    "POST /workspaces/{workspaceId}/eval-cases",
    "POST /workspaces/{workspaceId}/eval-cases/import",
    "GET /workspaces/{workspaceId}/eval-cases/{caseId}",
    "PATCH /workspaces/{workspaceId}/eval-cases/{caseId}",
    "DELETE /workspaces/{workspaceId}/eval-cases/{caseId}",
    "POST /sessions/{sessionId}/messages/{messageId}/eval-case",
    "GET /workspaces/{workspaceId}/sources",
    "POST /workspaces/{workspaceId}/sources",
    "POST /workspaces/{workspaceId}/sources/sync",
    "GET /workspaces/{workspaceId}/api-keys",
    "POST /workspaces/{workspaceId}/api-keys",
    "DELETE /workspaces/{workspaceId}/api-keys/{keyId}",
    "POST /workspaces/{workspaceId}/bulk-ingestions",
    "GET /workspaces/{workspaceId}/bulk-ingestions/{jobId}",
)
"""REST routes served by ``rest_api``, all behind the Cognito JWT authorizer."""

PUBLIC_HTTP_ROUTES = (
    "POST /v1/workspaces/{workspaceId}/answers",
    "POST /v1/workspaces/{workspaceId}/documents",
)
"""The public API (docs/public_api.md), also served by ``rest_api`` but with no JWT authorizer:
the function checks the workspace API key (hashed, in the workspace table) and its usage plan;
the stage's per-route throttling (``public_api_rate_limit``) is the outer guard."""

ROLLED_OUT_FUNCTIONS = (
    "ws_message",
    "rest_api",
    "chat_worker",
    "ingest_worker",
    "fanout_model",
    "fanout_agreement",
    "reindex_document",
)
SOURCES_RETRY_ATTEMPTS = 2
"""Lambda's retries of a failed asynchronous ``sync_sources`` invocation (a re-fetch is
idempotent: ETag / Last-Modified, deterministic chunk ids)."""
SOURCES_MAX_EVENT_AGE_SECONDS = 6 * 3600
"""How long a throttled or failing ``sync_sources`` hand-over is kept before it is dead-lettered
(reserved concurrency 2 and 15-minute runs: a burst of hand-overs waits its turn)."""
"""The workers and API functions shipped through CodeDeploy (the connection handlers and the
authorizer are tiny and change rarely)."""

AURORA_CLIENTS = ("chat_worker", "ingest_worker", "reindex_document", "rest_api")
"""Functions that open PostgreSQL connections to Aurora (retrieval, indexing, deleting a
document's or a workspace's chunks); ``subnet_ids`` attaches exactly these."""
OPTIONAL_AURORA_CLIENTS = ("bulk_ingest_batch", "sync_sources")
"""Indexers deployed only when configured (``bulk_ingestion``, ``sources_sync``); attached like
the others."""

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


SCHEDULE_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
"""An EventBridge Scheduler rate expression (``rate(6 hours)``)."""


def rate_seconds(rate: str) -> int:
    """Seconds between two runs of a ``rate(...)`` expression."""
    match = SCHEDULE_RATE.match(rate)
    if match is None:
        raise ValueError(f"{rate!r} is not a rate expression like 'rate(6 hours)'")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


def knowledge_base_arn(
    knowledge_base_id: str, region: pulumi.Input[str], account: pulumi.Input[str]
) -> pulumi.Output[str]:
    """ARN of a Bedrock knowledge base from its 10-character id."""
    return pulumi.Output.concat(
        "arn:aws:bedrock:", region, ":", account, ":knowledge-base/", knowledge_base_id
    )


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


def sagemaker_endpoint_arn(
    endpoint: pulumi.Input[str], region: pulumi.Input[str], account: pulumi.Input[str]
) -> pulumi.Output[str]:
    """ARN of a SageMaker endpoint from its name (IAM matches endpoint ARNs in lower case)."""

    def arn(values: list[str]) -> str:
        name, in_region, in_account = values
        return f"arn:aws:sagemaker:{in_region}:{in_account}:endpoint/{name.lower()}"

    return pulumi.Output.all(endpoint, region, account).apply(arn)


def bedrock_model_arn(model: pulumi.Input[str], region: pulumi.Input[str]) -> pulumi.Output[str]:
    """ARN of a Bedrock foundation model from its id (an ARN is kept as it is)."""

    def arn(values: list[str]) -> str:
        identifier, in_region = values
        if identifier.startswith("arn:"):
            return identifier
        return f"arn:aws:bedrock:{in_region}::foundation-model/{identifier}"

    return pulumi.Output.all(model, region).apply(arn)


def table_and_indexes(table_arn: pulumi.Input[str]) -> list[pulumi.Input[str]]:
    """A table and its secondary indexes (``Query`` on a GSI needs the index ARN)."""
    return [table_arn, pulumi.Output.concat(table_arn, "/index/*")]


def table_name_of(table_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """``arn:aws:dynamodb:<region>:<account>:table/<name>`` → ``<name>``."""
    return pulumi.Output.from_input(table_arn).apply(lambda arn: arn.split(":table/", 1)[-1])


CHAT_REQUIRED = (
    "code",
    "issuer_url",
    "jwks_url",
    "client_id",
    "config_parameter_name",
    "workspace_table_arn",
    "document_table_arn",
    "documents_bucket_arn",
)
"""Inputs ``ChatOrchestrator`` cannot do without (and one ingest source: ``ingest_queue_arn``
or ``ingest_rule_name``)."""


def _ingest_source_rule(args) -> str | None:
    """The ingest worker listens to exactly one source: the queue or the EventBridge rule."""
    sources = [k for k in ("ingest_queue_arn", "ingest_rule_name") if args.get(k) is not None]
    if len(sources) != 1:
        return (
            "give the ingest worker one source: 'ingest_queue_arn' (VectorStore with "
            "ingestion_path 'queue') or 'ingest_rule_name' + 'ingest_dlq_arn' (ingestion_path "
            f"'eventbridge'); got {sources or 'neither'}"
        )
    if args.get("ingest_rule_name") is not None and args.get("ingest_dlq_arn") is None:
        return "'ingest_rule_name' needs 'ingest_dlq_arn' (where failed object events go)"
    return None


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
    """``VectorStore.ingest_queue_arn``; consumed by ``ingest_worker`` through an SQS event
    source. Required unless ``ingest_rule_name`` is given."""
    ingest_rule_name: pulumi.Input[str]
    """``VectorStore.ingest_rule_name`` (``ingestion_path: eventbridge``): the rule gets the
    ingest worker as its target, invoked asynchronously with retries and the dead-letter queue
    ``ingest_dlq_arn``; the worker's reserved concurrency is ``ingest_max_concurrency``.
    Default: none (the queue)."""
    ingest_rule_arn: pulumi.Input[str]
    """``VectorStore.ingest_rule_arn``: the source EventBridge invokes the worker from. Required
    with ``ingest_rule_name``."""
    ingest_dlq_arn: pulumi.Input[str]
    """``VectorStore.ingest_dlq_arn``: with the rule, where undeliverable events and failed
    invocations go (Lambda's on-failure destination). Default: none."""
    ingest_retry_attempts: pulumi.Input[AsyncRetryAttempts]
    """Retries of a failed asynchronous ingest invocation (and of EventBridge's delivery).
    Default: 2."""
    ingest_max_event_age_seconds: pulumi.Input[AsyncEventAgeSeconds]
    """How long an ingest event may wait and be retried. Default: 21600 (6 hours)."""
    chat_path: ChatPath
    """``queue``: chat jobs and ``document-changed`` through SQS queues and event sources
    (``chat_max_concurrency`` caps the event source). ``async``: the ``message`` handler invokes
    the chat worker asynchronously and SNS invokes it for ``document-changed``; the worker's
    reserved concurrency is ``chat_max_concurrency``, failures after ``chat_retry_attempts``
    go to the chat dead-letter queue with the event. Default: ``queue``."""
    chat_retry_attempts: pulumi.Input[AsyncRetryAttempts]
    """Retries of a failed asynchronous chat invocation. Default: 1."""
    chat_max_event_age_seconds: pulumi.Input[AsyncEventAgeSeconds]
    """How long a chat job may wait (throttled) and be retried. Default: 3600."""
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
    sources_sync: bool
    """Deploy ``sync_sources``, the function that fetches web and feed sources (and indexes
    text and Q&A sources) that ``rest_api`` hands it. Default: False (the REST API then refuses
    sources with ``not_deployed``)."""
    sources_sync_rate: str
    """With ``sources_sync``: an EventBridge Scheduler ``rate(...)`` expression re-syncing every
    due source on that schedule (a role that may only invoke the function's live alias).
    Default: none (no schedule; sources sync when added or on ``POST .../sources/sync``)."""
    knowledge_base_ids: list[str]
    """Existing Bedrock knowledge bases workspaces may point at: ``bedrock:Retrieve`` on exactly
    these (``arn:aws:bedrock:<region>:<account>:knowledge-base/<id>``) for the chat worker and
    ``rest_api``. Default: none (no grant)."""
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
    rerank_model: pulumi.Input[str]
    """Bedrock rerank model (id or ARN) the chat worker, and only it, may rerank with:
    ``bedrock:Rerank`` (which AWS scopes to no resource) and ``bedrock:InvokeModel`` on that
    model alone, as Bedrock's ``Rerank`` requires both. Default: none (no rerank grant)."""
    rerank_endpoint: pulumi.Input[str]
    """SageMaker endpoint (name) of a cross-encoder reranker the stack does not host
    (``models.rerank.endpoint``): the answering functions may invoke it alone. Default: none
    (the stack's own endpoints are granted through ``sagemaker_endpoint_arns``)."""
    nli_endpoint: pulumi.Input[str]
    """SageMaker endpoint (name) serving an NLI cross-encoder, the grounding judge
    ``models.grounding.nliEndpoint`` of the app config: the chat worker (and the scheduled
    evaluation, which answers the same way) may invoke it alone. Default: none."""

    chat_max_concurrency: pulumi.Input[EventSourceConcurrency]
    """Event-source maximum concurrency of the chat worker; caps calls into rate-limited LLM
    APIs (2..1000). Default: 5."""
    ingest_max_concurrency: pulumi.Input[EventSourceConcurrency]
    """Event-source maximum concurrency of the ingest worker (protects the embedder). Default: 2."""
    fanout_reserved_concurrency: pulumi.Input[ReservedConcurrency]
    """Reserved concurrency of ``fanout_model`` (a quota guard; -1 = unreserved). Default: -1."""
    snap_start_workers: bool
    """Lambda SnapStart on the chat and ingest workers (the heavy imports: models, retrieval,
    chunking): each gets published versions and the alias ``live`` (``LambdaFunction.alias``),
    which their SQS event sources invoke. Default False."""
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
    public_api_rate_limit: pulumi.Input[ThrottleRate]
    """Steady requests/second of each public API route (all keys together). Default: 10."""
    public_api_burst_limit: pulumi.Input[ThrottleBurst]
    """Burst of each public API route. Default: 20."""
    alarm_email: pulumi.Input[str]
    """E-mail subscribed to the alarm topic. Default: none."""
    deployment_strategy: DeploymentStrategy
    """Publish versions of ``ROLLED_OUT_FUNCTIONS`` behind a ``live`` alias and declare their
    CodeDeploy deployment groups (``LambdaDeployments``), rolled back by this component's alarms.
    ``all_at_once``: Pulumi moves the alias at once (the groups serve manual rollouts);
    ``canary`` / ``linear``: Pulumi publishes, a CodeDeploy deployment shifts. Default: none (no
    versions, no deployment groups)."""
    deployment_percent: int
    """Canary first step / linear step, % of traffic. Default: 10."""
    deployment_interval_minutes: int
    """Minutes between steps. Default: 5."""
    websocket_access_logs: bool
    """JSON access logs of the WebSocket stage (and the account's API Gateway CloudWatch role
    they need; see ``WebSocketApiArgs.manage_account_logging``). Default: False."""
    alarm_set: AlarmSet
    """``essential`` (≤ 10 alarm metrics, CloudWatch's free tier) or ``full`` (every alarm of
    ``ChatAlarms`` and the composite "chat is down"). Default: ``full``."""
    alarm_thresholds: AlarmThresholds
    """Overrides of ``alarms.DEFAULT_THRESHOLDS``. Default: none."""
    sagemaker_endpoint_names: Mapping[str, pulumi.Input[str]]
    """Label → SageMaker endpoint name, each alarmed on for 5xx (``full``). Default: none."""
    lambda_error_alarms: LambdaErrorAlarms
    """One Errors alarm per function, or one on the account's aggregate Lambda Errors metric
    (cheaper: alarms cost $0.10/month each). Default: ``per_function``."""
    notification_emails: Sequence[str]
    """E-mails subscribed to ``document-changed``. Default: none."""
    statemachine_dir: str
    """Folder holding ``consensus_fanout.asl.json`` and ``reindex_workspace.asl.json``.
    Default: ``runtime/statemachines`` next to this package."""
    evaluation: ScheduledEvaluationArgs
    """Scheduled evaluation (``ScheduledEvaluation``: schedule, margin, concurrency...); its
    function gets the chat worker's model and store grants, its alarm the alarm topic.
    Default: none deployed."""
    bulk_ingestion: BulkIngestionArgs
    """The bulk ingestion workflow (``BulkIngestion``) and its ``bulk_ingest_batch`` function:
    ``source_bucket_names`` and the map's limits; the function and the results bucket (the
    documents bucket) are filled in here. Default: none (not deployed)."""


class ChatOrchestrator(pulumi.ComponentResource):
    """Everything between the browser and the models: the ten handler functions and, as
    components of their own, the tables (``ChatTables``), queues and topic
    (``ChatMessaging``), the WebSocket and HTTP APIs (``WebSocketApi``, ``HttpApi``), the
    workflows (``ChatWorkflows``) and the alarms (``ChatAlarms``).

    Example::

        import pulumi
        from chorus.components import Auth, ChatOrchestrator, Shared, VectorStore

        shared, auth = Shared("shared"), Auth("auth")
        store = VectorStore("docs", {"enable_aurora": False})
        chat = ChatOrchestrator("chat", {
            "code": pulumi.FileArchive("build/handlers.zip"),
            "layers": shared.layer_arns,
            "issuer_url": auth.issuer_url, "jwks_url": auth.jwks_url, "client_id": auth.client_id,
            "config_parameter_name": "/chorus/dev/config",
            "workspace_table_arn": store.workspace_table_arn,
            "document_table_arn": store.document_table_arn,
            "documents_bucket_arn": store.documents_bucket_arn,
            "ingest_queue_arn": store.ingest_queue_arn,
            "chunks_table_arn": store.chunks_table_arn,
        })
        pulumi.export("websocket", chat.websocket_url)
    """

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
    bulk_state_machine_arn: pulumi.Output[str] | None
    """Standard workflow of bulk ingestion (None without ``bulk_ingestion``)."""
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
        args = check_args(
            "ChatOrchestrator",
            name,
            ChatOrchestratorArgs,
            args,
            required=CHAT_REQUIRED,
            rules=[_cdn_header_rule, _ingest_source_rule],
        )
        super().__init__("chorus:index:ChatOrchestrator", name, {}, tagged(opts, args.get("tags")))
        self._name = name
        self._args = args
        invoke = pulumi.InvokeOptions(parent=self)
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._region = aws.get_region_output(opts=invoke).region
        self.functions: dict[str, LambdaFunction] = {}
        """Handler module → its ``LambdaFunction`` (Python-side, for wiring extra permissions)."""
        kms_key_arn = args.get("kms_key_arn")
        tables = ChatTables(
            name,
            {"kms_key_arn": kms_key_arn, "semantic_cache_table": args.get("semantic_cache_table")},
            opts=moved_under(self),
        )
        messaging = ChatMessaging(
            name,
            {
                "kms_key_arn": kms_key_arn,
                "consumer_timeout": args.get("chat_worker_timeout", 300),
                "notification_emails": args.get("notification_emails", []),
                "chat_path": args.get("chat_path", "queue"),
            },
            opts=moved_under(self),
        )
        self._chat_async = args.get("chat_path", "queue") == "async"
        self._ingest_events = args.get("ingest_rule_name") is not None
        # ``message`` invokes the chat worker, made after it: its name arrives deferred.
        chat_worker_name, resolve_chat_worker = pulumi.deferred_output()
        self._chat_worker_name = chat_worker_name
        # The handlers reply through the WebSocket API, which routes to the handlers: the API's
        # endpoint reaches them through deferred outputs, resolved once the API exists.
        ws_endpoint, resolve_endpoint = pulumi.deferred_output()
        ws_execution_arn, resolve_execution_arn = pulumi.deferred_output()
        stage_name = args.get("stage_name", "live")
        self._manage_connections = [manage_connections_arn(ws_execution_arn, stage_name)]
        self._base_env = {
            "CHORUS_CONFIG_PARAMETER": args["config_parameter_name"],
            "CHORUS_SESSIONS_TABLE": tables.sessions_table_name,
            "CHORUS_CONNECTIONS_TABLE": tables.connections_table_name,
            "CHORUS_WEBSOCKET_ENDPOINT": websocket_management_endpoint(ws_endpoint, stage_name),
            "POWERTOOLS_METRICS_NAMESPACE": "chorus",
        }
        try:
            self._websocket_handlers(tables, messaging)
            workflows = self._workers(tables, messaging)
            resolve_chat_worker(self.functions["chat_worker"].target_arn)
            ws = WebSocketApi(
                name,
                {
                    "handlers": {
                        module: _target(self.functions[module])
                        for module in dict.fromkeys(WEBSOCKET_ROUTES.values())
                    },
                    "routes": WEBSOCKET_ROUTES,
                    "authorizer": _target(self.functions["ws_authorizer"]),
                    "require_cdn_header": self._require_cdn,
                    "stage_name": stage_name,
                    "access_logs": args.get("websocket_access_logs", False),
                    "log_retention_days": args.get("log_retention_days", 14),
                    "kms_key_arn": kms_key_arn,
                    **_throttling(args),
                },
                opts=moved_under(self),
            )
        except BaseException:
            resolve_endpoint(pulumi.Output.from_input(""))  # never leave the handlers pending
            resolve_execution_arn(pulumi.Output.from_input(""))
            resolve_chat_worker(pulumi.Output.from_input(""))
            raise
        resolve_endpoint(ws.api_endpoint)
        resolve_execution_arn(ws.execution_arn)
        http = HttpApi(
            name,
            {
                "handler": _target(self.functions["rest_api"]),
                "routes": list(HTTP_ROUTES),
                "public_routes": list(PUBLIC_HTTP_ROUTES),
                "public_throttling_rate_limit": args.get("public_api_rate_limit", 10),
                "public_throttling_burst_limit": args.get("public_api_burst_limit", 20),
                "issuer_url": args["issuer_url"],
                "audience": args["client_id"],
                "cors_allowed_origins": args.get("cors_allowed_origins", ["http://localhost:5173"]),
                "log_retention_days": args.get("log_retention_days", 14),
                "kms_key_arn": kms_key_arn,
                **_throttling(args),
            },
            opts=moved_under(self),
        )
        self._event_paths(messaging)
        alarms = self._operations(messaging, workflows, ws, http, stage_name)
        self.evaluation: ScheduledEvaluation | None = None
        """The scheduled evaluation (None unless ``evaluation`` is given)."""
        if args.get("evaluation") is not None:
            self.evaluation = self._scheduled_evaluation(alarms)

        self.websocket_url = ws.url
        self.http_api_url = http.url
        self.chat_queue_url = messaging.chat_queue_url
        self.document_changed_topic_arn = messaging.document_changed_topic_arn
        self.fanout_state_machine_arn = workflows.fanout_state_machine_arn
        self.reindex_state_machine_arn = workflows.reindex_state_machine_arn
        self.bulk_state_machine_arn = self._bulk.state_machine_arn if self._bulk else None
        self.connections_table_name = tables.connections_table_name
        self.sessions_table_name = tables.sessions_table_name
        self.idempotency_table_name = tables.idempotency_table_name
        self.idempotency_table_arn = tables.idempotency_table_arn
        self.semantic_cache_table_name = tables.answer_cache_table_name
        self.alarm_topic_arn = alarms.alarm_topic_arn
        self.function_names = pulumi.Output.all(
            **{module: fn.function_name for module, fn in self.functions.items()}
        )
        readers = [
            self.functions[m].role_arn
            for m in (*AURORA_CLIENTS, *OPTIONAL_AURORA_CLIENTS)
            if m in self.functions
        ]
        if self.evaluation is not None:  # it retrieves from the stores as the chat worker does
            readers.append(self.evaluation.function_role_arn)
        self.worker_role_arns = pulumi.Output.all(*readers)
        self.register_outputs(
            {
                "websocket_url": self.websocket_url,
                "http_api_url": self.http_api_url,
                "chat_queue_url": self.chat_queue_url,
                "document_changed_topic_arn": self.document_changed_topic_arn,
                "fanout_state_machine_arn": self.fanout_state_machine_arn,
                "reindex_state_machine_arn": self.reindex_state_machine_arn,
                "bulk_state_machine_arn": self.bulk_state_machine_arn,
                "connections_table_name": self.connections_table_name,
                "sessions_table_name": self.sessions_table_name,
                "idempotency_table_name": self.idempotency_table_name,
                "idempotency_table_arn": self.idempotency_table_arn,
                "alarm_topic_arn": self.alarm_topic_arn,
                "function_names": self.function_names,
                "worker_role_arns": self.worker_role_arns,
            }
        )

    # -- operations -----------------------------------------------------------------------------

    def _operations(
        self,
        messaging: ChatMessaging,
        workflows: ChatWorkflows,
        ws: WebSocketApi,
        http: HttpApi,
        stage_name: pulumi.Input[str],
    ) -> ChatAlarms:
        """The alarms on what users feel and, with ``deployment_strategy``, the CodeDeploy
        groups they roll back; returns the alarms."""
        args, name = self._args, self._name
        # With the async chat path one dead-letter queue keeps both the chat jobs and the
        # invalidations that failed (one alarm instead of two), and no chat queue can age.
        dead_letter_queues: dict[str, pulumi.Input[str]] = {"chat": messaging.chat_dlq_name}
        queues: dict[str, pulumi.Input[str]] = {}
        async_functions: dict[str, pulumi.Input[str]] = {}
        if self._chat_async:
            async_functions["chat"] = self.functions["chat_worker"].function_name
        else:
            dead_letter_queues["cache-invalidation"] = messaging.invalidation_dlq_name
            queues["chat"] = _queue_name(messaging.chat_queue_arn)
        if args.get("ingest_dlq_name") is not None:
            dead_letter_queues["ingest"] = args["ingest_dlq_name"]
        if self._sources_dlq is not None:
            dead_letter_queues["sources"] = self._sources_dlq.queue_name
        if args.get("ingest_queue_arn") is not None:
            queues["ingest"] = _queue_name(args["ingest_queue_arn"])
        else:
            async_functions["ingest"] = self.functions["ingest_worker"].function_name
        alarm_args: ChatAlarmsArgs = {
            "alarm_set": args.get("alarm_set", "full"),
            "thresholds": args.get("alarm_thresholds", {}),
            "dead_letter_queues": dead_letter_queues,
            "queues": queues,
            "async_functions": async_functions,
            "functions": {m: fn.function_name for m, fn in self.functions.items()},
            "lambda_error_alarms": args.get("lambda_error_alarms", "per_function"),
            "http_api_id": http.api_id,
            "websocket_api_id": ws.api_id,
            "websocket_stage": stage_name,
            "state_machines": {
                "fanout": workflows.fanout_state_machine_arn,
                "reindex": workflows.reindex_state_machine_arn,
            },
            "sagemaker_endpoints": dict(args.get("sagemaker_endpoint_names") or {}),
            "alarm_email": args.get("alarm_email"),
            "kms_key_arn": args.get("kms_key_arn"),
        }
        if args.get("cluster_arn") is not None:
            alarm_args["aurora_cluster_id"] = _queue_name(args["cluster_arn"])
        alarms = ChatAlarms(name, alarm_args, opts=moved_under(self))
        self.alarms = alarms
        """The ``ChatAlarms`` (Python-side: deployment groups and dashboards read its alarms)."""
        self.observed: ChatAlarmsArgs = alarm_args
        """What the alarms watch (queues, DLQs, functions, APIs, workflows...): the dashboard
        draws the same resources."""
        self.deployments: LambdaDeployments | None = None
        """CodeDeploy groups of the published functions (None without ``deployment_strategy``)."""
        if args.get("deployment_strategy") is not None:
            self.deployments = LambdaDeployments(
                name,
                {
                    "functions": {
                        m: {"function_name": fn.function_name, "alias_name": fn.alias_name}
                        for m, fn in self.functions.items()
                        # sync_sources publishes for its asynchronous callers, not rollouts
                        if fn.alias_name is not None and m in ROLLED_OUT_FUNCTIONS
                    },
                    "strategy": args["deployment_strategy"],
                    "percent": args.get("deployment_percent", 10),
                    "interval_minutes": args.get("deployment_interval_minutes", 5),
                    "alarm_names": alarms.alarm_names,
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
        return alarms

    # -- the functions --------------------------------------------------------------------------

    def _function(self, module: str, statements: list[Statement], **extra) -> LambdaFunction:
        """``<name>-<module>``: the handler ``runtime.handlers.<module>`` with the app config
        readable, the common environment and its own statements."""
        args = self._args
        env = {**self._base_env, **extra.pop("environment", {})}
        config_arn = parameter_arn(args["config_parameter_name"], self._region, self._account)
        strategy = args.get("deployment_strategy")
        if strategy is not None and module in ROLLED_OUT_FUNCTIONS:
            extra.update(publish=True, alias_shifted_by_codedeploy=strategy != "all_at_once")
        fn_args: LambdaFunctionArgs = {
            "handler": f"{HANDLERS}.{module}.handler",
            "code": args["code"],
            "layers": args.get("layers", []),
            "environment": env,
            "statements": [allow("ReadAppConfig", ["ssm:GetParameter"], [config_arn]), *statements],
            "kms_key_arn": args.get("kms_key_arn"),
            "log_retention_days": args.get("log_retention_days", 14),
            **extra,
        }
        fn = LambdaFunction(
            f"{self._name}-{module.replace('_', '-')}",
            fn_args,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.functions[module] = fn
        return fn

    @property
    def _in_vpc(self) -> dict:
        """VPC attachment of the functions that open PostgreSQL connections."""
        if self._args.get("subnet_ids") is None:
            return {}
        return {
            "subnet_ids": self._args["subnet_ids"],
            "security_group_ids": self._args.get("security_group_ids", []),
        }

    @property
    def _require_cdn(self) -> pulumi.Input[bool]:
        return self._args.get(
            "require_cdn_header", self._args.get("cdn_secret_parameter_name") is not None
        )

    def _cdn_check(self) -> tuple[list[Statement], dict[str, pulumi.Input[str]]]:
        """What the authorizer and ``rest_api`` need to check the CDN header: reading its
        secret and the environment naming it (nothing without a CDN)."""
        parameter = self._args.get("cdn_secret_parameter_name")
        required = pulumi.Output.from_input(self._require_cdn).apply(
            lambda on: "true" if on else "false"
        )
        if parameter is None:
            return [], {"CHORUS_REQUIRE_CDN_HEADER": required}
        arn = parameter_arn(parameter, self._region, self._account)
        return [allow("ReadCdnSecret", ["ssm:GetParameter"], [arn])], {
            "CHORUS_CDN_SECRET_PARAMETER": parameter,
            "CHORUS_CDN_SECRET_HEADER": CDN_SECRET_HEADER,
            "CHORUS_REQUIRE_CDN_HEADER": required,
        }

    def _websocket_handlers(self, tables: ChatTables, messaging: ChatMessaging) -> None:
        args = self._args
        read_cdn_secret, cdn_env = self._cdn_check()
        workspace_table = args["workspace_table_arn"]
        self._function(
            "ws_authorizer",
            [
                *read_cdn_secret,
                # a connection opened with a public API key: the key's item, read only
                allow("CheckApiKey", ["dynamodb:GetItem"], [workspace_table]),
            ],
            environment={
                "CHORUS_ISSUER_URL": args["issuer_url"],
                "CHORUS_JWKS_URL": args["jwks_url"],
                "CHORUS_CLIENT_ID": args["client_id"],
                "CHORUS_WORKSPACE_TABLE": table_name_of(workspace_table),
                **cdn_env,
            },
            memory_size=256,
            timeout=10,
        )
        connections, sessions = tables.connections_table_arn, tables.sessions_table_arn
        self._function(
            "ws_connect",
            [allow("StoreConnection", ["dynamodb:PutItem"], [connections])],
            memory_size=256,
            timeout=10,
        )
        self._function(
            "ws_disconnect",
            [allow("DeleteConnection", ["dynamodb:DeleteItem"], [connections])],
            memory_size=256,
            timeout=10,
        )
        self._function(
            "ws_message",
            [
                allow("StoreTurn", READ_ITEMS + WRITE_ITEMS, table_and_indexes(sessions)),
                allow(
                    "TrackConnection", ["dynamodb:DeleteItem", "dynamodb:GetItem"], [connections]
                ),
                allow("ReadWorkspace", READ_ITEMS, table_and_indexes(workspace_table)),
                # each question on a key's connection spends from the key's plan (its item)
                allow("SpendApiKey", ["dynamodb:UpdateItem"], [workspace_table]),
                *(
                    []  # invoking the chat worker is granted once it exists (_event_paths)
                    if self._chat_async
                    else [allow("EnqueueChat", ["sqs:SendMessage"], [messaging.chat_queue_arn])]
                ),
                allow("ReplyToClient", ["execute-api:ManageConnections"], self._manage_connections),
                *kms_statements(args.get("kms_key_arn"), encrypt=True),
            ],
            environment=(
                {"CHORUS_CHAT_WORKER_FUNCTION": self._chat_worker_name}
                if self._chat_async
                else {"CHORUS_CHAT_QUEUE_URL": messaging.chat_queue_url}
            ),
            memory_size=512,
            timeout=15,
        )

    def _workers(self, tables: ChatTables, messaging: ChatMessaging) -> ChatWorkflows:
        """The fan-out tasks, the indexing functions, the workflows, the chat worker and
        ``rest_api``; returns the workflows."""
        args = self._args
        llm_access = self._llm_statements(args)
        fanout_model = self._function(
            "fanout_model",
            [
                *llm_access,
                allow("StreamTokens", ["execute-api:ManageConnections"], self._manage_connections),
            ],
            timeout=120,
            memory_size=512,
            reserved_concurrency=args.get("fanout_reserved_concurrency", -1),
        )
        agreement = self._function(
            "fanout_agreement",
            [s for s in llm_access if s["Sid"] == "InvokeSageMakerEndpoints"],
            timeout=60,
            memory_size=512,
        )
        reindex_document = self._indexers(tables, messaging, llm_access)
        self._sources_dlq: DeadLetterQueue | None = None
        if args.get("sources_sync", False):
            self._sources_sync(messaging, llm_access)
        self._bulk = self._bulk_ingestion()
        workflows = ChatWorkflows(
            self._name,
            {
                "fanout_model_arn": fanout_model.target_arn,
                "fanout_agreement_arn": agreement.target_arn,
                "reindex_document_arn": reindex_document.target_arn,
                "statemachine_dir": args.get("statemachine_dir", str(DEFAULT_STATEMACHINE_DIR)),
                "kms_key_arn": args.get("kms_key_arn"),
                "log_retention_days": args.get("log_retention_days", 14),
            },
            opts=moved_under(self),
        )
        self._chat_worker(tables, messaging, llm_access, workflows)
        self._rest_api(tables, messaging, workflows, llm_access)
        return workflows

    def _chat_worker(
        self,
        tables: ChatTables,
        messaging: ChatMessaging,
        llm_access: list[Statement],
        workflows: ChatWorkflows,
    ) -> None:
        args = self._args
        checks = self._answer_checks()
        answer_cache: list[Statement] = []
        if tables.answer_cache_table_arn is not None:
            answer_cache = [
                allow("UseAnswerCache", ANSWER_CACHE_ACTIONS, [tables.answer_cache_table_arn])
            ]
        connections = tables.connections_table_arn
        self._chat_statements = [
            *llm_access,
            *checks,
            *self._store_statements(args, writes=False),
            *self._kendra_retrieve(args),
            allow(
                "StoreTurn", READ_ITEMS + WRITE_ITEMS, table_and_indexes(tables.sessions_table_arn)
            ),
            allow("ReadWorkspaces", READ_ITEMS, table_and_indexes(args["workspace_table_arn"])),
            allow("ReadDocuments", READ_ITEMS, table_and_indexes(args["document_table_arn"])),
        ]
        """What answering a question needs (the scheduled evaluation asks the same way)."""
        self._function(
            "chat_worker",
            [
                *llm_access,
                *checks,
                *self._store_statements(args, writes=False),
                *self._kendra_retrieve(args),
                *self._knowledge_base_retrieve(args),
                allow(
                    "StoreTurn",
                    READ_ITEMS + WRITE_ITEMS,
                    table_and_indexes(tables.sessions_table_arn),
                ),
                allow("ReadConnections", READ_ITEMS, table_and_indexes(connections)),
                allow("ForgetGoneConnections", ["dynamodb:DeleteItem"], [connections]),
                allow("IdempotencyRecords", IDEMPOTENCY_ACTIONS, [tables.idempotency_table_arn]),
                allow("ReadWorkspaces", READ_ITEMS, table_and_indexes(args["workspace_table_arn"])),
                allow("ReadDocuments", READ_ITEMS, table_and_indexes(args["document_table_arn"])),
                allow(
                    "StreamToClient", ["execute-api:ManageConnections"], self._manage_connections
                ),
                allow(
                    "RunFanout",
                    ["states:StartSyncExecution"],
                    [workflows.fanout_state_machine_arn],
                ),
                *answer_cache,
                *self._chat_source_statements(messaging),
            ],
            environment={"CHORUS_FANOUT_STATE_MACHINE_ARN": workflows.fanout_state_machine_arn},
            timeout=args.get("chat_worker_timeout", 300),
            memory_size=1024,
            # async: the reserved concurrency is the cap toward rate-limited model APIs (Lambda
            # keeps throttled events and retries them with backoff up to their maximum age)
            **(
                {"reserved_concurrency": args.get("chat_max_concurrency", 5)}
                if self._chat_async
                else {}
            ),
            snap_start=args.get("snap_start_workers", False),
            **self._in_vpc,
        )

    def _scheduled_evaluation(self, alarms: ChatAlarms) -> ScheduledEvaluation:
        """The scheduled evaluation, its function granted what the chat worker needs to answer
        (models, stores, turns) and nothing of its delivery (connections, queues, fan-out)."""
        args = self._args
        config_arn = parameter_arn(args["config_parameter_name"], self._region, self._account)
        evaluation: ScheduledEvaluationArgs = {
            "code": args["code"],
            "layers": args.get("layers", []),
            "environment": self._base_env,
            "statements": [
                allow("ReadAppConfig", ["ssm:GetParameter"], [config_arn]),
                *self._chat_statements,
            ],
            "workspace_table_arn": args["workspace_table_arn"],
            "alarm_topic_arn": alarms.alarm_topic_arn,
            "kms_key_arn": args.get("kms_key_arn"),
            "log_retention_days": args.get("log_retention_days", 14),
            "statemachine_dir": args.get("statemachine_dir", str(DEFAULT_STATEMACHINE_DIR)),
            **args["evaluation"],
            **self._in_vpc,
        }
        return ScheduledEvaluation(self._name, evaluation, opts=pulumi.ResourceOptions(parent=self))

    def _chat_source_statements(self, messaging: ChatMessaging) -> list[Statement]:
        """Consume the chat and invalidation queues, or send failed events to the chat DLQ."""
        if not self._chat_async:
            return [
                allow(
                    "ConsumeQueues",
                    CONSUME_QUEUE_ACTIONS,
                    [messaging.chat_queue_arn, messaging.invalidation_queue_arn],
                )
            ]
        return [
            allow("DeadLetterFailedEvents", ["sqs:SendMessage"], [messaging.chat_dlq_arn]),
            *kms_statements(self._args.get("kms_key_arn"), encrypt=True),
        ]

    def _indexers(
        self, tables: ChatTables, messaging: ChatMessaging, llm_access: list[Statement]
    ) -> LambdaFunction:
        """The ingest worker and ``reindex_document``; returns the latter (a workflow task)."""
        args = self._args
        kms_key_arn = args.get("kms_key_arn")
        bucket_arn = args["documents_bucket_arn"]
        self._topic_arn = topic = messaging.document_changed_topic_arn
        doc_table, ws_table = args["document_table_arn"], args["workspace_table_arn"]
        self._ingest_statements = ingest_statements = [
            *self._store_statements(args, writes=True),
            *self._kendra_metadata(args),
            *[s for s in llm_access if s["Sid"] in ("InvokeSageMakerEndpoints", "InvokeBedrock")],
            allow("ReadUploads", ["s3:GetObject", "s3:GetObjectVersion"], [_uploads(bucket_arn)]),
            # HeadObject answers 404 for a missing key only with s3:ListBucket (else 403); the
            # ingest path tells "deleted" from "replaced" by that 404, so the grant has no
            # prefix condition (HeadObject's request context carries no s3:prefix).
            allow("ListUploadsForNotFound", ["s3:ListBucket"], [bucket_arn]),
            allow("TrackDocuments", READ_ITEMS + WRITE_ITEMS, table_and_indexes(doc_table)),
            allow("ReadWorkspaces", READ_ITEMS, table_and_indexes(ws_table)),
            allow("AnnounceChanges", ["sns:Publish"], [topic]),
            *kms_statements(kms_key_arn, encrypt=True),
        ]
        # A document too large to embed in one invocation: the embeddings so far go to
        # ingest-staging/ (outside the notified workspaces/ prefix) and the next invocation
        # resumes from them — the ingest worker's through a continuation message to its own
        # queue, a re-index's through the workflow's Choice loop (runtime/cloud/ingest.py).
        stage_embeddings = allow(
            "StageEmbeddings",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            [pulumi.Output.concat(bucket_arn, "/ingest-staging/*")],
        )
        ingest_env: dict[str, pulumi.Input[str]] = {"CHORUS_DOCUMENT_CHANGED_TOPIC_ARN": topic}
        continuation: list[Statement] = []
        source: list[Statement]
        if self._ingest_events:
            # The continuation is an asynchronous invocation of the worker itself (granted once
            # the function exists, _event_paths); failed events go to the ingest DLQ.
            ingest_env["CHORUS_INGEST_CONTINUATION"] = "invoke"
            continuation = [stage_embeddings]
            source = [
                allow("DeadLetterFailedEvents", ["sqs:SendMessage"], [args["ingest_dlq_arn"]])
            ]
        else:
            source = [
                allow("ConsumeIngestQueue", CONSUME_QUEUE_ACTIONS, [args["ingest_queue_arn"]])
            ]
        if not self._ingest_events and args.get("ingest_queue_url") is not None:
            ingest_env["CHORUS_INGEST_QUEUE_URL"] = args["ingest_queue_url"]
            continuation = [
                allow("ContinueLargeDocuments", ["sqs:SendMessage"], [args["ingest_queue_arn"]]),
                stage_embeddings,
            ]
        ingest_timeout = args.get("ingest_worker_timeout", 900)
        self._function(
            "ingest_worker",
            [
                *ingest_statements,
                *continuation,
                allow("IdempotencyRecords", IDEMPOTENCY_ACTIONS, [tables.idempotency_table_arn]),
                *source,
            ],
            environment=ingest_env,
            timeout=ingest_timeout,
            memory_size=2048,
            **(
                {"reserved_concurrency": args.get("ingest_max_concurrency", 2)}
                if self._ingest_events
                else {}
            ),
            snap_start=args.get("snap_start_workers", False),
            **self._in_vpc,
        )
        return self._function(
            "reindex_document",
            [*ingest_statements, stage_embeddings],
            environment={"CHORUS_DOCUMENT_CHANGED_TOPIC_ARN": topic},
            timeout=ingest_timeout,
            memory_size=2048,
            **self._in_vpc,
        )

    def _answer_checks(self) -> list[Statement]:
        """What shapes and checks an answer beyond the models: the guardrail, the reranker
        (Bedrock, or a SageMaker endpoint the stack does not host) and the NLI grounding judge,
        each on its configured resource alone."""
        args = self._args
        statements: list[Statement] = []
        if args.get("guardrail_id") is not None:
            arn = guardrail_arn(args["guardrail_id"], self._region, self._account)
            statements.append(allow("ApplyGuardrail", ["bedrock:ApplyGuardrail"], [arn]))
        if args.get("rerank_model") is not None:
            model = bedrock_model_arn(args["rerank_model"], self._region)
            statements += [
                allow("Rerank", ["bedrock:Rerank"], ["*"]),
                allow("InvokeRerankModel", ["bedrock:InvokeModel"], [model]),
            ]
        endpoints = {"InvokeRerankEndpoint": "rerank_endpoint", "InvokeNliEndpoint": "nli_endpoint"}
        for sid, key in endpoints.items():
            if args.get(key) is not None:
                endpoint = sagemaker_endpoint_arn(args[key], self._region, self._account)
                statements.append(allow(sid, ["sagemaker:InvokeEndpoint"], [endpoint]))
        return statements

    def _public_answers(
        self, tables: ChatTables, workflows: ChatWorkflows, llm_access: list[Statement]
    ) -> list[Statement]:
        """What answering a public API question needs beyond the REST API's grants: the models
        (``llm_access``), the fan-out workflow, the guardrail and the answer cache — the chat
        worker's answering grants, without its connections and queues."""
        statements = [
            *llm_access,
            allow("RunFanout", ["states:StartSyncExecution"], [workflows.fanout_state_machine_arn]),
            *self._answer_checks(),
        ]
        if tables.answer_cache_table_arn is not None:
            statements.append(
                allow("UseAnswerCache", ANSWER_CACHE_ACTIONS, [tables.answer_cache_table_arn])
            )
        return statements

    def _bulk_ingestion(self) -> BulkIngestion | None:
        """``bulk_ingest_batch`` (the indexers' grants, plus reading the source buckets and
        recording progress in the workspace table) and the Distributed Map workflow over it."""
        bulk = self._args.get("bulk_ingestion")
        if bulk is None:
            return None
        sources = list(bulk.get("source_bucket_names", []))
        timeout = bulk.get("batch_timeout_seconds", 280)
        batch = self._function(
            "bulk_ingest_batch",
            [
                *self._ingest_statements,
                allow("ReadSources", ["s3:GetObject"], [f"arn:aws:s3:::{b}/*" for b in sources]),
                allow(
                    "RecordBulkProgress",
                    ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                    [self._args["workspace_table_arn"]],
                ),
            ],
            environment={"CHORUS_DOCUMENT_CHANGED_TOPIC_ARN": self._topic_arn},
            timeout=timeout,  # under Express children's 5 minutes
            memory_size=2048,
            **self._in_vpc,
        )
        results_bucket = pulumi.Output.from_input(self._args["documents_bucket_arn"]).apply(
            lambda arn: arn.split(":::", 1)[-1]
        )
        return BulkIngestion(
            self._name,
            {
                **bulk,
                "batch_function_arn": batch.target_arn,
                "results_bucket_name": results_bucket,
                "kms_key_arn": self._args.get("kms_key_arn"),
                "log_retention_days": self._args.get("log_retention_days", 14),
            },
            opts=moved_under(self),
        )

    def _bulk_starts(self) -> list[Statement]:
        """What starting a bulk ingestion from the REST API needs: check the source lists
        (only the configured buckets) and start the workflow (progress is read from the
        workspace table, which it manages already)."""
        if self._bulk is None:
            return []
        bulk = self._args["bulk_ingestion"]
        sources = [f"arn:aws:s3:::{b}" for b in bulk.get("source_bucket_names", [])]
        return [
            allow("CheckBulkSources", ["s3:ListBucket"], sources),
            allow("StartBulkIngestion", ["states:StartExecution"], [self._bulk.state_machine_arn]),
        ]

    def _rest_api(
        self,
        tables: ChatTables,
        messaging: ChatMessaging,
        workflows: ChatWorkflows,
        llm_access: list[Statement],
    ) -> None:
        """The REST API and the public API. The API keys are items of the workspace table
        (``ManageWorkspaces`` covers them: IAM cannot narrow a grant by sort-key prefix)."""
        args = self._args
        bucket_arn = args["documents_bucket_arn"]
        read_cdn_secret, cdn_env = self._cdn_check()
        manage = READ_ITEMS + WRITE_ITEMS
        sources_grant: list[Statement] = []
        sources_env: dict[str, pulumi.Input[str]] = {}
        sync = self.functions.get("sync_sources")
        if sync is not None:  # rest_api hands sources over; it never fetches or embeds
            sources_grant = [allow("HandOverSources", ["lambda:InvokeFunction"], [sync.target_arn])]
            sources_env = {"CHORUS_SOURCES_SYNC_FUNCTION": sync.target_arn}
        self._function(
            "rest_api",
            [
                *self._store_statements(args, writes=True),
                *self._kendra_retrieve(args),
                *self._knowledge_base_retrieve(args),
                allow("ManageWorkspaces", manage, table_and_indexes(args["workspace_table_arn"])),
                allow("ManageDocuments", manage, table_and_indexes(args["document_table_arn"])),
                allow("ManageSessions", manage, table_and_indexes(tables.sessions_table_arn)),
                allow(
                    "PresignUploads", ["s3:DeleteObject", "s3:PutObject"], [_uploads(bucket_arn)]
                ),
                allow(
                    "ListUploads",
                    ["s3:ListBucket"],
                    [bucket_arn],
                    {"StringLike": {"s3:prefix": [f"{RUNTIME_DOCUMENTS_PREFIX}*"]}},
                ),
                allow(
                    "StartReindex",
                    ["states:StartExecution"],
                    [workflows.reindex_state_machine_arn],
                ),
                allow("AnnounceChanges", ["sns:Publish"], [messaging.document_changed_topic_arn]),
                *self._public_answers(tables, workflows, llm_access),
                *self._bulk_starts(),
                *read_cdn_secret,
                *kms_statements(args.get("kms_key_arn"), encrypt=True),
                *sources_grant,
            ],
            environment={
                "CHORUS_REINDEX_STATE_MACHINE_ARN": workflows.reindex_state_machine_arn,
                **(
                    {"CHORUS_BULK_STATE_MACHINE_ARN": self._bulk.state_machine_arn}
                    if self._bulk
                    else {}
                ),
                **cdn_env,
                **sources_env,
            },
            timeout=29,
            memory_size=512,
            **self._in_vpc,
        )

    def _sources_sync(self, messaging: ChatMessaging, llm_access: list[Statement]) -> None:
        """``sync_sources``: fetches sources into workspaces (embedder, store writes, document
        and workspace records — the ledger is workspace-table items), optionally on a schedule.

        It is only ever invoked asynchronously (``rest_api``'s hand-overs, the schedule), through
        its ``live`` alias: Lambda retries a failed hand-over and then keeps it, with why it
        failed, in ``<name>-sources-failed`` (alarmed on), instead of dropping it."""
        args = self._args
        kms_key_arn = args.get("kms_key_arn")
        topic = messaging.document_changed_topic_arn
        manage = READ_ITEMS + WRITE_ITEMS
        failed = DeadLetterQueue(
            f"{self._name}-sources-failed",
            {"kms_key_arn": kms_key_arn},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._sources_dlq = failed
        sync = self._function(
            "sync_sources",
            [
                *self._store_statements(args, writes=True),
                *[
                    s
                    for s in llm_access
                    if s["Sid"] in ("InvokeSageMakerEndpoints", "InvokeBedrock")
                ],
                allow("TrackDocuments", manage, table_and_indexes(args["document_table_arn"])),
                allow("TrackSources", manage, table_and_indexes(args["workspace_table_arn"])),
                allow("AnnounceChanges", ["sns:Publish"], [topic]),
                # Lambda's on-failure destination sends with the function's own role
                allow("DeadLetterFailedEvents", ["sqs:SendMessage"], [failed.queue_arn]),
                *kms_statements(kms_key_arn, encrypt=True),
            ],
            environment={"CHORUS_DOCUMENT_CHANGED_TOPIC_ARN": topic},
            timeout=900,
            memory_size=2048,
            reserved_concurrency=2,
            publish=True,  # callers invoke the alias: its event invoke configuration applies
            **self._in_vpc,
        )
        self._on_failure(
            "sources",
            sync,
            failed.queue_arn,
            SOURCES_RETRY_ATTEMPTS,
            SOURCES_MAX_EVENT_AGE_SECONDS,
        )
        rate = args.get("sources_sync_rate")
        if rate is None:
            return
        role = aws.iam.Role(
            f"{self._name}-sources-schedule-role",
            assume_role_policy=assume_role_policy("scheduler.amazonaws.com", self._account),
            description="EventBridge Scheduler: invokes sync_sources (its live alias) only",
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-sources-schedule-policy",
            role=role.name,
            policy=policy_json(
                [
                    allow("InvokeSyncSources", ["lambda:InvokeFunction"], [sync.target_arn]),
                    # the schedule's dead-letter events are sent with this role
                    allow("DeadLetterUndelivered", ["sqs:SendMessage"], [failed.queue_arn]),
                    *kms_statements(kms_key_arn, encrypt=True),
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.scheduler.Schedule(
            f"{self._name}-sources-schedule",
            description="Re-fetch due web and feed sources (ETag/Last-Modified: idempotent)",
            schedule_expression=rate,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(
                mode="FLEXIBLE", maximum_window_in_minutes=15
            ),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=sync.target_arn,
                role_arn=role.arn,
                input=json.dumps({"minAgeSeconds": rate_seconds(rate) // 2}),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
                ),
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(
                    arn=failed.queue_arn
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _event_paths(self, messaging: ChatMessaging) -> None:
        """How events reach the workers: SQS event sources (``queue``), or asynchronous
        invocation (``async`` chat, ``eventbridge`` ingestion) with retries, a maximum event
        age and an on-failure dead-letter queue that keeps the event."""
        args = self._args
        chat_worker, ingest_worker = self.functions["chat_worker"], self.functions["ingest_worker"]
        sources: list[tuple[str, LambdaFunction, pulumi.Input[str], pulumi.Input[int], int]] = []
        if self._chat_async:
            self._async_chat(messaging, chat_worker)
        else:
            chat_concurrency = args.get("chat_max_concurrency", 5)
            sources += [
                ("chat", chat_worker, messaging.chat_queue_arn, chat_concurrency, 1),
                ("cache", chat_worker, messaging.invalidation_queue_arn, 2, 10),
            ]
        if self._ingest_events:
            self._ingest_rule_target(ingest_worker)
        else:
            ingest_concurrency = args.get("ingest_max_concurrency", 2)
            sources.append(
                ("ingest", ingest_worker, args["ingest_queue_arn"], ingest_concurrency, 5)
            )
        for source, fn, arn, concurrency, batch in sources:
            aws.lambda_.EventSourceMapping(
                f"{self._name}-{source}-source",
                event_source_arn=arn,
                function_name=fn.target_arn,
                batch_size=batch,
                maximum_batching_window_in_seconds=0 if batch == 1 else 1,
                function_response_types=["ReportBatchItemFailures"],
                scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                    maximum_concurrency=concurrency
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[fn]),
            )

    def _on_failure(
        self,
        label: str,
        fn: LambdaFunction,
        dlq_arn: pulumi.Input[str],
        retries: pulumi.Input[int],
        max_age: pulumi.Input[int],
    ) -> None:
        """Lambda's asynchronous retries of ``fn`` (about 1 then 2 minutes apart), how long a
        throttled or failing event is kept, and the SQS queue its record goes to at the end."""
        aws.lambda_.FunctionEventInvokeConfig(
            f"{self._name}-{label}-async",
            function_name=fn.function_name,
            qualifier=fn.qualifier,  # callers invoke the alias: its configuration applies
            maximum_retry_attempts=retries,
            maximum_event_age_in_seconds=max_age,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=dlq_arn
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[fn]),
        )

    def _invoke_grant(self, label: str, role_of: LambdaFunction, target: LambdaFunction) -> None:
        """Let ``role_of`` invoke ``target`` (made after both exist: no cycle)."""
        aws.iam.RolePolicy(
            f"{self._name}-{label}-invoke",
            role=role_of.role_name,
            policy=policy_json(
                [allow("InvokeAsync", ["lambda:InvokeFunction"], [target.target_arn])]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _async_chat(self, messaging: ChatMessaging, chat_worker: LambdaFunction) -> None:
        """``message`` → chat worker (asynchronous invocation), ``document-changed`` → chat
        worker (SNS invokes it), failures → the chat DLQ."""
        args = self._args
        self._on_failure(
            "chat",
            chat_worker,
            messaging.chat_dlq_arn,
            args.get("chat_retry_attempts", 1),
            args.get("chat_max_event_age_seconds", 3600),
        )
        self._invoke_grant("ws-message-chat", self.functions["ws_message"], chat_worker)
        topic = messaging.document_changed_topic_arn
        permission = aws.lambda_.Permission(
            f"{self._name}-document-changed-invoke",
            action="lambda:InvokeFunction",
            function=chat_worker.function_name,
            qualifier=chat_worker.qualifier,
            principal="sns.amazonaws.com",
            source_arn=topic,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicSubscription(
            f"{self._name}-document-changed-to-chat-worker",
            topic=topic,
            protocol="lambda",
            endpoint=chat_worker.target_arn,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": messaging.chat_dlq_arn}
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

    def _ingest_rule_target(self, ingest_worker: LambdaFunction) -> None:
        """The documents' EventBridge rule → ingest worker, both hops retried and dead-lettered;
        the worker may invoke itself to continue a large document."""
        args = self._args
        retries = args.get("ingest_retry_attempts", 2)
        max_age = args.get("ingest_max_event_age_seconds", 21600)
        self._on_failure("ingest", ingest_worker, args["ingest_dlq_arn"], retries, max_age)
        self._invoke_grant("ingest-continuation", ingest_worker, ingest_worker)
        permission = aws.lambda_.Permission(
            f"{self._name}-ingest-events-invoke",
            action="lambda:InvokeFunction",
            function=ingest_worker.function_name,
            qualifier=ingest_worker.qualifier,
            principal="events.amazonaws.com",
            source_arn=args["ingest_rule_arn"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-ingest-events-target",
            rule=args["ingest_rule_name"],
            arn=ingest_worker.target_arn,
            # EventBridge's own delivery (the invocation request) is retried for the same age;
            # what it cannot deliver lands in the same dead-letter queue.
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=max_age, maximum_retry_attempts=185
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                arn=args["ingest_dlq_arn"]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

    # -- statements -----------------------------------------------------------------------------

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

    def _knowledge_base_retrieve(self, args: ChatOrchestratorArgs) -> list[Statement]:
        """Knowledge bases are retrieve-only: ``bedrock:Retrieve`` on the configured ones."""
        ids = list(args.get("knowledge_base_ids") or [])
        if not ids:
            return []
        arns = [knowledge_base_arn(i, self._region, self._account) for i in ids]
        return [allow("RetrieveKnowledgeBases", ["bedrock:Retrieve"], arns)]

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


READ_ITEMS = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
WRITE_ITEMS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]


def _uploads(bucket_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The objects under the runtime's documents prefix."""
    return pulumi.Output.concat(bucket_arn, "/", RUNTIME_DOCUMENTS_PREFIX, "*")


def _queue_name(arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The last ``:`` part of an ARN (a queue's name, an Aurora cluster's identifier)."""
    return pulumi.Output.from_input(arn).apply(lambda value: value.rsplit(":", 1)[-1])


def _target(fn: LambdaFunction) -> LambdaTargetArgs:
    target: LambdaTargetArgs = {
        "function_name": fn.function_name,
        "invoke_arn": fn.target_invoke_arn,
    }
    if fn.alias is not None:
        target["qualifier"] = fn.alias.name
    return target


def _throttling(args: ChatOrchestratorArgs) -> dict:
    return {
        key: args[key]  # type: ignore[literal-required]
        for key in ("throttling_rate_limit", "throttling_burst_limit")
        if args.get(key) is not None
    }
