"""The whole chorus deployment from one ``StackSettings``: what ``__main__.py`` runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from .auth import Auth, AuthArgs
from .dashboard import Dashboard, DashboardArgs
from .frontend import Frontend, FrontendArgs
from .model_host import HostedModelArgs, LlmArgs, ModelHost
from .network import Network, NetworkArgs
from .orchestrator import ChatOrchestrator, ChatOrchestratorArgs
from .settings import HostedModelSettings, StackSettings
from .shared import AppConfig, AppConfigArgs, Shared, SharedArgs
from .vector_store import VectorStore, VectorStoreArgs

HF_INFERENCE_CPU = (
    "763104351884.dkr.ecr.{0}.amazonaws.com/"
    "huggingface-pytorch-inference:2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04"
)
"""AWS's Hugging Face PyTorch inference image (CPU), the default for embedder and reranker."""
HF_INFERENCE_GPU = (
    "763104351884.dkr.ecr.{0}.amazonaws.com/"
    "huggingface-pytorch-inference:2.1.0-transformers4.37.0-gpu-py310-cu118-ubuntu20.04"
)
"""Same image with CUDA, used when a model is hosted on a GPU instance."""


@dataclass(frozen=True)
class LambdaCode:
    """Built packages the stack deploys (see ``components.packaging``)."""

    handlers: pulumi.Archive
    core_layer: pulumi.Asset | pulumi.Archive | None = None
    """Layer zip, uploaded to the artifacts bucket as it is (a ``FileAsset`` keeps its bytes)."""
    dependencies_layer: pulumi.Asset | pulumi.Archive | None = None
    embedding_model: pulumi.Asset | None = None
    cross_encoder_model: pulumi.Asset | None = None
    statemachine_dir: Path | None = None


def _hosted(
    label: str, cfg: HostedModelSettings, asset: pulumi.Asset | None, region: pulumi.Output[str]
) -> HostedModelArgs | None:
    if cfg.hosting in ("none", "bedrock"):
        return None  # not on SageMaker (a Bedrock embedding model needs no endpoint)
    model_data: Any = cfg.model_data_url or asset
    if model_data is None:
        raise ValueError(
            f"chorus:models.{label}: hosting is {cfg.hosting} but there is no model archive; "
            "set modelDataUrl, modelDir or modelPackage"
        )
    template = HF_INFERENCE_GPU if cfg.hosting == "instance" else HF_INFERENCE_CPU
    hosted: HostedModelArgs = {
        "image_uri": cfg.image_uri or region.apply(template.format),
        "model_data": model_data,
        "environment": {"HF_MODEL_ID": cfg.hf_model_id} if cfg.hf_model_id else {},
    }
    if cfg.hosting == "instance":
        hosted.update(instance_type=cfg.instance_type, instance_count=cfg.instance_count)
    else:
        hosted.update(
            serverless_memory_mb=cfg.memory_mb, serverless_max_concurrency=cfg.max_concurrency
        )
    return hosted


VPC_WORKER_ENDPOINTS = ("ssm", "secretsmanager", "sns", "states")
"""Interface endpoints VPC-attached functions need without a NAT gateway: the app config (SSM),
the database secret, ``document-changed`` (SNS) and the re-index workflow (Step Functions);
plus ``sagemaker.runtime`` / ``bedrock-runtime`` when models are hosted there (or a Bedrock
guardrail checks the answers)."""


SAGEMAKER_HOSTING = ("serverless", "instance")


def _semantic_cache_config(settings: StackSettings, chat: ChatOrchestrator) -> dict[str, Any]:
    """``semanticCache`` of the app config (what ``runtime.cloud.settings`` reads); nothing
    when the cache is off."""
    cache = settings.semantic_cache
    if not cache.enabled:
        return {}
    config: dict[str, Any] = {
        "enabled": True,
        "threshold": cache.threshold,
        "maxEntriesPerWorkspace": cache.max_entries_per_workspace,
    }
    if settings.semantic_cache_on_dynamodb:
        config["table"] = chat.semantic_cache_table_name
    return {"semanticCache": config}


def answer_models(settings: StackSettings) -> list[str]:
    """Models the chat can answer with (Bedrock embedding models excluded)."""
    m = settings.models
    return [b for b in m.bedrock if "embed" not in b] + list(m.openai_models)


