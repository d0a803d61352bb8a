"""A CloudWatch dashboard of one chorus stack, drawn from the stack's real resources.

``dashboard_body`` is pure (plain names in, the dashboard JSON out) so a test can check that
every widget's metric names a resource the stack declares; ``Dashboard`` resolves the outputs
and declares the ``aws.cloudwatch.Dashboard``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from .alarms import METRICS_NAMESPACE
from .validation import check_args

SERVICE = ["service", "chorus"]
WIDTH, HEIGHT = 12, 6


class DashboardArgs(TypedDict, total=False):
    region: pulumi.Input[str]
    """Region of the metrics. Required."""
    models: Sequence[str]
    """Answer models (the ``Model`` dimension of the per-model metrics). Default: none."""
    stores: Sequence[str]
    """Vector store labels (the ``Store`` dimension: ``PgVectorStore``...). Default: none."""
    functions: Mapping[str, pulumi.Input[str]]
    """Label → Lambda function name. Default: none."""
    queues: Mapping[str, pulumi.Input[str]]
    """Label → SQS queue name (depth and age of the oldest message). Default: none."""
    dead_letter_queues: Mapping[str, pulumi.Input[str]]
    """Label → DLQ name. Default: none."""
    http_api_id: pulumi.Input[str]
    """HTTP API id. Default: none."""
    websocket_api_id: pulumi.Input[str]
    """WebSocket API id. Default: none."""
    websocket_stage: pulumi.Input[str]
    """Its stage. Default: ``live``."""
    state_machines: Mapping[str, pulumi.Input[str]]
    """Label → state machine ARN. Default: none."""
    tables: Mapping[str, pulumi.Input[str]]
    """Label → DynamoDB table name (consumed capacity, throttles). Default: none."""
    aurora_cluster_id: pulumi.Input[str]
    """Aurora cluster identifier (ACU, connections). Default: none."""
    sagemaker_endpoints: Mapping[str, pulumi.Input[str]]
    """Label → SageMaker endpoint name (invocations, errors, latency). Default: none."""


def _metric_widget(title: str, metrics: list[list[Any]], region: str, **props: Any) -> dict:
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "period": 300,
            "stat": "Sum",
            "metrics": metrics,
            **props,
        },
    }


def dashboard_body(resolved: Mapping[str, Any]) -> dict:
    """The dashboard JSON for resolved ``DashboardArgs`` (plain strings and dicts)."""
    region = resolved["region"]
    widgets: list[dict] = []

    def add(title: str, metrics: list[list[Any]], **props: Any) -> None:
        if metrics:
            widgets.append(_metric_widget(title, metrics, region, **props))

    ns = METRICS_NAMESPACE
    add(
        "Chat latency (ms)",
        [
            [ns, "TurnLatency", *SERVICE, {"stat": "p50", "label": "p50 to final"}],
            [ns, "TurnLatency", *SERVICE, {"stat": "p95", "label": "p95 to final"}],
            [ns, "TurnFirstTokenLatency", *SERVICE, {"stat": "p95", "label": "p95 first token"}],
        ],
    )
    add(
        "Turns and errors",
        [[ns, "Turns", *SERVICE], [ns, "TurnErrors", *SERVICE], [ns, "CacheHits", *SERVICE]],
    )
    add("Cost per hour (USD)", [[ns, "TurnCost", *SERVICE]], period=3600)
    models = list(resolved.get("models") or [])
    add(
        "Per-model latency p95 (ms)",
        [[ns, "ModelLatency", "Model", m, {"stat": "p95"}] for m in models],
    )
    add(
        "Per-model retries, throttles, breaker openings",
        [
            [ns, name, "Model", m]
            for m in models
            for name in ("ModelRetries", "ModelThrottles", "ModelBreakerOpens")
        ],
    )
    add(
        "Retrieval latency p95 (ms)",
        [
            [ns, "RetrievalLatency", "Store", s, {"stat": "p95"}]
            for s in resolved.get("stores") or []
        ],
    )
    queues = dict(resolved.get("queues") or {})
    add(
        "Queue depth",
        [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]
            for q in queues.values()
        ],
        stat="Maximum",
    )
    add(
        "Age of oldest message (s)",
        [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q] for q in queues.values()],
        stat="Maximum",
    )
    add(
        "Dead-letter queues",
        [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]
            for q in (resolved.get("dead_letter_queues") or {}).values()
        ],
        stat="Maximum",
    )
    functions = list((resolved.get("functions") or {}).values())
    for metric, stat in (
        ("Errors", "Sum"),
        ("Throttles", "Sum"),
        ("Duration", "p95"),
        ("ConcurrentExecutions", "Maximum"),
    ):
        add(
            f"Lambda {metric}",
            [["AWS/Lambda", metric, "FunctionName", f] for f in functions],
            stat=stat,
        )
    if resolved.get("http_api_id"):
        api = ["ApiId", resolved["http_api_id"]]
        add(
            "HTTP API",
            [
                ["AWS/ApiGateway", "4xx", *api],
                ["AWS/ApiGateway", "5xx", *api],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p95", "yAxis": "right"}],
            ],
        )
    if resolved.get("websocket_api_id"):
        ws = [
            "ApiId",
            resolved["websocket_api_id"],
            "Stage",
            resolved.get("websocket_stage", "live"),
        ]
        add(
            "WebSocket API",
            [
                ["AWS/ApiGateway", "ClientError", *ws],
                ["AWS/ApiGateway", "ExecutionError", *ws],
                ["AWS/ApiGateway", "IntegrationLatency", *ws, {"stat": "p95", "yAxis": "right"}],
            ],
        )
    add(
        "Step Functions failures",
        [
            ["AWS/States", name, "StateMachineArn", arn]
            for arn in (resolved.get("state_machines") or {}).values()
            for name in ("ExecutionsFailed", "ExecutionsTimedOut")
        ],
    )
    tables = list((resolved.get("tables") or {}).values())
    add(
        "DynamoDB consumed capacity",
        [
            ["AWS/DynamoDB", name, "TableName", t]
            for t in tables
            for name in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
        ],
    )
    add(
        "DynamoDB throttles",
        [["AWS/DynamoDB", "ThrottledRequests", "TableName", t] for t in tables],
    )
    if resolved.get("aurora_cluster_id"):
        cluster = ["DBClusterIdentifier", resolved["aurora_cluster_id"]]
        add(
            "Aurora ACU and connections",
            [
                ["AWS/RDS", "ServerlessDatabaseCapacity", *cluster],
                ["AWS/RDS", "DatabaseConnections", *cluster, {"yAxis": "right"}],
            ],
            stat="Maximum",
        )
    endpoints = list((resolved.get("sagemaker_endpoints") or {}).values())
    add(
        "SageMaker endpoints",
        [
            ["AWS/SageMaker", name, "EndpointName", e, "VariantName", "AllTraffic"]
            for e in endpoints
            for name in ("Invocations", "Invocation5XXErrors", "ModelLatency")
        ],
    )
    for i, widget in enumerate(widgets):  # two columns, top to bottom
        widget["x"], widget["y"] = (i % 2) * WIDTH, (i // 2) * HEIGHT
    return {"widgets": widgets}


class Dashboard(pulumi.ComponentResource):
    """``<name>-dashboard``: chat latency and outcomes, per-model latency and retries, cost per
    hour, queues and DLQs, Lambda, APIs, workflows, DynamoDB, Aurora and SageMaker — each widget
    on the resources passed in (nothing a stack lacks is drawn).

    Example::

        from chorus.components import Dashboard

        Dashboard("chat", {
            "region": "eu-west-1",
            "models": ["anthropic.claude-3-haiku-20240307-v1:0"],
            "queues": {"chat": "chorus-chat-queue"},
            "functions": {"chat_worker": "chorus-chat-worker"},
        })
    """

    dashboard_name: pulumi.Output[str]
    """Name of the CloudWatch dashboard."""

    def __init__(
        self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args("Dashboard", name, DashboardArgs, args, required=("region",))
        super().__init__("chorus:index:Dashboard", name, {}, opts)
        body = pulumi.Output.from_input(dict(args)).apply(
            lambda resolved: json.dumps(dashboard_body(resolved), sort_keys=True)
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=pulumi.Output.concat(pulumi.get_project(), "-", pulumi.get_stack()),
            dashboard_body=body,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})
