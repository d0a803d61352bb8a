"""CloudServices wiring: lazy pieces, the database secret, models from the app config."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import replace

import boto3
import pytest
from chorus.runtime.cloud.services import CloudServices, with_search_path
from chorus.runtime.cloud.settings import ConfigurationError, VectorStoreSettings, settings_from
from chorus.runtime.core.chat import ModelPrice

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


def test_a_deployed_store_without_its_settings_is_a_configuration_error(aws):
    with pytest.raises(ConfigurationError, match=r"vectorStore\.stores\.opensearch"):
        _ = services(aws, kind="opensearch").store


DYNAMODB_ONLY = {
    "embeddingDimension": 384,
    "defaultStore": "dynamodb",
    "stores": {"dynamodb": {"table": "chunks"}},
}


def test_without_the_pgvector_store_there_is_no_database(aws):
    built = CloudServices(settings_from({**CONFIG, "vectorStore": DYNAMODB_ONLY}, {}), session=aws)
    with pytest.raises(ConfigurationError, match="pgvector store is not deployed"):
        _ = built.database


def test_the_semantic_cache_is_left_out_when_aurora_is_not_deployed(aws):
    config = {**CONFIG, "vectorStore": DYNAMODB_ONLY, "semanticCache": {"enabled": True}}
    built = CloudServices(settings_from(config, {}), session=aws)
    assert built.cache is None and built.invalidate_workspace("ws") is None
    assert "database" not in vars(built)


def test_one_deployed_store_is_used_as_it_is_and_several_are_routed(aws):
    from chorus.runtime.adapters.dynamodb_store import DynamoDBVectorStore
    from chorus.runtime.cloud.stores import WorkspaceStores

    one = CloudServices(settings_from({**CONFIG, "vectorStore": DYNAMODB_ONLY}, {}), session=aws)
    assert isinstance(one.store, DynamoDBVectorStore) and one.store.table_name == "chunks"
    stores = {**DYNAMODB_ONLY["stores"], "s3vectors": {"vectorBucketName": "v"}}
    several = CloudServices(
        settings_from({**CONFIG, "vectorStore": {**DYNAMODB_ONLY, "stores": stores}}, {}),
        session=aws,
    )
    assert isinstance(several.store, WorkspaceStores) and several.stores.kinds == (
        "dynamodb",
        "s3vectors",
    )
    assert several.stores.built() == {}  # nothing is built until a workspace needs it


def test_without_an_embedding_endpoint_the_embedder_cannot_be_built(aws):
    with pytest.raises(ConfigurationError, match="embedding endpoint"):
        _ = services(aws).embedder


def test_bedrock_models_from_the_config_sit_beside_the_extractive_answerer(aws, embedder):
    built = CloudServices(settings_from(CONFIG, {}), session=aws, embedder=embedder)
    assert sorted(built.answerers()) == ["amazon.nova-lite-v1:0", "extractive"]


def test_plain_bedrock_models_are_called_through_the_resilience_layer(aws, embedder):
    from chorus.runtime.adapters.bedrock import BedrockProvider
    from chorus.runtime.core.resilience import ResilientProvider

    config = {**CONFIG, "models": {**CONFIG["models"], "orchestration": {"modelTimeoutS": 20}}}
    built = CloudServices(settings_from(config, {}), session=aws, embedder=embedder)

    provider = built.answerers()["amazon.nova-lite-v1:0"].provider
    assert isinstance(provider, ResilientProvider) and provider.deadline == 20.0
    assert isinstance(provider.provider, BedrockProvider) and provider.breaker is not None


def test_the_turn_budget_is_read_from_the_orchestration_settings(aws):
    config = {**CONFIG, "models": {**CONFIG["models"], "orchestration": {"turnBudgetS": 200}}}
    assert settings_from(config, {}).models.orchestration.turn_budget_s == 200.0


REGISTRY = {
    "haiku": {
        "provider": "bedrock",
        "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
        "price_per_1k_input": 0.00025,
        "price_per_1k_output": 0.00125,
        "rate_limit": {"rps": 2, "burst": 4},
        "timeout": 20,
    },
    "gpt": {"provider": "openai", "model_id": "gpt-4o-mini", "price_per_1k_input": 0.00015},
    "tgi": {"provider": "sagemaker_tgi", "endpoint": "llama-ep"},
    "quote": {"provider": "extractive"},
}


def registry_services(session, embedder, registry=REGISTRY, **config) -> CloudServices:
    keys = session.client("secretsmanager").create_secret(
        Name=f"api-keys-{uuid.uuid4().hex}", SecretString=json.dumps({"OPENAI_API_KEY": "sk-test"})
    )["ARN"]
    models = {**CONFIG["models"], "registry": registry, **config.pop("models", {})}
    settings = settings_from({**CONFIG, "apiKeysSecretArn": keys, "models": models, **config}, {})
    return CloudServices(settings, session=session, embedder=embedder)


def test_registry_models_are_built_resilient_with_their_deadline_and_rate_limit(aws, embedder):
    from chorus.runtime.adapters.bedrock import BedrockProvider
    from chorus.runtime.adapters.openai_compatible import OpenAICompatibleProvider
    from chorus.runtime.adapters.sagemaker_tgi import SageMakerTGIProvider
    from chorus.runtime.core.answering import ExtractiveAnswerer
    from chorus.runtime.core.resilience import ResilientProvider

    answerers = registry_services(aws, embedder).answerers()

    names = ["extractive", "amazon.nova-lite-v1:0", "quote", "haiku", "gpt", "tgi"]
    assert list(answerers) == names
    assert isinstance(answerers["quote"], ExtractiveAnswerer)
    haiku = answerers["haiku"].provider
    assert isinstance(haiku, ResilientProvider) and isinstance(haiku.provider, BedrockProvider)
    assert haiku.provider.model_id == REGISTRY["haiku"]["model_id"] and haiku.deadline == 20
    assert haiku.rate_limit is not None and haiku.retry.attempts > 1
    assert isinstance(answerers["gpt"].provider.provider, OpenAICompatibleProvider)
    assert answerers["gpt"].provider.provider._client.api_key == "sk-test"  # from the secret
    assert isinstance(answerers["tgi"].provider.provider, SageMakerTGIProvider)


def test_the_fanout_task_models_leave_retrying_to_the_workflow(aws, embedder):
    built = registry_services(aws, embedder)
    assert built.fanout_answerers["haiku"].provider.retry.attempts == 1


def test_prices_come_from_the_registry(aws, embedder):
    prices = registry_services(aws, embedder).prices
    assert prices["haiku"] == ModelPrice(0.00025, 0.00125)
    assert prices["gpt"] == ModelPrice(0.00015, 0.0) and prices["quote"] == ModelPrice()


def test_a_kind_lambda_cannot_build_is_a_configuration_error(aws, embedder):
    local = {"small": {"provider": "local", "model_id": "/models/smollm2"}}
    with pytest.raises(ConfigurationError, match="'local'"):
        registry_services(aws, embedder, registry=local).answerers()


def test_chat_gets_grounding_agreement_prices_and_orchestration(
    aws, embedder, module_dsn, schema_path, with_settings
):
    built = registry_services(
        aws,
        embedder,
        models={"orchestration": {"judgeModel": "haiku", "modelTimeoutS": 15}},
        semanticCache={"enabled": True, "threshold": 0.97},
    )
    built._database_dsn = with_settings(module_dsn, schema_path)
    try:
        chat = built.chat
        assert chat.grounding is built.grounding and chat.agreement is built.agreement
        assert chat.prices == built.prices and chat.settings.judge_model == "haiku"
        assert chat.settings.model_timeout_s == 15.0
        assert chat.cache is built.cache and chat.cache_threshold == 0.97
        assert "haiku" not in chat.consensus_models  # the judge judges, it does not answer
    finally:
        built.close()


def test_an_unknown_judge_is_a_configuration_error(aws, embedder):
    built = registry_services(aws, embedder, models={"orchestration": {"judgeModel": "opus"}})
    built._store = object()  # never reached
    with pytest.raises(ConfigurationError, match="opus"):
        _ = built.chat


def test_connections_put_the_configured_schema_first():
    import psycopg2.extensions

    dsn = with_search_path("postgresql://u:p@h:5432/db?sslmode=require", "chorus")
    assert psycopg2.extensions.parse_dsn(dsn)["options"] == "-c search_path=chorus,public"
    own = "postgresql://h/db?options=-c%20search_path%3Dmine"
    assert with_search_path(own, "chorus") == own
    with pytest.raises(ConfigurationError, match="identifier"):
        with_search_path(dsn, "Robert'); DROP")


def test_a_configured_guardrail_is_built_and_given_to_chat(
    aws, embedder, module_dsn, schema_path, with_settings
):
    from chorus.runtime.adapters.bedrock_guardrails import BedrockGuardrail

    assert services(aws).guardrail is None
    built = registry_services(
        aws, embedder, models={"guardrail": {"id": "gr1abc", "version": "4", "failOpen": True}}
    )
    built._database_dsn = with_settings(module_dsn, schema_path)
    try:
        guardrail = built.guardrail
        assert isinstance(guardrail, BedrockGuardrail)
        assert (guardrail.guardrail_id, guardrail.guardrail_version) == ("gr1abc", "4")
        assert guardrail.fail_open is True and guardrail.check_input is False
        assert built.chat.guardrail is guardrail
    finally:
        built.close()


def test_consensus_fans_out_through_the_workflow_when_it_is_deployed(
    aws, embedder, module_dsn, schema_path, with_settings
):
    from chorus.runtime.adapters.stepfunctions_fanout import StepFunctionsFanOut

    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:fanout"
    built = registry_services(
        aws, embedder, models={"orchestration": {"modelTimeoutS": 30}}, fanoutStateMachineArn=arn
    )
    fanout = built.fanout
    assert isinstance(fanout, StepFunctionsFanOut) and fanout.state_machine_arn == arn
    # The synchronous start waits for the execution: a retried model (2 × 30 s) and the
    # agreement task, and is never retried by botocore (a retry would run the models twice).
    assert fanout.client.meta.config.read_timeout == 120
    assert fanout.client.meta.config.retries["total_max_attempts"] == 1
    built._database_dsn = with_settings(module_dsn, schema_path)
    try:
        assert built.chat.orchestrator.fanout is fanout
    finally:
        built.close()


def test_consensus_stays_in_process_without_the_workflow_or_when_told_to(aws, embedder):
    assert registry_services(aws, embedder).fanout is None
    inprocess = registry_services(
        aws,
        embedder,
        models={"orchestration": {"fanout": "inprocess"}},
        fanoutStateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:fanout",
    )
    assert inprocess.fanout is None
    with pytest.raises(ConfigurationError, match="fanout 'lambda'"):
        registry_services(aws, embedder, models={"orchestration": {"fanout": "lambda"}})


def test_a_bedrock_embedding_model_replaces_the_sagemaker_endpoint(aws):
    from chorus.runtime.adapters.bedrock_embeddings import BedrockEmbedder

    config = {
        **CONFIG,
        "vectorStore": {**CONFIG["vectorStore"], "embeddingDimension": 1024},
        "models": {
            **CONFIG["models"],
            "embedding": {"provider": "bedrock", "modelId": "amazon.titan-embed-text-v2:0"},
        },
    }
    embedder = CloudServices(settings_from(config, {}), session=aws).embedder
    assert isinstance(embedder, BedrockEmbedder)
    assert (embedder.model_id, embedder.dimension) == ("amazon.titan-embed-text-v2:0", 1024)


def test_a_bedrock_embedding_model_that_cannot_give_the_store_dimension_is_refused(aws):
    config = {
        **CONFIG,
        "models": {**CONFIG["models"], "embedding": {"provider": "bedrock", "modelId": "cohere."}},
    }
    with pytest.raises(ConfigurationError, match="not a Bedrock embedding model"):
        _ = CloudServices(settings_from(config, {}), session=aws).embedder
    titan = {
        **config["models"],
        "embedding": {"provider": "bedrock", "modelId": "amazon.titan-embed-text-v2:0"},
    }
    with pytest.raises(ConfigurationError, match=r"embeddingDimension.*not 384"):
        _ = CloudServices(settings_from({**config, "models": titan}, {}), session=aws).embedder
    with pytest.raises(ConfigurationError, match=r"models\.embedding\.modelId is missing"):
        settings_from({**config, "models": {"embedding": {"provider": "bedrock"}}}, {})


def test_a_stack_without_aurora_keeps_the_semantic_cache_in_dynamodb(aws):
    import numpy as np
    from chorus.runtime.adapters.dynamodb_cache import DynamoDBSemanticCache, create_table

    create_table(aws.client("dynamodb"), "answers")
    config = {
        **CONFIG,
        "vectorStore": DYNAMODB_ONLY,
        "semanticCache": {"enabled": True, "table": "answers", "threshold": 0.95},
    }
    built = CloudServices(settings_from(config, {}), session=aws)

    cache = built.cache
    assert isinstance(cache, DynamoDBSemanticCache) and cache.table_name == "answers"
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    assert cache.store("ws", "single:m", "q", vector, {"answer": "a"}, epoch=0)
    assert built.invalidate_workspace("ws") == 1  # document-changed empties it
    assert cache.lookup("ws", "single:m", vector, 0.95) is None
    assert "database" not in vars(built)


def with_models(**models):
    return settings_from({**CONFIG, "models": {**CONFIG["models"], **models}}, {})


def test_a_bedrock_rerank_model_is_the_chat_workers_reranker(aws):
    from chorus.runtime.adapters.bedrock_rerank import BedrockReranker

    built = CloudServices(
        with_models(rerank={"provider": "bedrock", "modelId": "cohere.rerank-v3-5:0"}), session=aws
    )
    assert isinstance(built.reranker, BedrockReranker)
    assert built.reranker.model_arn == (
        "arn:aws:bedrock:us-east-1::foundation-model/cohere.rerank-v3-5:0"
    )


def test_a_sagemaker_cross_encoder_is_the_reranker_when_configured_or_deployed(aws):
    from chorus.runtime.adapters.sagemaker import SageMakerReranker

    chosen = CloudServices(
        with_models(rerank={"provider": "sagemaker", "endpoint": "ce-ep"}), session=aws
    )
    deployed = CloudServices(with_models(endpoints={"cross_encoder": "ce-2"}), session=aws)
    assert isinstance(chosen.reranker, SageMakerReranker)
    assert isinstance(deployed.reranker, SageMakerReranker)
    assert (chosen.reranker.model_id, deployed.reranker.model_id) == ("ce-ep", "ce-2")


def test_without_a_rerank_model_retrieval_is_not_reranked(aws):
    assert CloudServices(with_models(), session=aws).reranker is None


# -- model judges of grounding (models.grounding) --------------------------------------------------

LAVA_CONTEXT = "Lava is molten rock that reaches the surface of the Earth."


def test_without_model_judges_grounding_is_the_word_level_judge(aws, embedder):
    from chorus.runtime.core.grounding import EmbeddingGroundingJudge

    assert type(registry_services(aws, embedder).grounding) is EmbeddingGroundingJudge


def test_an_llm_judge_is_the_named_answer_model_combined_with_the_words(aws, embedder):
    from chorus.runtime.core.grounding import EmbeddingGroundingJudge
    from chorus.runtime.core.model_judges import CombinedGroundingJudge, LLMGroundingJudge

    built = registry_services(aws, embedder, models={"grounding": {"llmJudge": "haiku"}})

    judge = built.grounding
    assert isinstance(judge, CombinedGroundingJudge)
    words, llm = judge.judges
    assert isinstance(words, EmbeddingGroundingJudge) and isinstance(llm, LLMGroundingJudge)
    assert llm.provider.name == "haiku" and llm.provider.deadline == 20  # resilient, its deadline


@pytest.mark.parametrize("name", ["opus", "quote", "extractive"])
def test_an_llm_judge_that_is_no_configured_llm_is_a_configuration_error(aws, embedder, name):
    built = registry_services(aws, embedder, models={"grounding": {"llmJudge": name}})
    with pytest.raises(ConfigurationError, match=f"llmJudge '{name}'.*configured: .*haiku"):
        _ = built.grounding


def test_a_sentence_the_llm_judge_contradicts_is_contradicted_whatever_the_words_say(aws, embedder):
    from chorus.runtime.core.context import assemble_context
    from chorus.runtime.core.models import SearchHit
    from support.openai_server import OpenAICompatibleServer

    with OpenAICompatibleServer(reply=["1: contradicted [1]"]) as server:
        registry = {"judge": {"provider": "openai", "model_id": "j", "base_url": server.base_url}}
        built = registry_services(
            aws, embedder, registry=registry, models={"grounding": {"llmJudge": "judge"}}
        )
        context = assemble_context(
            [SearchHit("c1", "d1", 0, LAVA_CONTEXT, 1.0, {})], budget_tokens=500
        )

        [report] = built.grounding.check([LAVA_CONTEXT], context)  # a verbatim quote

    [sentence] = report.sentences
    assert sentence.verdict == "contradicted" and sentence.evidence == LAVA_CONTEXT
    [request] = server.requests
    assert LAVA_CONTEXT in request.body["messages"][-1]["content"]  # the sources went along


def test_an_nli_endpoint_judges_every_claim_through_sagemaker(aws, embedder):
    from botocore.response import StreamingBody
    from botocore.stub import Stubber
    from chorus.runtime.adapters.sagemaker import SageMakerEntailment
    from chorus.runtime.core.context import assemble_context
    from chorus.runtime.core.model_judges import CombinedGroundingJudge, NLIGroundingJudge
    from chorus.runtime.core.models import SearchHit

    built = registry_services(aws, embedder, models={"grounding": {"nliEndpoint": "nli-ep"}})
    judge = built.grounding
    assert isinstance(judge, CombinedGroundingJudge)
    nli = judge.judges[1]
    assert isinstance(nli, NLIGroundingJudge) and isinstance(nli.model, SageMakerEntailment)
    answer = json.dumps({"labels": [{"entailment": 0.02, "neutral": 0.03, "contradiction": 0.95}]})
    client = nli.model._endpoint.client
    context = assemble_context([SearchHit("c1", "d1", 0, LAVA_CONTEXT, 1.0, {})], budget_tokens=500)
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(answer.encode()), len(answer))},
            {
                "EndpointName": "nli-ep",
                "ContentType": "application/json",
                "Accept": "application/json",
                "Body": json.dumps({"pairs": [[LAVA_CONTEXT, LAVA_CONTEXT]]}).encode(),
            },
        )
        [report] = judge.check([LAVA_CONTEXT], context)

    [sentence] = report.sentences
    assert sentence.verdict == "contradicted" and sentence.score == 0.95
