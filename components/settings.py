"""The stack's configuration as one validated, typed object (pure pydantic: no Pulumi here).

``__main__.py`` fills it from ``pulumi.Config``; ``chorus cost`` fills it from
``Pulumi.<stack>.yaml``. Keys live in the ``chorus`` namespace and are camelCase in YAML
(``chorus:network: {natGateways: 0}``); an unknown or invalid key fails with its full name.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .rules import (
    BEDROCK_EMBEDDING_DIMENSIONS,
    AnswerMode,
    AsyncEventAgeSeconds,
    AsyncRetryAttempts,
    AuroraMaxCapacity,
    AuroraMinCapacity,
    AutoPauseSeconds,
    AzCount,
    BackupRetentionDays,
    ChatPath,
    EmbeddingDimension,
    EventSourceConcurrency,
    IngestionPath,
    InstanceCount,
    InterfaceEndpoint,
    KendraEdition,
    LambdaArchitecture,
    LambdaErrorAlarms,
    LlmSource,
    LogRetentionDays,
    MfaMode,
    NatGatewayCount,
    ReservedConcurrency,
    S3VectorsDistance,
    ServerlessConcurrency,
    ServerlessMemoryMb,
    bedrock_embedding_dimensions,
    capacity_problem,
    cdn_header_problem,
    cidr_problem,
    embedding_dimension_problem,
    nat_problem,
)

NAMESPACE = "chorus"


class ConfigError(ValueError):
    """A stack configuration value is missing or wrong; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class NetworkSettings(_Section):
    cidr: str = "10.42.0.0/16"
    az_count: AzCount = 2
    nat_gateways: NatGatewayCount = 0
    interface_endpoints: list[InterfaceEndpoint] = []
    """Default none: the functions stay out of the VPC unless ``lambdasInVpc``."""
    lambdas_in_vpc: bool = False
    vpc_id: str | None = None
    """Bring your own VPC (``vpc-0abc``): chorus creates only its security groups (and
    ``interfaceEndpoints``) there; ``cidr``, ``azCount`` and ``natGateways`` do not apply."""
    private_subnet_ids: list[str] = []
    """With ``vpcId``: subnets of VPC-attached functions and interface endpoints."""
    isolated_subnet_ids: list[str] = []
    """With ``vpcId``: subnets of the database (may be the private ones)."""

    @model_validator(mode="after")
    def _nat_within_azs(self) -> NetworkSettings:
        if self.vpc_id is not None:
            if not self.private_subnet_ids or not self.isolated_subnet_ids:
                raise ValueError("vpcId needs privateSubnetIds and isolatedSubnetIds")
            if self.nat_gateways:
                raise ValueError("natGateways: an existing VPC (vpcId) keeps its own routing")
            return self
        if self.private_subnet_ids or self.isolated_subnet_ids:
            raise ValueError("privateSubnetIds and isolatedSubnetIds need vpcId")
        problem = nat_problem(self.nat_gateways, self.az_count)
        if problem:
            raise ValueError(f"natGateways: {problem}")
        problem = cidr_problem(self.cidr, self.az_count)
        if problem:
            raise ValueError(f"cidr: {problem}")
        return self


class EncryptionSettings(_Section):
    customer_managed_key: bool = True


class AuthSettings(_Section):
    mfa: MfaMode = "OPTIONAL"
    self_sign_up: bool = False
    callback_urls: list[str] = ["http://localhost:5173/"]
    domain_prefix: str | None = None
    user_pool_id: str | None = None
    """Bring your own Cognito user pool; the keys above then do not apply."""
    client_id: str | None = None
    """With ``userPoolId``: the web app's public app client."""

    @model_validator(mode="after")
    def _pool_and_client_together(self) -> AuthSettings:
        if (self.user_pool_id is None) != (self.client_id is None):
            raise ValueError("userPoolId and clientId go together (an existing pool and client)")
        return self


