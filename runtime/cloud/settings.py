"""What a Lambda runs with: environment variables plus the SSM app-config JSON.

The components give every function a few environment variables (docs/infrastructure.md,
"Contract with the runtime") and put everything else — tables, bucket, queue, topic, models,
vector store — in one SSM SecureString, ``CHORUS_CONFIG_PARAMETER``. It is read once per
container (cold start), never at import.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import ChorusError
from ..core.orchestration_settings import OrchestrationSettings
from ..core.semantic_cache import DEFAULT_THRESHOLD

if TYPE_CHECKING:  # loaded when a config needs them: the WebSocket handlers read no registry
    from ..adapters.dynamodb_metadata import TableNames
    from ..core.model_registry import ModelRegistry


class ConfigurationError(ChorusError):
    """The deployment's configuration is incomplete; a person must fix the stack."""

    code = "configuration_error"
    http_status = 500


STORE_KINDS = ("pgvector", "dynamodb", "opensearch", "s3vectors", "kendra", "knowledgebase")
"""Vector stores the Lambda runtime can route a workspace to (``vectorStore.stores`` keys)."""


@dataclass(frozen=True)
class DynamoDBStoreSettings:
    """``vectorStore.stores.dynamodb``: the chunk table (``table``, required)."""

    table: str


@dataclass(frozen=True)
class OpenSearchStoreSettings:
    """``vectorStore.stores.opensearch``: ``collectionEndpoint`` (required) and ``index``
    (default ``chorus-chunks``). Requests are SigV4-signed for ``aoss`` when the endpoint is
    an OpenSearch Serverless collection (``*.aoss.amazonaws.com``), else for ``es``."""

    collection_endpoint: str
    index: str = "chorus-chunks"

    @property
    def service(self) -> str:
        return "aoss" if ".aoss." in self.collection_endpoint else "es"


@dataclass(frozen=True)
class S3VectorsStoreSettings:
    """``vectorStore.stores.s3vectors``: ``vectorBucketName`` (required), ``indexName``
    (default ``chunks``)."""

    vector_bucket_name: str
    index_name: str = "chunks"


@dataclass(frozen=True)
class KendraStoreSettings:
    """``vectorStore.stores.kendra``: ``indexId`` (required) and ``metadataPrefix`` (default
    ``kendra-metadata/``), where the index's S3 data source reads each document's
    ``<prefix><key>.metadata.json`` (the ``VectorStore`` component's ``kendra_metadata_prefix``)."""

    index_id: str
    metadata_prefix: str = "kendra-metadata/"


@dataclass(frozen=True)
class KnowledgeBaseStoreSettings:
    """``vectorStore.stores.knowledgebase``: ``knowledgeBaseIds`` (required), the Bedrock
    knowledge bases a workspace may point at — the ones the stack's functions may
    ``bedrock:Retrieve`` from (``chorus:knowledgeBases``)."""

    knowledge_base_ids: tuple[str, ...]


@dataclass(frozen=True)
class VectorStoreSettings:
    """Where chunks live: the stores this stack deployed and the one new workspaces get.

    ``kind`` is the default store (``defaultStore``); ``deployed`` lists every deployed store
    (empty: the old single-store shape, only ``kind``). The flat fields are the Aurora database
    of the ``pgvector`` store (and of the semantic cache): the database secret (``secretArn``)
    holds either a ``dsn`` or ``username``/``password`` (RDS-managed secrets) completed by
    ``host``/``port``/``database``; ``schema`` is where ``db_setup`` created the tables
    (``chorus``, the component's default) and connections put it first on their
    ``search_path``. ``access`` is ``direct`` (psycopg2 to ``host``; the Lambda must be in the
    VPC) or ``dataApi`` (the RDS Data API on ``clusterArn`` with ``secretArn``; no VPC).
    """

    kind: str = "pgvector"
    secret_arn: str | None = None
    host: str | None = None
    port: int = 5432
    database: str = "chorus"
    schema: str = "chorus"
    embedding_dimension: int = 384
    collection_endpoint: str | None = None
    table: str | None = None
    cluster_arn: str | None = None
    access: str = "direct"
    deployed: tuple[str, ...] = ()
    dynamodb: DynamoDBStoreSettings | None = None
    opensearch: OpenSearchStoreSettings | None = None
    s3vectors: S3VectorsStoreSettings | None = None
    kendra: KendraStoreSettings | None = None
    knowledgebase: KnowledgeBaseStoreSettings | None = None

    @property
    def knowledge_bases(self) -> tuple[str, ...]:
        """The knowledge base ids workspaces may retrieve from (empty without that store)."""
        return self.knowledgebase.knowledge_base_ids if self.knowledgebase else ()

    @property
    def chunk_table(self) -> str:
        """Same table name as the local server uses for this dimension."""
        return self.table or f"chorus_chunks_{self.embedding_dimension}"

    @property
    def default_store(self) -> str:
        """The store a workspace created without ``store`` gets (``defaultStore``)."""
        return self.kind

    @property
    def stores(self) -> tuple[str, ...]:
        """Every store this stack deployed; the default store first."""
        others = tuple(k for k in self.deployed if k != self.kind)
        return (self.kind, *others)


