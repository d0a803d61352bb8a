"""Access logs: what each API stage and the CDN served, to whom, how fast, and what failed.

- API stages write one JSON line per request or WebSocket event (request id, route, status,
  latency, the integration's error) to a CloudWatch log group with the stack's retention.
- WebSocket stages can log only once the account's API Gateway settings name a CloudWatch
  role (``api_gateway_account_logging``): an account-wide setting, one per region.
- CloudFront standard logs go to a private bucket of their own (ACLs on, as CloudFront's log
  delivery requires; SSE-S3, which it supports; TLS-only) and expire after N days.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .buckets import block_public_access
from .iam import policy_json, tls_only_statement

HTTP_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"routeKey":"$context.routeKey","status":"$context.status",'
    '"latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",'
    '"integrationError":"$context.integrationErrorMessage",'
    '"sub":"$context.authorizer.claims.sub"}'
)
"""One JSON line per HTTP API request."""

WEBSOCKET_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","connectionId":"$context.connectionId",'
    '"routeKey":"$context.routeKey","eventType":"$context.eventType",'
    '"status":"$context.status","latency":"$context.integrationLatency",'
    '"integrationError":"$context.integrationErrorMessage",'
    '"error":"$context.error.message","user":"$context.authorizer.userId"}'
)
"""One JSON line per WebSocket event (connect, message, disconnect)."""

API_GATEWAY_LOGS_POLICY = (
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
)


def api_gateway_account_logging(name: str, parent: pulumi.Resource) -> aws.apigateway.Account:
    """The role API Gateway logs with, set on the account (needed by WebSocket stage logs).

    It is one setting per account and region: a second stack setting it writes the same kind
    of role; ``delete`` leaves the setting in place (reset_on_delete off) so another stack's
    WebSocket logs keep working.
    """
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-apigateway-logs",
        assume_role_policy=policy_json(
            [
                {
                    "Sid": "ApiGatewayLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "apigateway.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        ),
        managed_policy_arns=[API_GATEWAY_LOGS_POLICY],
        opts=child,
    )
    return aws.apigateway.Account(
        f"{name}-apigateway-account", cloudwatch_role_arn=role.arn, opts=child
    )


def cdn_log_bucket(
    name: str,
    *,
    parent: pulumi.Resource,
    expiry_days: pulumi.Input[int],
    kms_key_arn: pulumi.Input[str] | None = None,
) -> aws.s3.Bucket:
    """``<name>``: a private bucket CloudFront's standard logs can be delivered to, encrypted
    with ``kms_key_arn`` (whose policy lets ``delivery.logs.amazonaws.com`` generate data keys:
    ``Shared``'s does) or, without one, SSE-S3 (log delivery cannot use the AWS-managed
    ``aws/s3`` key)."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(name, force_destroy=True, opts=child)
    # CloudFront's log delivery writes with an ACL granting the bucket owner control.
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerPreferred"),
        opts=child,
    )
    public_block = block_public_access(name, bucket, child)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-sse",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms" if kms_key_arn is not None else "AES256",
                    kms_master_key_id=kms_key_arn,
                ),
                bucket_key_enabled=kms_key_arn is not None,
            )
        ],
        opts=child,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiry_days),
            )
        ],
        opts=child,
    )
    aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=policy_json([tls_only_statement(bucket.arn)]),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_block, ownership]),
    )
    return bucket
