"""Wire the core to the cloud adapters: the Lambda analogue of ``runtime.local.services``.

Every piece is built on first use and kept for the container's life, so a cold start pays only
for what its handler touches (the authorizer never opens a database connection) and nothing is
created at import. ``get_services()`` is what handlers call; tests build ``CloudServices`` with
their own clients and models and install it with ``set_services``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from functools import cached_property, partial
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config

from ..adapters.apigw_delivery import ApiGatewayDelivery, ConnectionRegistry
from ..adapters.cognito_jwt import CognitoTokenVerifier, fetch_json
from ..adapters.dynamodb_metadata import DynamoDBMetadataStore
from ..adapters.s3_documents import DocumentBucket
from ..adapters.sns_events import DocumentChangedPublisher
from ..core.agreement import AgreementScorer, EmbeddingAgreementScorer
from ..core.answering import Answerer, ExtractiveAnswerer, LLMAnswerer
from ..core.chat import ChatService, ModelPrice
from ..core.embedding_cache import CachedEmbedder
from ..core.grounding import EmbeddingGroundingJudge, GroundingJudge, GuardrailCheck
from ..core.ingestion import Ingestor
from ..core.metrics import NO_METRICS, OperationsMetrics
from ..core.model_registry import ModelConfigError, ModelSpec, ProviderFactory, build_providers
from ..core.orchestration import ModelFanOut
from ..core.ports import Embedder, LLMProvider, Reranker, VectorStore
from ..core.relevance import EmbeddingRelevanceScorer, RelevanceScorer
from ..core.resilience import DEFAULT_RETRY, ResilientProvider, RetryPolicy
from ..core.retrieval import CachedOverrides, Retriever
from ..core.semantic_cache import SemanticCache
from .settings import CloudSettings, ConfigurationError, load_settings
from .stores import WorkspaceRetriever, WorkspaceStores

log = logging.getLogger(__name__)

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

SINGLE_ATTEMPT = RetryPolicy(attempts=1)
"""Retry policy of the fan-out workflow's model Lambda: its ASL ``Retry`` already retries
throttling and transient faults with full jitter, so the provider does not retry as well."""


def with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` whose connections put ``schema`` first on their ``search_path`` (then ``public``,
    where the ``vector`` extension lives); a DSN that sets ``options`` itself is kept as it is.
    """
    import psycopg2.extensions

    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(
            f"vectorStore.schema {schema!r} is not a plain lower-case PostgreSQL identifier"
        )
    if "options" in psycopg2.extensions.parse_dsn(dsn):
        return dsn
    return psycopg2.extensions.make_dsn(dsn, options=f"-c search_path={schema},public")