@dataclass(frozen=True)
class GuardrailSettings:
    """``models.guardrail``: a Bedrock guardrail checked after every answer (ApplyGuardrail).

    ``id`` (or ARN) and ``version`` (a published number, or ``DRAFT``) are required;
    ``failOpen`` (default false) keeps the answer, flagged, when the guardrail call fails
    instead of ending the turn with the error; ``checkInput`` also checks the question.
    """

    id: str
    version: str
    fail_open: bool = False
    check_input: bool = False


@dataclass(frozen=True)
class RerankSettings:
    """``models.rerank``: the reranker of the chat worker's retrieval.

    ``{"provider": "bedrock", "modelId": "cohere.rerank-v3-5:0"}`` (or ``amazon.rerank-v1:0``, or
    a model ARN) reranks through Bedrock's Rerank API; ``{"provider": "sagemaker", "endpoint":
    name}`` through a SageMaker endpoint serving ``model_images/cross_encoder`` (default: the
    endpoint ``models.endpoints.cross_encoder``). Without it, a ``cross_encoder`` endpoint is
    used when deployed, else retrieval is not reranked.
    """

    provider: str
    model: str = ""


@dataclass(frozen=True)
class GroundingJudgeSettings:
    """``models.grounding``: model judges added to the word-level grounding judge of every turn
    (``core.model_judges``; verdicts combined conservatively: supported only if every judge
    agrees, contradicted if any says so).

    ``{"llmJudge": name}`` asks that configured answer model for a verdict per claim (one call
    per answer); ``{"nliEndpoint": name}`` asks a SageMaker endpoint serving an NLI
    cross-encoder through ``model_images/cross_encoder``. Neither: the word-level judge alone.
    """

    llm_judge: str | None = None
    nli_endpoint: str | None = None


@dataclass(frozen=True)
class ModelSettings:
    """Models the chat worker may answer with, and the SageMaker endpoints by role."""

    endpoints: Mapping[str, str] = field(default_factory=dict)
    bedrock_embedding: str | None = None
    """``models.embedding: {"provider": "bedrock", "modelId": ...}``: embed with a Bedrock model
    (Titan Text Embeddings, Cohere Embed) at ``vectorStore.embeddingDimension`` instead of the
    SageMaker endpoint ``endpoints.embedding``."""
    openai: tuple[str, ...] = ()
    openai_base_url: str | None = None
    bedrock: tuple[str, ...] = ()
    default_model: str | None = None
    default_mode: str = "single"
    registry: ModelRegistry | None = None
    """``models.registry``: named models with provider, prices, rate limit and deadline
    (``ModelRegistry`` config: a list of specs or a mapping name → spec)."""
    orchestration: OrchestrationSettings = field(default_factory=OrchestrationSettings)
    """``models.orchestration``: deadlines, cascade thresholds and the consensus judge."""
    guardrail: GuardrailSettings | None = None
    """``models.guardrail``: the optional Bedrock guardrail (None: no guardrail step)."""
    rerank: RerankSettings | None = None
    """``models.rerank``: Bedrock rerank model or SageMaker cross-encoder (``RerankSettings``)."""
    grounding: GroundingJudgeSettings = field(default_factory=GroundingJudgeSettings)
    """``models.grounding``: model judges beside the word-level one (``GroundingJudgeSettings``)."""
    fanout: str = "workflow"
    """``models.orchestration.fanout``: where consensus turns ask their models — ``workflow``
    (the Step Functions Express fan-out, when ``fanoutStateMachineArn`` is set) or
    ``inprocess`` (threads in the chat worker)."""


