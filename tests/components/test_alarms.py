"""The alarms of the dev and prod stacks: what each reads, when it fires, where it reports,
and that ``chorus cost`` counts exactly the alarms the stack declares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.alarms import DEFAULT_THRESHOLDS, ChatAlarms, alarm_metric_count, planned_alarms
from components.observability_cost import alarm_args_for, idle_lines
from components.settings import load_stack_file

from .conftest import deploy
from .test_stack import _deploy

ROOT = Path(__file__).resolve().parents[2]
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


@pytest.fixture(scope="module")
def dev():
    return _deploy(load_stack_file(ROOT / "Pulumi.dev.yaml"))


@pytest.fixture(scope="module")
def prod():
    return _deploy(load_stack_file(ROOT / "Pulumi.prod.yaml"), stack="prod")


def alarm_metrics(deployment) -> int:
    """Alarm metrics as CloudWatch bills them, read from the declared alarm resources."""
    count = 0
    for alarm in deployment.of_type(ALARM):
        queries = alarm.inputs.get("metricQueries")
        count += sum(1 for q in queries if q.get("metric")) if queries else 1
    return count


def alarm(deployment, slug: str):
    return deployment.named(f"chat-{slug}", ALARM).inputs


def metric_of(inputs: dict, index: int = 0) -> dict:
    """(namespace, name, dimensions, stat) of a plain alarm, or of a math alarm's metric."""
    if "metricQueries" not in inputs:
        stat = inputs.get("statistic") or inputs.get("extendedStatistic")
        return {"namespace": inputs["namespace"], "name": inputs["metricName"],
                "dimensions": inputs.get("dimensions"), "stat": stat}  # fmt: skip
    query = [q for q in inputs["metricQueries"] if q.get("metric")][index]["metric"]
    return {"namespace": query["namespace"], "name": query["metricName"],
            "dimensions": query.get("dimensions"), "stat": query["stat"]}  # fmt: skip


def topic_arn(deployment) -> str:
    return deployment.named("chat-alarms", "aws:sns/topic:Topic").state["arn"]


# -- dev: the few that matter, inside the free tier ------------------------------------------


def test_dev_keeps_to_ten_alarm_metrics_and_has_no_composite(dev):
    assert alarm_metrics(dev) <= 10
    assert dev.of_type(COMPOSITE) == []


def test_dev_alarms_on_chat_errors_latency_queue_age_dead_letters_and_throttles(dev):
    slugs = {a.name.removeprefix("chat-") for a in dev.of_type(ALARM)}
    assert slugs == {
        "chat-error-rate",
        "turn-latency-p95",
        "chat-async-event-age",  # eventPaths.chat: async, no queue to age
        "chat-dlq-depth",  # the one dead-letter queue of chat jobs and invalidations
        "ingest-dlq-depth",
        "sources-dlq-depth",  # sync_sources's failed hand-overs (chorus:sources)
        "lambda-throttles",
        "lambda-errors",
    }


def test_cost_counts_the_alarm_metrics_the_dev_stack_declares(dev):
    settings = load_stack_file(ROOT / "Pulumi.dev.yaml")
    assert alarm_metric_count(alarm_args_for(settings)) == alarm_metrics(dev)
    [line] = [line for line in idle_lines(settings)[0] if line.name == "CloudWatch alarms"]
    assert line.usd == pytest.approx(alarm_metrics(dev) * 0.10)


def test_cost_counts_the_alarm_metrics_the_prod_stack_declares(prod):
    settings = load_stack_file(ROOT / "Pulumi.prod.yaml")
    assert alarm_metric_count(alarm_args_for(settings)) == alarm_metrics(prod)
    assert "CloudWatch composite alarm" in {line.name for line in idle_lines(settings)[0]}


# -- each alarm: metric, threshold, action -------------------------------------------------


