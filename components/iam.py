"""IAM policy documents as plain data, so every policy chorus creates can be linted offline.

Policies are built from ``Statement`` dicts whose values may be ``pulumi.Input``; ``policy_json``
turns them into one ``Output[str]``. Building JSON ourselves (instead of calling
``aws.iam.get_policy_document``) keeps the exact document visible to mocks, the policy pack and
``parliament``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

Statement = dict[str, Any]
"""One IAM statement: ``Sid``, ``Effect``, ``Action``, ``Resource`` and optional ``Condition``."""


def allow(
    sid: str,
    actions: Sequence[str],
    resources: pulumi.Input[Sequence[pulumi.Input[str]]],
    condition: dict[str, Any] | None = None,
) -> Statement:
    """An ``Allow`` statement naming its actions and resources."""
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def policy_json(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """The policy document ``{"Version": "2012-10-17", "Statement": [...]}`` as JSON."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str, source_account: pulumi.Input[str] | None = None) -> str | Any:
    """A trust policy letting one AWS service assume the role (optionally for one account only)."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


def tls_only_statement(bucket_arn: pulumi.Input[str]) -> Statement:
    """Deny every S3 request on the bucket and its objects that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def kms_statements(kms_key_arn: pulumi.Input[str] | None, *, encrypt: bool) -> list[Statement]:
    """Use of a customer-managed key, when there is one (AWS-managed keys need no grant)."""
    if kms_key_arn is None:
        return []
    actions = ["kms:Decrypt"]
    if encrypt:
        actions += ["kms:GenerateDataKey", "kms:Encrypt"]
    return [allow("EncryptWithKmsKey" if encrypt else "DecryptWithKmsKey", actions, [kms_key_arn])]