@dataclass(frozen=True)
class SemanticCacheSettings:
    """``semanticCache``: answers cached per workspace on the Aurora database (off by default).

    ``enabled`` turns it on (it needs the ``pgvector`` store); ``threshold`` is the cosine a hit
    needs; ``max_entries_per_workspace`` bounds each workspace's entries (oldest out).
    """

    enabled: bool = False
    threshold: float = DEFAULT_THRESHOLD
    max_entries_per_workspace: int = 1000
    table: str | None = None
    """``semanticCache.table``: a DynamoDB table for the cache (stacks without Aurora, or by
    choice); without it the cache lives on Aurora."""


@dataclass(frozen=True)
class EdgeSettings:
    """What the WebSocket edge (``ws_authorizer``, ``ws_connect``, ``ws_disconnect``) needs:
    all of it in the function's environment, so these functions never read the app config."""

    region: str
    connections_table: str = ""
    websocket_endpoint: str = ""
    issuer_url: str = ""
    jwks_url: str | None = None
    client_id: str = ""
    require_cdn_header: bool = False
    cdn_secret_parameter: str | None = None
    cdn_secret_header: str = "x-chorus-origin-verify"
    workspace_table: str = ""
    """``CHORUS_WORKSPACE_TABLE``: where API keys live, for connections opened with a key."""


def edge_settings_from(env: Mapping[str, str]) -> EdgeSettings:
    """The edge functions' settings from their environment (``CHORUS_*``, ``AWS_REGION``)."""
    return EdgeSettings(
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        connections_table=env.get("CHORUS_CONNECTIONS_TABLE", ""),
        websocket_endpoint=env.get("CHORUS_WEBSOCKET_ENDPOINT", ""),
        issuer_url=env.get("CHORUS_ISSUER_URL", ""),
        jwks_url=env.get("CHORUS_JWKS_URL") or None,
        client_id=env.get("CHORUS_CLIENT_ID", ""),
        require_cdn_header=_flag(env.get("CHORUS_REQUIRE_CDN_HEADER")),
        cdn_secret_parameter=env.get("CHORUS_CDN_SECRET_PARAMETER") or None,
        cdn_secret_header=env.get("CHORUS_CDN_SECRET_HEADER") or "x-chorus-origin-verify",
        workspace_table=env.get("CHORUS_WORKSPACE_TABLE", ""),
    )


