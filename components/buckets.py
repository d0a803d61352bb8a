"""The private S3 bucket every chorus component keeps its objects in.

Owner-enforced objects, every public access blocked, encryption at rest by default, optional
versioning, and a bucket policy that refuses any request without TLS. Resource names are
``<name>-ownership``, ``<name>-public-block``, ``<name>-sse``, ``<name>-versioning`` and
``<name>-policy``: they are part of the URNs, so renaming them replaces live buckets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from .iam import Statement, policy_json, tls_only_statement

_SseByDefault = (
    aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
)


@dataclass(frozen=True)
class PrivateBucket:
    """A bucket made by ``private_bucket`` and what its policy must wait for."""

    name: str
    """Logical name of the bucket; its companions are named after it."""
    bucket: aws.s3.Bucket
    """The bucket."""
    public_block: aws.s3.BucketPublicAccessBlock
    """Blocks every public ACL and policy; the bucket policy is applied after it."""
    parent: pulumi.Resource
    """The component owning the bucket and its companions."""


def private_bucket(
    name: str,
    *,
    parent: pulumi.Resource,
    encryption: Literal["aws:kms", "AES256"] = "aws:kms",
    kms_key_arn: pulumi.Input[str] | None = None,
    versioning: bool = True,
    force_destroy: pulumi.Input[bool] | None = None,
    tls_only_policy: bool = True,
) -> PrivateBucket:
    """A bucket nobody outside the account can reach, encrypted at rest.

    Parameters:
        name: logical name of the bucket (``<component>-documents``).
        parent: the component owning it.
        encryption: ``aws:kms`` (with an S3 bucket key) or ``AES256`` (SSE-S3).
        kms_key_arn: customer-managed key for ``aws:kms``; None means ``aws/s3``.
        versioning: keep object versions.
        force_destroy: let ``pulumi destroy`` empty the bucket; None leaves the provider default.
        tls_only_policy: attach the deny-without-TLS policy now. Pass False when the policy needs
            statements about resources made later, then call ``attach_bucket_policy``.
    """
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=child)
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    public_block = block_public_access(name, bucket, child)
    if encryption == "aws:kms":
        sse_rule = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=_SseByDefault(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
            ),
            bucket_key_enabled=True,
        )
    else:
        sse_rule = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=_SseByDefault(sse_algorithm=encryption),
        )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-sse", bucket=bucket.id, rules=[sse_rule], opts=child
    )
    if versioning:
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
    private = PrivateBucket(name=name, bucket=bucket, public_block=public_block, parent=parent)
    if tls_only_policy:
        attach_bucket_policy(private)
    return private


def block_public_access(
    name: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> aws.s3.BucketPublicAccessBlock:
    """``<name>-public-block``: the bucket refuses public ACLs and public policies (no public
    buckets); a bucket policy should depend on it."""
    return aws.s3.BucketPublicAccessBlock(
        f"{name}-public-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )


def attach_bucket_policy(
    private: PrivateBucket, statements: Sequence[Statement] = ()
) -> aws.s3.BucketPolicy:
    """The bucket policy ``<name>-policy``: ``statements`` followed by deny-without-TLS."""
    return aws.s3.BucketPolicy(
        f"{private.name}-policy",
        bucket=private.bucket.id,
        policy=policy_json([*statements, tls_only_statement(private.bucket.arn)]),
        opts=pulumi.ResourceOptions(parent=private.parent, depends_on=[private.public_block]),
    )
