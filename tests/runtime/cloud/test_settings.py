"""Cloud settings: the SSM app config (as components/stack.py writes it) plus the environment."""

from __future__ import annotations

import json

import boto3
import pytest
from chorus.runtime.cloud.settings import (
    ConfigurationError,
    GroundingJudgeSettings,
    GuardrailSettings,
    RerankSettings,
    SemanticCacheSettings,
    load_settings,
    settings_from,
)

CONFIG = {
    "stack": "dev",
    "region": "eu-west-1",
    "tables": {"workspace": "ws", "document": "docs", "sessions": "s", "connections": "c"},
    "documentsBucket": "bucket",
    "chatQueueUrl": "https://sqs/123/chat",
    "documentChangedTopicArn": "arn:topic",
    "fanoutStateMachineArn": "arn:fanout",
    "reindexStateMachineArn": "arn:reindex",
    "apiKeysSecretArn": None,
    "vectorStore": {
        "kind": "pgvector",
        "clusterArn": "arn:cluster",
        "secretArn": "arn:secret",
        "database": "chorus",
        "embeddingDimension": 768,
        "collectionEndpoint": None,
        "kendraIndexId": None,
    },
    "models": {
        "bedrock": [],
        "openai": ["gpt-4o-mini"],
        "endpoints": {"embedding": "emb-ep"},
        "defaultMode": "single",
    },
}


def test_the_stack_config_resolves_to_settings():
    settings = settings_from(CONFIG, {"CHORUS_REQUIRE_CDN_HEADER": "true"})

    assert settings.region == "eu-west-1"
    assert settings.tables.document == "docs"
    assert settings.vector_store.chunk_table == "chorus_chunks_768"
    assert settings.models.endpoints == {"embedding": "emb-ep"}
    assert settings.models.openai == ("gpt-4o-mini",)
    assert settings.require_cdn_header is True
    assert settings.idempotency_table is None


def test_the_environment_wins_over_the_config():
    env = {
        "CHORUS_SESSIONS_TABLE": "sessions-from-env",
        "CHORUS_CHAT_QUEUE_URL": "https://sqs/123/other",
        "AWS_REGION": "us-east-2",
    }
    settings = settings_from(CONFIG, env)
    assert (settings.tables.sessions, settings.chat_queue_url, settings.region) == (
        "sessions-from-env",
        "https://sqs/123/other",
        "us-east-2",
    )


def test_a_missing_table_name_is_a_configuration_error_naming_it():
    config = {**CONFIG, "tables": {"workspace": "ws"}}
    with pytest.raises(ConfigurationError, match="'document'"):
        settings_from(config, {})