def sagemaker_endpoint_labels(settings: StackSettings) -> list[str]:
    """``ModelHost``'s endpoint labels: the hosted embedder and cross-encoder, each LLM."""
    m = settings.models
    hosted = [
        label
        for label, cfg in (("embedding", m.embedding), ("cross_encoder", m.cross_encoder))
        if cfg.hosting in SAGEMAKER_HOSTING
    ]
    return hosted + [llm.name for llm in m.llms]


def missing_vpc_endpoints(settings: StackSettings) -> list[str]:
    """Interface endpoints ``network.lambdasInVpc`` needs but the stack lacks (none with NAT)."""
    net, m = settings.network, settings.models
    if not net.lambdas_in_vpc or net.nat_gateways or net.vpc_id:
        return []
    needed = list(VPC_WORKER_ENDPOINTS)
    on_sagemaker = [h for h in (m.embedding, m.cross_encoder) if h.hosting in SAGEMAKER_HOSTING]
    if on_sagemaker or m.llms:
        needed.append("sagemaker.runtime")
    if m.bedrock or m.guardrail or m.bedrock_embedding:
        needed.append("bedrock-runtime")
    return [e for e in needed if e not in net.interface_endpoints]


VECTOR_SCHEMA = "chorus"
"""PostgreSQL schema of the chunk tables (``VectorStore``'s default ``vector_schema``)."""
OPENSEARCH_INDEX = "chorus-chunks"
"""The one OpenSearch index every workspace's chunks share (the adapter creates it)."""


def vector_store_config(settings: StackSettings, store: VectorStore) -> dict[str, Any]:
    """The app config's ``vectorStore``: the default store and how to reach every deployed one
    (only deployed stores appear under ``stores``)."""
    vs = settings.vector_store
    stores: dict[str, Any] = {}
    if vs.dynamodb.enabled:
        stores["dynamodb"] = {"table": store.chunks_table_name}
    if vs.aurora.enabled:
        stores["pgvector"] = {
            "clusterArn": store.cluster_arn,
            "secretArn": store.database_secret_arn,
            "host": store.cluster_endpoint,
            "port": store.cluster_port,
            "database": store.database_name,
            "schema": VECTOR_SCHEMA,
            # VPC-attached functions open PostgreSQL connections; the others use the Data API.
            "access": "direct" if settings.network.lambdas_in_vpc else "dataApi",
        }
    if vs.opensearch.enabled:
        stores["opensearch"] = {
            "collectionEndpoint": store.collection_endpoint,
            "index": OPENSEARCH_INDEX,
        }
    if vs.s3_vectors.enabled:
        stores["s3vectors"] = {
            "vectorBucketName": store.s3_vectors_bucket_name,
            "indexName": store.s3_vectors_index_name,
        }
    if vs.kendra.enabled:
        stores["kendra"] = {
            "indexId": store.kendra_index_id,
            "metadataPrefix": store.kendra_metadata_prefix,
        }
    if settings.knowledge_bases:
        # runtime.cloud.settings reads vectorStore.stores.knowledgebase.knowledgeBaseIds
        stores["knowledgebase"] = {"knowledgeBaseIds": list(settings.knowledge_bases)}
    return {
        "embeddingDimension": vs.embedding_dimension,
        "defaultStore": vs.default_store,
        "stores": stores,
    }


def network_args(settings: StackSettings, tags: dict[str, str]) -> NetworkArgs:
    """A new VPC shaped by ``chorus:network``, or chorus's groups in ``network.vpcId``."""
    net = settings.network
    if net.vpc_id is not None:
        return {
            "tags": tags,
            "existing_vpc_id": net.vpc_id,
            "existing_private_subnet_ids": net.private_subnet_ids,
            "existing_isolated_subnet_ids": net.isolated_subnet_ids,
            "interface_endpoints": net.interface_endpoints,
        }
    return {
        "tags": tags,
        "cidr_block": net.cidr,
        "availability_zone_count": net.az_count,
        "nat_gateways": net.nat_gateways,
        "interface_endpoints": net.interface_endpoints,
    }


