"""Alarms of the chat path: a topic, an alarm per dead-letter queue and Lambda error alarms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .naming import tagged
from .rules import LambdaErrorAlarms
from .validation import check_args


class ChatAlarmsArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for the topic and the alarms. Default: none."""
    dead_letter_queues: Mapping[str, pulumi.Input[str]]
    """Label → DLQ name; each gets a depth alarm (any message). Default: none."""
    functions: Mapping[str, pulumi.Input[str]]
    """Label → function name, alarmed on with ``per_function``. Default: none."""
    lambda_error_alarms: LambdaErrorAlarms
    """One Errors alarm per function, or one on the account's aggregate Lambda Errors metric
    (cheaper: alarms cost $0.10/month each). Default: ``per_function``."""
    alarm_email: pulumi.Input[str]
    """E-mail subscribed to the alarm topic. Default: none."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the topic. Default: ``alias/aws/sns``."""


class ChatAlarms(pulumi.ComponentResource):
    """``<name>-alarms`` (SNS, optional e-mail), ``<name>-<label>-dlq-depth`` per dead-letter
    queue and ``<name>-<function>-errors`` (or one ``<name>-lambda-errors``), each firing on
    the first five minutes above zero.

    Example::

        from chorus.components import ChatAlarms

        alarms = ChatAlarms("chat", {
            "dead_letter_queues": {"ingest": "docs-ingest-dlq"},
            "lambda_error_alarms": "aggregate",
            "alarm_email": "ops@example.com",
        })
    """

    alarm_topic_arn: pulumi.Output[str]
    """Topic the alarms notify."""

    def __init__(
        self,
        name: str,
        args: ChatAlarmsArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("ChatAlarms", name, ChatAlarmsArgs, args)
        super().__init__("chorus:index:ChatAlarms", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-alarms",
            kms_master_key_id=args.get("kms_key_arn") or "alias/aws/sns",
            opts=child,
        )
        if args.get("alarm_email") is not None:
            aws.sns.TopicSubscription(
                f"{name}-alarms-email",
                topic=topic.arn,
                protocol="email",
                endpoint=args["alarm_email"],
                opts=child,
            )
        above_zero = {
            "period": 300,
            "evaluation_periods": 1,
            "threshold": 0,
            "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
            "alarm_actions": [topic.arn],
        }
        for label, dlq_name in (args.get("dead_letter_queues") or {}).items():
            aws.cloudwatch.MetricAlarm(
                f"{name}-{label}-dlq-depth",
                alarm_description=f"Messages are waiting in the {label} dead-letter queue",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": dlq_name},
                statistic="Maximum",
                **above_zero,
                ok_actions=[topic.arn],
                opts=child,
            )
        # (slug, description, dimensions): one alarm on the account's aggregate, or one each.
        error_alarms: list[tuple[str, str, dict[str, pulumi.Input[str]] | None]] = (
            [("lambda", "Lambda functions of this account/region report errors", None)]
            if args.get("lambda_error_alarms", "per_function") == "aggregate"
            else [
                (label.replace("_", "-"), f"{label} reports errors", {"FunctionName": fn_name})
                for label, fn_name in (args.get("functions") or {}).items()
            ]
        )
        for slug, description, dimensions in error_alarms:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{slug}-errors",
                alarm_description=description,
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions=dimensions,
                statistic="Sum",
                **above_zero,
                opts=child,
            )
        self.alarm_topic_arn = topic.arn
        self.register_outputs({"alarm_topic_arn": self.alarm_topic_arn})
