"""An SQS queue that never loses a poison message: every queue comes with its DLQ; and the
dead-letter queue alone, for event paths without a queue (asynchronous invocation, EventBridge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .naming import tagged
from .rules import MaxReceiveCount, QueueSeconds, RetentionSeconds
from .validation import check_args


class QueueWithDlqArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for both queues. Default: the AWS-managed ``alias/aws/sqs`` key."""
    sse_sqs_without_key: bool
    """Without a customer key, use SSE-SQS instead of ``alias/aws/sqs``: needed when S3 or SNS
    sends to the queue (they cannot use the AWS-managed SQS key). Default: False."""
    max_receive_count: pulumi.Input[MaxReceiveCount]
    """Receives before a message moves to the DLQ. Default: 3."""
    visibility_timeout_seconds: pulumi.Input[QueueSeconds]
    """At least 6x the consumer's timeout (AWS guidance for Lambda). Default: 360."""
    message_retention_seconds: pulumi.Input[RetentionSeconds]
    """Retention on the main queue. Default: 4 days (the DLQ keeps 14 days)."""
    allow_services: Sequence[tuple[str, pulumi.Input[str]]]
    """``(service principal, source ARN)`` pairs allowed to send (e.g. S3 from one bucket,
    SNS from one topic). Default: none (same-account IAM only)."""


class QueueWithDlq(pulumi.ComponentResource):
    """A queue, its dead-letter queue, the redrive in both directions and a TLS-only policy.

    Example::

        import pulumi
        from chorus.components import QueueWithDlq

        jobs = QueueWithDlq("jobs", {"max_receive_count": 5, "visibility_timeout_seconds": 600})
        pulumi.export("queue", jobs.queue_url)
    """

    queue_arn: pulumi.Output[str]
    """ARN of the main queue."""
    queue_url: pulumi.Output[str]
    """URL of the main queue."""
    queue_name: pulumi.Output[str]
    """Name of the main queue."""
    dlq_arn: pulumi.Output[str]
    """ARN of the dead-letter queue."""
    dlq_url: pulumi.Output[str]
    """URL of the dead-letter queue."""
    dlq_name: pulumi.Output[str]
    """Name of the dead-letter queue (the alarm dimension)."""

    def __init__(
        self,
        name: str,
        args: QueueWithDlqArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("QueueWithDlq", name, QueueWithDlqArgs, args)
        super().__init__("chorus:index:QueueWithDlq", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        encryption = _encryption(args.get("kms_key_arn"), bool(args.get("sse_sqs_without_key")))

        dlq = aws.sqs.Queue(
            f"{name}-dlq", message_retention_seconds=14 * 24 * 3600, **encryption, opts=child
        )
        queue = aws.sqs.Queue(
            name,
            visibility_timeout_seconds=args.get("visibility_timeout_seconds", 360),
            message_retention_seconds=args.get("message_retention_seconds", 4 * 24 * 3600),
            receive_wait_time_seconds=20,
            redrive_policy=pulumi.Output.json_dumps(
                {
                    "deadLetterTargetArn": dlq.arn,
                    "maxReceiveCount": args.get("max_receive_count", 3),
                }
            ),
            **encryption,
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [queue.arn]}
            ),
            opts=child,
        )
        _queue_policy(name, queue, args.get("allow_services", []), child)
        _queue_policy(f"{name}-dlq", dlq, [], child)

        self.queue_arn = queue.arn
        self.queue_url = queue.url
        self.queue_name = queue.name
        self.dlq_arn = dlq.arn
        self.dlq_url = dlq.url
        self.dlq_name = dlq.name
        self.register_outputs(
            {
                "queue_arn": self.queue_arn,
                "queue_url": self.queue_url,
                "queue_name": self.queue_name,
                "dlq_arn": self.dlq_arn,
                "dlq_url": self.dlq_url,
                "dlq_name": self.dlq_name,
            }
        )


def _encryption(kms_key_arn: pulumi.Input[str] | None, sse_sqs: bool) -> dict:
    """A customer key, SSE-SQS (what S3, SNS and EventBridge can send to) or ``aws/sqs``."""
    if kms_key_arn is not None:
        return {"kms_master_key_id": kms_key_arn, "kms_data_key_reuse_period_seconds": 3600}
    if sse_sqs:
        return {"sqs_managed_sse_enabled": True}
    return {"kms_master_key_id": "alias/aws/sqs"}


def _queue_policy(
    name: str,
    queue: aws.sqs.Queue,
    allow_services: Sequence[tuple[str, pulumi.Input[str]]],
    opts: pulumi.ResourceOptions,
) -> aws.sqs.QueuePolicy:
    """``<name>-policy``: TLS only, and ``SendMessage`` for each (service, source ARN) pair."""
    statements: list[dict] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue.arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    statements += [
        {
            "Sid": f"AllowSendFrom{i}",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sqs:SendMessage",
            "Resource": queue.arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
        }
        for i, (service, source_arn) in enumerate(allow_services)
    ]
    return aws.sqs.QueuePolicy(
        f"{name}-policy",
        queue_url=queue.url,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=opts,
    )


class DeadLetterQueueArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for the queue. Default: none."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key. Default: SSE-SQS (SNS and EventBridge cannot use ``aws/sqs``)."""
    allow_services: Sequence[tuple[str, pulumi.Input[str]]]
    """``(service principal, source ARN)`` pairs allowed to send their undeliverable events
    (an EventBridge rule, an SNS topic). Lambda's on-failure destination sends with the
    function's role instead. Default: none."""


class DeadLetterQueue(pulumi.ComponentResource):
    """A queue that only keeps failed events (14 days) of a path without a queue: Lambda's
    asynchronous on-failure destination (the record holds the event, ``requestPayload``, and why
    it failed), an EventBridge target's or an SNS subscription's dead-letter queue. Idle, it
    costs nothing: nothing polls it; an alarm watches its depth.

    Example::

        from chorus.components import DeadLetterQueue

        failed = DeadLetterQueue("ingest-failed")
    """

    queue_arn: pulumi.Output[str]
    """ARN of the queue."""
    queue_url: pulumi.Output[str]
    """URL of the queue."""
    queue_name: pulumi.Output[str]
    """Name of the queue (the alarm dimension)."""

    def __init__(
        self,
        name: str,
        args: DeadLetterQueueArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("DeadLetterQueue", name, DeadLetterQueueArgs, args)
        super().__init__("chorus:index:DeadLetterQueue", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            name,
            message_retention_seconds=14 * 24 * 3600,
            **_encryption(args.get("kms_key_arn"), True),
            opts=child,
        )
        _queue_policy(name, queue, args.get("allow_services", []), child)
        self.queue_arn = queue.arn
        self.queue_url = queue.url
        self.queue_name = queue.name
        self.register_outputs(
            {
                "queue_arn": self.queue_arn,
                "queue_url": self.queue_url,
                "queue_name": self.queue_name,
            }
        )
