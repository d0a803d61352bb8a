"""Models chorus calls: SageMaker-hosted LLMs (three ways), embedding and cross-encoder
endpoints, and the Bedrock model access policy."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .buckets import private_bucket
from .function import LambdaFunction
from .iam import Statement, allow, assume_role_policy, policy_json
from .naming import publish, tagged
from .rules import (
    InstanceCount,
    LlmSource,
    LogRetentionDays,
    ServerlessConcurrency,
    ServerlessMemoryMb,
)
from .validation import check_args, is_unknown

HF_BUILDSPEC = """version: 0.2
phases:
  install:
    commands:
      - pip install --quiet "huggingface_hub[hf_transfer]==0.27.1"
  build:
    commands:
      - export HF_HUB_ENABLE_HF_TRANSFER=1
      - |
        python - <<'PY'
        import os
        from huggingface_hub import snapshot_download
        snapshot_download(os.environ["HF_MODEL_ID"], revision=os.environ["HF_REVISION"],
                          local_dir="model", token=os.environ.get("HF_TOKEN") or None)
        PY
      - tar --sort=name --owner=0 --group=0 --numeric-owner -C model -czf model.tar.gz .
      - aws s3 cp model.tar.gz "s3://$ARTIFACT_BUCKET/$ARTIFACT_KEY"
"""
"""CodeBuild steps: download a Hugging Face snapshot, write ``model.tar.gz`` to S3."""

_ServerlessConfig = aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs
_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")


class LlmArgs(TypedDict, total=False):
    name: str
    """Short name, used in resource names and the endpoint name. Required."""
    source: LlmSource
    """``image``: a container (ECR or the Hugging Face TGI image) configured by environment;
    ``jumpstart``: a JumpStart/Marketplace model package ARN, or a JumpStart model's image and
    S3 artifacts; ``huggingface``: a Hugging Face model packaged into S3 by CodeBuild at deploy
    time. Required."""
    image_uri: pulumi.Input[str]
    """Inference image (e.g. TGI). Required for ``image``/``huggingface``."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Container environment (e.g. ``HF_MODEL_ID``, ``SM_NUM_GPUS``). Default: none."""
    model_package_arn: pulumi.Input[str]
    """JumpStart / Marketplace model package (``jumpstart``). Default: none."""
    model_data_url: pulumi.Input[str]
    """S3 URL of ``model.tar.gz`` (``jumpstart`` open weights, or a pre-packaged ``huggingface``
    model that skips CodeBuild). Default: none."""
    hf_model_id: str
    """Hugging Face repo id packaged by CodeBuild (``huggingface``). Default: none."""
    hf_revision: str
    """Revision (commit or tag) of ``hf_model_id``. Default: ``main``."""
    instance_type: pulumi.Input[str]
    """Instance type of the endpoint. Default: ``ml.g5.xlarge``."""
    instance_count: pulumi.Input[InstanceCount]
    """Initial instance count. Default: 1."""


class HostedModelArgs(TypedDict, total=False):
    image_uri: pulumi.Input[str]
    """Inference image (e.g. the Hugging Face PyTorch inference DLC). Required."""
    model_data: pulumi.Input[str] | pulumi.Asset
    """``model.tar.gz`` holding ``code/inference.py`` (from ``model_images/<name>/``, built by
    ``components.packaging.build_model_archive``): an S3 URL, or a ``FileAsset`` uploaded to the
    artifacts bucket. Required."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Container environment (e.g. ``HF_MODEL_ID``). Default: none."""
    serverless_memory_mb: pulumi.Input[ServerlessMemoryMb]
    """SageMaker Serverless Inference memory (1024..6144); scales to zero. Default: 3072, unless
    ``instance_type`` is set."""
    serverless_max_concurrency: pulumi.Input[ServerlessConcurrency]
    """Serverless maximum concurrency. Default: 2."""
    instance_type: pulumi.Input[str]
    """Use a real-time endpoint on this instance type (e.g. ``ml.g4dn.xlarge``) instead of
    Serverless Inference. Default: none."""
    instance_count: pulumi.Input[InstanceCount]
    """Instances of a real-time endpoint. Default: 1."""


class ModelHostArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    llms: Sequence[LlmArgs]
    """SageMaker-hosted LLMs. Default: none (Bedrock/OpenAI only; no GPU cost)."""
    embedding: HostedModelArgs
    """The embedding model (``model_images/embedding``). Default: none (Bedrock embeddings)."""
    cross_encoder: HostedModelArgs
    """The cross-encoder reranker (``model_images/cross_encoder``). Default: none."""
    bedrock_model_ids: Sequence[str]
    """Bedrock foundation models the answerers may call (``anthropic.claude-3-haiku-...``).
    Default: none."""
    api_keys_secret_arn: pulumi.Input[str]
    """Secret with the OpenAI key, granted by ``model_access_policy_arn``. Default: none."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for the artifacts bucket, endpoint volumes and logs. Default:
    AWS-managed keys."""
    codebuild_compute_type: pulumi.Input[str]
    """CodeBuild compute type of the packaging build. Default: ``BUILD_GENERAL1_MEDIUM``."""
    hf_token_secret_arn: pulumi.Input[str]
    """Secrets Manager secret with a Hugging Face token for gated models. Default: none."""
    waiter_code: pulumi.Input[pulumi.Archive]
    """Package of the CodeBuild wait step. Default: ``components/codebuild_wait.py``."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Retention of the build and wait-step logs. Default: 14."""


def _model_problems(args) -> str | None:
    """Plain image URIs must be ECR images and plain model data URLs S3 URLs (checked now,
    not deep inside the role policy at deploy time); every LLM names a name."""
    problems = []
    models: list[tuple[str, dict]] = [
        (f"llms[{i}]", dict(llm)) for i, llm in enumerate(args.get("llms") or [])
    ]
    models += [
        (label, dict(args[label])) for label in ("embedding", "cross_encoder") if args.get(label)
    ]
    for path, model in models:
        if path.startswith("llms"):
            problems += _llm_problems(path, model)
        image = model.get("image_uri")
        if isinstance(image, str) and not _ECR_IMAGE.match(image):
            problems.append(
                f"'{path}.image_uri': {image!r} is not an ECR image "
                "(<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>); SageMaker pulls only "
                "from ECR"
            )
        for key in ("model_data_url", "model_data"):
            url = model.get(key)
            if isinstance(url, str) and not is_unknown(url) and not url.startswith("s3://"):
                problems.append(f"'{path}.{key}': {url!r} must be an s3:// URL (or a FileAsset)")
        if not path.startswith("llms") and (
            model.get("image_uri") is None or model.get("model_data") is None
        ):
            problems.append(f"'{path}' needs image_uri and model_data")
    return "; ".join(problems) or None


def _llm_problems(path: str, llm: Mapping[str, object]) -> list[str]:
    """What an LLM of each source cannot do without (checked before anything is created)."""
    problems = [] if llm.get("name") else [f"'{path}.name' is required"]
    source, has = llm.get("source"), {k for k, v in llm.items() if v is not None}
    if source is None:
        problems.append(f"'{path}.source' is required: image, jumpstart or huggingface")
    elif source == "image" and "image_uri" not in has:
        problems.append(f"'{path}' (image) needs image_uri")
    elif source == "jumpstart" and not (
        "model_package_arn" in has or {"image_uri", "model_data_url"} <= has
    ):
        problems.append(
            f"'{path}' (jumpstart) needs model_package_arn, or image_uri and model_data_url"
        )
    elif source == "huggingface":
        if "image_uri" not in has:
            problems.append(f"'{path}' (huggingface) needs image_uri")
        if not {"hf_model_id", "model_data_url"} & has:
            problems.append(f"'{path}' (huggingface) needs hf_model_id or model_data_url")
    return problems