def auth_args(settings: StackSettings, tags: dict[str, str]) -> AuthArgs:
    """A new user pool from ``chorus:auth``, or the existing ``auth.userPoolId``."""
    auth = settings.auth
    if auth.user_pool_id is not None:
        return {
            "tags": tags,
            "existing_user_pool_id": auth.user_pool_id,
            "existing_client_id": auth.client_id,
        }
    return {
        "tags": tags,
        "mfa": auth.mfa,
        "self_sign_up": auth.self_sign_up,
        "callback_urls": auth.callback_urls,
        "domain_prefix": auth.domain_prefix,
        "deletion_protection": settings.deletion_protection,
    }


@dataclass
class _Parts:
    """What ``build_stack`` has declared so far, handed to the helpers that declare the rest."""

    settings: StackSettings
    code: LambdaCode
    stack: str
    region: pulumi.Output[str]
    tags: dict[str, str]
    shared: Shared
    network: Network
    auth: Auth
    models: ModelHost | None = None
    has_endpoints: bool = False
    store: VectorStore | None = None
    chat: ChatOrchestrator | None = None

    @property
    def kms(self) -> Any:
        """The customer-managed key's ARN, or None for AWS-managed keys."""
        return self.shared.kms_key_arn if self.settings.encryption.customer_managed_key else None

    @property
    def api_keys(self) -> Any:
        return self.shared.api_keys_secret_arn if self.settings.models.openai_models else None

    @property
    def config_parameter(self) -> str:
        return f"/chorus/{self.stack}/config"


def build_stack(
    settings: StackSettings, code: LambdaCode, stack: str, site_dir: str | None = None
) -> dict[str, Any]:
    """Declare every component of a chorus stack; returns the stack outputs.

    ``site_dir`` is the built web app (``frontend/dist``) when it exists; without it the
    ``Frontend`` still deploys the CDN and ``config.json`` (``__main__.py`` decides).
    """
    tags = dict(settings.tags)
    p = _Parts(
        settings=settings,
        code=code,
        stack=stack,
        region=aws.get_region_output().region,
        tags=tags,
        shared=Shared("shared", shared_args(settings, code, tags)),
        network=Network("network", network_args(settings, tags)),
        auth=Auth("auth", auth_args(settings, tags)),
    )
    p.models, p.has_endpoints = _model_host(p)
    web: Frontend | None = None
    # The app's CDN origin must be allowed to PUT to presigned URLs, but the distribution is
    # declared after the store (it fronts the orchestrator's API): it is resolved later.
    app_url, resolve_app_url = (
        pulumi.deferred_output() if settings.frontend.enabled else (None, None)
    )
    try:
        p.store = VectorStore("vectors", _store_args(p, app_url))
        p.chat = ChatOrchestrator("chat", _chat_args(p))
        p.store.grant_opensearch_access("workers", p.chat.worker_role_arns)
        AppConfig("app-config", _app_config_args(p))
        if settings.observability.dashboard:
            Dashboard("ops", dashboard_args(p))
        if settings.frontend.enabled:
            web = Frontend("web", _frontend_args(p, site_dir))
    except BaseException:
        if resolve_app_url is not None:
            resolve_app_url(pulumi.Output.from_input(""))  # never leave the CORS input pending
        raise
    outputs: dict[str, Any] = {}
    if web is not None and resolve_app_url is not None:
        resolve_app_url(web.url)
        outputs.update(
            appUrl=web.url,
            appWebsocketUrl=web.websocket_url,
            siteBucket=web.bucket_name,
            distributionId=web.distribution_id,
        )
    return _outputs(p, outputs)


def shared_args(settings: StackSettings, code: LambdaCode, tags: dict[str, str]) -> SharedArgs:
    """The key, secrets and layers every other component uses."""
    lam = settings.lambda_
    return {
        "tags": tags,
        "create_kms_key": settings.encryption.customer_managed_key,
        "create_api_keys_secret": bool(settings.models.openai_models),
        "dependencies_layer": code.dependencies_layer,
        "powertools_layer_arn": lam.powertools_layer_arn,
        "core_layer": code.core_layer,
        "architecture": lam.architecture,
        "s3_vectors_key_access": settings.vector_store.s3_vectors.enabled,
    }


