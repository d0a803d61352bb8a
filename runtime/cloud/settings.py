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
from typing import Any

from ..adapters.dynamodb_metadata import TableNames
from ..core.errors import ChorusError
from ..core.model_registry import ModelConfigError, ModelRegistry
from ..core.orchestration import OrchestrationSettings
from ..core.semantic_cache import DEFAULT_THRESHOLD


class ConfigurationError(ChorusError):
    """The deployment's configuration is incomplete; a person must fix the stack."""

    code = "configuration_error"
    http_status = 500


@dataclass(frozen=True)
class VectorStoreSettings:
    """Where chunks live. ``kind`` is ``pgvector`` (Aurora) or ``opensearch``.

    For ``pgvector`` the database secret (``secretArn``) holds either a ``dsn`` or
    ``username``/``password`` (RDS-managed secrets) completed by ``host``/``port``/``database``.
    ``schema`` is where ``db_setup`` created the tables (``chorus``, the component's default);
    connections put it first on their ``search_path``.
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

    @property
    def chunk_table(self) -> str:
        """Same table name as the local server uses for this dimension."""
        return self.table or f"chorus_chunks_{self.embedding_dimension}"


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
class ModelSettings:
    """Models the chat worker may answer with, and the SageMaker endpoints by role."""

    endpoints: Mapping[str, str] = field(default_factory=dict)
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


@dataclass(frozen=True)
class SemanticCacheSettings:
    """``semanticCache``: answers cached per workspace on the Aurora database (off by default).

    ``enabled`` turns it on (it needs the ``pgvector`` store); ``threshold`` is the cosine a hit
    needs; ``max_entries_per_workspace`` bounds each workspace's entries (oldest out).
    """

    enabled: bool = False
    threshold: float = DEFAULT_THRESHOLD
    max_entries_per_workspace: int = 1000


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


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _registry(models: Mapping[str, Any]) -> ModelRegistry | None:
    raw = models.get("registry")
    if not raw:
        return None
    wrapped = raw if isinstance(raw, Mapping) and "models" in raw else {"models": raw}
    try:
        return ModelRegistry.from_dict(wrapped)
    except ModelConfigError as exc:
        raise ConfigurationError(f"models.registry of the app config: {exc.message}") from None


_ORCHESTRATION_KEYS = {
    "modelTimeoutS": "model_timeout_s",
    "cascadeGrounding": "cascade_grounding",
    "cascadeAgreement": "cascade_agreement",
    "cascadeAgreementFloor": "cascade_agreement_floor",
}


def _orchestration(models: Mapping[str, Any]) -> OrchestrationSettings:
    raw = models.get("orchestration") or {}
    unknown = set(raw) - set(_ORCHESTRATION_KEYS) - {"judgeModel"}
    if unknown:
        raise ConfigurationError(
            f"models.orchestration has unknown key(s) {sorted(unknown)}; known: "
            f"{sorted([*_ORCHESTRATION_KEYS, 'judgeModel'])}"
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
    )


def settings_from(config: Mapping[str, Any], env: Mapping[str, str]) -> CloudSettings:
    """Combine the app config (SSM JSON) and the environment; the environment wins.

    Raises ``ConfigurationError`` naming the first missing value.
    """
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
        api_keys_secret_arn=config.get("apiKeysSecretArn") or None,
        idempotency_table=tables.get("idempotency") or None,
        websocket_endpoint=env.get("CHORUS_WEBSOCKET_ENDPOINT", ""),
        issuer_url=env.get("CHORUS_ISSUER_URL", ""),
        jwks_url=env.get("CHORUS_JWKS_URL") or None,
        client_id=env.get("CHORUS_CLIENT_ID", ""),
        require_cdn_header=_flag(env.get("CHORUS_REQUIRE_CDN_HEADER")),
        cdn_secret_parameter=env.get("CHORUS_CDN_SECRET_PARAMETER") or None,
        cdn_secret_header=env.get("CHORUS_CDN_SECRET_HEADER") or "x-chorus-origin-verify",
        vector_store=VectorStoreSettings(
            kind=vs.get("kind", "pgvector"),
            secret_arn=vs.get("secretArn") or None,
            host=vs.get("host") or None,
            port=int(vs.get("port") or 5432),
            database=vs.get("database") or "chorus",
            schema=vs.get("schema") or "chorus",
            embedding_dimension=int(vs.get("embeddingDimension") or 384),
            collection_endpoint=vs.get("collectionEndpoint") or None,
            table=vs.get("table") or None,
        ),
        models=ModelSettings(
            endpoints=dict(models.get("endpoints") or {}),
            openai=tuple(models.get("openai") or ()),
            openai_base_url=models.get("openaiBaseUrl") or None,
            bedrock=tuple(models.get("bedrock") or ()),
            default_model=models.get("defaultModel") or None,
            default_mode=models.get("defaultMode") or "single",
            registry=_registry(models),
            orchestration=_orchestration(models),
            guardrail=_guardrail(models),
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
