"""Cloud settings: the SSM app config (as components/stack.py writes it) plus the environment."""

from __future__ import annotations

import json

import boto3
import pytest
from chorus.runtime.cloud.settings import (
    ConfigurationError,
    GuardrailSettings,
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