def _model_host(p: _Parts) -> tuple[ModelHost, bool]:
    """The SageMaker endpoints and Bedrock grants; whether any endpoint exists."""
    settings, code, region, tags, kms, api_keys = (
        p.settings,
        p.code,
        p.region,
        p.tags,
        p.kms,
        p.api_keys,
    )
    m = settings.models
    llms: list[LlmArgs] = [
        LlmArgs(**{k: v for k, v in llm.model_dump().items() if v is not None})  # type: ignore[typeddict-item]
        for llm in m.llms
    ]
    model_args: dict[str, Any] = {
        "tags": tags,
        "llms": llms,
        "bedrock_model_ids": list(
            dict.fromkeys([*m.bedrock, *filter(None, [m.bedrock_embedding])])
        ),
        "api_keys_secret_arn": api_keys,
        "kms_key_arn": kms,
        "log_retention_days": settings.log_retention_days,
    }
    embedding = _hosted("embedding", m.embedding, code.embedding_model, region)
    cross_encoder = _hosted("cross_encoder", m.cross_encoder, code.cross_encoder_model, region)
    if embedding:
        model_args["embedding"] = embedding
    if cross_encoder:
        model_args["cross_encoder"] = cross_encoder
    models = ModelHost("models", model_args)
    return models, bool(llms or embedding or cross_encoder)


def _store_args(p: _Parts, app_url: pulumi.Output[str] | None) -> VectorStoreArgs:
    """``chorus:vectorStore`` as ``VectorStore`` inputs."""
    settings, code, tags, kms, network = p.settings, p.code, p.tags, p.kms, p.network
    vs, m, net = settings.vector_store, settings.models, settings.network
    cors_origins: Any = vs.cors_origins
    if app_url is not None:
        cors_origins = app_url.apply(lambda url: [*vs.cors_origins, url])
    store_args: VectorStoreArgs = {
        "tags": tags,
        "kms_key_arn": kms,
        "deletion_protection": settings.deletion_protection,
        "log_retention_days": settings.log_retention_days,
        "enable_aurora": vs.aurora.enabled,
        "aurora_engine_version": vs.aurora.engine_version,
        "aurora_min_capacity": vs.aurora.min_capacity,
        "aurora_max_capacity": vs.aurora.max_capacity,
        "aurora_seconds_until_auto_pause": vs.aurora.auto_pause_seconds,
        "backup_retention_days": vs.aurora.backup_retention_days,
        "final_snapshot": vs.aurora.final_snapshot,
        "embedding_dimension": vs.embedding_dimension,
        "vector_schema": VECTOR_SCHEMA,
        "isolated_subnet_ids": network.isolated_subnet_ids,
        "database_security_group_id": network.database_security_group_id,
        "setup_code": code.handlers,
        "setup_layers": p.shared.layer_arns,
        "enable_opensearch": vs.opensearch.enabled,
        "opensearch_standby_replicas": vs.opensearch.standby_replicas,
        "enable_dynamodb_store": vs.dynamodb.enabled,
        "enable_s3_vectors": vs.s3_vectors.enabled,
        "s3_vectors_index_name": vs.s3_vectors.index_name,
        "s3_vectors_distance_metric": vs.s3_vectors.distance_metric,
        "enable_kendra": vs.kendra.enabled,
        "kendra_edition": vs.kendra.edition,
        "kendra_metadata_prefix": vs.kendra.metadata_prefix,
        "cors_allowed_origins": cors_origins,
        "ingestion_path": settings.event_paths.ingestion,
    }
    if vs.documents_bucket is not None:
        store_args["existing_documents_bucket"] = vs.documents_bucket
    if m.embedding.hosting != "none" and m.embedding.embedding_model:
        store_args["embedding_model"] = m.embedding.embedding_model
    if vs.opensearch.enabled and net.lambdas_in_vpc:
        store_args.update(
            opensearch_vpc_id=network.vpc_id,
            opensearch_vpc_subnet_ids=network.private_subnet_ids,
            opensearch_security_group_ids=[network.endpoint_security_group_id],
        )
    return store_args