def test_every_alarm_names_its_runbook_and_notifies_the_one_topic(prod):
    topic = topic_arn(prod)
    for declared in prod.of_type(ALARM):
        assert "runbook: docs/operations.md#" in declared.inputs["alarmDescription"]
        assert declared.inputs["alarmActions"] == [topic]
    assert prod.one(COMPOSITE).inputs["alarmActions"] == [topic]


def test_api_5xx_rate_divides_5xx_by_requests_of_the_http_api(prod):
    inputs = alarm(prod, "api-5xx-rate")
    api_id = prod.one("aws:apigatewayv2/api:Api", "http").state["id"]
    assert metric_of(inputs, 0) == {"namespace": "AWS/ApiGateway", "name": "5xx",
                                    "dimensions": {"ApiId": api_id}, "stat": "Sum"}  # fmt: skip
    assert metric_of(inputs, 1)["name"] == "Count"
    [expression] = [q for q in inputs["metricQueries"] if q.get("returnData")]
    assert expression["expression"] == "IF(m1 > 0, 100 * m0 / m1, 0)"
    assert inputs["threshold"] == DEFAULT_THRESHOLDS["api_5xx_percent"]


def test_p95_turn_latency_reads_the_service_rollup_with_the_configured_threshold(prod):
    inputs = alarm(prod, "turn-latency-p95")
    assert metric_of(inputs) == {"namespace": "chorus", "name": "TurnLatency",
                                 "dimensions": {"service": "chorus"}, "stat": "p95"}  # fmt: skip
    assert inputs["threshold"] == 20000  # Pulumi.prod.yaml's observability.thresholds
    assert inputs["evaluationPeriods"] == 3


def test_chat_error_rate_is_turn_errors_over_turns(prod):
    inputs = alarm(prod, "chat-error-rate")
    assert [metric_of(inputs, i)["name"] for i in (0, 1)] == ["TurnErrors", "Turns"]
    assert inputs["threshold"] == 5


def test_lambda_throttles_and_errors_per_function_in_prod(prod):
    assert metric_of(alarm(prod, "lambda-throttles"))["name"] == "Throttles"
    errors = [a for a in prod.of_type(ALARM) if a.name.endswith("-errors") and
              metric_of(a.inputs)["name"] == "Errors"]  # fmt: skip
    functions = {f.state["name"] for f in prod.of_type("aws:lambda/function:Function")
                 if f.name.startswith("chat-")}  # fmt: skip
    assert {metric_of(a.inputs)["dimensions"]["FunctionName"] for a in errors} == functions


def test_queue_age_watches_the_chat_and_ingest_queues(prod):
    chat = metric_of(alarm(prod, "chat-queue-age"))
    assert chat["name"] == "ApproximateAgeOfOldestMessage" and chat["stat"] == "Maximum"
    queues = {q.state["name"] for q in prod.of_type("aws:sqs/queue:Queue")}
    assert chat["dimensions"]["QueueName"] in queues
    assert metric_of(alarm(prod, "ingest-queue-age"))["dimensions"]["QueueName"] in queues
    assert alarm(prod, "chat-queue-age")["threshold"] == 300


def test_dead_letter_depth_fires_on_the_first_message_and_reports_recovery(prod):
    for label in ("chat", "cache-invalidation", "ingest"):
        inputs = alarm(prod, f"{label}-dlq-depth")
        assert metric_of(inputs)["name"] == "ApproximateNumberOfMessagesVisible"
        assert inputs["threshold"] == 0
        assert inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert inputs["okActions"] == [topic_arn(prod)]


def test_workflows_alarm_on_failed_and_timed_out_executions(prod):
    machines = {m.state["arn"] for m in prod.of_type("aws:sfn/stateMachine:StateMachine")}
    for label in ("fanout", "reindex"):
        inputs = alarm(prod, f"{label}-workflow-failures")
        names = [metric_of(inputs, i)["name"] for i in (0, 1)]
        assert names == ["ExecutionsFailed", "ExecutionsTimedOut"]
        assert metric_of(inputs)["dimensions"]["StateMachineArn"] in machines


