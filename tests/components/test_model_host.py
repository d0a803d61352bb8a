"""ModelHost: three ways to host an LLM, serverless embedder/reranker, a least-privilege role."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.model_host import ModelHost

from .conftest import ACCOUNT, REGION, deploy

ECR = f"763104351884.dkr.ecr.{REGION}.amazonaws.com"
TGI = f"{ECR}/huggingface-pytorch-tgi-inference:2.4-tgi2.4-gpu-py311-cu124-ubuntu22.04"
HF_CPU = f"{ECR}/huggingface-pytorch-inference:2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04"
PACKAGE = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/llama-3-8b-instruct"


def _host(**args):
    def program():
        host = ModelHost("models", args)
        return {"names": host.endpoint_names, "policy": host.model_access_policy_arn}

    return deploy(program)


@pytest.fixture(scope="module")
def full():
    return _host(
        llms=[
            {
                "name": "tgi",
                "source": "image",
                "image_uri": TGI,
                "environment": {"HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"},
            },
            {"name": "jumpstart", "source": "jumpstart", "model_package_arn": PACKAGE},
            {
                "name": "hf",
                "source": "huggingface",
                "image_uri": TGI,
                "hf_model_id": "HuggingFaceTB/SmolLM2-1.7B-Instruct",
            },
        ],
        embedding={"image_uri": HF_CPU, "model_data": pulumi.FileAsset(__file__)},
        cross_encoder={
            "image_uri": HF_CPU,
            "model_data": "s3://prebuilt/cross/model.tar.gz",
            "instance_type": "ml.g4dn.xlarge",
        },
        bedrock_model_ids=["anthropic.claude-3-haiku-20240307-v1:0"],
        api_keys_secret_arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:api-keys",
    )


def test_image_llm_runs_the_container_with_its_environment(full):
    model = full.one("aws:sagemaker/model:Model", "tgi").inputs
    assert model["primaryContainer"]["image"] == TGI
    assert model["primaryContainer"]["environment"] == {"HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"}


def test_jumpstart_package_runs_network_isolated(full):
    model = full.one("aws:sagemaker/model:Model", "jumpstart").inputs
    assert model["primaryContainer"] == {"modelPackageName": PACKAGE}
    assert model["enableNetworkIsolation"] is True


def test_huggingface_model_is_packaged_by_codebuild_before_the_model_exists(full):
    project = full.one("aws:codebuild/project:Project").inputs
    assert "snapshot_download" in project["source"]["buildspec"]
    assert project["environment"]["image"] == "aws/codebuild/standard:7.0"
    invocation = full.one("aws:lambda/invocation:Invocation")
    payload = json.loads(invocation.inputs["input"])
    assert payload["modelId"] == "HuggingFaceTB/SmolLM2-1.7B-Instruct"
    assert payload["projectName"] == full.one("aws:codebuild/project:Project").state["name"]
    waiter = full.one("aws:lambda/function:Function", "packaging-wait")
    assert waiter.inputs["handler"] == "codebuild_wait.handler"
    assert invocation.inputs["functionName"] == waiter.state["name"]
    model = full.one("aws:sagemaker/model:Model", "-hf-").inputs
    # The mock's invocation result is what the wait step returns.
    assert (
        model["primaryContainer"]["modelDataUrl"]
        == json.loads(invocation.state["result"])["modelDataUrl"]
    )
    policy = json.loads(
        full.one("aws:iam/rolePolicy:RolePolicy", "packaging-wait").inputs["policy"]
    )
    build = next(s for s in policy["Statement"] if s["Sid"] == "RunPackagingBuild")
    assert build["Resource"] == [full.one("aws:codebuild/project:Project").state["arn"]]


def test_embedding_defaults_to_serverless_inference_and_cross_encoder_can_use_a_gpu(full):
    configs = {
        c.name: c.inputs
        for c in full.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    }
    [embedding] = configs["models-embedding-config"]["productionVariants"]
    assert embedding["serverlessConfig"] == {"memorySizeInMb": 3072, "maxConcurrency": 2}
    assert "instanceType" not in embedding
    [cross] = configs["models-cross-encoder-config"]["productionVariants"]
    assert cross["instanceType"] == "ml.g4dn.xlarge"
    archive = full.one("aws:s3/bucketObjectv2:BucketObjectv2").inputs
    assert archive["key"] == "models/embedding/model.tar.gz"
    assert len(full.of_type("aws:sagemaker/endpoint:Endpoint")) == 5


def test_execution_role_is_least_privilege_not_full_access(full):
    role = full.one("aws:iam/role:Role", "sagemaker-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }
    assert full.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    policy = json.loads(
        full.one("aws:iam/rolePolicy:RolePolicy", "sagemaker-policy").inputs["policy"]
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["PullInferenceImages"]["Resource"] == [
        f"arn:aws:ecr:{REGION}:763104351884:repository/huggingface-pytorch-tgi-inference",
        f"arn:aws:ecr:{REGION}:763104351884:repository/huggingface-pytorch-inference",
    ] or set(by_sid["PullInferenceImages"]["Resource"]) == {
        f"arn:aws:ecr:{REGION}:763104351884:repository/huggingface-pytorch-tgi-inference",
        f"arn:aws:ecr:{REGION}:763104351884:repository/huggingface-pytorch-inference",
    }
    assert "arn:aws:s3:::prebuilt/cross/model.tar.gz" in by_sid["ReadModelArtifacts"]["Resource"]
    assert all(not a.startswith("sagemaker:") for s in policy["Statement"] for a in s["Action"])


def test_access_policy_names_endpoints_bedrock_models_and_the_secret(full):
    policy = json.loads(full.one("aws:iam/policy:Policy", "model-access").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert len(by_sid["InvokeEndpoints"]["Resource"]) == 5
    assert by_sid["InvokeBedrockModels"]["Resource"] == [
        f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    ]
    assert by_sid["ReadApiKeys"]["Action"] == ["secretsmanager:GetSecretValue"]


def test_no_models_means_no_endpoints_and_no_gpu():
    d = _host(bedrock_model_ids=["amazon.titan-embed-text-v2:0"])
    assert d.of_type("aws:sagemaker/endpoint:Endpoint") == []
    assert d.of_type("aws:codebuild/project:Project") == []


@pytest.mark.parametrize(
    ("llm", "message"),
    [
        ({"name": "x", "source": "jumpstart"}, "model_package_arn"),
        ({"name": "x", "source": "image"}, "needs image_uri"),
        ({"name": "x", "source": "ollama"}, "image|jumpstart|huggingface"),
    ],
)
def test_incomplete_llm_config_says_what_is_missing(llm, message):
    with pytest.raises(ValueError, match=message):
        ModelHost("bad", {"llms": [llm]})