def test_settings_are_loaded_from_the_ssm_parameter(monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-west-1")
        ssm.put_parameter(Name="/chorus/dev/config", Value=json.dumps(CONFIG), Type="SecureString")
        settings = load_settings(ssm, {"CHORUS_CONFIG_PARAMETER": "/chorus/dev/config"})
        assert settings.documents_bucket == "bucket"
        ssm.put_parameter(Name="/chorus/bad", Value="{", Type="SecureString")
        with pytest.raises(ConfigurationError, match="not valid JSON"):
            load_settings(ssm, {"CHORUS_CONFIG_PARAMETER": "/chorus/bad"})
    with pytest.raises(ConfigurationError, match="CHORUS_CONFIG_PARAMETER"):
        load_settings(None, {})


REGISTRY = [
    {
        "name": "haiku",
        "provider": "bedrock",
        "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
        "price_per_1k_input": 0.00025,
        "price_per_1k_output": 0.00125,
        "rate_limit": {"rps": 2, "burst": 4},
    },
    {"name": "quote", "provider": "extractive"},
]


def test_without_new_keys_the_stack_config_keeps_its_defaults():
    settings = settings_from(CONFIG, {})
    assert settings.models.registry is None and settings.models.bedrock == ()
    assert settings.semantic_cache.enabled is False
    assert settings.vector_store.schema == "chorus"  # what db_setup creates by default
    assert settings.models.orchestration.judge_model is None
    assert settings.models.guardrail is None


@pytest.mark.parametrize(
    "registry",
    [
        REGISTRY,
        {"models": REGISTRY},
        {spec["name"]: {k: v for k, v in spec.items() if k != "name"} for spec in REGISTRY},
    ],
)
def test_the_model_registry_is_read_from_models_registry_in_any_of_its_forms(registry):
    config = {**CONFIG, "models": {**CONFIG["models"], "registry": registry}}
    settings = settings_from(config, {})
    assert settings.models.registry.names == ["haiku", "quote"]
    assert settings.models.registry.get("haiku").rate_limit.rps == 2
    assert settings.models.openai == ("gpt-4o-mini",)  # the plain lists still work


def test_a_broken_registry_is_a_configuration_error_naming_the_key():
    broken = [{**REGISTRY[0], "price_per_1k_input": -1}]
    config = {**CONFIG, "models": {**CONFIG["models"], "registry": broken}}
    with pytest.raises(ConfigurationError, match=r"models\.registry.*price_per_1k_input"):
        settings_from(config, {})


def test_orchestration_cache_and_schema_come_from_the_config():
    config = {
        **CONFIG,
        "vectorStore": {**CONFIG["vectorStore"], "schema": "vectors"},
        "models": {
            **CONFIG["models"],
            "orchestration": {"modelTimeoutS": 20, "cascadeGrounding": 0.8, "judgeModel": "x"},
        },
        "semanticCache": {"enabled": True, "threshold": 0.95, "maxEntriesPerWorkspace": 50},
    }
    settings = settings_from(config, {})
    orchestration = settings.models.orchestration
    assert (orchestration.model_timeout_s, orchestration.cascade_grounding) == (20.0, 0.8)
    assert orchestration.judge_model == "x" and orchestration.cascade_agreement == 0.85
    assert settings.semantic_cache == SemanticCacheSettings(True, 0.95, 50)
    assert settings.vector_store.schema == "vectors"
    typo = {**config, "models": {**CONFIG["models"], "orchestration": {"timeout": 3}}}
    with pytest.raises(ConfigurationError, match="timeout"):
        settings_from(typo, {})


def with_guardrail(guardrail):
    return {**CONFIG, "models": {**CONFIG["models"], "guardrail": guardrail}}


def test_the_guardrail_comes_from_models_guardrail():
    settings = settings_from(with_guardrail({"id": "gr1abc", "version": 2, "failOpen": True}), {})
    assert settings.models.guardrail == GuardrailSettings("gr1abc", "2", fail_open=True)
    draft = settings_from(with_guardrail({"id": "gr1abc", "version": "DRAFT"}), {})
    assert draft.models.guardrail == GuardrailSettings("gr1abc", "DRAFT")
    assert draft.models.guardrail.fail_open is False  # fail closed unless asked


@pytest.mark.parametrize(
    ("guardrail", "complaint"),
    [
        ({"version": "1"}, r"guardrail\.id"),
        ({"id": "gr1abc"}, r"guardrail\.version"),
        ({"id": "gr1abc", "version": "latest"}, "latest"),
        ({"id": "gr1abc", "version": "1", "failOpen": "yes"}, "failOpen"),
        ({"id": "gr1abc", "version": "1", "threshold": 0.7}, "threshold"),
    ],
)
def test_a_broken_guardrail_config_is_a_configuration_error_naming_the_key(guardrail, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        settings_from(with_guardrail(guardrail), {})


# -- vectorStore: several deployed stores ---------------------------------------------------------

STORES = {
    "dynamodb": {"table": "chorus-dev-chunks"},
    "pgvector": {
        "clusterArn": "arn:cluster",
        "secretArn": "arn:secret",
        "host": "cluster.example",
        "port": 5432,
        "database": "chorus",
        "schema": "chorus",
        "table": None,
    },
    "opensearch": {"collectionEndpoint": "https://abc.eu-west-1.aoss.amazonaws.com"},
    "s3vectors": {"vectorBucketName": "chorus-vectors", "indexName": "chunks"},
    "kendra": {"indexId": "idx", "metadataPrefix": "kendra-metadata/"},
}


def with_stores(stores=STORES, **vector_store):
    return {
        **CONFIG,
        "vectorStore": {"embeddingDimension": 384, "stores": stores, **vector_store},
    }


def test_the_deployed_stores_and_the_default_come_from_vector_store_stores():
    vs = settings_from(with_stores(defaultStore="dynamodb"), {}).vector_store
    assert vs.default_store == "dynamodb"
    assert vs.stores == ("dynamodb", "pgvector", "opensearch", "s3vectors", "kendra")
    assert vs.dynamodb.table == "chorus-dev-chunks"
    assert (vs.opensearch.index, vs.opensearch.service) == ("chorus-chunks", "aoss")
    assert (vs.s3vectors.vector_bucket_name, vs.s3vectors.index_name) == (
        "chorus-vectors",
        "chunks",
    )
    assert (vs.kendra.index_id, vs.kendra.metadata_prefix) == ("idx", "kendra-metadata/")
    assert (vs.cluster_arn, vs.host, vs.chunk_table) == (
        "arn:cluster",
        "cluster.example",
        "chorus_chunks_384",
    )


def test_pgvector_goes_through_the_data_api_when_a_cluster_is_named_unless_told_direct():
    assert settings_from(with_stores(defaultStore="pgvector"), {}).vector_store.access == "dataApi"
    direct = {**STORES, "pgvector": {**STORES["pgvector"], "access": "direct"}}
    assert settings_from(with_stores(direct, defaultStore="pgvector"), {}).vector_store.access == (
        "direct"
    )
    dsn_only = {"pgvector": {"secretArn": "arn:secret", "host": "db.example"}}
    assert settings_from(with_stores(dsn_only), {}).vector_store.access == "direct"
    assert settings_from(CONFIG, {}).vector_store.access == "direct"  # the old shape, as before


def test_knowledge_bases_come_from_the_knowledgebase_store_entry():
    stores = {"dynamodb": {"table": "t"}, "knowledgebase": {"knowledgeBaseIds": ["ABCDE12345"]}}
    vs = settings_from(with_stores(stores, defaultStore="dynamodb"), {}).vector_store
    assert vs.stores == ("dynamodb", "knowledgebase")
    assert vs.knowledge_bases == ("ABCDE12345",)
    assert settings_from(CONFIG, {}).vector_store.knowledge_bases == ()


def test_one_deployed_store_is_the_default_without_saying_so():
    vs = settings_from(with_stores({"dynamodb": {"table": "t"}}), {}).vector_store
    assert (vs.default_store, vs.stores) == ("dynamodb", ("dynamodb",))


def test_the_old_single_store_shape_deploys_only_its_kind():
    vs = settings_from(CONFIG, {}).vector_store
    assert (vs.default_store, vs.stores, vs.secret_arn) == ("pgvector", ("pgvector",), "arn:secret")


@pytest.mark.parametrize(
    ("vector_store", "complaint"),
    [
        (with_stores(defaultStore="faiss"), r"vectorStore\.defaultStore 'faiss'"),
        (with_stores({"dynamodb": {"table": "t"}}, defaultStore="pgvector"), "defaultStore"),
        (with_stores(), r"vectorStore\.defaultStore None"),  # several stores, no default
        (with_stores({"dynamodb": {"table": "t"}, "chroma": {}}), r"unknown store kind.*chroma"),
        (with_stores({}), r"vectorStore\.stores must name"),
        (with_stores({"dynamodb": {}}), r"vectorStore\.stores\.dynamodb\.table is missing"),
        (with_stores({"kendra": {"indexId": "i", "prefix": "x"}}), r"kendra has unknown.*prefix"),
        (
            with_stores({"knowledgebase": {"knowledgeBaseIds": ["kb-1"]}}),
            r"knowledgebase\.knowledgeBaseIds must be a list of knowledge base ids",
        ),
        (with_stores({"knowledgebase": {}}), r"knowledgebase\.knowledgeBaseIds is missing"),
        (
            with_stores({"pgvector": {"clusterArn": "arn", "access": "magic"}}),
            r"pgvector\.access 'magic'",
        ),
        (
            with_stores({"pgvector": {"clusterArn": "arn", "access": "dataApi"}}),
            "clusterArn and secretArn",
        ),
        ({**CONFIG, "vectorStore": {"kind": "chroma"}}, r"vectorStore\.kind 'chroma'"),
    ],
)
def test_a_broken_vector_store_config_is_a_configuration_error_naming_the_key(
    vector_store, complaint
):
    with pytest.raises(ConfigurationError, match=complaint):
        settings_from(vector_store, {})


# -- models.rerank ---------------------------------------------------------------------------------


def with_rerank(rerank, endpoints=None):
    models = {**CONFIG["models"], "rerank": rerank}
    if endpoints is not None:
        models["endpoints"] = endpoints
    return {**CONFIG, "models": models}


def test_a_bedrock_rerank_model_comes_from_models_rerank():
    settings = settings_from(
        with_rerank({"provider": "bedrock", "modelId": "amazon.rerank-v1:0"}), {}
    )
    assert settings.models.rerank == RerankSettings("bedrock", "amazon.rerank-v1:0")


def test_a_sagemaker_reranker_defaults_to_the_cross_encoder_endpoint():
    settings = settings_from(
        with_rerank({"provider": "sagemaker"}, {"embedding": "emb", "cross_encoder": "ce-ep"}), {}
    )
    assert settings.models.rerank == RerankSettings("sagemaker", "ce-ep")


def test_without_models_rerank_there_is_no_rerank_setting():
    assert settings_from(CONFIG, {}).models.rerank is None


@pytest.mark.parametrize(
    ("rerank", "complaint"),
    [
        ({"provider": "cohere"}, "models.rerank must be"),
        ({"provider": "bedrock"}, r"models\.rerank\.modelId"),
        ({"provider": "sagemaker"}, "cross_encoder"),
    ],
)
def test_a_broken_rerank_config_is_a_configuration_error_naming_the_key(rerank, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        settings_from(with_rerank(rerank), {})


def with_grounding(grounding: object) -> dict:
    return {**CONFIG, "models": {**CONFIG["models"], "grounding": grounding}}


def test_model_judges_come_from_models_grounding():
    settings = settings_from(with_grounding({"llmJudge": "haiku", "nliEndpoint": "nli-ep"}), {})
    assert settings.models.grounding == GroundingJudgeSettings("haiku", "nli-ep")


def test_without_models_grounding_no_model_judge_is_set():
    assert settings_from(CONFIG, {}).models.grounding == GroundingJudgeSettings()


@pytest.mark.parametrize(
    ("grounding", "complaint"),
    [
        (["haiku"], "must be an object"),
        ({"judge": "haiku"}, r"unknown key\(s\) \['judge'\]"),
        ({"llmJudge": ""}, r"models\.grounding\.llmJudge must be a non-empty name"),
        ({"nliEndpoint": 3}, r"models\.grounding\.nliEndpoint must be a non-empty name"),
    ],
)
def test_a_broken_grounding_config_is_a_configuration_error_naming_the_key(grounding, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        settings_from(with_grounding(grounding), {})
