"""One Lambda function the way chorus runs every function: own role, own log group, X-Ray."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .iam import Statement, allow, assume_role_policy, kms_statements, policy_json
from .naming import tagged
from .rules import (
    LambdaArchitecture,
    LambdaMemoryMb,
    LambdaTimeout,
    LogRetentionDays,
    ReservedConcurrency,
)
from .validation import check_args

XRAY_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
"""X-Ray write actions; AWS supports no resource-level permission for them (Resource "*")."""

VPC_ENI_ACTIONS = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
]
"""What Lambda needs to attach a function to a VPC; ``Describe*``/ENI calls take Resource "*"."""


LIVE_ALIAS = "live"
LIVE_ALIAS_ENV = "CHORUS_LIVE_ALIAS"
"""Set (to ``live``) in a function whose versions are published: the runtime qualifies its
own name with it (``runtime.cloud.ingest``'s continuations)."""
"""The alias callers use once versions are published."""


class LambdaFunctionArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    handler: pulumi.Input[str]
    """Python entry point, e.g. ``runtime.handlers.ws_connect.handler``. Required."""
    code: pulumi.Input[pulumi.Archive]
    """Deployment package (``FileArchive``/``AssetArchive``). Required."""
    layers: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Layer version ARNs, in order. Default: none."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Environment variables. Default: none (``POWERTOOLS_SERVICE_NAME`` is always set)."""
    statements: Sequence[Statement]
    """IAM statements of the function's own role, beyond logs and X-Ray. Default: none."""
    timeout: pulumi.Input[LambdaTimeout]
    """Seconds before Lambda stops an invocation. Default: 30."""
    memory_size: pulumi.Input[LambdaMemoryMb]
    """MB of memory (CPU scales with it). Default: 512."""
    reserved_concurrency: pulumi.Input[ReservedConcurrency]
    """Reserved concurrent executions; caps calls into a quota-bound API. Default: none (-1)."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Days CloudWatch keeps the function's logs. Default: 14."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed KMS key for the log group and environment. Default: AWS-managed keys."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Attach the function to these VPC subnets. Default: not in a VPC."""
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups when ``subnet_ids`` is set. Default: none."""
    architecture: pulumi.Input[LambdaArchitecture]
    """``x86_64`` or ``arm64``; must match the wheels in the layers. Default: ``x86_64``."""
    description: pulumi.Input[str]
    """Free text shown in the console. Default: the handler."""
    snap_start: bool
    """Lambda SnapStart (Python 3.12+): Lambda runs the init phase (the imports) once when a
    version is published and restores new containers from its snapshot. Invocations of the
    ``live`` alias use it (``$LATEST`` never does), so this implies ``publish``. Not with
    provisioned concurrency, EFS or more than 512 MB of ephemeral storage; caching and restores
    are billed (docs/cost.md). Default: False."""
    publish: bool
    """Publish a version on every change of code or configuration and keep the alias ``live``
    on it (``alias``: what SnapStart, and a CodeDeploy traffic shift, work with). Default: True
    with ``snap_start``, else False."""
    alias_shifted_by_codedeploy: bool
    """With ``publish``: leave the alias's version to CodeDeploy (Pulumi publishes the new
    version; a deployment shifts ``live`` to it and rolls back on alarm). Default: False (Pulumi
    points ``live`` at each new version at once)."""


def _snap_start_publishes(args: Mapping) -> str | None:
    if args.get("snap_start") and args.get("publish") is False:
        return "snap_start needs published versions: leave publish unset or True"
    return None


class LambdaFunction(pulumi.ComponentResource):
    """A Python 3.12 Lambda with its own least-privilege role, a retained log group and tracing.

    Example::

        import pulumi
        from chorus.components import LambdaFunction

        fn = LambdaFunction("hello", {
            "handler": "app.handler",
            "code": pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(e, c): ...")}),
            "statements": [{"Sid": "ReadThings", "Effect": "Allow", "Action": ["s3:GetObject"],
                            "Resource": ["arn:aws:s3:::things/*"]}],
        })
        pulumi.export("function", fn.function_name)
    """

    function_name: pulumi.Output[str]
    """Physical function name."""
    arn: pulumi.Output[str]
    """Function ARN."""
    invoke_arn: pulumi.Output[str]
    """ARN API Gateway integrations call."""
    role_arn: pulumi.Output[str]
    """ARN of the function's own execution role."""
    role_name: pulumi.Output[str]
    """Name of the function's own execution role."""
    log_group_name: pulumi.Output[str]
    """Name of the function's log group."""
    alias: aws.lambda_.Alias | None
    """The alias ``live`` on the latest published version (``publish``/``snap_start``), else
    None. Event sources and deployments (CodeDeploy) target it: ``alias.arn``, ``alias.name``."""
    version: pulumi.Output[str] | None
    """The latest published version (``publish``), else None."""
    target_arn: pulumi.Output[str]
    """What callers invoke: the ``live`` alias's ARN when versions are published (so SnapStart
    and CodeDeploy's traffic shifts apply), else the function's ARN."""
    target_invoke_arn: pulumi.Output[str]
    """The API Gateway invoke ARN of ``target_arn``."""
    qualifier: pulumi.Output[str] | None
    """``live`` when versions are published (a permission for ``target_arn`` names it)."""

    def __init__(
        self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "LambdaFunction",
            name,
            LambdaFunctionArgs,
            args,
            required=("handler", "code"),
            rules=(_snap_start_publishes,),
        )
        super().__init__("chorus:index:LambdaFunction", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=args.get("log_retention_days", 14),
            kms_key_id=kms_key_arn,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            description=f"Execution role of the {name} function only",
            opts=child,
        )
        in_vpc = args.get("subnet_ids") is not None
        statements: list[Statement] = [
            allow(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(log_group.arn, ":*")],
            ),
            allow("XRayWrite", XRAY_ACTIONS, ["*"]),
            *kms_statements(kms_key_arn, encrypt=False),
            *args.get("statements", []),
        ]
        if in_vpc:
            statements.append(allow("AttachToVpc", VPC_ENI_ACTIONS, ["*"]))
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=policy_json(statements), opts=child
        )

        snap_start = bool(args.get("snap_start", False))
        publish = bool(args.get("publish", snap_start))
        environment = {
            "POWERTOOLS_SERVICE_NAME": "chorus",
            # a function that invokes itself (a continuation) goes through its alias too
            **({LIVE_ALIAS_ENV: LIVE_ALIAS} if publish else {}),
            **(args.get("environment") or {}),
        }
        vpc_config = (
            aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args["subnet_ids"],
                security_group_ids=args.get("security_group_ids", []),
            )
            if in_vpc
            else None
        )
        function = aws.lambda_.Function(
            name,
            runtime="python3.12",
            handler=args["handler"],
            code=args["code"],
            role=role.arn,
            layers=args.get("layers"),
            architectures=[args.get("architecture", "x86_64")],
            timeout=args.get("timeout", 30),
            memory_size=args.get("memory_size", 512),
            reserved_concurrent_executions=args.get("reserved_concurrency", -1),
            description=args.get("description", args["handler"]),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            kms_key_arn=kms_key_arn,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=log_group.name
            ),
            vpc_config=vpc_config,
            publish=publish,
            snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
            if snap_start
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )
        self.alias: aws.lambda_.Alias | None = None
        self.alias_name: pulumi.Output[str] | None = None
        """``live`` when ``publish`` is on (else None)."""
        self.version: pulumi.Output[str] | None = None
        if publish:
            # CodeDeploy moves the alias during a canary/linear deployment: Pulumi must not
            # move it back
            ignore = ["function_version"] if args.get("alias_shifted_by_codedeploy") else []
            self.alias = aws.lambda_.Alias(
                f"{name}-live",
                name=LIVE_ALIAS,
                function_name=function.name,
                function_version=function.version,
                description="The published version invocations go to",
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=ignore),
            )
            self.alias_name = self.alias.name
            self.version = function.version
        self.target_arn = self.alias.arn if self.alias is not None else function.arn
        self.target_invoke_arn = (
            self.alias.invoke_arn if self.alias is not None else function.invoke_arn
        )
        self.qualifier = self.alias_name
        self.function_name = function.name
        self.arn = function.arn
        self.invoke_arn = function.invoke_arn
        self.role_arn = role.arn
        self.role_name = role.name
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "function_name": self.function_name,
                "arn": self.arn,
                "invoke_arn": self.invoke_arn,
                "role_arn": self.role_arn,
                "role_name": self.role_name,
                "log_group_name": self.log_group_name,
                **({"alias_arn": self.alias.arn} if self.alias is not None else {}),
            }
        )