class AuroraSettings(_Section):
    enabled: bool = True
    """Deploy Aurora Serverless v2 for the ``pgvector`` store, with its credentials secret
    ($0.40/month even while the cluster is paused). ``Pulumi.dev.yaml`` turns it off (dev opts
    in: DynamoDB serves workspaces); prod keeps it."""
    engine_version: str = "16.6"
    min_capacity: AuroraMinCapacity = 0
    max_capacity: AuroraMaxCapacity = 2
    auto_pause_seconds: AutoPauseSeconds = 300
    storage_gb: float = Field(1, ge=0, description="assumed stored GB, for `chorus cost` only")
    backup_retention_days: BackupRetentionDays = 1
    """Days of automated backups (1..35)."""
    final_snapshot: bool = False
    """Take a final snapshot when the cluster is deleted (production: true)."""

    @model_validator(mode="after")
    def _min_within_max(self) -> AuroraSettings:
        problem = capacity_problem(self.min_capacity, self.max_capacity)
        if problem:
            raise ValueError(f"minCapacity, maxCapacity: {problem}")
        return self


class OpenSearchSettings(_Section):
    enabled: bool = False
    standby_replicas: bool = False


class KendraSettings(_Section):
    enabled: bool = False
    edition: KendraEdition = "DEVELOPER_EDITION"
    metadata_prefix: str = Field("kendra-metadata/", pattern=r"^[A-Za-z0-9!_.*'()-][\w!.*'()/-]*/$")
    """Where the ingest worker writes ``<prefix><document key>.metadata.json`` (the documents'
    ``workspace_id`` attributes) and the S3 data source reads them; outside ``workspaces/`` so
    writing one does not trigger ingestion. Ends with ``/``."""


class DynamoDbStoreSettings(_Section):
    enabled: bool = True
    """Deploy the on-demand chunks table of the ``dynamodb`` store ($0 idle; fits workspaces up
    to ~10k chunks, docs/stores.md)."""


