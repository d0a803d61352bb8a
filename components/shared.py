"""What every other component shares: the KMS key, secrets, the CDN header, layers, app config."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from .buckets import private_bucket
from .iam import policy_json
from .naming import parameter_path, physical_name, tagged
from .rules import KmsDeletionWindowDays, LambdaArchitecture
from .validation import check_args

CDN_SECRET_HEADER = "x-chorus-origin-verify"
"""Header the CDN adds to every origin request; the APIs reject requests without its value."""


class SharedArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    create_kms_key: bool
    """Create one customer-managed KMS key (~$1/month) for everything chorus stores, with
    rotation. Without it, resources use AWS-managed keys (free). Default: True."""
    deletion_window_days: pulumi.Input[KmsDeletionWindowDays]
    """Waiting period before a deleted key is gone. Default: 30."""
    create_api_keys_secret: bool
    """Create the Secrets Manager secret for external API keys ($0.40/month); a Bedrock-only
    stack can skip it. Default: True."""
    api_keys: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Initial external API keys (e.g. ``{"OPENAI_API_KEY": ...}``) as a Pulumi secret. Default:
    none; the secret is created empty and filled out of band (``aws secretsmanager
    put-secret-value``) so keys never enter the Pulumi state."""
    dependencies_layer: pulumi.Input[pulumi.Asset | pulumi.Archive]
    """Layer archive with the wheels the handlers need (``python/``; Powertools too unless
    ``powertools_layer_arn`` is given). Default: none."""
    powertools_layer_arn: pulumi.Input[str]
    """An existing layer ARN, e.g. AWS's public Powertools layer, attached before
    ``dependencies_layer`` (which then need not hold Powertools). Default: none."""
    core_layer: pulumi.Input[pulumi.Asset | pulumi.Archive]
    """Layer archive with chorus's runtime core (``python/runtime/...``). Default: none."""
    architecture: pulumi.Input[LambdaArchitecture]
    """Architecture the layers are built for. Default: ``x86_64``."""
    s3_vectors_key_access: bool
    """Let S3 Vectors' background indexing (``indexing.s3vectors.amazonaws.com``) decrypt with
    the key, for vector buckets of this account encrypted with it; needed when the
    ``VectorStore`` has S3 Vectors and the key. Default: False."""


