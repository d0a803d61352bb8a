"""Stack settings: one validated object; a bad key or value is named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.settings import ConfigError, StackSettings, load_stack_file, parse_settings

ROOT = Path(__file__).resolve().parents[2]


def test_dev_stack_file_is_valid_and_cheap():
    settings = load_stack_file(ROOT / "Pulumi.dev.yaml")
    assert settings.network.nat_gateways == 0
    assert settings.network.interface_endpoints == []
    assert settings.vector_store.aurora.min_capacity == 0
    assert settings.models.embedding.hosting == "serverless"
    assert settings.encryption.customer_managed_key is False


def test_defaults_are_safe_for_a_component_consumer():
    settings = StackSettings()
    assert settings.encryption.customer_managed_key is True
    assert settings.network.nat_gateways == 0
    assert settings.models.cross_encoder.hosting == "none"


def test_values_from_pulumi_config_arrive_as_json_strings():
    settings = parse_settings(
        {"chorus:network": '{"azCount": 3, "natGateways": 1}', "chorus:logRetentionDays": "30"}
    )
    assert (settings.network.az_count, settings.network.nat_gateways) == (3, 1)
    assert settings.log_retention_days == 30


def test_other_namespaces_are_ignored():
    assert parse_settings({"aws:region": "eu-west-1"}) == StackSettings()


def _guardrail(**fields):
    return {"chorus:models": {"guardrail": {"id": "abc123def456", "version": "1", **fields}}}


def test_guardrail_is_off_by_default():
    assert StackSettings().models.guardrail is None
    assert load_stack_file(ROOT / "Pulumi.dev.yaml").models.guardrail is None


def test_guardrail_fails_closed_and_checks_only_answers_by_default():
    guardrail = parse_settings(_guardrail()).models.guardrail
    assert guardrail is not None
    assert (guardrail.fail_open, guardrail.check_input) == (False, False)


@pytest.mark.parametrize("version", [1, "1", "12", "DRAFT"])
def test_guardrail_version_is_a_published_number_or_draft(version):
    guardrail = parse_settings(_guardrail(version=version)).models.guardrail
    assert guardrail is not None and guardrail.version == str(version)


def test_guardrail_may_be_named_by_its_arn():
    arn = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/abc123def456"
    guardrail = parse_settings(_guardrail(id=arn)).models.guardrail
    assert guardrail is not None and guardrail.id == arn


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"chorus:network": {"natGateways": 3, "azCount": 2}}, "'chorus:network'"),
        ({"chorus:network": {"natGateway": 1}}, "'chorus:network.natGateway'"),
        ({"chorus:logRetentionDays": 10}, "'chorus:logRetentionDays'"),
        ({"chorus:models": {"embedding": {"hosting": "gpu"}}}, "'chorus:models.embedding.hosting'"),
        ({"chorus:lambda": {"architecture": "sparc"}}, "'chorus:lambda.architecture'"),
        ({"chorus:models": {"guardrail": {"id": "gr1"}}}, "'chorus:models.guardrail.version'"),
        ({"chorus:models": {"guardrail": {"version": 1}}}, "'chorus:models.guardrail.id'"),
        (_guardrail(version="latest"), "'chorus:models.guardrail.version'"),
        (_guardrail(version=0), "'chorus:models.guardrail.version'"),
        (_guardrail(version="1.0"), "'chorus:models.guardrail.version'"),
        (_guardrail(version=True), "'chorus:models.guardrail.version'"),
        (_guardrail(id="My Guardrail"), "'chorus:models.guardrail.id'"),
        (_guardrail(failOpen="sometimes"), "'chorus:models.guardrail.failOpen'"),
        (_guardrail(checkInputs=True), "'chorus:models.guardrail.checkInputs'"),
        ({"chorus:vectorStore": {"defaultStore": "faiss"}}, "'chorus:vectorStore.defaultStore'"),
        (
            {"chorus:vectorStore": {"s3Vectors": {"distanceMetric": "euclidean"}}},
            "'chorus:vectorStore.s3Vectors.distanceMetric'",
        ),
        (
            {"chorus:vectorStore": {"s3Vectors": {"indexName": "Chunks_1"}}},
            "'chorus:vectorStore.s3Vectors.indexName'",
        ),
        (
            {"chorus:vectorStore": {"kendra": {"metadataPrefix": "meta"}}},
            "'chorus:vectorStore.kendra.metadataPrefix'",
        ),
    ],
)
def test_bad_values_name_their_key(config, named):
    with pytest.raises(ConfigError) as error:
        parse_settings(config)
    assert named in str(error.value)


def test_dev_workspaces_default_to_the_dynamodb_store_with_aurora_opt_in():
    vs = load_stack_file(ROOT / "Pulumi.dev.yaml").vector_store
    assert vs.default_store == "dynamodb"
    assert vs.enabled_stores() == ["dynamodb"]


def test_dev_event_paths_poll_nothing_and_prod_keeps_the_queues():
    dev = load_stack_file(ROOT / "Pulumi.dev.yaml").event_paths
    prod = load_stack_file(ROOT / "Pulumi.prod.yaml").event_paths
    assert (dev.ingestion, dev.chat, dev.idle_free) == ("eventbridge", "async", True)
    assert (prod.ingestion, prod.chat, prod.idle_free) == ("queue", "queue", False)


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"ingestion": "sns"}, "chorus:eventPaths.ingestion"),
        ({"chat": "sqs"}, "chorus:eventPaths.chat"),
        ({"chatRetryAttempts": 3}, "chorus:eventPaths.chatRetryAttempts"),
        ({"ingestMaxEventAgeSeconds": 30}, "chorus:eventPaths.ingestMaxEventAgeSeconds"),
    ],
)
def test_bad_event_paths_name_their_key(config, named):
    with pytest.raises(ConfigError) as error:
        parse_settings({"chorus:eventPaths": config})
    assert named in str(error.value)


def test_store_defaults_deploy_dynamodb_and_aurora_only():
    vs = StackSettings().vector_store
    assert vs.default_store == "dynamodb"
    assert vs.dynamodb.enabled and not vs.s3_vectors.enabled and not vs.kendra.enabled
    assert (vs.s3_vectors.index_name, vs.s3_vectors.distance_metric) == ("chunks", "cosine")
    assert vs.kendra.metadata_prefix == "kendra-metadata/"


@pytest.mark.parametrize(
    ("store", "switch"),
    [
        ("kendra", "vectorStore.kendra.enabled"),
        ("s3vectors", "vectorStore.s3Vectors.enabled"),
        ("opensearch", "vectorStore.opensearch.enabled"),
        ("pgvector", "vectorStore.aurora.enabled"),
    ],
)
def test_the_default_store_must_be_deployed(store, switch):
    off = {"aurora": {"enabled": False}} if store == "pgvector" else {}
    with pytest.raises(ConfigError) as error:
        parse_settings({"chorus:vectorStore": {"defaultStore": store, **off}})
    assert "'chorus:vectorStore.defaultStore'" in str(error.value)
    assert f"set {switch}: true" in str(error.value)


def test_turning_off_the_default_dynamodb_store_names_the_default_store_key():
    with pytest.raises(ConfigError) as error:
        parse_settings({"chorus:vectorStore": {"dynamodb": {"enabled": False}}})
    assert "'chorus:vectorStore.defaultStore'" in str(error.value)
    assert "'dynamodb' is not deployed" in str(error.value)
    vs = parse_settings(
        {"chorus:vectorStore": {"dynamodb": {"enabled": False}, "defaultStore": "pgvector"}}
    ).vector_store
    assert vs.enabled_stores() == ["pgvector"]


def test_every_store_can_be_deployed_at_once():
    vs = parse_settings(
        {
            "chorus:vectorStore": {
                "defaultStore": "s3vectors",
                "opensearch": {"enabled": True},
                "s3Vectors": {"enabled": True, "indexName": "docs-v2"},
                "kendra": {"enabled": True, "metadataPrefix": "kendra/meta/"},
            }
        }
    ).vector_store
    assert vs.enabled_stores() == ["dynamodb", "pgvector", "opensearch", "s3vectors", "kendra"]
    assert vs.s3_vectors.index_name == "docs-v2"


def test_dev_stack_answers_only_through_the_cdn():
    settings = load_stack_file(ROOT / "Pulumi.dev.yaml")
    assert settings.frontend.enabled
    assert settings.orchestrator.require_cdn_header is None  # not set: follows the frontend
    assert settings.cdn_header_required is True


@pytest.mark.parametrize(("frontend", "required"), [(True, True), (False, False)])
def test_the_cdn_header_is_required_by_default_exactly_when_the_cdn_is_deployed(frontend, required):
    settings = parse_settings({"chorus:frontend": {"enabled": frontend}})
    assert settings.cdn_header_required is required


def test_the_cdn_header_check_can_be_turned_off_with_the_cdn_deployed():
    settings = parse_settings({"chorus:orchestrator": {"requireCdnHeader": False}})
    assert settings.frontend.enabled and settings.cdn_header_required is False


def test_requiring_the_cdn_header_without_the_cdn_is_refused():
    with pytest.raises(ConfigError) as error:
        parse_settings(
            {
                "chorus:orchestrator": {"requireCdnHeader": True},
                "chorus:frontend": {"enabled": False},
            }
        )
    assert "'chorus:frontend'" in str(error.value)
    assert "orchestrator.requireCdnHeader: false" in str(error.value)


def _rerank(rerank, **models):
    return {"chorus:models": {"rerank": rerank, **models}}


def test_rerank_is_off_by_default():
    assert StackSettings().models.rerank is None
    assert load_stack_file(ROOT / "Pulumi.dev.yaml").models.bedrock_rerank is None


@pytest.mark.parametrize(
    "model",
    [
        "cohere.rerank-v3-5:0",
        "amazon.rerank-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0",
    ],
)
def test_a_bedrock_rerank_model_is_named_by_id_or_arn(model):
    settings = parse_settings(_rerank({"provider": "bedrock", "modelId": model}))
    assert settings.models.bedrock_rerank == model


@pytest.mark.parametrize(
    "rerank",
    [
        {"provider": "bedrock"},
        {"provider": "bedrock", "modelId": "not a model"},
        {"provider": "bedrock", "modelId": "amazon.rerank-v1:0", "endpoint": "x"},
        {"provider": "sagemaker", "modelId": "amazon.rerank-v1:0", "endpoint": "x"},
        {"provider": "cohere", "modelId": "rerank-v3.5"},
    ],
)
def test_a_rerank_setting_that_names_the_wrong_model_for_its_provider_is_refused(rerank):
    with pytest.raises(ConfigError, match="rerank"):
        parse_settings(_rerank(rerank))


def test_grounding_has_no_model_judge_by_default():
    grounding = StackSettings().models.grounding
    assert grounding.llm_judge is None and grounding.nli_endpoint is None


def test_model_judges_of_grounding_are_an_answer_model_and_an_endpoint_name():
    settings = parse_settings(
        {
            "chorus:models": {
                "openaiModels": ["gpt-4o-mini"],
                "grounding": {"llmJudge": "gpt-4o-mini", "nliEndpoint": "grounding-nli"},
            }
        }
    )
    assert settings.models.grounding.llm_judge == "gpt-4o-mini"
    assert settings.models.grounding.nli_endpoint == "grounding-nli"


@pytest.mark.parametrize(
    ("grounding", "complaint"),
    [
        ({"llmJudge": "opus"}, "is not an answer model of the stack"),
        ({"llmJudge": "amazon.titan-embed-text-v2:0"}, "is not an answer model"),
        ({"nliEndpoint": "no_underscores"}, "is not a SageMaker endpoint name"),
        ({"nliEndpoint": "-leading-dash"}, "is not a SageMaker endpoint name"),
    ],
)
def test_a_judge_the_stack_cannot_call_is_refused(grounding, complaint):
    models = {"bedrock": ["amazon.titan-embed-text-v2:0"], "grounding": grounding}
    with pytest.raises(ConfigError, match=complaint):
        parse_settings({"chorus:models": models})


def test_a_sagemaker_reranker_needs_an_endpoint_or_a_hosted_cross_encoder():
    with pytest.raises(ConfigError, match="crossEncoder"):
        parse_settings(_rerank({"provider": "sagemaker"}))
    hosted = parse_settings(
        _rerank({"provider": "sagemaker"}, crossEncoder={"hosting": "serverless"})
    )
    named = parse_settings(_rerank({"provider": "sagemaker", "endpoint": "my-cross-encoder"}))
    assert hosted.models.rerank is not None and named.models.rerank is not None
    assert hosted.models.bedrock_rerank is None


def test_knowledge_bases_are_ids_of_ten_upper_case_letters_and_digits():
    assert parse_settings({"chorus:knowledgeBases": ["ABCDE12345"]}).knowledge_bases == [
        "ABCDE12345"
    ]
    assert parse_settings({}).knowledge_bases == []
    with pytest.raises(ConfigError, match=r"'chorus:knowledgeBases\.0'"):
        parse_settings({"chorus:knowledgeBases": ["kb-abc"]})