@dataclass(frozen=True)
class CloudSettings:
    """Everything the handlers need, resolved once per container."""

    region: str
    tables: TableNames
    documents_bucket: str = ""
    chat_queue_url: str = ""
    document_changed_topic_arn: str = ""
    fanout_state_machine_arn: str = ""
    reindex_state_machine_arn: str = ""
    sources_sync_function: str = ""
    """``CHORUS_SOURCES_SYNC_FUNCTION``: the ``sync_sources`` function (its live alias) the REST
    API hands site, feed, text and Q&A sources to; '' when not deployed."""
    bulk_state_machine_arn: str = ""
    """The bulk ingestion workflow (``chorus:bulkIngestion``); '' when not deployed."""
    api_keys_secret_arn: str | None = None
    idempotency_table: str | None = None
    websocket_endpoint: str = ""
    issuer_url: str = ""
    jwks_url: str | None = None
    client_id: str = ""
    require_cdn_header: bool = False
    cdn_secret_parameter: str | None = None
    cdn_secret_header: str = "x-chorus-origin-verify"
    vector_store: VectorStoreSettings = field(default_factory=VectorStoreSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    semantic_cache: SemanticCacheSettings = field(default_factory=SemanticCacheSettings)
    max_upload_bytes: int = 20 * 1024 * 1024
    session_ttl_days: int | None = None

    @property
    def connections_table(self) -> str:
        """The WebSocket connections table (as ``EdgeSettings.connections_table``)."""
        return self.tables.connections


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _registry(models: Mapping[str, Any]) -> ModelRegistry | None:
    raw = models.get("registry")
    if not raw:
        return None
    from ..core.model_registry import ModelConfigError, ModelRegistry

    wrapped = raw if isinstance(raw, Mapping) and "models" in raw else {"models": raw}
    try:
        return ModelRegistry.from_dict(wrapped)
    except ModelConfigError as exc:
        raise ConfigurationError(f"models.registry of the app config: {exc.message}") from None


_ORCHESTRATION_KEYS = {
    "modelTimeoutS": "model_timeout_s",
    "turnBudgetS": "turn_budget_s",
    "cascadeGrounding": "cascade_grounding",
    "cascadeAgreement": "cascade_agreement",
    "cascadeAgreementFloor": "cascade_agreement_floor",
}


def _bedrock_embedding(models: Mapping[str, Any]) -> str | None:
    raw = models.get("embedding")
    if not raw:
        return None
    if not isinstance(raw, Mapping) or raw.get("provider") not in ("bedrock", "sagemaker"):
        raise ConfigurationError(
            "models.embedding must be {provider: bedrock, modelId: ...} or {provider: sagemaker}"
        )
    if raw["provider"] == "sagemaker":
        return None  # the endpoint is models.endpoints.embedding
    model_id = str(raw.get("modelId") or "").strip()
    if not model_id:
        raise ConfigurationError("models.embedding.modelId is missing (a Bedrock embedding model)")
    return model_id


def _rerank(models: Mapping[str, Any]) -> RerankSettings | None:
    raw = models.get("rerank")
    if not raw:
        return None
    if not isinstance(raw, Mapping) or raw.get("provider") not in ("bedrock", "sagemaker"):
        raise ConfigurationError(
            "models.rerank must be {provider: bedrock, modelId: ...} or "
            "{provider: sagemaker, endpoint: ...}"
        )
    if raw["provider"] == "bedrock":
        model = str(raw.get("modelId") or raw.get("modelArn") or "").strip()
        if not model:
            raise ConfigurationError(
                "models.rerank.modelId is missing (e.g. cohere.rerank-v3-5:0 or amazon.rerank-v1:0)"
            )
        return RerankSettings("bedrock", model)
    endpoint = str(
        raw.get("endpoint") or (models.get("endpoints") or {}).get("cross_encoder") or ""
    )
    if not endpoint.strip():
        raise ConfigurationError(
            "models.rerank.endpoint is missing and models.endpoints has no cross_encoder"
        )
    return RerankSettings("sagemaker", endpoint.strip())


_GROUNDING_KEYS = {"llmJudge": "llm_judge", "nliEndpoint": "nli_endpoint"}


def _grounding(models: Mapping[str, Any]) -> GroundingJudgeSettings:
    raw = models.get("grounding") or {}
    if not isinstance(raw, Mapping):
        raise ConfigurationError("models.grounding must be an object {llmJudge, nliEndpoint}")
    unknown = set(raw) - set(_GROUNDING_KEYS)
    if unknown:
        raise ConfigurationError(
            f"models.grounding has unknown key(s) {sorted(unknown)}; "
            f"known: {sorted(_GROUNDING_KEYS)}"
        )
    values: dict[str, str | None] = {}
    for key, attr in _GROUNDING_KEYS.items():
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigurationError(f"models.grounding.{key} must be a non-empty name")
        values[attr] = value.strip() if isinstance(value, str) else None
    return GroundingJudgeSettings(**values)


FANOUT_MODES = ("workflow", "inprocess")


def _fanout(models: Mapping[str, Any]) -> str:
    value = (models.get("orchestration") or {}).get("fanout") or "workflow"
    if value not in FANOUT_MODES:
        raise ConfigurationError(
            f"models.orchestration.fanout {value!r} must be one of {list(FANOUT_MODES)}"
        )
    return str(value)


def _orchestration(models: Mapping[str, Any]) -> OrchestrationSettings:
    raw = models.get("orchestration") or {}
    unknown = set(raw) - set(_ORCHESTRATION_KEYS) - {"judgeModel", "fanout"}
    if unknown:
        raise ConfigurationError(
            f"models.orchestration has unknown key(s) {sorted(unknown)}; known: "
            f"{sorted([*_ORCHESTRATION_KEYS, 'judgeModel', 'fanout'])}"
        )
    try:
        values: dict[str, Any] = {
            attr: float(raw[key]) for key, attr in _ORCHESTRATION_KEYS.items() if key in raw
        }
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"models.orchestration: a value is not a number ({exc})") from None
    return OrchestrationSettings(judge_model=raw.get("judgeModel") or None, **values)


_GUARDRAIL_KEYS = {"id", "version", "failOpen", "checkInput"}
_GUARDRAIL_VERSION = re.compile(r"^([1-9][0-9]{0,7}|DRAFT)$")