class Shared(pulumi.ComponentResource):
    """The KMS key, the API-keys secret, the CDN origin secret and the Lambda layers.

    Example::

        import pulumi
        from chorus.components import Shared

        shared = Shared("shared", {"create_kms_key": True, "create_api_keys_secret": False})
        pulumi.export("key", shared.kms_key_arn)
    """

    kms_key_arn: pulumi.Output[str | None]
    """Customer-managed key ARN, or None when AWS-managed keys are used."""
    api_keys_secret_arn: pulumi.Output[str | None]
    """Secrets Manager secret holding external API keys (JSON object); None if not created."""
    cdn_secret_header_name: pulumi.Output[str]
    """Name of the header only the CDN sends."""
    cdn_secret_parameter_name: pulumi.Output[str]
    """SSM SecureString holding the header's value (read by the APIs)."""
    cdn_secret_parameter_arn: pulumi.Output[str]
    """ARN of that parameter."""
    cdn_secret_value: pulumi.Output[str]
    """The header's value (a Pulumi secret), for the CDN's origin configuration."""
    layer_arns: pulumi.Output[list[str]]
    """Layer ARNs every function gets: dependencies (Powertools) first, then the core."""
    artifacts_bucket_name: pulumi.Output[str | None]
    """Private bucket the layer archives are uploaded to (None without layers)."""

    def __init__(
        self, name: str, args: SharedArgs | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args("Shared", name, SharedArgs, args)
        super().__init__("chorus:index:Shared", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region

        kms_key_arn: pulumi.Input[str] | None = None
        if args.get("create_kms_key", True):
            key = aws.kms.Key(
                f"{name}-key",
                description="chorus: data at rest (tables, bucket, queues, topics, logs, secrets)",
                enable_key_rotation=True,
                deletion_window_in_days=args.get("deletion_window_days", 30),
                policy=key_policy(
                    account, region, s3_vectors=args.get("s3_vectors_key_access", False)
                ),
                opts=child,
            )
            aws.kms.Alias(
                f"{name}-key-alias",
                name=f"alias/{physical_name(name, 'key', max_length=250)}",
                target_key_id=key.key_id,
                opts=child,
            )
            kms_key_arn = key.arn

        api_keys_arn: pulumi.Input[str] | None = None
        if args.get("create_api_keys_secret", True):
            api_keys = aws.secretsmanager.Secret(
                f"{name}-api-keys",
                description="External LLM API keys for chorus (JSON object, e.g. OPENAI_API_KEY)",
                kms_key_id=kms_key_arn,
                recovery_window_in_days=7,
                opts=child,
            )
            api_keys_arn = api_keys.arn
            if args.get("api_keys") is not None:
                aws.secretsmanager.SecretVersion(
                    f"{name}-api-keys-value",
                    secret_id=api_keys.id,
                    secret_string=pulumi.Output.secret(pulumi.Output.json_dumps(args["api_keys"])),
                    opts=child,
                )

        # Generated once; ignore_changes keeps the first value so previews stay clean.
        cdn_secret = aws.ssm.Parameter(
            f"{name}-cdn-secret",
            name=parameter_path(name, "cdn-origin-secret"),
            type="SecureString",
            key_id=kms_key_arn,
            value=pulumi.Output.secret(secrets.token_urlsafe(32)),
            description=f"Value of the {CDN_SECRET_HEADER} header only the CDN sends",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["value"]),
        )

        layers: list[pulumi.Input[str]] = []
        architecture = args.get("architecture", "x86_64")
        if args.get("powertools_layer_arn") is not None:
            layers.append(args["powertools_layer_arn"])
        archives = [
            (label, code, description)
            for label, code, description in (
                (
                    "dependencies",
                    args.get("dependencies_layer"),
                    "aws-lambda-powertools and the wheels chorus's handlers import",
                ),
                ("core", args.get("core_layer"), "chorus runtime core and adapters"),
            )
            if code is not None
        ]
        artifacts_name: pulumi.Input[str] | None = None
        if archives:
            # Layers go through S3: a direct upload is limited to 50 MB and the dependencies
            # layer is ~47 MB. Versioned bucket, fixed keys: a byte-identical (reproducible)
            # archive leaves object, version and layer unchanged, so previews show no diff.
            artifacts = private_bucket(
                f"{name}-artifacts", parent=self, kms_key_arn=kms_key_arn, force_destroy=True
            ).bucket
            artifacts_name = artifacts.bucket
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-artifacts-lifecycle",
                bucket=artifacts.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        # a published layer keeps its own copy: replaced archives can go
                        id="expire-replaced-archives",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=7
                        ),
                    )
                ],
                opts=child,
            )
            for label, code, description in archives:
                archive = aws.s3.BucketObjectv2(
                    f"{name}-{label}-layer-archive",
                    bucket=artifacts.id,
                    key=f"layers/{label}.zip",
                    source=code,
                    opts=child,
                )
                layers.append(
                    aws.lambda_.LayerVersion(
                        f"{name}-{label}",
                        layer_name=physical_name(name, label, max_length=140),
                        s3_bucket=archive.bucket,
                        s3_key=archive.key,
                        s3_object_version=archive.version_id,
                        compatible_runtimes=["python3.12"],
                        compatible_architectures=[architecture],
                        description=description,
                        opts=child,
                    ).arn
                )

        self.kms_key_arn = pulumi.Output.from_input(kms_key_arn)
        self.api_keys_secret_arn = pulumi.Output.from_input(api_keys_arn)
        self.cdn_secret_header_name = pulumi.Output.from_input(CDN_SECRET_HEADER)
        self.cdn_secret_parameter_name = cdn_secret.name
        self.cdn_secret_parameter_arn = cdn_secret.arn
        self.cdn_secret_value = pulumi.Output.secret(cdn_secret.value)
        self.layer_arns = pulumi.Output.all(*layers)
        self.artifacts_bucket_name = pulumi.Output.from_input(artifacts_name)
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "api_keys_secret_arn": self.api_keys_secret_arn,
                "cdn_secret_header_name": self.cdn_secret_header_name,
                "cdn_secret_parameter_name": self.cdn_secret_parameter_name,
                "cdn_secret_parameter_arn": self.cdn_secret_parameter_arn,
                "cdn_secret_value": self.cdn_secret_value,
                "layer_arns": self.layer_arns,
                "artifacts_bucket_name": self.artifacts_bucket_name,
            }
        )