def _ecr_repository_arn(image_uri: str) -> str:
    match = _ECR_IMAGE.match(image_uri)
    if not match:
        raise ValueError(
            f"image_uri {image_uri!r} is not an ECR image "
            "(<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>)"
        )
    account, region, repository = match.groups()
    return f"arn:aws:ecr:{region}:{account}:repository/{repository}"


def _s3_object_arn(url: str) -> str:
    if not url.startswith("s3://"):
        raise ValueError(f"model data URL {url!r} must start with s3://")
    return f"arn:aws:s3:::{url.removeprefix('s3://')}"


class ModelHost(pulumi.ComponentResource):
    """SageMaker endpoints for LLMs, the embedder and the reranker, with one execution role.

    Example::

        import pulumi
        from chorus.components import ModelHost

        image = ("763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
                 "huggingface-pytorch-inference:2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04")
        models = ModelHost("models", {
            "embedding": {"image_uri": image, "model_data": "s3://my-models/minilm.tar.gz"},
            "bedrock_model_ids": ["anthropic.claude-3-haiku-20240307-v1:0"],
        })
        pulumi.export("endpoints", models.endpoint_names)
    """

    execution_role_arn: pulumi.Output[str]
    """SageMaker execution role shared by the models (least privilege)."""
    artifacts_bucket_name: pulumi.Output[str]
    """Bucket holding model archives."""
    endpoint_names: pulumi.Output[dict[str, str]]
    """Model name (``embedding``, ``cross_encoder``, each LLM's name) → endpoint name."""
    endpoint_arns: pulumi.Output[list[str]]
    """ARNs of every endpoint (what invokers need)."""
    bedrock_model_arns: pulumi.Output[list[str]]
    """Foundation-model ARNs of ``bedrock_model_ids`` in this region."""
    model_access_policy_arn: pulumi.Output[str | None]
    """Managed policy: invoke these endpoints and Bedrock models, read the API-keys secret
    (None when there is nothing to grant)."""

    def __init__(
        self,
        name: str,
        args: ModelHostArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("ModelHost", name, ModelHostArgs, args, rules=[_model_problems])
        super().__init__("chorus:index:ModelHost", name, {}, tagged(opts, args.get("tags")))
        self._name = name
        self._kms_key_arn = args.get("kms_key_arn")
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._region = aws.get_region_output(opts=invoke).region

        bucket = private_bucket(
            f"{name}-artifacts", parent=self, kms_key_arn=self._kms_key_arn
        ).bucket
        self._bucket = bucket

        # Resolve every model's container first: the role must name their images and data.
        images: list[pulumi.Input[str]] = []
        data_objects: list[pulumi.Input[str]] = [pulumi.Output.concat(bucket.arn, "/models/*")]
        plans: list[tuple[str, dict, pulumi.Input[str] | None, dict]] = []
        for llm in args.get("llms", []):
            plans.append(self._llm_plan(llm, args))
        plans += self._hosted_plans(name, args, bucket, data_objects)
        for _, container, data_arn, _ in plans:
            if container.get("image") is not None:
                images.append(
                    pulumi.Output.from_input(container["image"]).apply(_ecr_repository_arn)
                )
            if data_arn is not None:
                data_objects.append(data_arn)

        role = aws.iam.Role(
            f"{name}-sagemaker-role",
            assume_role_policy=assume_role_policy("sagemaker.amazonaws.com", self._account),
            description="SageMaker execution role of chorus's models (not full access)",
            opts=child,
        )
        role_statements: list[Statement] = [
            allow("ReadModelArtifacts", ["s3:GetObject"], data_objects),
            allow(
                "WriteEndpointLogs",
                [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                [
                    pulumi.Output.format(
                        "arn:aws:logs:{0}:{1}:log-group:/aws/sagemaker/*",
                        self._region,
                        self._account,
                    )
                ],
            ),
            allow(
                "PublishEndpointMetrics",
                ["cloudwatch:PutMetricData"],
                ["*"],
                {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker"]}},
            ),
        ]
        if images:
            role_statements += [
                allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
                allow(
                    "PullInferenceImages",
                    [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    images,
                ),
            ]
        if self._kms_key_arn is not None:
            role_statements.append(
                allow(
                    "UseKmsKey",
                    ["kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey"],
                    [self._kms_key_arn],
                )
            )
        role_policy = aws.iam.RolePolicy(
            f"{name}-sagemaker-policy",
            role=role.id,
            policy=policy_json(role_statements),
            opts=child,
        )

        endpoints: dict[str, aws.sagemaker.Endpoint] = {}
        for label, container, _, variant in plans:
            endpoints[label] = self._endpoint(label, container, variant, role, role_policy)
        access_policy_arn, bedrock_arns = self._access_policy(name, args, endpoints)
        publish(
            self,
            {
                "execution_role_arn": role.arn,
                "artifacts_bucket_name": bucket.bucket,
                "endpoint_names": pulumi.Output.all(**{k: e.name for k, e in endpoints.items()}),
                "endpoint_arns": pulumi.Output.all(*[e.arn for e in endpoints.values()]),
                "bedrock_model_arns": pulumi.Output.all(*bedrock_arns),
                "model_access_policy_arn": access_policy_arn,
            },
        )

    # -- pieces ---------------------------------------------------------------------------------

    def _hosted_plans(
        self,
        name: str,
        args: ModelHostArgs,
        bucket: aws.s3.Bucket,
        data_objects: list[pulumi.Input[str]],
    ) -> list[tuple[str, dict, pulumi.Input[str] | None, dict]]:
        """Container and variant of the embedding and cross-encoder models (an archive given
        as an asset is uploaded to the artifacts bucket; an S3 URL is added to
        ``data_objects``, what the role may read)."""
        child = pulumi.ResourceOptions(parent=self)
        plans: list[tuple[str, dict, pulumi.Input[str] | None, dict]] = []
        for label in ("embedding", "cross_encoder"):
            hosted = args.get(label)
            if hosted is None:
                continue
            if "image_uri" not in hosted or "model_data" not in hosted:
                raise ValueError(f"ModelHost {name}: {label} needs image_uri and model_data")
            model_data = hosted["model_data"]
            if isinstance(model_data, pulumi.Asset):
                obj = aws.s3.BucketObjectv2(
                    f"{name}-{label}-archive",
                    bucket=bucket.id,
                    key=f"models/{label}/model.tar.gz",
                    source=model_data,
                    server_side_encryption="aws:kms",
                    kms_key_id=self._kms_key_arn,
                    opts=child,
                )
                data_url: pulumi.Input[str] = pulumi.Output.concat(
                    "s3://", bucket.bucket, "/", obj.key
                )
            else:
                data_url = model_data
                data_objects.append(pulumi.Output.from_input(model_data).apply(_s3_object_arn))
            container = {
                "image": hosted["image_uri"],
                "model_data_url": data_url,
                "environment": hosted.get("environment"),
            }
            if hosted.get("instance_type") is not None:
                variant = {
                    "instance_type": hosted["instance_type"],
                    "initial_instance_count": hosted.get("instance_count", 1),
                }
            else:
                variant = {
                    "serverless_config": _ServerlessConfig(
                        memory_size_in_mb=hosted.get("serverless_memory_mb", 3072),
                        max_concurrency=hosted.get("serverless_max_concurrency", 2),
                    )
                }
            plans.append((label, container, None, variant))
        return plans

    def _access_policy(
        self, name: str, args: ModelHostArgs, endpoints: Mapping[str, aws.sagemaker.Endpoint]
    ) -> tuple[pulumi.Input[str] | None, list[pulumi.Output[str]]]:
        """The managed policy consumers attach (endpoints, Bedrock models, the API-keys
        secret), and the Bedrock model ARNs."""
        child = pulumi.ResourceOptions(parent=self)
        bedrock_arns = [
            pulumi.Output.format(
                "arn:aws:bedrock:{0}::foundation-model/{1}", self._region, model_id
            )
            for model_id in args.get("bedrock_model_ids", [])
        ]
        access: list[Statement] = []
        if endpoints:
            access.append(
                allow(
                    "InvokeEndpoints",
                    ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                    [e.arn for e in endpoints.values()],
                )
            )
        if bedrock_arns:
            access.append(
                allow(
                    "InvokeBedrockModels",
                    ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                    bedrock_arns,
                )
            )
        if args.get("api_keys_secret_arn") is not None:
            access.append(
                allow(
                    "ReadApiKeys", ["secretsmanager:GetSecretValue"], [args["api_keys_secret_arn"]]
                )
            )
        access_policy_arn: pulumi.Input[str] | None = None
        if access:
            access_policy_arn = aws.iam.Policy(
                f"{name}-model-access",
                description="Invoke chorus's models (SageMaker endpoints, Bedrock), read API keys",
                policy=policy_json(access),
                opts=child,
            ).arn
        return access_policy_arn, bedrock_arns

    def _llm_plan(self, llm: LlmArgs, args: ModelHostArgs):
        name = llm.get("name")
        source = llm.get("source")
        if not name or source not in ("image", "jumpstart", "huggingface"):
            raise ValueError(
                f"ModelHost {self._name}: every LLM needs a name and a source of "
                f"image|jumpstart|huggingface, got name={name!r} source={source!r}"
            )
        variant = {
            "instance_type": llm.get("instance_type", "ml.g5.xlarge"),
            "initial_instance_count": llm.get("instance_count", 1),
        }
        container: dict = {"environment": llm.get("environment")}
        data_arn = None
        if source == "image":
            if llm.get("image_uri") is None:
                raise ValueError(f"ModelHost {self._name}: LLM {name} (image) needs image_uri")
            container["image"] = llm["image_uri"]
        elif source == "jumpstart":
            if llm.get("model_package_arn") is not None:
                container = {
                    "model_package_name": llm["model_package_arn"],
                    "network_isolation": True,
                }
            elif llm.get("image_uri") is not None and llm.get("model_data_url") is not None:
                container.update(image=llm["image_uri"], model_data_url=llm["model_data_url"])
                data_arn = pulumi.Output.from_input(llm["model_data_url"]).apply(_s3_object_arn)
            else:
                raise ValueError(
                    f"ModelHost {self._name}: LLM {name} (jumpstart) needs model_package_arn, "
                    "or image_uri and model_data_url"
                )
        else:
            if llm.get("image_uri") is None:
                raise ValueError(
                    f"ModelHost {self._name}: LLM {name} (huggingface) needs image_uri"
                )
            container["image"] = llm["image_uri"]
            if llm.get("model_data_url") is not None:
                container["model_data_url"] = llm["model_data_url"]
                data_arn = pulumi.Output.from_input(llm["model_data_url"]).apply(_s3_object_arn)
            elif llm.get("hf_model_id"):
                container["model_data_url"] = self._package_with_codebuild(name, llm, args)
            else:
                raise ValueError(
                    f"ModelHost {self._name}: LLM {name} (huggingface) needs hf_model_id or "
                    "model_data_url"
                )
        return name, container, data_arn, variant

    def _package_with_codebuild(
        self, name: str, llm: LlmArgs, args: ModelHostArgs
    ) -> pulumi.Output[str]:
        """CodeBuild downloads the snapshot and writes model.tar.gz; a Lambda waits for it."""
        base = f"{self._name}-{name}"
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = self._kms_key_arn
        retention = args.get("log_retention_days", 14)
        if not hasattr(self, "_codebuild"):
            logs = aws.cloudwatch.LogGroup(
                f"{self._name}-packaging-logs",
                retention_in_days=retention,
                kms_key_id=kms_key_arn,
                opts=child,
            )
            role = aws.iam.Role(
                f"{self._name}-packaging-role",
                assume_role_policy=assume_role_policy("codebuild.amazonaws.com", self._account),
                description="CodeBuild role packaging Hugging Face models into S3",
                opts=child,
            )
            statements: list[Statement] = [
                allow(
                    "WriteModelArchives",
                    ["s3:PutObject"],
                    [pulumi.Output.concat(self._bucket.arn, "/models/*")],
                ),
                allow(
                    "WriteBuildLogs",
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [pulumi.Output.concat(logs.arn, ":*")],
                ),
            ]
            if args.get("hf_token_secret_arn") is not None:
                statements.append(
                    allow(
                        "ReadHfToken",
                        ["secretsmanager:GetSecretValue"],
                        [args["hf_token_secret_arn"]],
                    )
                )
            if kms_key_arn is not None:
                statements.append(
                    allow("UseKmsKey", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn])
                )
            aws.iam.RolePolicy(
                f"{self._name}-packaging-policy",
                role=role.id,
                policy=policy_json(statements),
                opts=child,
            )
            environment_variables = []
            if args.get("hf_token_secret_arn") is not None:
                environment_variables.append(
                    aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(
                        name="HF_TOKEN", type="SECRETS_MANAGER", value=args["hf_token_secret_arn"]
                    )
                )
            project = aws.codebuild.Project(
                f"{self._name}-packaging",
                description="Downloads a Hugging Face snapshot and writes model.tar.gz to S3",
                service_role=role.arn,
                build_timeout=60,
                encryption_key=kms_key_arn,
                artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
                source=aws.codebuild.ProjectSourceArgs(type="NO_SOURCE", buildspec=HF_BUILDSPEC),
                environment=aws.codebuild.ProjectEnvironmentArgs(
                    compute_type=args.get("codebuild_compute_type", "BUILD_GENERAL1_MEDIUM"),
                    image="aws/codebuild/standard:7.0",
                    type="LINUX_CONTAINER",
                    environment_variables=environment_variables,
                ),
                logs_config=aws.codebuild.ProjectLogsConfigArgs(
                    cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                        group_name=logs.name
                    )
                ),
                opts=child,
            )
            waiter_code = args.get("waiter_code") or pulumi.AssetArchive(
                {
                    "codebuild_wait.py": pulumi.FileAsset(
                        str(Path(__file__).with_name("codebuild_wait.py"))
                    )
                }
            )
            waiter = LambdaFunction(
                f"{self._name}-packaging-wait",
                {
                    "handler": "codebuild_wait.handler",
                    "code": waiter_code,
                    "timeout": 900,
                    "memory_size": 128,
                    "kms_key_arn": kms_key_arn,
                    "log_retention_days": retention,
                    "statements": [
                        allow(
                            "RunPackagingBuild",
                            ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
                            [project.arn],
                        )
                    ],
                    "description": "Starts the model packaging build and waits for it",
                },
                opts=child,
            )
            self._codebuild = (project, waiter)
        project, waiter = self._codebuild
        revision = llm.get("hf_revision", "main")
        payload = pulumi.Output.json_dumps(
            {
                "projectName": project.name,
                "bucket": self._bucket.bucket,
                "key": f"models/{name}/{revision}/model.tar.gz",
                "modelId": llm["hf_model_id"],
                "revision": revision,
            }
        )
        run = aws.lambda_.Invocation(
            f"{base}-package",
            function_name=waiter.function_name,
            input=payload,
            triggers={"input": payload},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[waiter, project]),
        )
        return run.result.apply(lambda result: json.loads(result)["modelDataUrl"])

    def _endpoint(self, label, container, variant, role, role_policy) -> aws.sagemaker.Endpoint:
        base = f"{self._name}-{label.replace('_', '-')}"
        child = pulumi.ResourceOptions(parent=self)
        network_isolation = container.pop("network_isolation", False)
        model = aws.sagemaker.Model(
            f"{base}-model",
            execution_role_arn=role.arn,
            enable_network_isolation=network_isolation,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(**container),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        serverless = "serverless_config" in variant
        config = aws.sagemaker.EndpointConfiguration(
            f"{base}-config",
            kms_key_arn=None if serverless else self._kms_key_arn,
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name="AllTraffic", model_name=model.name, **variant
                )
            ],
            opts=child,
        )
        return aws.sagemaker.Endpoint(
            f"{base}-endpoint", endpoint_config_name=config.name, opts=child
        )
