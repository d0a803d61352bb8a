"""Alarms on what users feel, each with a runbook line, all to one TLS-only topic.

The alarm set is planned by ``alarm_specs`` (pure, no resources) and declared by ``ChatAlarms``;
``chorus cost`` counts the same plan (``alarm_metric_count``), so the estimate follows the
alarms the stack really has. ``essential`` keeps to the few that say "users are hurting" and
fits CloudWatch's always-free 10 alarm metrics (dev); ``full`` adds the rest and the composite
"chat is down" (prod). Runbooks: docs/operations.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

import pulumi
import pulumi_aws as aws

from .naming import tagged
from .rules import LambdaErrorAlarms
from .validation import check_args

AlarmSet = Literal["essential", "full"]

METRICS_NAMESPACE = "chorus"
"""Namespace of the application metrics (``runtime/core/metrics.py``)."""
SERVICE_DIMENSION = {"service": "chorus"}
"""Dimensions of the service-wide rollups the alarms read."""
RUNBOOK = "docs/operations.md"


class AlarmThresholds(TypedDict, total=False):
    """When each alarm fires (each one: the value over its evaluation window)."""

    api_5xx_percent: float
    """HTTP API 5xx responses as a % of requests, over 5 minutes. Default: 5."""
    turn_latency_p95_ms: float
    """p95 of the time from a message to ``final``, over 5 minutes × 3. Default: 30000."""
    chat_error_percent: float
    """Turns ending in a server-side error, % of turns over 5 minutes. Default: 10."""
    lambda_throttles: float
    """Throttled Lambda invocations (account), per 5 minutes. Default: 0 (any)."""
    queue_age_seconds: float
    """Age of the oldest message of the chat (and ingest) queue. Default: 300."""
    dlq_messages: float
    """Messages in a dead-letter queue. Default: 0 (any)."""
    step_functions_failures: float
    """Failed + timed-out executions of a workflow, per 5 minutes. Default: 0 (any)."""
    aurora_acu_percent: float
    """Aurora Serverless v2 ``ACUUtilization`` (% of the max ACU), 15 minutes. Default: 95."""
    sagemaker_5xx: float
    """SageMaker endpoint 5xx invocation errors, per 5 minutes. Default: 0 (any)."""


DEFAULT_THRESHOLDS: AlarmThresholds = {
    "api_5xx_percent": 5.0,
    "turn_latency_p95_ms": 30_000.0,
    "chat_error_percent": 10.0,
    "lambda_throttles": 0.0,
    "queue_age_seconds": 300.0,
    "dlq_messages": 0.0,
    "step_functions_failures": 0.0,
    "aurora_acu_percent": 95.0,
    "sagemaker_5xx": 0.0,
}


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric an alarm reads."""

    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]] | None
    stat: str = "Sum"


@dataclass(frozen=True)
class AlarmSpec:
    """One planned alarm: a metric (or an expression over several), a threshold, a runbook.

    ``expression`` is metric math over ``metrics`` named ``m0``, ``m1`` ...; without it the
    alarm reads ``metrics[0]`` alone. ``essential`` alarms are kept by the ``essential`` set.
    """

    slug: str
    runbook: str
    metrics: Sequence[Metric]
    threshold: float
    essential: bool
    expression: str | None = None
    comparison: str = "GreaterThanThreshold"
    periods: int = 1
    period: int = 300
    chat_down: bool = False
    """Part of the composite "chat is down"."""
    ok_actions: bool = False
    kind: str = ""
    """The runbook section (docs/operations.md) when several alarms share one (default: slug)."""

    @property
    def metric_count(self) -> int:
        """What CloudWatch bills the alarm as: one alarm metric per metric it reads."""
        return len(self.metrics)


class ChatAlarmsArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for the topic and the alarms. Default: none."""
    alarm_set: AlarmSet
    """``essential`` (the few that matter, ≤ 10 alarm metrics: CloudWatch's free tier) or
    ``full`` (every alarm below and the composite "chat is down"). Default: ``full``."""
    thresholds: AlarmThresholds
    """Override any of ``DEFAULT_THRESHOLDS``. Default: none."""
    dead_letter_queues: Mapping[str, pulumi.Input[str]]
    """Label → DLQ name; each gets a depth alarm. Default: none."""
    queues: Mapping[str, pulumi.Input[str]]
    """Label → queue name; each gets an age-of-oldest-message alarm (``chat`` is essential,
    the others ``full`` only). Default: none."""
    async_functions: Mapping[str, pulumi.Input[str]]
    """Label → name of a function invoked asynchronously (an event path without a queue); each
    gets an ``AsyncEventAge`` alarm, the queue age of that path (``chat`` is essential, the
    others ``full`` only). Default: none."""
    functions: Mapping[str, pulumi.Input[str]]
    """Label → function name, alarmed on with ``per_function``. Default: none."""
    lambda_error_alarms: LambdaErrorAlarms
    """One Errors alarm per function (``full`` only), or one on the account's aggregate Lambda
    Errors metric. Default: ``per_function``."""
    http_api_id: pulumi.Input[str]
    """HTTP API whose 5xx rate is alarmed on. Default: none."""
    websocket_api_id: pulumi.Input[str]
    """WebSocket API whose execution errors are alarmed on (``full``). Default: none."""
    websocket_stage: pulumi.Input[str]
    """Its stage. Default: ``live``."""
    chat_metrics: bool
    """Alarm on the application metrics (p95 turn latency, chat error rate). Default: True."""
    state_machines: Mapping[str, pulumi.Input[str]]
    """Label → state machine ARN; failed and timed-out executions (``full``). Default: none."""
    aurora_cluster_id: pulumi.Input[str]
    """Aurora Serverless v2 cluster whose ACU use at its max is alarmed on (``full``).
    Default: none."""
    sagemaker_endpoints: Mapping[str, pulumi.Input[str]]
    """Label → endpoint name (variant ``AllTraffic``); 5xx errors (``full``). Default: none."""
    chat_down_composite: bool
    """The composite alarm "chat is down" (billed $0.50/month). Default: on with ``full``."""
    alarm_email: pulumi.Input[str]
    """E-mail subscribed to the alarm topic. Default: none."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the topic; its policy must let ``cloudwatch.amazonaws.com``
    use it (``Shared``'s key does). Default: no SSE — CloudWatch cannot publish to a topic under
    the AWS-managed ``alias/aws/sns`` key, and alarm notifications carry no user data."""


def _threshold(args: ChatAlarmsArgs, key: str) -> float:
    return float((args.get("thresholds") or {}).get(key, DEFAULT_THRESHOLDS[key]))  # type: ignore[literal-required]


def _rate(
    slug: str,
    runbook: str,
    part: Metric,
    whole: Metric,
    threshold: float,
    *,
    essential: bool,
    chat_down: bool = False,
) -> AlarmSpec:
    """``part`` as a % of ``whole`` (0 while ``whole`` is 0)."""
    return AlarmSpec(
        slug,
        runbook,
        [part, whole],
        threshold,
        essential,
        expression="IF(m1 > 0, 100 * m0 / m1, 0)",
        chat_down=chat_down,
    )


def alarm_specs(args: ChatAlarmsArgs) -> list[AlarmSpec]:
    """Every alarm ``args`` asks for, in the order they are declared (before the set's cut)."""
    specs: list[AlarmSpec] = []
    t = lambda key: _threshold(args, key)  # noqa: E731
    if args.get("http_api_id") is not None:
        api = {"ApiId": args["http_api_id"]}
        specs.append(
            _rate(
                "api-5xx-rate",
                "The REST API answers 5xx: read rest_api's logs and the HTTP API access log for "
                "the failing route (integrationError), roll back the last deploy if it started "
                "then.",
                Metric("AWS/ApiGateway", "5xx", api),
                Metric("AWS/ApiGateway", "Count", api),
                t("api_5xx_percent"),
                essential=False,
                chat_down=True,
            )
        )
    if args.get("websocket_api_id") is not None:
        ws = {"ApiId": args["websocket_api_id"], "Stage": args.get("websocket_stage", "live")}
        specs.append(
            AlarmSpec(
                "websocket-errors",
                "The WebSocket API cannot run its integrations (ExecutionError): check the "
                "ws_* functions' errors and throttles and the WebSocket access log.",
                [Metric("AWS/ApiGateway", "ExecutionError", ws)],
                0.0,
                essential=False,
                chat_down=True,
            )
        )
    if args.get("chat_metrics", True):
        service = dict(SERVICE_DIMENSION)
        specs.append(
            _rate(
                "chat-error-rate",
                "Turns end in an error event (TurnErrors / Turns): the dashboard's turns by "
                "outcome names the code; all_models_failed or throttled → the models' "
                "retries/throttles, internal_error → chat_worker's logs (request id).",
                Metric(METRICS_NAMESPACE, "TurnErrors", service),
                Metric(METRICS_NAMESPACE, "Turns", service),
                t("chat_error_percent"),
                essential=True,
                chat_down=True,
            )
        )
        specs.append(
            AlarmSpec(
                "turn-latency-p95",
                "Answers are slow (p95 TurnLatency): the dashboard's per-model latency and "
                "retries say which model; X-Ray traces split retrieve / answer / grounding.",
                [Metric(METRICS_NAMESPACE, "TurnLatency", service, stat="p95")],
                t("turn_latency_p95_ms"),
                essential=True,
                periods=3,
            )
        )
    for label, queue in (args.get("queues") or {}).items():
        specs.append(
            AlarmSpec(
                f"{label}-queue-age",
                f"Messages wait in the {label} queue (ApproximateAgeOfOldestMessage): its "
                "worker is failing, throttled or at its event-source max concurrency.",
                [
                    Metric(
                        "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue}, "Maximum"
                    )
                ],
                t("queue_age_seconds"),
                essential=label == "chat",
                chat_down=label == "chat",
                kind="queue-age",
            )
        )
    for label, function in (args.get("async_functions") or {}).items():
        specs.append(
            AlarmSpec(
                f"{label}-async-event-age",
                f"Events wait in Lambda's internal queue for the {label} worker (AsyncEventAge): "
                "it is failing and retrying, throttled or at its reserved concurrency.",
                [Metric("AWS/Lambda", "AsyncEventAge", {"FunctionName": function}, "Maximum")],
                t("queue_age_seconds") * 1000,  # AsyncEventAge is in milliseconds
                essential=label == "chat",
                chat_down=label == "chat",
                kind="queue-age",
            )
        )
    for label, dlq in (args.get("dead_letter_queues") or {}).items():
        specs.append(
            AlarmSpec(
                f"{label}-dlq-depth",
                f"Messages are waiting in the {label} dead-letter queue: read one, fix the "
                "cause, then redrive it to its source queue.",
                [
                    Metric(
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        {"QueueName": dlq},
                        "Maximum",
                    )
                ],
                t("dlq_messages"),
                essential=True,
                ok_actions=True,
                kind="dlq-depth",
            )
        )
    specs.append(
        AlarmSpec(
            "lambda-throttles",
            "Lambda throttles invocations (account): raise the concurrency quota or lower "
            "chatMaxConcurrency / ingestMaxConcurrency.",
            [Metric("AWS/Lambda", "Throttles", None)],
            t("lambda_throttles"),
            essential=True,
        )
    )
    if args.get("lambda_error_alarms", "per_function") == "aggregate":
        specs.append(
            AlarmSpec(
                "lambda-errors",
                "Lambda functions of this account/region report errors: the dashboard's "
                "Lambda errors widget names the function; read its logs.",
                [Metric("AWS/Lambda", "Errors", None)],
                0.0,
                essential=True,
            )
        )
    else:
        for label, fn_name in (args.get("functions") or {}).items():
            specs.append(
                AlarmSpec(
                    f"{label.replace('_', '-')}-errors",
                    f"{label} reports errors: read its log group for the stack trace.",
                    [Metric("AWS/Lambda", "Errors", {"FunctionName": fn_name})],
                    0.0,
                    essential=False,
                    kind="lambda-errors",
                )
            )
    for label, arn in (args.get("state_machines") or {}).items():
        machine = {"StateMachineArn": arn}
        specs.append(
            AlarmSpec(
                f"{label}-workflow-failures",
                f"The {label} workflow has failed or timed-out executions: open the execution "
                "in the Step Functions console, the failed state names the task.",
                [
                    Metric("AWS/States", "ExecutionsFailed", machine),
                    Metric("AWS/States", "ExecutionsTimedOut", machine),
                ],
                t("step_functions_failures"),
                essential=False,
                expression="m0 + m1",
                kind="workflow-failures",
            )
        )
    if args.get("aurora_cluster_id") is not None:
        specs.append(
            AlarmSpec(
                "aurora-acu-at-max",
                "Aurora runs at its max ACU: queries queue up; raise vectorStore.aurora."
                "maxCapacity or find the heavy query (Performance Insights).",
                [
                    Metric(
                        "AWS/RDS",
                        "ACUUtilization",
                        {"DBClusterIdentifier": args["aurora_cluster_id"]},
                        "Average",
                    )
                ],
                t("aurora_acu_percent"),
                essential=False,
                comparison="GreaterThanOrEqualToThreshold",
                periods=3,
            )
        )
    for label, endpoint in (args.get("sagemaker_endpoints") or {}).items():
        specs.append(
            AlarmSpec(
                f"{label.replace('_', '-')}-endpoint-5xx",
                f"The {label} SageMaker endpoint answers 5xx: read its CloudWatch log group "
                "(/aws/sagemaker/Endpoints/<name>); a serverless endpoint may be out of memory.",
                [
                    Metric(
                        "AWS/SageMaker",
                        "Invocation5XXErrors",
                        {"EndpointName": endpoint, "VariantName": "AllTraffic"},
                    )
                ],
                t("sagemaker_5xx"),
                essential=False,
                kind="endpoint-5xx",
            )
        )
    return specs


def planned_alarms(args: ChatAlarmsArgs) -> list[AlarmSpec]:
    """The alarms ``ChatAlarms`` declares for ``args`` (after the alarm set's cut)."""
    specs = alarm_specs(args)
    if args.get("alarm_set", "full") == "essential":
        specs = [s for s in specs if s.essential]
    return specs


def has_chat_down(args: ChatAlarmsArgs) -> bool:
    """Whether the composite "chat is down" is declared."""
    wanted = args.get("chat_down_composite", args.get("alarm_set", "full") == "full")
    return bool(wanted) and any(s.chat_down for s in planned_alarms(args))


def alarm_metric_count(args: ChatAlarmsArgs) -> int:
    """Alarm metrics CloudWatch bills for ``args`` (the first 10 are free)."""
    return sum(s.metric_count for s in planned_alarms(args))


def topic_policy(topic_arn: str, account: str) -> str:
    """CloudWatch (of this account) may publish; nobody may use the topic without TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
                {
                    "Sid": "DenyWithoutTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": [
                        "sns:Publish",
                        "sns:Subscribe",
                        "sns:GetTopicAttributes",
                        "sns:SetTopicAttributes",
                    ],
                    "Resource": topic_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


class ChatAlarms(pulumi.ComponentResource):
    """``<name>-alarms`` (SNS, TLS-only, optional e-mail) and one ``<name>-<slug>`` alarm per
    planned ``AlarmSpec``, each describing what to do (its runbook line); with ``full``, the
    composite ``<name>-chat-down``.

    Example::

        from chorus.components import ChatAlarms

        alarms = ChatAlarms("chat", {
            "alarm_set": "essential",
            "dead_letter_queues": {"ingest": "docs-ingest-dlq"},
            "queues": {"chat": "chat-queue"},
            "lambda_error_alarms": "aggregate",
            "thresholds": {"turn_latency_p95_ms": 20000},
            "alarm_email": "ops@example.com",
        })
    """

    alarm_topic_arn: pulumi.Output[str]
    """Topic the alarms notify."""
    alarm_arns: pulumi.Output[list[str]]
    """Every metric alarm (the deployment groups' rollback triggers)."""
    alarm_names: pulumi.Output[list[str]]
    """Their names (what CodeDeploy's alarm configuration takes)."""

    def __init__(
        self,
        name: str,
        args: ChatAlarmsArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("ChatAlarms", name, ChatAlarmsArgs, args)
        super().__init__("chorus:index:ChatAlarms", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        topic = aws.sns.Topic(
            f"{name}-alarms",
            kms_master_key_id=args.get("kms_key_arn"),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-alarms-tls-only",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account).apply(lambda v: topic_policy(*v)),
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
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        """Slug → alarm (Python-side, for dashboards and deployment groups)."""
        for spec in planned_alarms(args):
            self.alarms[spec.slug] = _alarm(f"{name}-{spec.slug}", spec, topic.arn, child)
        if has_chat_down(args):
            members = [self.alarms[s.slug].name for s in planned_alarms(args) if s.chat_down]
            aws.cloudwatch.CompositeAlarm(
                f"{name}-chat-down",
                alarm_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-chat-down",
                alarm_description=(
                    "Chat is down: users cannot get answers (any of the chat-path alarms). "
                    f"Start with the member alarm in ALARM; runbook: {RUNBOOK}"
                ),
                alarm_rule=pulumi.Output.all(*members).apply(
                    lambda names: " OR ".join(f'ALARM("{n}")' for n in names)
                ),
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                opts=child,
            )
        self.alarm_topic_arn = topic.arn
        self.alarm_arns = pulumi.Output.all(*[a.arn for a in self.alarms.values()])
        self.alarm_names = pulumi.Output.all(*[a.name for a in self.alarms.values()])
        self.register_outputs(
            {
                "alarm_topic_arn": self.alarm_topic_arn,
                "alarm_arns": self.alarm_arns,
                "alarm_names": self.alarm_names,
            }
        )


def _alarm(
    resource_name: str, spec: AlarmSpec, topic_arn: pulumi.Output[str], opts
) -> aws.cloudwatch.MetricAlarm:
    common = {
        "alarm_description": f"{spec.runbook} (runbook: {RUNBOOK}#{spec.kind or spec.slug})",
        "comparison_operator": spec.comparison,
        "threshold": spec.threshold,
        "evaluation_periods": spec.periods,
        "datapoints_to_alarm": spec.periods,
        "treat_missing_data": "notBreaching",
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn] if spec.ok_actions else None,
    }
    if spec.expression is None:
        metric = spec.metrics[0]
        percentile = metric.stat.startswith("p")
        return aws.cloudwatch.MetricAlarm(
            resource_name,
            namespace=metric.namespace,
            metric_name=metric.name,
            dimensions=metric.dimensions,
            statistic=None if percentile else metric.stat,
            extended_statistic=metric.stat if percentile else None,
            period=spec.period,
            **common,
            opts=opts,
        )
    queries = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=f"m{i}",
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=m.namespace,
                metric_name=m.name,
                dimensions=m.dimensions,
                stat=m.stat,
                period=spec.period,
            ),
        )
        for i, m in enumerate(spec.metrics)
    ]
    queries.append(
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="e0", expression=spec.expression, label=spec.slug, return_data=True
        )
    )
    return aws.cloudwatch.MetricAlarm(resource_name, metric_queries=queries, **common, opts=opts)