def key_policy(
    account: pulumi.Input[str], region: pulumi.Input[str], *, s3_vectors: bool = False
) -> pulumi.Output[str]:
    """Key policy: IAM in the account decides (root), plus the services that encrypt on our
    behalf without an IAM role of ours (CloudWatch Logs; S3 and SNS sending to encrypted queues;
    with ``s3_vectors``, S3 Vectors' background indexing of this account's vector buckets).
    In a key policy ``Resource`` is always ``"*"`` (it means "this key")."""
    root = pulumi.Output.format("arn:aws:iam::{0}:root", account)
    extra: list[dict[str, Any]] = []
    if s3_vectors:
        # AWS's documented statement for SSE-KMS vector buckets: decrypt only, only for vector
        # buckets of this account, only with S3 Vectors' encryption context.
        extra.append(
            {
                "Sid": "S3VectorsIndexing",
                "Effect": "Allow",
                "Principal": {"Service": "indexing.s3vectors.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "aws:SourceArn": pulumi.Output.format(
                            "arn:aws:s3vectors:{0}:{1}:bucket/*", region, account
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": account},
                    "ForAnyValue:StringEquals": {
                        "kms:EncryptionContextKeys": [
                            "aws:s3vectors:arn",
                            "aws:s3vectors:resource-id",
                        ]
                    },
                },
            }
        )
    return policy_json(
        [
            {
                "Sid": "AccountIamDecides",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogs",
                "Effect": "Allow",
                "Principal": {"Service": pulumi.Output.format("logs.{0}.amazonaws.com", region)},
                "Action": [
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey*",
                    "kms:ReEncrypt*",
                ],
                "Resource": "*",
                "Condition": {
                    "StringLike": {
                        "kms:EncryptionContext:aws:logs:arn": pulumi.Output.format(
                            "arn:aws:logs:{0}:{1}:log-group:*", region, account
                        )
                    }
                },
            },
            {
                "Sid": "CloudFrontLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
            },
            {
                # EventBridge: the ingest rule's dead-letter queue (eventPaths.ingestion);
                # CloudWatch: alarms publishing to the encrypted alarm topic
                "Sid": "S3AndSnsToEncryptedQueues",
                "Effect": "Allow",
                "Principal": {
                    "Service": [
                        "cloudwatch.amazonaws.com",
                        "events.amazonaws.com",
                        "s3.amazonaws.com",
                        "sns.amazonaws.com",
                    ]
                },
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            *extra,
        ]
    )


class AppConfigArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    parameter_name: pulumi.Input[str]
    """SSM parameter name, e.g. ``/chorus/dev/config``. Required."""
    config: pulumi.Input[Mapping[str, Any]]
    """App configuration the Lambdas read (tables, models, retrieval settings). Required."""
    kms_key_arn: pulumi.Input[str]
    """Key of the SecureString. Default: the AWS-managed ``aws/ssm`` key."""


class AppConfig(pulumi.ComponentResource):
    """The runtime's configuration as one JSON document in an SSM SecureString parameter.

    Example::

        from chorus.components import AppConfig

        AppConfig("app-config", {
            "parameter_name": "/chorus/dev/config",
            "config": {"stack": "dev", "models": {"defaultMode": "single"}},
        })
    """

    parameter_name: pulumi.Output[str]
    """Name of the parameter."""
    parameter_arn: pulumi.Output[str]
    """ARN of the parameter."""

    def __init__(
        self, name: str, args: AppConfigArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "AppConfig", name, AppConfigArgs, args, required=("parameter_name", "config")
        )
        super().__init__("chorus:index:AppConfig", name, {}, tagged(opts, args.get("tags")))
        parameter = aws.ssm.Parameter(
            f"{name}-parameter",
            name=args["parameter_name"],
            type="SecureString",
            tier="Standard",
            key_id=args.get("kms_key_arn"),
            value=pulumi.Output.json_dumps(args["config"]),
            description="chorus app configuration (JSON) read by the Lambdas at cold start",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.parameter_name = parameter.name
        self.parameter_arn = parameter.arn
        self.register_outputs(
            {"parameter_name": self.parameter_name, "parameter_arn": self.parameter_arn}
        )


def parameter_arn(
    name: pulumi.Input[str], region: pulumi.Input[str], account: pulumi.Input[str]
) -> pulumi.Output[str]:
    """ARN of an SSM parameter from its name (names start with ``/``)."""
    return pulumi.Output.format("arn:aws:ssm:{0}:{1}:parameter{2}", region, account, name)


__all__: Sequence[str] = ["CDN_SECRET_HEADER", "AppConfig", "AppConfigArgs", "Shared", "SharedArgs"]