class S3VectorsSettings(_Section):
    enabled: bool = False
    """Deploy an S3 Vectors vector bucket and index for the ``s3vectors`` store ($0 idle)."""
    index_name: str = Field("chunks", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    """Vector index name (3-63 lower-case letters, digits, dots, hyphens)."""
    distance_metric: S3VectorsDistance = "cosine"
    """Distance of the index. Only ``cosine``: S3 Vectors also offers ``euclidean``, but the
    s3vectors adapter refuses any other index (it turns distances into cosine scores)."""


STORE_KINDS = ("dynamodb", "pgvector", "opensearch", "s3vectors", "kendra")
"""Vector store kinds a workspace can pick, as the app config's ``vectorStore.stores`` keys."""


class VectorStoreSettings(_Section):
    aurora: AuroraSettings = AuroraSettings()
    opensearch: OpenSearchSettings = OpenSearchSettings()
    kendra: KendraSettings = KendraSettings()
    dynamodb: DynamoDbStoreSettings = DynamoDbStoreSettings()
    s3_vectors: S3VectorsSettings = S3VectorsSettings()
    embedding_dimension: EmbeddingDimension = 384
    documents_bucket: str | None = None
    """Bring your own documents bucket (its name); chorus sets its notifications and CORS."""
    cors_origins: list[str] = ["http://localhost:5173"]
    default_store: Literal["dynamodb", "pgvector", "opensearch", "s3vectors", "kendra"] = Field(
        "dynamodb", validate_default=True
    )
    """Store of a workspace created without one; it must be deployed (enabled). Declared last so
    the check below sees every store's section."""

    def enabled_stores(self) -> list[str]:
        """Deployed store kinds, in ``STORE_KINDS`` order."""
        enabled = {
            "dynamodb": self.dynamodb.enabled,
            "pgvector": self.aurora.enabled,
            "opensearch": self.opensearch.enabled,
            "s3vectors": self.s3_vectors.enabled,
            "kendra": self.kendra.enabled,
        }
        return [kind for kind in STORE_KINDS if enabled[kind]]

    @field_validator("default_store")
    @classmethod
    def _default_store_is_deployed(cls, value: str, info: ValidationInfo) -> str:
        switch = {
            "dynamodb": ("dynamodb", "dynamodb"),
            "pgvector": ("aurora", "aurora"),
            "opensearch": ("opensearch", "opensearch"),
            "s3vectors": ("s3_vectors", "s3Vectors"),
            "kendra": ("kendra", "kendra"),
        }
        field, key = switch[value]
        section = info.data.get(field)
        if section is not None and not section.enabled:
            raise ValueError(
                f"{value!r} is not deployed: set vectorStore.{key}.enabled: true, or pick an "
                "enabled store"
            )
        return value


class HostedModelSettings(_Section):
    hosting: Literal["none", "serverless", "instance", "bedrock"] = "serverless"
    """``serverless``/``instance``: a SageMaker endpoint serving ``model_images/``; ``bedrock``
    (embedding only): a Bedrock embedding model, ``modelId``; ``none``: not hosted."""
    model_id: str | None = None
    """The Bedrock model with ``hosting: bedrock`` (e.g. ``amazon.titan-embed-text-v2:0``)."""
    image_uri: str | None = None
    model_data_url: str | None = None
    model_dir: str | None = None
    model_package: str | None = None
    hf_model_id: str | None = None
    memory_mb: ServerlessMemoryMb = 3072
    max_concurrency: ServerlessConcurrency = 2
    instance_type: str = "ml.g4dn.xlarge"
    instance_count: InstanceCount = 1

    @property
    def embedding_model(self) -> str | None:
        """What identifies the model's vector size: the Bedrock id, the Hugging Face id or the
        model package (None when hosted from a bare folder or archive)."""
        if self.hosting == "bedrock":
            return self.model_id
        return self.hf_model_id or self.model_package


class LlmSettings(_Section):
    name: str
    source: LlmSource
    image_uri: str | None = None
    environment: dict[str, str] = {}
    model_package_arn: str | None = None
    model_data_url: str | None = None
    hf_model_id: str | None = None
    hf_revision: str = "main"
    instance_type: str = "ml.g5.xlarge"
    instance_count: InstanceCount = 1


GUARDRAIL_ID = re.compile(
    r"^([a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+)$"
)
"""A guardrail id or ARN, as Bedrock's ``ApplyGuardrail`` accepts ``guardrailIdentifier``."""
GUARDRAIL_VERSION = re.compile(r"^([1-9][0-9]{0,7}|DRAFT)$")
"""A published version number or ``DRAFT`` (the runtime's ``models.guardrail.version`` rule)."""


class GuardrailSettings(_Section):
    """A Bedrock guardrail the chat worker applies to every answer (``models.guardrail`` of the
    app config, the same four keys)."""

    id: str
    """The guardrail's id (``abc123def456``) or ARN."""
    version: str
    """A published version number (``1``; YAML may write it unquoted) or ``DRAFT``."""
    fail_open: bool = False
    """Keep the answer, flagged, when the guardrail call itself fails (default: end the turn)."""
    check_input: bool = False
    """Also check the question, not only the answer."""

    @field_validator("id")
    @classmethod
    def _guardrail_id(cls, value: str) -> str:
        if not GUARDRAIL_ID.match(value):
            raise ValueError(f"{value!r} is not a guardrail id (lowercase letters/digits) or ARN")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _published_or_draft(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not GUARDRAIL_VERSION.match(value):
            raise ValueError(f"{value!r} must be a published version number (1, 2, ...) or DRAFT")
        return value


BEDROCK_RERANK_MODEL = re.compile(
    r"^([a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?"
    r"|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:([0-9]{12})?:[a-z-]+/[A-Za-z0-9.:/-]+)$"
)
"""A Bedrock model id (``cohere.rerank-v3-5:0``) or model ARN, as ``Rerank`` accepts."""


class RerankSettings(_Section):
    """The reranker of the chat worker's retrieval (``models.rerank`` of the app config, the
    same keys). Default: none — a deployed ``crossEncoder`` endpoint is used, else none."""

    provider: Literal["bedrock", "sagemaker"]
    """``bedrock``: Bedrock's ``Rerank`` API with ``modelId``; ``sagemaker``: a cross-encoder
    endpoint."""
    model_id: str | None = None
    """Bedrock rerank model id or ARN (``cohere.rerank-v3-5:0``, ``amazon.rerank-v1:0``). The
    chat worker's role gets ``bedrock:Rerank`` and ``bedrock:InvokeModel`` on this model."""
    endpoint: str | None = None
    """SageMaker endpoint name with ``provider: sagemaker``. Default: the stack's
    ``crossEncoder`` endpoint."""

    @model_validator(mode="after")
    def _model_for_its_provider(self) -> RerankSettings:
        if self.provider == "bedrock":
            if not self.model_id or not BEDROCK_RERANK_MODEL.match(self.model_id):
                raise ValueError(
                    "provider: bedrock needs modelId, a Bedrock rerank model id or ARN "
                    "(e.g. cohere.rerank-v3-5:0 or amazon.rerank-v1:0)"
                )
            if self.endpoint is not None:
                raise ValueError("endpoint belongs to provider: sagemaker")
        elif self.model_id is not None:
            raise ValueError("modelId belongs to provider: bedrock")
        return self


SAGEMAKER_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
"""A SageMaker endpoint name, as ``CreateEndpoint`` accepts ``EndpointName``."""


class GroundingJudgeSettings(_Section):
    """Model judges of grounding beside the word-level one (``models.grounding`` of the app
    config, the same keys): verdicts combine conservatively (supported only if every judge
    agrees, contradicted if any says so). Default: none — the word-level judge alone."""

    llm_judge: str | None = None
    """An answer model (``models.bedrock`` or ``models.openaiModels``) asked for a verdict per
    claim, one call per answer; no new grant (the chat worker may already call it)."""
    nli_endpoint: str | None = None
    """A SageMaker endpoint serving an NLI cross-encoder through ``model_images/cross_encoder``;
    the chat worker gets ``sagemaker:InvokeEndpoint`` on it alone."""

    @field_validator("nli_endpoint")
    @classmethod
    def _endpoint_name(cls, value: str | None) -> str | None:
        if value is not None and not SAGEMAKER_ENDPOINT_NAME.match(value):
            raise ValueError(f"{value!r} is not a SageMaker endpoint name")
        return value


class ModelSettings(_Section):
    bedrock: list[str] = ["anthropic.claude-3-haiku-20240307-v1:0"]
    embedding: HostedModelSettings = HostedModelSettings()
    cross_encoder: HostedModelSettings = HostedModelSettings(hosting="none")
    llms: list[LlmSettings] = []
    openai_models: list[str] = []
    guardrail: GuardrailSettings | None = None
    """Bedrock guardrail applied after every answer. Default: none (no guardrail step)."""
    rerank: RerankSettings | None = None
    """Reranker of retrieval (Bedrock rerank model or SageMaker cross-encoder). Default: none."""
    grounding: GroundingJudgeSettings = GroundingJudgeSettings()
    """Model judges of grounding (an answer model, an NLI endpoint). Default: none."""

    @model_validator(mode="after")
    def _llm_judge_is_an_answer_model(self) -> ModelSettings:
        judge = self.grounding.llm_judge
        answering = [b for b in self.bedrock if "embed" not in b] + list(self.openai_models)
        if judge is not None and judge not in answering:
            raise ValueError(
                f"grounding.llmJudge {judge!r} is not an answer model of the stack "
                f"(bedrock / openaiModels: {', '.join(answering) or 'none'})"
            )
        return self

    @model_validator(mode="after")
    def _sagemaker_rerank_has_an_endpoint(self) -> ModelSettings:
        r = self.rerank
        if (
            r
            and r.provider == "sagemaker"
            and not r.endpoint
            and self.cross_encoder.hosting == "none"
        ):
            raise ValueError(
                "rerank: provider sagemaker needs endpoint, or a crossEncoder hosted by the stack"
            )
        return self

    @property
    def bedrock_rerank(self) -> str | None:
        """The Bedrock rerank model (id or ARN), when reranking goes through Bedrock."""
        r = self.rerank
        return r.model_id if r is not None and r.provider == "bedrock" else None

    @field_validator("embedding")
    @classmethod
    def _bedrock_embedding_has_a_known_model(
        cls, value: HostedModelSettings
    ) -> HostedModelSettings:
        if value.hosting == "bedrock":
            if not value.model_id:
                raise ValueError(
                    "hosting: bedrock needs modelId (e.g. amazon.titan-embed-text-v2:0)"
                )
            if bedrock_embedding_dimensions(value.model_id) is None:
                raise ValueError(
                    f"{value.model_id!r} is not a Bedrock embedding model chorus knows: "
                    + ", ".join(BEDROCK_EMBEDDING_DIMENSIONS)
                )
        return value

    @field_validator("cross_encoder")
    @classmethod
    def _no_bedrock_cross_encoder(cls, value: HostedModelSettings) -> HostedModelSettings:
        if value.hosting == "bedrock":
            raise ValueError("Bedrock hosts no cross-encoder: use serverless, instance or none")
        return value

    @property
    def bedrock_embedding(self) -> str | None:
        """The Bedrock embedding model, when the embedding is hosted there."""
        return self.embedding.model_id if self.embedding.hosting == "bedrock" else None


class OrchestratorSettings(_Section):
    chat_max_concurrency: EventSourceConcurrency = 5
    ingest_max_concurrency: EventSourceConcurrency = 2
    fanout_reserved_concurrency: ReservedConcurrency = -1
    lambda_error_alarms: LambdaErrorAlarms = "per_function"
    alarm_email: str | None = None
    require_cdn_header: bool | None = None
    """Refuse REST calls and WebSocket connections that lack the CDN's secret origin header, so
    the APIs answer only through the ``Frontend`` distribution. Default: on when
    ``frontend.enabled`` (the CDN then carries both ``/api`` and ``/ws``), off without it (nothing
    would send the header); read it through ``StackSettings.cdn_header_required``."""
    cors_origins: list[str] = ["http://localhost:5173"]
    default_mode: AnswerMode = "single"


class EventPathSettings(_Section):
    """``chorus:eventPaths``: how events reach the workers (docs/cost.md, "Event paths").

    The defaults cost nothing idle (dev): EventBridge → ingest worker, asynchronous invocation →
    chat worker, SNS → chat worker, each with retries, an on-failure SQS dead-letter queue that
    keeps the failed event, and the worker's reserved concurrency as the cap. ``queue`` keeps
    today's SQS queues (prod: bursty bulk ingestion batches, a visible backlog, redrive), polled
    by Lambda event sources at ~$0.26/month per queue even when nothing happens."""

    ingestion: IngestionPath = "eventbridge"
    """``eventbridge`` ($0 idle) or ``queue`` (SQS + event source, batches of 5)."""
    chat: ChatPath = "async"
    """``async`` ($0 idle; also ``document-changed`` straight from SNS) or ``queue``."""
    ingest_retry_attempts: AsyncRetryAttempts = 2
    """Asynchronous retries of a failed ingest event (EventBridge path): Lambda waits ~1 min,
    then ~2 min. The queue path retries by ``maxReceiveCount`` (3 receives)."""
    ingest_max_event_age_seconds: AsyncEventAgeSeconds = 21600
    """How long an ingest event may wait (throttled by the concurrency cap, retried) before it
    goes to the dead-letter queue. Default: 6 hours (Lambda's maximum)."""
    chat_retry_attempts: AsyncRetryAttempts = 1
    """Asynchronous retries of a failed chat job (the queue path: 2 receives, one retry)."""
    chat_max_event_age_seconds: AsyncEventAgeSeconds = 3600
    """How long a chat job may wait before it is dead-lettered (the chat queue keeps messages
    one hour)."""

    @property
    def idle_free(self) -> bool:
        """Whether no event source polls a queue (nothing is billed while nothing happens)."""
        return self.ingestion == "eventbridge" and self.chat == "async"


class BulkIngestionSettings(_Section):
    """``chorus:bulkIngestion``: the Distributed Map workflow behind ``chorus ingest s3://...``
    (docs/ingestion.md, "Bulk ingestion"). Off by default: nothing is deployed, nothing idles."""

    enabled: bool = False
    source_buckets: list[str] = []
    """Buckets the workflow may list and read (its role can read no others). Required when
    enabled."""
    max_concurrency: int = Field(10, ge=1, le=10_000)
    """Batches at once: the cap on calls into the embedding endpoint and the store."""
    max_items_per_batch: int = Field(20, ge=1, le=1000)
    max_input_bytes_per_batch: int = Field(262_144, ge=1024, le=262_144)
    tolerated_failure_percentage: int = Field(5, ge=0, le=100)
    child_execution_type: Literal["EXPRESS", "STANDARD"] = "EXPRESS"

    @field_validator("source_buckets")
    @classmethod
    def _bucket_names(cls, buckets: list[str]) -> list[str]:
        bad = [b for b in buckets if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", b)]
        if bad:
            raise ValueError(f"not S3 bucket names: {bad}")
        return buckets

    @model_validator(mode="after")
    def _enabled_needs_sources(self) -> BulkIngestionSettings:
        if self.enabled and not self.source_buckets:
            raise ValueError("bulkIngestion.enabled needs sourceBuckets: the buckets it may read")
        return self


class SemanticCacheSettings(_Section):
    """``chorus:semanticCache``: answers cached per workspace by question embedding (off by
    default; any document change empties the workspace's cache)."""

    enabled: bool = False
    threshold: float = Field(0.93, gt=0.5, le=1.0)
    """Cosine a new question needs to an old one to get its answer (MiniLM: 0.93)."""
    store: Literal["auto", "aurora", "dynamodb"] = "auto"
    """Where entries live: ``aurora`` (the pgvector database), ``dynamodb`` (a table of its own,
    $0 idle), ``auto``: Aurora when it is deployed, else DynamoDB."""
    max_entries_per_workspace: int = Field(200, ge=1, le=100_000)


class EvaluationSettings(_Section):
    """``chorus:evaluation``: scheduled evaluation of the opted-in workspaces' eval sets
    (``components.scheduled_evaluation``; docs/evaluation.md, "Scheduled evaluation"). Off by
    default: nothing is deployed and ``chorus cost`` shows $0."""

    enabled: bool = False
    schedule: str = "cron(0 6 ? * MON *)"
    """EventBridge Scheduler expression (``cron(...)``, ``rate(...)``). Default: Mondays 06:00."""
    timezone: str = "UTC"
    margin: float = Field(0.02, ge=0, le=1)
    """How far a headline figure may fall below the accepted baseline before it counts as a
    regression (absolute, on the 0–1 scale)."""
    max_concurrency: int = Field(2, ge=1, le=40)
    """Workspaces evaluated at once (each run asks the models once per case)."""
    mode: AnswerMode = "single"
    models: list[str] = []
    """Models of the runs. Default: the mode's default model."""
    result_expiry_days: int = Field(90, ge=1, le=3650)
    """Days a run's JSON and HTML report are kept (baselines are kept)."""
    workspaces: int = Field(3, ge=0, le=10_000)
    """For ``chorus cost`` only: opted-in workspaces to price a month of runs for."""
    cases_per_workspace: int = Field(50, ge=1, le=1000)
    """For ``chorus cost`` only: accepted cases per workspace."""

    @field_validator("schedule")
    @classmethod
    def _scheduler_expression(cls, value: str) -> str:
        if not (value.startswith(("cron(", "rate(")) and value.endswith(")")):
            raise ValueError(
                "use an EventBridge Scheduler expression: cron(0 6 ? * MON *) or rate(7 days)"
            )
        return value


class LambdaSettings(_Section):
    architecture: LambdaArchitecture = "x86_64"
    requirements: list[str] | None = None
    """Wheels of the dependencies layer. Default: ``components.packaging.LAMBDA_REQUIREMENTS``
    (what the handlers import), plus OpenAI's SDK when ``models.openaiModels`` is set."""
    powertools_layer_arn: str | None = None
    """AWS's public Powertools layer instead of packaging Powertools (the other wheels are
    still built)."""
    bytecode: Literal["auto", "always", "never"] = "auto"
    """Ship Python 3.12 bytecode in the handler package and the layers (unchecked-hash
    ``.pyc``, reproducible): Lambda's code is read-only, so without it every cold start compiles
    every module it imports. ``auto``: when a Python 3.12 is on the build machine (else a
    warning); ``always``: fail without one; ``never``: sources only."""
    snap_start: bool = False
    """Lambda SnapStart for the chat and ingest workers (published versions, alias ``live``):
    their imports are restored from a snapshot instead of run at each cold start. Billed per
    cached GB-second and per restore (docs/cost.md)."""


class FrontendSettings(_Section):
    enabled: bool = True
    """Deploy the ``Frontend`` component (CloudFront + private bucket; ~$0 idle)."""
    site_dir: str = "frontend/dist"
    """The built app, relative to the project (``cd frontend && npm ci && npm run build``)."""
    require_build: bool = False
    """Fail when ``siteDir`` has no ``index.html``. Default False: without a build the CDN and
    ``config.json`` are still deployed (with a warning), so ``pulumi preview`` works on a fresh
    clone; set True in CI/prod so a stack never ships without its app."""


class AlarmThresholdSettings(_Section):
    """``chorus:observability.thresholds``: when each alarm fires (``components.alarms``)."""

    api_5xx_percent: float = Field(5.0, gt=0, le=100)
    turn_latency_p95_ms: float = Field(30_000.0, gt=0)
    chat_error_percent: float = Field(10.0, gt=0, le=100)
    lambda_throttles: float = Field(0.0, ge=0)
    queue_age_seconds: float = Field(300.0, gt=0)
    dlq_messages: float = Field(0.0, ge=0)
    step_functions_failures: float = Field(0.0, ge=0)
    aurora_acu_percent: float = Field(95.0, gt=0, le=100)
    sagemaker_5xx: float = Field(0.0, ge=0)


class DeploymentSettings(_Section):
    """``chorus:observability.deployment``: how new function versions reach users."""

    enabled: bool = False
    """Publish versions behind a ``live`` alias with CodeDeploy deployment groups."""
    strategy: Literal["all_at_once", "canary", "linear"] = "all_at_once"
    percent: int = Field(10, ge=1, le=99)
    interval_minutes: int = Field(5, ge=1, le=60)


class ObservabilitySettings(_Section):
    """``chorus:observability``: alarms, dashboard, access logs and how code is rolled out."""

    alarm_set: Literal["essential", "full"] = "full"
    """``essential``: the alarms that say users are hurting, within CloudWatch's 10 free alarm
    metrics (dev); ``full``: every alarm and the composite "chat is down" (prod)."""
    thresholds: AlarmThresholdSettings = AlarmThresholdSettings()
    dashboard: bool = True
    """A CloudWatch dashboard of the stack's resources ($3/month beyond the 3 free ones)."""
    access_logs: bool = True
    """JSON access logs of the WebSocket and HTTP API stages (CloudWatch Logs)."""
    cdn_logs: bool = False
    """CloudFront standard logs to a private bucket, expired after ``cdnLogExpiryDays``."""
    cdn_log_expiry_days: int = Field(30, ge=1, le=3650)
    deployment: DeploymentSettings = DeploymentSettings()


class SourcesSettings(_Section):
    """``chorus:sources``: web, feed, text and Q&A sources in the cloud (docs/sources.md)."""

    enabled: bool = True
    """Deploy ``sync_sources``, the function that fetches and indexes sources ($0 idle). Off:
    the REST API refuses sources with ``not_deployed``."""
    sync_rate: str | None = Field(
        None, pattern=r"^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$"
    )
    """An EventBridge Scheduler rate (``rate(6 hours)``) re-fetching every due source. Default:
    none (dev: sources sync when added or on ``POST .../sources/sync``)."""


KnowledgeBaseId = Annotated[str, Field(pattern=r"^[0-9A-Z]{10}$")]
"""A Bedrock knowledge base id: 10 upper-case letters and digits (``ABCDE12345``)."""


class StackSettings(_Section):
    """Everything ``__main__.py`` needs, validated before any resource is declared."""

    network: NetworkSettings = NetworkSettings()
    encryption: EncryptionSettings = EncryptionSettings()
    auth: AuthSettings = AuthSettings()
    vector_store: VectorStoreSettings = VectorStoreSettings()
    models: ModelSettings = ModelSettings()
    orchestrator: OrchestratorSettings = OrchestratorSettings()
    event_paths: EventPathSettings = EventPathSettings()
    semantic_cache: SemanticCacheSettings = SemanticCacheSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    bulk_ingestion: BulkIngestionSettings = BulkIngestionSettings()
    lambda_: LambdaSettings = Field(LambdaSettings(), alias="lambda")
    observability: ObservabilitySettings = ObservabilitySettings()
    frontend: FrontendSettings = FrontendSettings()
    """Declared after ``orchestrator``: its check reads ``orchestrator.requireCdnHeader``."""
    sources: SourcesSettings = SourcesSettings()
    knowledge_bases: list[KnowledgeBaseId] = []
    """``chorus:knowledgeBases``: ids of existing Bedrock knowledge bases (same region and
    account) a workspace may point at (store ``knowledgebase``, retrieve-only). The chat worker
    and ``rest_api`` get ``bedrock:Retrieve`` on exactly these. Default: none."""
    log_retention_days: LogRetentionDays = 14
    deletion_protection: bool = False
    tags: dict[str, str] = {}
    """``chorus:tags``: tags every component puts on every taggable resource, on top of the
    provider's ``aws:defaultTags`` (which also reach resources created outside chorus's
    components). Default: none."""

    @property
    def semantic_cache_on_dynamodb(self) -> bool:
        """Whether the semantic cache needs its DynamoDB table."""
        cache = self.semantic_cache
        if not cache.enabled:
            return False
        return cache.store == "dynamodb" or (
            cache.store == "auto" and not self.vector_store.aurora.enabled
        )

    @field_validator("semantic_cache")
    @classmethod
    def _aurora_cache_needs_aurora(
        cls, cache: SemanticCacheSettings, info: ValidationInfo
    ) -> SemanticCacheSettings:
        store = info.data.get("vector_store")
        if cache.enabled and cache.store == "aurora" and store and not store.aurora.enabled:
            raise ValueError(
                "semanticCache.store is aurora but vectorStore.aurora.enabled is false; use "
                "store: dynamodb (or auto)"
            )
        return cache

    @property
    def cdn_header_required(self) -> bool:
        """Whether the APIs refuse callers without the CDN header (``requireCdnHeader``, by
        default whether the CDN is deployed)."""
        required = self.orchestrator.require_cdn_header
        return self.frontend.enabled if required is None else required

    @field_validator("models")
    @classmethod
    def _embedding_dimension_fits_the_model(
        cls, models: ModelSettings, info: ValidationInfo
    ) -> ModelSettings:
        store = info.data.get("vector_store")
        model = models.embedding.embedding_model
        if store is None or model is None or models.embedding.hosting == "none":
            return models
        problem = embedding_dimension_problem(model, store.embedding_dimension)
        if problem:
            key = "modelId" if models.embedding.hosting == "bedrock" else "model"
            raise ValueError(
                f"models.embedding.{key}: {problem}; set vectorStore.embeddingDimension to "
                f"the model's size (it is {store.embedding_dimension})"
            )
        return models

    @field_validator("frontend")
    @classmethod
    def _cdn_header_needs_the_cdn(
        cls, frontend: FrontendSettings, info: ValidationInfo
    ) -> FrontendSettings:
        orchestrator = info.data.get("orchestrator")
        required = bool(orchestrator is not None and orchestrator.require_cdn_header)
        problem = cdn_header_problem(required, frontend.enabled)
        if problem:
            raise ValueError(
                "orchestrator.requireCdnHeader is true but frontend.enabled is false: "
                f"{problem} (set orchestrator.requireCdnHeader: false)"
            )
        return frontend


FIELDS_BY_KEY = {(info.alias or name): name for name, info in StackSettings.model_fields.items()}
"""Config key (after ``chorus:``) → settings field."""


def parse_settings(config: Mapping[str, Any]) -> StackSettings:
    """Validate ``{"chorus:network": {...}, "aws:region": ...}``; other namespaces are ignored.

    Values may be JSON strings (how ``pulumi.Config`` returns objects).

    Raises
    ------
    ConfigError: naming every bad key, e.g. ``chorus:network.natGateways``.
    """
    values: dict[str, Any] = {}
    for full_key, raw in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key not in FIELDS_BY_KEY:
            raise ConfigError(
                f"unknown config key '{full_key}'; known keys: "
                + ", ".join(f"{NAMESPACE}:{k}" for k in sorted(FIELDS_BY_KEY))
            )
        if isinstance(raw, str):
            with contextlib.suppress(ValueError):
                raw = json.loads(raw)
        values[key] = raw
    try:
        return StackSettings.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            # a defaulted field's error carries its Python name: show the YAML key
            path = ".".join(to_camel(p) if isinstance(p, str) else str(p) for p in item["loc"])
            problems.append(f"'{NAMESPACE}:{path}': {item['msg']}")
        raise ConfigError("invalid stack configuration: " + "; ".join(problems)) from None


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """The ``config:`` mapping of a ``Pulumi.<stack>.yaml`` file."""
    import yaml

    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return dict(document.get("config") or {})


def load_stack_file(path: str | Path) -> StackSettings:
    """Validated settings of a ``Pulumi.<stack>.yaml`` file."""
    return parse_settings(read_stack_file(path))