def _guardrail(models: Mapping[str, Any]) -> GuardrailSettings | None:
    raw = models.get("guardrail")
    if not raw:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigurationError("models.guardrail must be an object {id, version, failOpen}")
    unknown = set(raw) - _GUARDRAIL_KEYS
    if unknown:
        raise ConfigurationError(
            f"models.guardrail has unknown key(s) {sorted(unknown)}; known: "
            f"{sorted(_GUARDRAIL_KEYS)}"
        )
    guardrail_id = str(raw.get("id") or "").strip()
    version = str(raw.get("version") if raw.get("version") is not None else "").strip()
    if not guardrail_id:
        raise ConfigurationError("models.guardrail.id is missing (the guardrail's id or ARN)")
    if not _GUARDRAIL_VERSION.match(version):
        raise ConfigurationError(
            f"models.guardrail.version {version!r} must be a published version number or DRAFT"
        )
    for key in ("failOpen", "checkInput"):
        if key in raw and not isinstance(raw[key], bool):
            raise ConfigurationError(f"models.guardrail.{key} must be true or false")
    return GuardrailSettings(
        id=guardrail_id,
        version=version,
        fail_open=bool(raw.get("failOpen", False)),
        check_input=bool(raw.get("checkInput", False)),
    )


def _semantic_cache(config: Mapping[str, Any]) -> SemanticCacheSettings:
    raw = config.get("semanticCache") or {}
    return SemanticCacheSettings(
        enabled=bool(raw.get("enabled", False)),
        threshold=float(raw.get("threshold") or DEFAULT_THRESHOLD),
        max_entries_per_workspace=int(raw.get("maxEntriesPerWorkspace") or 1000),
        table=raw.get("table") or None,
    )


_STORE_KEYS: dict[str, dict[str, str]] = {
    # app-config key → VectorStoreSettings / per-store settings attribute
    "pgvector": {
        "clusterArn": "cluster_arn",
        "secretArn": "secret_arn",
        "host": "host",
        "port": "port",
        "database": "database",
        "schema": "schema",
        "table": "table",
        "access": "access",
    },
    "dynamodb": {"table": "table"},
    "opensearch": {"collectionEndpoint": "collection_endpoint", "index": "index"},
    "s3vectors": {"vectorBucketName": "vector_bucket_name", "indexName": "index_name"},
    "kendra": {"indexId": "index_id", "metadataPrefix": "metadata_prefix"},
    "knowledgebase": {"knowledgeBaseIds": "knowledge_base_ids"},
}
_REQUIRED = {
    "dynamodb": ("table",),
    "opensearch": ("collectionEndpoint",),
    "s3vectors": ("vectorBucketName",),
    "kendra": ("indexId",),
    "knowledgebase": ("knowledgeBaseIds",),
}
_STORE_SETTINGS: dict[str, type] = {
    "dynamodb": DynamoDBStoreSettings,
    "opensearch": OpenSearchStoreSettings,
    "s3vectors": S3VectorsStoreSettings,
    "kendra": KendraStoreSettings,
    "knowledgebase": KnowledgeBaseStoreSettings,
}
_ACCESS = ("direct", "dataApi")


def _pgvector(raw: Mapping[str, Any], *, legacy: bool) -> dict[str, Any]:
    """The Aurora fields of ``VectorStoreSettings`` from the pgvector entry (or the old shape).

    ``access`` defaults to ``dataApi`` when ``clusterArn`` is given (the Data API needs no VPC)
    and to ``direct`` otherwise; the old single-store shape keeps ``direct``.
    """
    cluster_arn = raw.get("clusterArn") or None
    access = raw.get("access") or ("dataApi" if cluster_arn and not legacy else "direct")
    where = "vectorStore" if legacy else "vectorStore.stores.pgvector"
    if access not in _ACCESS:
        raise ConfigurationError(f"{where}.access {access!r} must be one of {list(_ACCESS)}")
    if access == "dataApi" and not (cluster_arn and raw.get("secretArn")):
        raise ConfigurationError(
            f"{where}.access is dataApi: clusterArn and secretArn are both required"
        )
    try:
        port = int(raw.get("port") or 5432)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{where}.port {raw.get('port')!r} is not a number") from None
    return {
        "secret_arn": raw.get("secretArn") or None,
        "cluster_arn": cluster_arn,
        "host": raw.get("host") or None,
        "port": port,
        "database": raw.get("database") or "chorus",
        "schema": raw.get("schema") or "chorus",
        "table": raw.get("table") or None,
        "access": access,
    }