def _chat_args(p: _Parts) -> ChatOrchestratorArgs:
    """``chorus:orchestrator`` and every other component's outputs the chat path needs."""
    settings, code, tags, kms, shared, auth, network = (
        p.settings,
        p.code,
        p.tags,
        p.kms,
        p.shared,
        p.auth,
        p.network,
    )
    store, models = p.store, p.models
    assert store is not None and models is not None
    vs, m, net = settings.vector_store, settings.models, settings.network
    orch, paths = settings.orchestrator, settings.event_paths
    config_parameter, api_keys, has_endpoints = p.config_parameter, p.api_keys, p.has_endpoints
    chat_args: ChatOrchestratorArgs = {
        "tags": tags,
        "code": code.handlers,
        "layers": shared.layer_arns,
        "kms_key_arn": kms,
        "log_retention_days": settings.log_retention_days,
        "issuer_url": auth.issuer_url,
        "jwks_url": auth.jwks_url,
        "client_id": auth.client_id,
        "cors_allowed_origins": orch.cors_origins,
        # one switch for both checks: $connect (identity source + authorizer) and rest_api
        "require_cdn_header": settings.cdn_header_required,
        "cdn_secret_parameter_name": shared.cdn_secret_parameter_name,
        "config_parameter_name": config_parameter,
        "api_keys_secret_arn": api_keys,
        "workspace_table_arn": store.workspace_table_arn,
        "document_table_arn": store.document_table_arn,
        "documents_bucket_arn": store.documents_bucket_arn,
        "semantic_cache_table": settings.semantic_cache_on_dynamodb,
        "ingest_dlq_name": store.ingest_dlq_name,
        "chat_path": paths.chat,
        "chat_retry_attempts": paths.chat_retry_attempts,
        "chat_max_event_age_seconds": paths.chat_max_event_age_seconds,
        "chat_max_concurrency": orch.chat_max_concurrency,
        "ingest_max_concurrency": orch.ingest_max_concurrency,
        "fanout_reserved_concurrency": orch.fanout_reserved_concurrency,
        "lambda_error_alarms": orch.lambda_error_alarms,
        "snap_start_workers": settings.lambda_.snap_start,
    }
    bulk = settings.bulk_ingestion
    if bulk.enabled:
        chat_args["bulk_ingestion"] = {
            "source_bucket_names": bulk.source_buckets,
            "max_concurrency": bulk.max_concurrency,
            "max_items_per_batch": bulk.max_items_per_batch,
            "max_input_bytes_per_batch": bulk.max_input_bytes_per_batch,
            "tolerated_failure_percentage": bulk.tolerated_failure_percentage,
            "child_execution_type": bulk.child_execution_type,
        }
    if paths.ingestion == "eventbridge":
        chat_args.update(
            ingest_rule_name=store.ingest_rule_name,
            ingest_rule_arn=store.ingest_rule_arn,
            ingest_dlq_arn=store.ingest_dlq_arn,
            ingest_retry_attempts=paths.ingest_retry_attempts,
            ingest_max_event_age_seconds=paths.ingest_max_event_age_seconds,
        )
    else:
        chat_args.update(
            ingest_queue_arn=store.ingest_queue_arn, ingest_queue_url=store.ingest_queue_url
        )
    if orch.alarm_email:
        chat_args["alarm_email"] = orch.alarm_email
    obs = settings.observability
    chat_args["alarm_set"] = obs.alarm_set
    chat_args["websocket_access_logs"] = obs.access_logs
    if obs.deployment.enabled:
        chat_args.update(
            deployment_strategy=obs.deployment.strategy,
            deployment_percent=obs.deployment.percent,
            deployment_interval_minutes=obs.deployment.interval_minutes,
        )
    chat_args["alarm_thresholds"] = obs.thresholds.model_dump()  # type: ignore[typeddict-item]
    evaluation = settings.evaluation
    if evaluation.enabled:  # chorus:evaluation; off (nothing deployed) by default
        chat_args["evaluation"] = {
            "schedule": evaluation.schedule,
            "schedule_timezone": evaluation.timezone,
            "margin": evaluation.margin,
            "max_concurrency": evaluation.max_concurrency,
            "mode": evaluation.mode,
            "models": evaluation.models,
            "result_expiry_days": evaluation.result_expiry_days,
        }
    endpoints = sagemaker_endpoint_labels(settings)
    if endpoints:
        chat_args["sagemaker_endpoint_names"] = {
            label: models.endpoint_names.apply(lambda names, label=label: names[label])
            for label in endpoints
        }
    if vs.aurora.enabled:
        chat_args.update(
            cluster_arn=store.cluster_arn, database_secret_arn=store.database_secret_arn
        )
    if vs.opensearch.enabled:
        chat_args["collection_arn"] = store.collection_arn
    if vs.kendra.enabled:
        chat_args.update(
            kendra_index_arn=store.kendra_index_arn,
            kendra_metadata_prefix=vs.kendra.metadata_prefix,
        )
    if settings.knowledge_bases:
        chat_args["knowledge_base_ids"] = list(settings.knowledge_bases)
    if settings.sources.enabled:
        chat_args["sources_sync"] = True
        if settings.sources.sync_rate:
            chat_args["sources_sync_rate"] = settings.sources.sync_rate
    if vs.dynamodb.enabled:
        chat_args["chunks_table_arn"] = store.chunks_table_arn
    if vs.s3_vectors.enabled:
        chat_args["s3_vectors_index_arn"] = store.s3_vectors_index_arn
    if m.bedrock or m.bedrock_embedding:
        chat_args["bedrock_model_arns"] = models.bedrock_model_arns
    if has_endpoints:
        chat_args["sagemaker_endpoint_arns"] = models.endpoint_arns
    if m.guardrail:
        chat_args["guardrail_id"] = m.guardrail.id
    if m.bedrock_rerank:
        chat_args["rerank_model"] = m.bedrock_rerank
    if m.grounding.nli_endpoint:
        chat_args["nli_endpoint"] = m.grounding.nli_endpoint
    if m.rerank and m.rerank.provider == "sagemaker" and m.rerank.endpoint:
        chat_args["rerank_endpoint"] = m.rerank.endpoint
    if net.lambdas_in_vpc:
        missing = missing_vpc_endpoints(settings)
        if missing:
            pulumi.log.warn(
                "chorus:network.lambdasInVpc without a NAT gateway: add interfaceEndpoints "
                f"{missing}; the chat worker's replies (API Gateway @connections) and OpenAI "
                "still need a NAT gateway (docs/infrastructure.md, 'Aurora access')"
            )
        chat_args.update(
            subnet_ids=network.private_subnet_ids,
            security_group_ids=[network.lambda_security_group_id],
        )
    if code.statemachine_dir is not None:
        chat_args["statemachine_dir"] = str(code.statemachine_dir)
    return chat_args


