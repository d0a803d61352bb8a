"""CloudServices wiring: lazy pieces, the database secret, models from the app config."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from chorus.runtime.cloud.services import CloudServices
from chorus.runtime.cloud.settings import ConfigurationError, VectorStoreSettings, settings_from

CONFIG = {
    "tables": {"workspace": "ws", "document": "docs", "sessions": "s", "connections": "c"},
    "vectorStore": {"kind": "pgvector", "secretArn": None, "embeddingDimension": 384},
    "models": {"bedrock": ["amazon.nova-lite-v1:0"], "openai": [], "endpoints": {}},
}


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def services(session, **vector_store) -> CloudServices:
    settings = settings_from(CONFIG, {"AWS_REGION": "us-east-1"})
    if vector_store:
        settings = replace(settings, vector_store=VectorStoreSettings(**vector_store))
    return CloudServices(settings, session=session)


def test_nothing_is_built_until_it_is_used(aws):
    built = services(aws)
    assert not {"store", "embedder", "chat", "metadata", "verifier"} & set(vars(built))


def test_an_rds_managed_secret_and_the_configured_host_make_the_dsn(aws):
    arn = aws.client("secretsmanager").create_secret(
        Name="db", SecretString=json.dumps({"username": "chorus", "password": "p@ss/word"})
    )["ARN"]
    built = services(aws, secret_arn=arn, host="cluster.example", database="vectors")
    assert built.database_dsn() == (
        "postgresql://chorus:p%40ss%2Fword@cluster.example:5432/vectors?sslmode=require"
    )
    without_host = services(aws, secret_arn=arn)
    with pytest.raises(ConfigurationError, match="host"):
        without_host.database_dsn()


def test_a_secret_may_carry_a_whole_dsn(aws):
    arn = aws.client("secretsmanager").create_secret(
        Name="db", SecretString=json.dumps({"dsn": "postgresql:///x"})
    )["ARN"]
    assert services(aws, secret_arn=arn).database_dsn() == "postgresql:///x"


def test_an_unwired_store_kind_is_a_configuration_error(aws):
    with pytest.raises(ConfigurationError, match="opensearch"):
        _ = services(aws, kind="opensearch").store


def test_without_an_embedding_endpoint_the_embedder_cannot_be_built(aws):
    with pytest.raises(ConfigurationError, match="embedding endpoint"):
        _ = services(aws).embedder


def test_bedrock_models_from_the_config_sit_beside_the_extractive_answerer(aws, embedder):
    built = CloudServices(settings_from(CONFIG, {}), session=aws, embedder=embedder)
    assert sorted(built.answerers()) == ["amazon.nova-lite-v1:0", "extractive"]
