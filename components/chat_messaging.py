"""The chat path's queues and topic: chat turns, ``document-changed`` and the cache
invalidation it feeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .naming import publish, tagged
from .queues import DeadLetterQueue, QueueWithDlq
from .rules import ChatPath, LambdaTimeout
from .validation import check_args


class ChatMessagingArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for the queues and the topic. Default: none."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key; default: AWS-managed keys (SSE-SQS where SNS must deliver)."""
    consumer_timeout: pulumi.Input[LambdaTimeout]
    """Seconds the consuming worker may take; the queues' visibility is six times that.
    Default: 300."""
    notification_emails: Sequence[str]
    """E-mails subscribed to ``document-changed``. Default: none."""
    chat_path: ChatPath
    """``queue``: the chat and cache-invalidation queues, each with its DLQ, polled by the chat
    worker's event sources (~$0.26/month each idle). ``async``: no queue; the chat worker is
    invoked asynchronously (by the ``message`` handler, and by SNS for ``document-changed``)
    and ``<name>-chat-failed`` keeps what failed every retry ($0 idle). Default: ``queue``."""


class ChatMessaging(pulumi.ComponentResource):
    """``<name>-chat`` (turns, DLQ after 2 receives, 1-hour retention), the
    ``<name>-document-changed`` topic (TLS-only) and ``<name>-cache-invalidation``, the queue
    it delivers to raw.

    Example::

        import pulumi
        from chorus.components import ChatMessaging

        messaging = ChatMessaging("chat", {"consumer_timeout": 300})
        pulumi.export("topic", messaging.document_changed_topic_arn)
    """

    chat_queue_url: pulumi.Output[str | None]
    """Queue of chat turns (None with ``async``)."""
    chat_queue_arn: pulumi.Output[str | None]
    """ARN of the chat queue (None with ``async``)."""
    chat_dlq_name: pulumi.Output[str]
    """Dead-letter queue of chat jobs (with ``async``, of invalidations as well)."""
    chat_dlq_arn: pulumi.Output[str]
    """ARN of that dead-letter queue (the on-failure destination with ``async``)."""
    document_changed_topic_arn: pulumi.Output[str]
    """SNS topic published after a document is (re)indexed or deleted."""
    invalidation_queue_arn: pulumi.Output[str | None]
    """Queue the topic delivers to (consumed by the chat worker to empty caches; None with
    ``async``: the topic invokes the worker)."""
    invalidation_dlq_name: pulumi.Output[str | None]
    """Dead-letter queue of the invalidation queue (None with ``async``)."""

    def __init__(
        self,
        name: str,
        args: ChatMessagingArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("ChatMessaging", name, ChatMessagingArgs, args)
        super().__init__("chorus:index:ChatMessaging", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        visibility = pulumi.Output.from_input(args.get("consumer_timeout", 300)).apply(
            lambda t: 6 * t
        )
        queued = args.get("chat_path", "queue") == "queue"
        chat_queue = None
        if queued:
            chat_queue = QueueWithDlq(
                f"{name}-chat",
                {
                    "kms_key_arn": kms_key_arn,
                    "visibility_timeout_seconds": visibility,
                    "max_receive_count": 2,
                    "message_retention_seconds": 3600,
                },
                opts=child,
            )
        topic = aws.sns.Topic(
            f"{name}-document-changed",
            kms_master_key_id=kms_key_arn or "alias/aws/sns",
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-document-changed-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sns:Publish",
                            "Resource": topic.arn,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        changes_queue = failed = None
        if queued:
            changes_queue = QueueWithDlq(
                f"{name}-cache-invalidation",
                {
                    "kms_key_arn": kms_key_arn,
                    "sse_sqs_without_key": True,
                    "visibility_timeout_seconds": visibility,
                    "allow_services": [("sns.amazonaws.com", topic.arn)],
                },
                opts=child,
            )
            aws.sns.TopicSubscription(
                f"{name}-document-changed-to-cache",
                topic=topic.arn,
                protocol="sqs",
                endpoint=changes_queue.queue_arn,
                raw_message_delivery=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[changes_queue]),
            )
        else:
            failed = DeadLetterQueue(
                f"{name}-chat-failed",
                {
                    "kms_key_arn": kms_key_arn,
                    "allow_services": [("sns.amazonaws.com", topic.arn)],
                },
                opts=child,
            )
        for i, email in enumerate(args.get("notification_emails", [])):
            aws.sns.TopicSubscription(
                f"{name}-document-changed-email-{i}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        if chat_queue is not None and changes_queue is not None:
            outputs = {
                "chat_queue_url": chat_queue.queue_url,
                "chat_queue_arn": chat_queue.queue_arn,
                "chat_dlq_name": chat_queue.dlq_name,
                "chat_dlq_arn": chat_queue.dlq_arn,
                "invalidation_queue_arn": changes_queue.queue_arn,
                "invalidation_dlq_name": changes_queue.dlq_name,
            }
        else:
            assert failed is not None
            outputs = {
                "chat_queue_url": None,
                "chat_queue_arn": None,
                "chat_dlq_name": failed.queue_name,
                "chat_dlq_arn": failed.queue_arn,
                "invalidation_queue_arn": None,
                "invalidation_dlq_name": None,
            }
        publish(self, {**outputs, "document_changed_topic_arn": topic.arn})