def _app_config_args(p: _Parts) -> AppConfigArgs:
    """The runtime's configuration (``runtime.cloud.settings`` reads it)."""
    settings, stack, region, tags, kms, shared = (
        p.settings,
        p.stack,
        p.region,
        p.tags,
        p.kms,
        p.shared,
    )
    store, chat, models = p.store, p.chat, p.models
    assert store is not None and chat is not None and models is not None
    m, orch, config_parameter = settings.models, settings.orchestrator, p.config_parameter
    return {
        "tags": tags,
        "parameter_name": config_parameter,
        "kms_key_arn": kms,
        "config": {
            "stack": stack,
            "region": region,
            "tables": {
                "workspace": store.workspace_table_name,
                "document": store.document_table_name,
                "sessions": chat.sessions_table_name,
                "connections": chat.connections_table_name,
                "idempotency": chat.idempotency_table_name,
            },
            "documentsBucket": store.documents_bucket_name,
            # the async chat path has no queue: ws_message invokes the worker (its environment)
            **(
                {"chatQueueUrl": chat.chat_queue_url}
                if settings.event_paths.chat == "queue"
                else {}
            ),
            "documentChangedTopicArn": chat.document_changed_topic_arn,
            "fanoutStateMachineArn": chat.fanout_state_machine_arn,
            "reindexStateMachineArn": chat.reindex_state_machine_arn,
            **(
                {"bulkIngestionStateMachineArn": chat.bulk_state_machine_arn}
                if chat.bulk_state_machine_arn is not None
                else {}
            ),
            "apiKeysSecretArn": shared.api_keys_secret_arn,
            **_semantic_cache_config(settings, chat),
            "vectorStore": vector_store_config(settings, store),
            "models": {
                "bedrock": [b for b in m.bedrock if "embed" not in b],
                **(
                    {"embedding": {"provider": "bedrock", "modelId": m.bedrock_embedding}}
                    if m.bedrock_embedding
                    else {}
                ),
                "openai": m.openai_models,
                "endpoints": models.endpoint_names,
                "defaultMode": orch.default_mode,
                # runtime.cloud.settings reads {id, version, failOpen, checkInput}
                **({"guardrail": m.guardrail.model_dump(by_alias=True)} if m.guardrail else {}),
                # runtime.cloud.settings reads {provider, modelId} or {provider, endpoint}
                **(
                    {"rerank": m.rerank.model_dump(by_alias=True, exclude_none=True)}
                    if m.rerank
                    else {}
                ),
                # runtime.cloud.settings reads {llmJudge, nliEndpoint}
                **(
                    {"grounding": grounding}
                    if (grounding := m.grounding.model_dump(by_alias=True, exclude_none=True))
                    else {}
                ),
            },
        },
    }


