"""chorus's deployment rules as a ``pulumi-policy`` pack.

Run with ``pulumi preview --policy-pack components/policypack`` (the folder's ``__main__.py``
builds the pack from ``POLICIES``); tests call each policy's ``validate`` directly on the
resources the mocks recorded. Properties are the engine's camelCase names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

STAR_RESOURCE_ACTIONS: Mapping[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
    "ec2:CreateNetworkInterface": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ec2:DeleteNetworkInterface": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ec2:DescribeNetworkInterfaces": "Describe* calls support no resource-level permissions",
    "ec2:DescribeSubnets": "Describe* calls support no resource-level permissions",
    "ec2:AssignPrivateIpAddresses": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ec2:UnassignPrivateIpAddresses": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ecr:GetAuthorizationToken": "account-wide registry login; no resource-level permission",
    "cloudwatch:PutMetricData": "no resource-level permission; narrowed by a namespace condition",
    "logs:CreateLogDelivery": "Step Functions log delivery requires Resource *",
    "logs:DeleteLogDelivery": "Step Functions log delivery requires Resource *",
    "logs:DescribeLogGroups": "list call; no resource-level permission",
    "logs:DescribeResourcePolicies": "list call; no resource-level permission",
    "logs:GetLogDelivery": "Step Functions log delivery requires Resource *",
    "logs:ListLogDeliveries": "Step Functions log delivery requires Resource *",
    "logs:PutResourcePolicy": "Step Functions log delivery requires Resource *",
    "logs:UpdateLogDelivery": "Step Functions log delivery requires Resource *",
    "bedrock:Rerank": "no resource-level permission; the model is scoped by bedrock:InvokeModel",
}
"""The only actions an identity policy of chorus may grant on ``"*"``, with the reason."""

Report = ReportViolation


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _require_cmk(args: ResourceValidationArgs | StackValidationArgs) -> bool:
    return bool(args.get_config().get("requireCustomerManagedKey", False))


# -- resource rules --------------------------------------------------------------------------


def table_encrypted_with_pitr(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != "aws:dynamodb/table:Table":
        return
    sse = args.props.get("serverSideEncryption") or {}
    if not sse.get("enabled"):
        report("DynamoDB tables must enable KMS server-side encryption.")
    if _require_cmk(args) and not sse.get("kmsKeyArn"):
        report("DynamoDB tables must use the customer-managed key.")
    if not (args.props.get("pointInTimeRecovery") or {}).get("enabled"):
        report("DynamoDB tables must enable point-in-time recovery.")


def queue_encrypted(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != "aws:sqs/queue:Queue":
        return
    key, sse_sqs = args.props.get("kmsMasterKeyId"), args.props.get("sqsManagedSseEnabled")
    if not key and not sse_sqs:
        report("SQS queues must be encrypted (a KMS key, or SSE-SQS where S3/SNS deliver).")
    if _require_cmk(args) and (not key or str(key).startswith("alias/aws/")):
        report("SQS queues must use the customer-managed key.")


def _alarm_topic_arns(resources: Iterable[Any]) -> set[str]:
    """Topics whose policy lets only CloudWatch publish (alarm topics)."""
    found = set()
    for policy in _of(resources, "aws:sns/topicPolicy:TopicPolicy"):
        document = _json(policy.props.get("policy")) or {}
        allows = [s for s in _as_list(document.get("Statement")) if s.get("Effect") == "Allow"]
        if allows and all(
            (s.get("Principal") or {}) == {"Service": "cloudwatch.amazonaws.com"} for s in allows
        ):
            found.add(policy.props.get("arn"))
    return found


def topics_encrypted(args: StackValidationArgs, report: Report) -> None:
    # An alarm topic may go without SSE when the stack has no customer-managed key: CloudWatch
    # cannot publish to a topic under the AWS-managed aws/sns key (its policy cannot be
    # changed), and alarm messages carry no user data.
    alarm_topics = _alarm_topic_arns(args.resources)
    for topic in _of(args.resources, "aws:sns/topic:Topic"):
        if topic.props.get("kmsMasterKeyId"):
            continue
        if topic.props.get("arn") in alarm_topics and not _require_cmk(args):
            continue
        report(f"SNS topic {topic.name} must be encrypted with KMS.")


def log_group_retained(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != "aws:cloudwatch/logGroup:LogGroup":
        return
    if not args.props.get("retentionInDays"):
        report("Log groups must set a retention (never keep logs forever by accident).")
    if _require_cmk(args) and not args.props.get("kmsKeyId"):
        report("Log groups must be encrypted with the customer-managed key.")


def function_traced_and_logged(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != "aws:lambda/function:Function":
        return
    if (args.props.get("tracingConfig") or {}).get("mode") != "Active":
        report("Lambda functions must enable X-Ray active tracing.")
    if not (args.props.get("loggingConfig") or {}).get("logGroup"):
        report("Lambda functions must log to a log group the stack manages (with retention).")


def event_source_reports_failures(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != "aws:lambda/eventSourceMapping:EventSourceMapping":
        return
    if ":sqs:" not in str(args.props.get("eventSourceArn", "")):
        return
    if "ReportBatchItemFailures" not in _as_list(args.props.get("functionResponseTypes")):
        report("SQS event sources must report batch item failures (no poison-blocked batch).")
    if not (args.props.get("scalingConfig") or {}).get("maximumConcurrency"):
        report("SQS event sources must cap maximum concurrency.")


def cluster_encrypted_private(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == "aws:rds/cluster:Cluster":
        if not args.props.get("storageEncrypted"):
            report("Aurora clusters must encrypt storage.")
        if args.props.get("masterPassword"):
            report("Aurora credentials must be managed in Secrets Manager, not in config.")
    is_instance = args.resource_type == "aws:rds/clusterInstance:ClusterInstance"
    if is_instance and args.props.get("publiclyAccessible"):
        report("Database instances must not be publicly accessible.")


def state_machine_traced(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != "aws:sfn/stateMachine:StateMachine":
        return
    if not (args.props.get("tracingConfiguration") or {}).get("enabled"):
        report("State machines must enable X-Ray tracing.")
    if not (args.props.get("loggingConfiguration") or {}).get("logDestination"):
        report("State machines must log to a managed log group.")


def identity_policy_least_privilege(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        return
    document = _json(args.props.get("policy"))
    if not isinstance(document, dict):
        return
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action"))
        for action in actions:
            if action == "*" or str(action).endswith(":*"):
                report(f"Statement {statement.get('Sid')} grants the wildcard action {action}.")
        if "*" in _as_list(statement.get("Resource")):
            for action in actions:
                if action not in STAR_RESOURCE_ACTIONS:
                    report(
                        f"Statement {statement.get('Sid')} grants {action} on Resource '*'; "
                        "name the resources (or add the action, with its reason, to "
                        "STAR_RESOURCE_ACTIONS if AWS allows nothing narrower)."
                    )


PUBLIC_API_PREFIX = "/v1/"
"""HTTP routes of the public API: authorized by a workspace API key that the function checks
(docs/public_api.md), so they carry no JWT authorizer; every other HTTP route must."""


def websocket_connect_authorized(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != "aws:apigatewayv2/route:Route":
        return
    key = args.props.get("routeKey", "")
    kind = args.props.get("authorizationType")
    if key == "$connect" and kind != "CUSTOM":
        report("The WebSocket $connect route must use the Lambda authorizer.")
    public = key.partition(" ")[2].startswith(PUBLIC_API_PREFIX) and kind == "NONE"
    if " /" in key and kind != "JWT" and not public:
        report(f"HTTP route {key} must use the JWT authorizer.")


# -- stack rules -----------------------------------------------------------------------------


def _of(resources: Iterable[Any], type_: str) -> list[Any]:
    return [r for r in resources if r.resource_type == type_]


def buckets_locked_down(args: StackValidationArgs, report: Report) -> None:
    resources = args.resources
    for bucket in _of(resources, "aws:s3/bucket:Bucket"):
        name = bucket.props.get("bucket")

        def attached(type_: str, bucket_name: str = name) -> list[Any]:
            return [r for r in _of(resources, type_) if r.props.get("bucket") == bucket_name]

        blocks = attached("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        flags = (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
        if not any(all(b.props.get(f) for f in flags) for b in blocks):
            report(f"Bucket {bucket.name} must block all public access.")
        sse = attached(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        algorithms = [
            (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            for s in sse
            for rule in _as_list(s.props.get("rules"))
        ]
        ownership = attached("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        # CloudFront's standard-log delivery needs ACLs (BucketOwnerPreferred) and cannot
        # encrypt with the AWS-managed aws/s3 key: without a CMK it writes SSE-S3.
        log_delivery = any(
            (o.props.get("rule") or {}).get("objectOwnership") == "BucketOwnerPreferred"
            for o in ownership
        )
        tls = cdn_origin = False
        for policy in attached("aws:s3/bucketPolicy:BucketPolicy"):
            document = _json(policy.props.get("policy")) or {}
            for statement in _as_list(document.get("Statement")):
                principal = statement.get("Principal") or {}
                if isinstance(principal, dict) and principal.get("Service") == (
                    "cloudfront.amazonaws.com"
                ):
                    cdn_origin = True
                condition = (statement.get("Condition") or {}).get("Bool") or {}
                if statement.get("Effect") == "Deny" and condition.get("aws:SecureTransport") in (
                    "false",
                    False,
                ):
                    tls = True
        if not tls:
            report(f"Bucket {bucket.name} must deny requests without TLS.")
        # A bucket CloudFront reads through origin access control may use SSE-S3: CloudFront
        # cannot decrypt with the AWS-managed aws/s3 key, and a CMK would cost $1/month.
        sse_s3_allowed = (cdn_origin or log_delivery) and "AES256" in algorithms
        if "aws:kms" not in algorithms and not sse_s3_allowed:
            report(f"Bucket {bucket.name} must default to SSE-KMS encryption.")


def _dead_letter_targets(resources) -> set:
    """Queue ARNs something dead-letters into: a queue's redrive policy, a Lambda on-failure
    destination, an EventBridge target's or an SNS subscription's dead-letter queue."""
    targets = {
        (_json(q.props.get("redrivePolicy")) or {}).get("deadLetterTargetArn")
        for q in _of(resources, "aws:sqs/queue:Queue")
    }
    for config in _of(resources, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        on_failure = (config.props.get("destinationConfig") or {}).get("onFailure") or {}
        targets.add(on_failure.get("destination"))
    for target in _of(resources, "aws:cloudwatch/eventTarget:EventTarget"):
        targets.add((target.props.get("deadLetterConfig") or {}).get("arn"))
    for subscription in _of(resources, "aws:sns/topicSubscription:TopicSubscription"):
        targets.add(
            (_json(subscription.props.get("redrivePolicy")) or {}).get("deadLetterTargetArn")
        )
    return targets - {None}


def queues_have_dlqs(args: StackValidationArgs, report: Report) -> None:
    queues = _of(args.resources, "aws:sqs/queue:Queue")
    dead_letter_targets = _dead_letter_targets(args.resources)
    for queue in queues:
        if queue.props.get("redrivePolicy"):
            continue
        if queue.props.get("arn") in dead_letter_targets:
            continue
        report(f"Queue {queue.name} has no dead-letter queue (and is not one).")


ASYNC_INVOKERS = ("events.amazonaws.com", "sns.amazonaws.com")
"""Services that invoke a function asynchronously: a failed event is lost unless the function
has an on-failure destination."""


def async_invocations_dead_letter(args: StackValidationArgs, report: Report) -> None:
    configs = {
        c.props.get("functionName"): c
        for c in _of(
            args.resources, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
        )
    }
    for permission in _of(args.resources, "aws:lambda/permission:Permission"):
        if permission.props.get("principal") not in ASYNC_INVOKERS:
            continue
        function = permission.props.get("function")
        config = configs.get(function)
        on_failure = (
            ((config.props.get("destinationConfig") or {}).get("onFailure") or {}) if config else {}
        )
        if not on_failure.get("destination"):
            report(
                f"Function {function} is invoked asynchronously by {permission.props['principal']} "
                "but has no on-failure destination: give it a FunctionEventInvokeConfig with "
                "destinationConfig.onFailure (a dead-letter queue)."
            )


def functions_have_own_roles(args: StackValidationArgs, report: Report) -> None:
    roles: dict[str, list[str]] = {}
    for fn in _of(args.resources, "aws:lambda/function:Function"):
        roles.setdefault(fn.props.get("role"), []).append(fn.name)
    for role, names in roles.items():
        if len(names) > 1:
            report(f"Functions {sorted(names)} share the role {role}; give each its own.")


RESOURCE_RULES: dict[str, tuple[str, Callable[[ResourceValidationArgs, Report], None]]] = {
    "dynamodb-encrypted-pitr": ("Tables are KMS-encrypted with PITR", table_encrypted_with_pitr),
    "sqs-encrypted": ("Queues are encrypted", queue_encrypted),
    "logs-retained": ("Log groups have a retention", log_group_retained),
    "lambda-traced-logged": ("Functions trace and log", function_traced_and_logged),
    "sqs-source-partial-batch": ("SQS sources report failures", event_source_reports_failures),
    "rds-encrypted-private": ("Aurora is encrypted and private", cluster_encrypted_private),
    "sfn-traced-logged": ("State machines trace and log", state_machine_traced),
    "iam-least-privilege": ("No wildcard grants", identity_policy_least_privilege),
    "api-authorized": ("API routes are authorized", websocket_connect_authorized),
}
STACK_RULES: dict[str, tuple[str, Callable[[StackValidationArgs, Report], None]]] = {
    "s3-locked-down": ("Buckets: no public access, SSE-KMS, TLS only", buckets_locked_down),
    "sns-encrypted": ("Topics are KMS-encrypted", topics_encrypted),
    "sqs-dlq": ("Every queue has a DLQ", queues_have_dlqs),
    "async-dead-letter": (
        "Asynchronously invoked functions keep failed events",
        async_invocations_dead_letter,
    ),
    "lambda-own-role": ("Every function has its own role", functions_have_own_roles),
}

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={"requireCustomerManagedKey": {"type": "boolean", "default": False}}
)
"""Every rule takes one switch: require the stack's customer-managed KMS key (prod)."""

POLICIES = [
    ResourceValidationPolicy(
        name=name, description=description, validate=validate, config_schema=CONFIG_SCHEMA
    )
    for name, (description, validate) in RESOURCE_RULES.items()
] + [
    StackValidationPolicy(
        name=name, description=description, validate=validate, config_schema=CONFIG_SCHEMA
    )
    for name, (description, validate) in STACK_RULES.items()
]
"""Every chorus policy, mandatory by default."""


def build_policy_pack(
    require_customer_managed_key: bool = False,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> PolicyPack:
    """The ``chorus`` pack; call it from a policy pack program (it starts the analyzer)."""
    config = {"requireCustomerManagedKey": require_customer_managed_key}
    return PolicyPack(
        name="chorus",
        policies=POLICIES,
        enforcement_level=enforcement,
        initial_config={name: config for name in [*RESOURCE_RULES, *STACK_RULES]},
    )