class CloudServices:
    """Adapters and core services of one Lambda container, each built once on first use.

    Parameters
    ----------
    settings:
        The resolved configuration.
    session:
        boto3 session every client comes from (tests pass one bound to moto).
    embedder, reranker, store:
        Ready-made ports (tests share the loaded MiniLM and the embedded PostgreSQL); by
        default they come from the app config (SageMaker endpoints, Aurora).
    database_dsn:
        A PostgreSQL URI that bypasses the database secret (used verbatim: no schema is added).
    jwks_fetch:
        Loads the JWKS for the token verifier (default: HTTPS GET of ``CHORUS_JWKS_URL``).
    provider_factories:
        Factories by provider kind (``ModelSpec`` → ``LLMProvider``) that replace or add to the
        built-in ones for ``models.registry`` (tests pass fakes).
    metrics:
        Where the chat service, the models and the ingestor report their figures (the
        handlers' services: EMF + X-Ray, ``cloud_metrics``). Default: nowhere.
    """

    def __init__(
        self,
        settings: CloudSettings,
        *,
        session: Any = None,
        embedder: Embedder | None = None,
        reranker: Reranker | None = None,
        store: VectorStore | None = None,
        database_dsn: str | None = None,
        jwks_fetch: Any = None,
        provider_factories: Mapping[str, ProviderFactory] | None = None,
        metrics: OperationsMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or NO_METRICS
        self.session = session or boto3.session.Session(region_name=settings.region)
        self._embedder = embedder
        self._reranker = reranker
        self._store = store
        self._database_dsn = database_dsn
        self._jwks_fetch = jwks_fetch or fetch_json
        self._provider_factories = dict(provider_factories or {})

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, config=_RETRIES, **kwargs)

    # -- AWS clients -------------------------------------------------------------------------

    @cached_property
    def dynamodb(self) -> Any:
        return self.session.resource("dynamodb", config=_RETRIES)

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    @cached_property
    def ssm(self) -> Any:
        return self.client("ssm")

    # -- adapters ----------------------------------------------------------------------------

    @cached_property
    def metadata(self) -> DynamoDBMetadataStore:
        ttl = self.settings.session_ttl_days
        return DynamoDBMetadataStore(
            self.dynamodb, self.settings.tables, session_ttl_seconds=ttl * 86400 if ttl else None
        )

    @cached_property
    def connections(self) -> ConnectionRegistry:
        return ConnectionRegistry(self.dynamodb, self.settings.tables.connections)

    @cached_property
    def delivery(self) -> ApiGatewayDelivery:
        endpoint = self.settings.websocket_endpoint
        if not endpoint:
            raise ConfigurationError("CHORUS_WEBSOCKET_ENDPOINT is not set; cannot reply")
        client = self.session.client(
            "apigatewaymanagementapi", endpoint_url=endpoint, config=_RETRIES
        )
        return ApiGatewayDelivery(client, self.connections)

    @cached_property
    def documents(self) -> DocumentBucket:
        s3 = self.session.client("s3", config=_RETRIES.merge(Config(signature_version="s3v4")))
        return DocumentBucket(
            s3, self.settings.documents_bucket, max_upload_bytes=self.settings.max_upload_bytes
        )

    @cached_property
    def publisher(self) -> DocumentChangedPublisher | None:
        arn = self.settings.document_changed_topic_arn
        return DocumentChangedPublisher(self.client("sns"), arn) if arn else None

    @cached_property
    def verifier(self) -> CognitoTokenVerifier:
        s = self.settings
        if not s.issuer_url or not s.client_id:
            raise ConfigurationError("CHORUS_ISSUER_URL and CHORUS_CLIENT_ID must be set")
        return CognitoTokenVerifier(
            s.issuer_url, s.client_id, jwks_url=s.jwks_url, fetch=self._jwks_fetch
        )

    @cached_property
    def cdn_secret(self) -> str | None:
        name = self.settings.cdn_secret_parameter
        if not self.settings.require_cdn_header:
            return None
        if not name:
            raise ConfigurationError("CHORUS_CDN_SECRET_PARAMETER is required with the CDN header")
        return self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]

    def _secret(self, arn: str) -> dict[str, Any]:
        value = self.client("secretsmanager").get_secret_value(SecretId=arn)
        return json.loads(value.get("SecretString") or "{}")

    def database_dsn(self) -> str:
        """The Aurora URI: from the database secret (``dsn``, or username/password + host)."""
        if self._database_dsn:
            return self._database_dsn
        vs = self.settings.vector_store
        if not vs.secret_arn:
            raise ConfigurationError("vectorStore.secretArn is missing from the app config")
        secret = self._secret(vs.secret_arn)
        if secret.get("dsn"):
            return str(secret["dsn"])
        host = secret.get("host") or vs.host
        if not host:
            raise ConfigurationError(
                "the database secret has no host and vectorStore.host is not configured"
            )
        user, password = quote(secret["username"], safe=""), quote(secret["password"], safe="")
        port = secret.get("port") or vs.port
        database = secret.get("dbname") or vs.database
        return f"postgresql://{user}:{password}@{host}:{port}/{database}?sslmode=require"

    def connection_dsn(self) -> str:
        """What connections use: ``database_dsn()`` with the configured schema first on the
        ``search_path`` (the explicit ``database_dsn`` argument is used as it is)."""
        if self._database_dsn:
            return self._database_dsn
        return with_search_path(self.database_dsn(), self.settings.vector_store.schema)

    @cached_property
    def database(self) -> Any:
        """The Aurora database the pgvector store and the semantic cache share: a psycopg2 pool
        (``access: direct``, or the ``database_dsn`` argument) or the RDS Data API
        (``access: dataApi``)."""
        vs = self.settings.vector_store
        if "pgvector" not in vs.stores:
            raise ConfigurationError(
                f"no PostgreSQL database: the pgvector store is not deployed (stores: "
                f"{', '.join(vs.stores)})"
            )
        if vs.access == "dataApi" and not self._database_dsn:
            from ..adapters.rds_data import DataApiDatabase

            if not vs.cluster_arn or not vs.secret_arn:
                raise ConfigurationError(
                    "vectorStore.stores.pgvector: the Data API needs clusterArn and secretArn"
                )
            return DataApiDatabase(
                self.client("rds-data"),
                cluster_arn=vs.cluster_arn,
                secret_arn=vs.secret_arn,
                database=vs.database,
                schema=vs.schema,
            )
        from ..adapters.postgres import PostgresDatabase

        return PostgresDatabase(self.connection_dsn(), max_connections=2)

    def build_store(self, kind: str) -> VectorStore:
        """Build the deployed store of this kind (``stores`` keeps one per container)."""
        vs = self.settings.vector_store
        dimension = vs.embedding_dimension
        if kind == "pgvector":
            from ..adapters.pgvector_store import PgVectorStore

            return PgVectorStore(self.database, dimension, table=vs.chunk_table)
        if kind == "dynamodb" and vs.dynamodb is not None:
            from ..adapters.dynamodb_store import DynamoDBVectorStore

            return DynamoDBVectorStore(self.client("dynamodb"), vs.dynamodb.table)
        if kind == "s3vectors" and vs.s3vectors is not None:
            from ..adapters.s3vectors_store import S3VectorsStore

            config = vs.s3vectors
            return S3VectorsStore(
                self.client("s3vectors"), config.vector_bucket_name, config.index_name, dimension
            )
        if kind == "opensearch" and vs.opensearch is not None:
            from ..adapters.opensearch_store import OpenSearchStore, connect

            config = vs.opensearch
            client = connect(
                config.collection_endpoint,
                self.settings.region,
                config.service,
                credentials=self.session.get_credentials(),
            )
            return OpenSearchStore(
                client,
                config.index,
                dimension,
                serverless=config.service == "aoss",
                create_index=True,
            )
        if kind == "kendra" and vs.kendra is not None:
            from ..adapters.kendra_retriever import KendraRetriever
            from .stores import KendraDocumentStore

            return KendraDocumentStore(
                KendraRetriever(self.client("kendra"), vs.kendra.index_id),
                self.client("s3"),
                self.settings.documents_bucket,
                vs.kendra.metadata_prefix,
            )
        raise ConfigurationError(
            f"vector store {kind!r} is deployed but vectorStore.stores.{kind} has no settings; "
            "check the AppConfig parameter"
        )

    @cached_property
    def stores(self) -> WorkspaceStores:
        """Every deployed store, built on first use, routed by the workspace's record."""
        vs = self.settings.vector_store
        if self._store is not None:
            store = self._store
            return WorkspaceStores({vs.default_store: lambda: store}, self.metadata)
        factories = {kind: partial(self.build_store, kind) for kind in vs.stores}
        return WorkspaceStores(factories, self.metadata)

    @property
    def routes_stores(self) -> bool:
        """True when several stores are deployed and each workspace is routed to its own."""
        return len(self.stores.kinds) > 1

    @cached_property
    def store(self) -> VectorStore:
        """The chunk store: the one deployed store itself, or ``stores`` (routing by workspace)
        when the stack deploys several."""
        if self.routes_stores:
            return self.stores
        return self.stores.of_kind(self.stores.kinds[0])

    @cached_property
    def cache(self) -> SemanticCache | None:
        """The semantic cache when ``semanticCache.enabled``: on DynamoDB when
        ``semanticCache.table`` is set, else on Aurora (the pgvector store's database); None
        when neither is deployed.

        Invalidating it needs no embedder: the cache-invalidation path of the chat worker
        never loads one.
        """
        config = self.settings.semantic_cache
        if not config.enabled:
            return None
        dimension = self.settings.vector_store.embedding_dimension
        if config.table:
            from ..adapters.dynamodb_cache import DynamoDBSemanticCache

            return DynamoDBSemanticCache(
                self.dynamodb,
                config.table,
                dimension,
                max_entries_per_workspace=min(config.max_entries_per_workspace, 200),
            )
        if "pgvector" not in self.settings.vector_store.stores:
            log.warning(
                "semanticCache.enabled is ignored: no semanticCache.table and no pgvector "
                "store (Aurora) to keep it in"
            )
            return None
        from ..adapters.postgres_cache import PostgresSemanticCache

        return PostgresSemanticCache(
            self.database, dimension, max_entries_per_workspace=config.max_entries_per_workspace
        )

    @cached_property
    def embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        dimension = self.settings.vector_store.embedding_dimension
        bedrock_model = self.settings.models.bedrock_embedding
        if bedrock_model:
            from ..adapters.bedrock_embeddings import BedrockEmbedder

            try:
                return BedrockEmbedder(
                    bedrock_model, dimension=dimension, client=self.client("bedrock-runtime")
                )
            except ValueError as exc:
                raise ConfigurationError(
                    f"models.embedding.modelId with vectorStore.embeddingDimension: {exc}"
                ) from None
        endpoint = self.settings.models.endpoints.get("embedding")
        if not endpoint:
            raise ConfigurationError("no embedding endpoint in models.endpoints of the app config")
        from ..adapters.sagemaker import SageMakerEmbedder

        return SageMakerEmbedder(
            endpoint, dimension=dimension, client=self.client("sagemaker-runtime")
        )

    @cached_property
    def turn_embedder(self) -> Embedder:
        """The embedder for queries and sentences of chat turns, remembered per container
        (every call to the SageMaker endpoint costs a round trip); ingestion uses ``embedder``."""
        return CachedEmbedder(self.embedder, max_entries=20_000)

    @cached_property
    def reranker(self) -> Reranker | None:
        """``models.rerank`` (Bedrock Rerank or a SageMaker cross-encoder), else the deployed
        ``cross_encoder`` endpoint, else none."""
        if self._reranker is not None:
            return self._reranker
        chosen = self.settings.models.rerank
        if chosen is not None and chosen.provider == "bedrock":
            from ..adapters.bedrock_rerank import BedrockReranker

            return BedrockReranker(chosen.model, client=self.client("bedrock-agent-runtime"))
        endpoint = chosen.model if chosen is not None else None
        endpoint = endpoint or self.settings.models.endpoints.get("cross_encoder")
        if not endpoint:
            return None
        from ..adapters.sagemaker import SageMakerReranker

        return SageMakerReranker(endpoint, client=self.client("sagemaker-runtime"))

    # -- core services ----------------------------------------------------------------------

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(
            self.embedder,
            self.store,
            self.metadata,
            max_document_bytes=self.settings.max_upload_bytes,
            on_document_changed=self.publisher,
            metrics=self.metrics,
        )

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval on the workspace's store (its own capability flags)."""
        overrides = CachedOverrides(self._tuned_retrieval)
        if self.routes_stores:
            return WorkspaceRetriever(
                self.turn_embedder, self.stores, self.reranker, workspace_overrides=overrides
            )
        return Retriever(
            self.turn_embedder, self.store, self.reranker, workspace_overrides=overrides
        )

    def _tuned_retrieval(self, workspace_id: str) -> dict[str, Any]:
        """The workspace record's tuned retrieval overrides (``chorus tune retrieval``)."""
        workspace = self.metadata.get_workspace(workspace_id)
        return dict(workspace.retrieval) if workspace is not None else {}

    @cached_property
    def _api_keys(self) -> dict[str, Any]:
        arn = self.settings.api_keys_secret_arn
        return self._secret(arn) if arn else {}

    def _openai_key(self) -> str | None:
        keys = self._api_keys
        return keys.get("OPENAI_API_KEY") or keys.get("openai")

    def provider_factories(self) -> dict[str, ProviderFactory]:
        """How this runtime builds each provider kind of the model registry.

        ``local`` (a model inside the process) is not offered: a Lambda has no room for it.
        """

        def bedrock(spec: ModelSpec) -> LLMProvider:
            from ..adapters.bedrock import BedrockProvider

            client = self.client("bedrock-runtime", region_name=spec.region or self.settings.region)
            return BedrockProvider(model_id=spec.model_id, name=spec.name, client=client)

        def openai(spec: ModelSpec) -> LLMProvider:
            from ..adapters.openai_compatible import OpenAICompatibleProvider

            api_key = spec.options.get("apiKey") or self._openai_key()
            if not api_key and spec.base_url is None:
                raise ConfigurationError(
                    f"model {spec.name!r} needs an OpenAI key: store OPENAI_API_KEY in the "
                    "API-keys secret (apiKeysSecretArn)"
                )
            return OpenAICompatibleProvider(
                model=spec.model_id,
                base_url=spec.base_url,
                api_key=api_key,
                name=spec.name,
                timeout=spec.timeout,
            )

        def sagemaker_tgi(spec: ModelSpec) -> LLMProvider:
            from ..adapters.sagemaker_tgi import SageMakerTGIProvider

            client = self.client(
                "sagemaker-runtime", region_name=spec.region or self.settings.region
            )
            return SageMakerTGIProvider(
                str(spec.endpoint),
                name=spec.name,
                client=client,
                inference_component=spec.options.get("inferenceComponent"),
            )

        built_in: dict[str, ProviderFactory] = {
            "bedrock": bedrock,
            "openai": openai,
            "sagemaker_tgi": sagemaker_tgi,
        }
        return {**built_in, **self._provider_factories}

    def answerers(self, retry: RetryPolicy = DEFAULT_RETRY) -> dict[str, Answerer]:
        """The extractive answerer always; the models of ``models.registry`` (each wrapped in a
        ``ResilientProvider`` with its deadline and rate limit, retrying with ``retry``); the
        plain ``models.bedrock`` ids; OpenAI(-compatible) ``models.openai`` when their key is
        stored in the API-keys secret. A registry entry wins over a plain id of the same name.
        Plain entries get the same resilience (``model_timeout_s`` as their deadline, ``retry``,
        one circuit breaker each): no provider is ever called bare."""
        answerers: dict[str, Answerer] = {"extractive": ExtractiveAnswerer(self.turn_embedder)}
        models = self.settings.models
        deadline = models.orchestration.model_timeout_s

        def resilient(provider: LLMProvider) -> ResilientProvider:
            return ResilientProvider(provider, deadline=deadline, retry=retry, metrics=self.metrics)

        if models.bedrock:
            from ..adapters.bedrock import BedrockProvider

            bedrock = self.client("bedrock-runtime")
            for model_id in models.bedrock:
                if "embed" in model_id:  # an embedding model (access granted, not an answerer)
                    continue
                answerers[model_id] = LLMAnswerer(
                    resilient(BedrockProvider(model_id=model_id, client=bedrock))
                )
        if models.openai and self.settings.api_keys_secret_arn:
            from ..adapters.openai_compatible import OpenAICompatibleProvider

            api_key = self._openai_key()
            for model in models.openai:
                provider = OpenAICompatibleProvider(
                    model=model, base_url=models.openai_base_url, api_key=api_key
                )
                answerers[model] = LLMAnswerer(resilient(provider))
        registry = models.registry
        if registry is not None:
            extractive = [spec.name for spec in registry if spec.provider == "extractive"]
            for name in extractive:
                answerers[name] = ExtractiveAnswerer(self.turn_embedder)
            names = [spec.name for spec in registry if spec.provider != "extractive"]
            try:
                providers = build_providers(
                    registry,
                    self.provider_factories(),
                    names=names,
                    retry=retry,
                    metrics=self.metrics,
                )
            except ModelConfigError as exc:
                raise ConfigurationError(f"models.registry: {exc.message}") from None
            for name, provider in providers.items():
                answerers[name] = LLMAnswerer(provider)
        return answerers

    @cached_property
    def fanout_answerers(self) -> dict[str, Answerer]:
        """The answerers of the fan-out workflow's model task: the ASL retries, they do not."""
        return self.answerers(retry=SINGLE_ATTEMPT)

    @cached_property
    def prices(self) -> dict[str, ModelPrice]:
        """USD per 1k input/output tokens by model name, from ``models.registry``."""
        registry = self.settings.models.registry
        if registry is None:
            return {}
        return {
            spec.name: ModelPrice(spec.price_per_1k_input, spec.price_per_1k_output)
            for spec in registry
        }

    @cached_property
    def grounding(self) -> GroundingJudge:
        """Per-sentence support of answers by the sources, with the retrieval embedder."""
        return EmbeddingGroundingJudge(self.turn_embedder)

    @cached_property
    def agreement(self) -> AgreementScorer:
        """Pairwise agreement of the models' answers, with the retrieval embedder."""
        return EmbeddingAgreementScorer(self.turn_embedder)

    @cached_property
    def relevance(self) -> RelevanceScorer:
        """Whether each answer addresses the question, with the retrieval embedder."""
        return EmbeddingRelevanceScorer(self.turn_embedder)

    @cached_property
    def guardrail(self) -> GuardrailCheck | None:
        """The Bedrock guardrail of ``models.guardrail`` (ApplyGuardrail after each answer);
        None when not configured. The chat worker's role needs ``bedrock:ApplyGuardrail`` on it.
        """
        config = self.settings.models.guardrail
        if config is None:
            return None
        from ..adapters.bedrock_guardrails import BedrockGuardrail

        return BedrockGuardrail(
            config.id,
            config.version,
            client=self.client("bedrock-runtime"),
            check_input=config.check_input,
            fail_open=config.fail_open,
        )

    @cached_property
    def fanout(self) -> ModelFanOut | None:
        """The Step Functions Express fan-out for consensus turns; None (ask in process) without
        ``fanoutStateMachineArn`` or with ``models.orchestration.fanout: inprocess``.

        ``StartSyncExecution`` answers when the execution ends, so the client's read timeout
        outlasts two model deadlines (a retried model) plus the agreement task.
        """
        arn = self.settings.fanout_state_machine_arn
        if not arn or self.settings.models.fanout != "workflow":
            return None
        from ..adapters.stepfunctions_fanout import StepFunctionsFanOut

        model_timeout = self.settings.models.orchestration.model_timeout_s
        wait = Config(read_timeout=min(280, int(2 * model_timeout + 60)), connect_timeout=5)
        client = self.session.client(
            "stepfunctions",
            config=wait.merge(Config(retries={"mode": "standard", "total_max_attempts": 1})),
        )
        return StepFunctionsFanOut(client, arn)

    @cached_property
    def chat(self) -> ChatService:
        answerers = self.answerers()
        models = self.settings.models
        default = models.default_model
        if default not in answerers:
            default = "extractive"
        judge = models.orchestration.judge_model
        if judge is not None and judge not in answerers:
            raise ConfigurationError(
                f"models.orchestration.judgeModel {judge!r} is not a configured model "
                f"(configured: {', '.join(answerers)})"
            )
        return ChatService(
            self.metadata,
            self.retriever,
            answerers,
            default_model=default,
            prices=self.prices,
            grounding=self.grounding,
            agreement=self.agreement,
            relevance=self.relevance,
            orchestration=models.orchestration,
            cache=self.cache,
            cache_threshold=self.settings.semantic_cache.threshold,
            guardrail=self.guardrail,
            fanout=self.fanout,
            metrics=self.metrics,
        )

    def invalidate_workspace(self, workspace_id: str) -> int | None:
        """Forget what this container cached about the workspace after its documents changed:
        the chunks a built store keeps in memory (the DynamoDB store's partition) and the
        semantic cache's answers. Returns the number of answers dropped; None when no semantic
        cache is configured."""
        if "stores" in vars(self):
            self.stores.invalidate(workspace_id)
        cache = self.cache
        return None if cache is None else cache.invalidate_workspace(workspace_id)

    def close(self) -> None:
        """Close the database pool if one was opened (tests; a container just ends)."""
        if "database" in vars(self):
            self.database.close()

    @cached_property
    def idempotency_layer(self) -> Any:
        """Powertools DynamoDB persistence on ``tables.idempotency``; None when not configured."""
        table = self.settings.idempotency_table
        if not table:
            return None
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=table, boto3_session=self.session)


_lock = threading.Lock()
_services: CloudServices | None = None


def get_services() -> CloudServices:
    """This container's services, built from the environment and SSM on first call."""
    global _services
    with _lock:
        if _services is None:
            session = boto3.session.Session()
            settings = load_settings(session.client("ssm", config=_RETRIES), os.environ)
            _services = CloudServices(settings, session=session, metrics=cloud_metrics())
        return _services


def cloud_metrics() -> OperationsMetrics:
    """EMF metrics and X-Ray spans (imported here: only the functions that build services pay
    for them)."""
    from ..adapters.emf_metrics import EmfMetrics
    from ..adapters.xray_spans import XRaySpans

    return OperationsMetrics(EmfMetrics(), XRaySpans())


def set_services(services: CloudServices | None) -> None:
    """Install ready-made services (tests), or None to rebuild from the environment."""
    global _services
    with _lock:
        _services = services