STORE_METRIC_LABELS = {
    "dynamodb": "DynamoDBVectorStore",
    "pgvector": "PgVectorStore",
    "opensearch": "OpenSearchStore",
    "s3vectors": "S3VectorsStore",
    "kendra": "KendraDocumentStore",
}
"""Store kind → the ``Store`` dimension of ``RetrievalLatency`` (``metrics.store_label``)."""


def dashboard_args(p: _Parts) -> DashboardArgs:
    """The dashboard of what the stack deploys: what the alarms watch, plus the models, the
    stores and the tables."""
    chat, store = p.chat, p.store
    assert chat is not None and store is not None
    vs = p.settings.vector_store
    observed = chat.observed
    tables: dict[str, Any] = {
        "workspaces": store.workspace_table_name,
        "documents": store.document_table_name,
        "sessions": chat.sessions_table_name,
        "connections": chat.connections_table_name,
        "idempotency": chat.idempotency_table_name,
    }
    if vs.dynamodb.enabled:
        tables["chunks"] = store.chunks_table_name
    args: DashboardArgs = {
        "region": p.region,
        "models": ["extractive", *answer_models(p.settings)],
        "stores": [STORE_METRIC_LABELS[kind] for kind in vs.enabled_stores()],
        "tables": tables,
    }
    for key in (
        "functions",
        "queues",
        "dead_letter_queues",
        "http_api_id",
        "websocket_api_id",
        "websocket_stage",
        "state_machines",
        "aurora_cluster_id",
        "sagemaker_endpoints",
    ):
        if observed.get(key) is not None:
            args[key] = observed[key]  # type: ignore[literal-required]
    return args


def _frontend_args(p: _Parts, site_dir: str | None) -> FrontendArgs:
    chat = p.chat
    assert chat is not None
    shared, auth, tags, region, settings = p.shared, p.auth, p.tags, p.region, p.settings
    args: FrontendArgs = {
        "tags": tags,
        "site_dir": site_dir,
        "http_api_url": chat.http_api_url,
        "websocket_url": chat.websocket_url,
        "cdn_secret_value": shared.cdn_secret_value,
        "region": region,
        "user_pool_id": auth.user_pool_id,
        "user_pool_client_id": auth.client_id,
        "models": answer_models(settings),
        "access_logs": settings.observability.cdn_logs,
        "access_log_expiry_days": settings.observability.cdn_log_expiry_days,
    }
    if p.kms is not None:
        args["access_log_kms_key_arn"] = p.kms
    return args


def _outputs(p: _Parts, outputs: dict[str, Any]) -> dict[str, Any]:
    chat, store, models, auth, shared, network = (
        p.chat,
        p.store,
        p.models,
        p.auth,
        p.shared,
        p.network,
    )
    assert chat is not None and store is not None and models is not None
    config_parameter = p.config_parameter
    return {
        **outputs,
        "websocketUrl": chat.websocket_url,
        "httpApiUrl": chat.http_api_url,
        "userPoolId": auth.user_pool_id,
        "userPoolClientId": auth.client_id,
        "issuerUrl": auth.issuer_url,
        "documentsBucket": store.documents_bucket_name,
        "workspaceTable": store.workspace_table_name,
        "documentTable": store.document_table_name,
        "sessionsTable": chat.sessions_table_name,
        "connectionsTable": chat.connections_table_name,
        "idempotencyTable": chat.idempotency_table_name,
        "configParameter": config_parameter,
        "apiKeysSecretArn": shared.api_keys_secret_arn,
        "cdnSecretHeader": shared.cdn_secret_header_name,
        "cdnSecretParameter": shared.cdn_secret_parameter_name,
        "modelEndpoints": models.endpoint_names,
        "vpcId": network.vpc_id,
        **(
            {"bulkIngestionStateMachineArn": chat.bulk_state_machine_arn}
            if chat.bulk_state_machine_arn is not None
            else {}
        ),
    }