def test_aurora_alarms_when_its_acu_stays_at_the_max(prod):
    inputs = alarm(prod, "aurora-acu-at-max")
    cluster = prod.one("aws:rds/cluster:Cluster").state["name"]
    assert metric_of(inputs) == {"namespace": "AWS/RDS", "name": "ACUUtilization",
                                 "dimensions": {"DBClusterIdentifier": cluster},
                                 "stat": "Average"}  # fmt: skip
    assert inputs["threshold"] == 95 and inputs["comparisonOperator"].startswith("GreaterThanOr")


def test_each_sagemaker_endpoint_alarms_on_5xx(prod):
    endpoints = {e.state["name"] for e in prod.of_type("aws:sagemaker/endpoint:Endpoint")}
    alarmed = {
        metric_of(a.inputs)["dimensions"]["EndpointName"]
        for a in prod.of_type(ALARM)
        if a.name.endswith("-endpoint-5xx")
    }
    assert endpoints and alarmed == endpoints


def test_chat_is_down_when_any_chat_path_alarm_is(prod):
    rule = prod.one(COMPOSITE).inputs["alarmRule"]
    for slug in ("api-5xx-rate", "websocket-errors", "chat-error-rate", "chat-queue-age"):
        assert f'ALARM("{prod.named(f"chat-{slug}", ALARM).state["name"]}")' in rule


def test_the_alarm_topic_refuses_anything_but_tls_and_lets_cloudwatch_publish(prod):
    policy = prod.named("chat-alarms-tls-only", "aws:sns/topicPolicy:TopicPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    deny = statements["DenyWithoutTls"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["CloudWatchAlarmsPublish"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }


def test_prod_topic_is_encrypted_with_the_customer_key_cloudwatch_may_use(prod):
    key = prod.one("aws:kms/key:Key")
    topic = prod.named("chat-alarms", "aws:sns/topic:Topic").inputs
    assert topic["kmsMasterKeyId"] == key.state["arn"]
    services = [
        s["Principal"]["Service"]
        for s in json.loads(key.inputs["policy"])["Statement"]
        if isinstance(s.get("Principal"), dict) and "Service" in s["Principal"]
    ]
    assert any("cloudwatch.amazonaws.com" in s for s in services)


def test_an_email_subscription_comes_from_config(prod):
    subscription = prod.one("aws:sns/topicSubscription:TopicSubscription", "alarms-email")
    assert subscription.inputs["endpoint"] == "ops@example.com"


# -- the component alone ---------------------------------------------------------------------


def test_thresholds_override_the_defaults_alarm_by_alarm():
    d = deploy(
        lambda: ChatAlarms(
            "ops",
            {
                "queues": {"chat": "q"},
                "thresholds": {"queue_age_seconds": 60},
                "chat_metrics": False,
                "lambda_error_alarms": "aggregate",
            },
        )
    )
    assert d.named("ops-chat-queue-age", ALARM).inputs["threshold"] == 60
    assert d.named("ops-lambda-throttles", ALARM).inputs["threshold"] == 0


def test_the_essential_set_drops_the_rest():
    args = {"alarm_set": "essential", "queues": {"chat": "q", "ingest": "i"},
            "state_machines": {"fanout": "arn"}, "aurora_cluster_id": "c"}  # fmt: skip
    assert {s.slug for s in planned_alarms(args)} == {  # type: ignore[arg-type]
        "chat-queue-age",
        "chat-error-rate",
        "turn-latency-p95",
        "lambda-throttles",
    }


def test_dev_observability_idles_at_zero_after_the_free_tier():
    lines, free = idle_lines(load_stack_file(ROOT / "Pulumi.dev.yaml"))
    assert sum(line.usd for line in lines) - sum(line.usd for line in free) == pytest.approx(0)