def _store_settings(kind: str, raw: Any) -> Any:
    where = f"vectorStore.stores.{kind}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where} must be an object of the store's settings")
    known = _STORE_KEYS[kind]
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigurationError(
            f"{where} has unknown key(s) {sorted(unknown)}; known: {sorted(known)}"
        )
    for key in _REQUIRED.get(kind, ()):
        if not raw.get(key):
            raise ConfigurationError(f"{where}.{key} is missing")
    if kind == "knowledgebase":
        return KnowledgeBaseStoreSettings(_knowledge_base_ids(raw["knowledgeBaseIds"], where))
    return _STORE_SETTINGS[kind](
        **{attr: raw[key] for key, attr in known.items() if raw.get(key) is not None}
    )


_KNOWLEDGE_BASE_ID = re.compile(r"^[0-9A-Z]{10}$")


def _knowledge_base_ids(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(
        isinstance(i, str) and _KNOWLEDGE_BASE_ID.match(i) for i in raw
    ):
        raise ConfigurationError(
            f"{where}.knowledgeBaseIds must be a list of knowledge base ids (10 upper-case "
            f"letters and digits), not {raw!r}"
        )
    return tuple(raw)


def _vector_store(raw: Mapping[str, Any]) -> VectorStoreSettings:
    """``vectorStore``: the multi-store shape (``defaultStore`` + ``stores``), or the old
    single-store shape (``kind`` plus the Aurora keys at the top level)."""
    try:
        dimension = int(raw.get("embeddingDimension") or 384)
    except (TypeError, ValueError):
        raise ConfigurationError("vectorStore.embeddingDimension is not a number") from None
    if "stores" not in raw:
        kind = raw.get("kind") or "pgvector"
        if kind not in STORE_KINDS:
            raise ConfigurationError(
                f"vectorStore.kind {kind!r} is not a store this runtime knows; "
                f"use one of {list(STORE_KINDS)}"
            )
        endpoint = raw.get("collectionEndpoint") or None
        kendra_index = raw.get("kendraIndexId") or None
        return VectorStoreSettings(
            kind=kind,
            embedding_dimension=dimension,
            collection_endpoint=endpoint,
            opensearch=OpenSearchStoreSettings(endpoint) if endpoint else None,
            kendra=KendraStoreSettings(kendra_index) if kendra_index else None,
            **_pgvector(raw, legacy=True),
        )
    stores = raw.get("stores")
    if not isinstance(stores, Mapping) or not stores:
        raise ConfigurationError(
            "vectorStore.stores must name at least one deployed store, e.g. "
            '{"dynamodb": {"table": "..."}}'
        )
    unknown = [kind for kind in stores if kind not in STORE_KINDS]
    if unknown:
        raise ConfigurationError(
            f"vectorStore.stores has unknown store kind(s) {unknown}; known: {list(STORE_KINDS)}"
        )
    default = raw.get("defaultStore") or (next(iter(stores)) if len(stores) == 1 else None)
    if default not in stores:
        raise ConfigurationError(
            f"vectorStore.defaultStore {default!r} must be one of the deployed stores "
            f"{list(stores)} (vectorStore.stores)"
        )
    typed = {kind: _store_settings(kind, stores[kind]) for kind in stores if kind != "pgvector"}
    aurora: dict[str, Any] = {}
    if "pgvector" in stores:
        entry = stores["pgvector"]
        if not isinstance(entry, Mapping):
            raise ConfigurationError("vectorStore.stores.pgvector must be an object")
        unknown_keys = set(entry) - set(_STORE_KEYS["pgvector"])
        if unknown_keys:
            raise ConfigurationError(
                f"vectorStore.stores.pgvector has unknown key(s) {sorted(unknown_keys)}; "
                f"known: {sorted(_STORE_KEYS['pgvector'])}"
            )
        aurora = _pgvector(entry, legacy=False)
    opensearch = typed.get("opensearch")
    return VectorStoreSettings(
        kind=default,
        embedding_dimension=dimension,
        deployed=tuple(stores),
        collection_endpoint=opensearch.collection_endpoint if opensearch else None,
        **typed,
        **aurora,
    )


def settings_from(config: Mapping[str, Any], env: Mapping[str, str]) -> CloudSettings:
    """Combine the app config (SSM JSON) and the environment; the environment wins.

    Raises ``ConfigurationError`` naming the first missing value.
    """
    from ..adapters.dynamodb_metadata import TableNames

    tables = config.get("tables") or {}
    try:
        names = TableNames(
            workspace=tables["workspace"],
            document=tables["document"],
            sessions=env.get("CHORUS_SESSIONS_TABLE") or tables["sessions"],
            connections=env.get("CHORUS_CONNECTIONS_TABLE") or tables["connections"],
        )
    except KeyError as exc:
        raise ConfigurationError(
            f"app config has no table name for {exc.args[0]!r}; check the AppConfig parameter"
        ) from None
    vs = config.get("vectorStore") or {}
    models = config.get("models") or {}
    limits = config.get("limits") or {}
    return CloudSettings(
        region=env.get("AWS_REGION") or config.get("region") or "us-east-1",
        tables=names,
        documents_bucket=config.get("documentsBucket", ""),
        chat_queue_url=env.get("CHORUS_CHAT_QUEUE_URL") or config.get("chatQueueUrl", ""),
        document_changed_topic_arn=env.get("CHORUS_DOCUMENT_CHANGED_TOPIC_ARN")
        or config.get("documentChangedTopicArn", ""),
        fanout_state_machine_arn=env.get("CHORUS_FANOUT_STATE_MACHINE_ARN")
        or config.get("fanoutStateMachineArn", ""),
        reindex_state_machine_arn=env.get("CHORUS_REINDEX_STATE_MACHINE_ARN")
        or config.get("reindexStateMachineArn", ""),
        sources_sync_function=env.get("CHORUS_SOURCES_SYNC_FUNCTION")
        or config.get("sourcesSyncFunction", ""),
        bulk_state_machine_arn=env.get("CHORUS_BULK_STATE_MACHINE_ARN")
        or config.get("bulkIngestionStateMachineArn", ""),
        api_keys_secret_arn=config.get("apiKeysSecretArn") or None,
        idempotency_table=tables.get("idempotency") or None,
        websocket_endpoint=env.get("CHORUS_WEBSOCKET_ENDPOINT", ""),
        issuer_url=env.get("CHORUS_ISSUER_URL", ""),
        jwks_url=env.get("CHORUS_JWKS_URL") or None,
        client_id=env.get("CHORUS_CLIENT_ID", ""),
        require_cdn_header=_flag(env.get("CHORUS_REQUIRE_CDN_HEADER")),
        cdn_secret_parameter=env.get("CHORUS_CDN_SECRET_PARAMETER") or None,
        cdn_secret_header=env.get("CHORUS_CDN_SECRET_HEADER") or "x-chorus-origin-verify",
        vector_store=_vector_store(vs),
        models=ModelSettings(
            endpoints=dict(models.get("endpoints") or {}),
            bedrock_embedding=_bedrock_embedding(models),
            openai=tuple(models.get("openai") or ()),
            openai_base_url=models.get("openaiBaseUrl") or None,
            bedrock=tuple(models.get("bedrock") or ()),
            default_model=models.get("defaultModel") or None,
            default_mode=models.get("defaultMode") or "single",
            registry=_registry(models),
            orchestration=_orchestration(models),
            fanout=_fanout(models),
            guardrail=_guardrail(models),
            rerank=_rerank(models),
            grounding=_grounding(models),
        ),
        semantic_cache=_semantic_cache(config),
        max_upload_bytes=int(limits.get("maxUploadBytes") or 20 * 1024 * 1024),
        session_ttl_days=int(config["sessionTtlDays"]) if config.get("sessionTtlDays") else None,
    )


def load_settings(ssm_client: Any, env: Mapping[str, str] | None = None) -> CloudSettings:
    """Read ``CHORUS_CONFIG_PARAMETER`` (decrypted) and build the settings."""
    env = os.environ if env is None else env
    name = env.get("CHORUS_CONFIG_PARAMETER")
    if not name:
        raise ConfigurationError("CHORUS_CONFIG_PARAMETER is not set; the function is misdeployed")
    value = ssm_client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    try:
        config = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{name} is not valid JSON: {exc}") from None
    return settings_from(config, env)
