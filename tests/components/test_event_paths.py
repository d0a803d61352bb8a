"""``chorus:eventPaths``: dev's idle-free paths (S3 → EventBridge → ingest worker, asynchronous
invocation of the chat worker, SNS → chat worker) keep what the queues gave — a concurrency cap,
retries with a maximum age, a dead-letter queue that keeps the failed event, least-privilege
invoke permissions — and prod keeps today's SQS event sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi_policy import StackValidationArgs
from pulumi_policy.policy import PolicyResource

from components.cost import alarm_count
from components.policies import async_invocations_dead_letter
from components.settings import load_stack_file

from .test_stack import _deploy

ROOT = Path(__file__).resolve().parents[2]
DEV, PROD = ROOT / "Pulumi.dev.yaml", ROOT / "Pulumi.prod.yaml"
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PERMISSION = "aws:lambda/permission:Permission"
ALARM_TYPES = (
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm",
)


@pytest.fixture(scope="module")
def dev():
    return _deploy(load_stack_file(DEV))


@pytest.fixture(scope="module")
def prod():
    return _deploy(load_stack_file(PROD), stack="prod")


def _queue_arn(d, name: str) -> str:
    return d.named(name, "aws:sqs/queue:Queue").state["arn"]


def _worker(d, module: str):
    return d.named(f"chat-{module.replace('_', '-')}", FUNCTION)


def _live(d, module: str) -> str:
    """The ARN callers invoke: the worker's ``live`` alias (dev rolls its code out through
    published versions, ``observability.deployment``)."""
    arn = d.named(f"chat-{module.replace('_', '-')}-live", "aws:lambda/alias:Alias").state["arn"]
    assert arn == _worker(d, module).state["arn"] + ":live"
    return arn


def test_dev_polls_nothing_and_keeps_only_dead_letter_queues(dev):
    assert dev.of_type("aws:lambda/eventSourceMapping:EventSourceMapping") == []
    queues = sorted(q.name for q in dev.of_type("aws:sqs/queue:Queue"))
    assert queues == ["chat-chat-failed", "chat-sources-failed", "vectors-ingest-failed"]


def test_dev_bucket_sends_its_events_to_eventbridge_and_the_rule_matches_documents(dev):
    notification = dev.one("aws:s3/bucketNotification:BucketNotification").inputs
    assert notification["eventbridge"] is True and not notification.get("queues")
    bucket = dev.one("aws:s3/bucket:Bucket", "vectors-documents").state["bucket"]
    pattern = json.loads(dev.one("aws:cloudwatch/eventRule:EventRule").inputs["eventPattern"])
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": "workspaces/"}]}},
    }


def test_dev_rule_targets_the_ingest_worker_with_retries_and_the_ingest_dlq(dev):
    target = dev.one("aws:cloudwatch/eventTarget:EventTarget").inputs
    rule = dev.one("aws:cloudwatch/eventRule:EventRule")
    assert target["rule"] == rule.state["name"]
    assert target["arn"] == _live(dev, "ingest_worker")
    assert target["retryPolicy"]["maximumEventAgeInSeconds"] == 21600
    assert target["deadLetterConfig"]["arn"] == _queue_arn(dev, "vectors-ingest-failed")


def test_only_the_rule_may_invoke_the_ingest_worker_and_only_the_topic_the_chat_worker(dev):
    grants = {
        (
            p.inputs["function"],
            p.inputs.get("qualifier"),
            p.inputs["principal"],
            p.inputs["sourceArn"],
        )
        for p in dev.of_type(PERMISSION)
        if p.inputs["principal"] in ("events.amazonaws.com", "sns.amazonaws.com")
    }
    rule = dev.one("aws:cloudwatch/eventRule:EventRule").state["arn"]
    topic = dev.one("aws:sns/topic:Topic", "document-changed").state["arn"]
    assert grants == {
        (_worker(dev, "ingest_worker").state["name"], "live", "events.amazonaws.com", rule),
        (_worker(dev, "chat_worker").state["name"], "live", "sns.amazonaws.com", topic),
    }


def test_failed_async_invocations_go_to_their_dlq_after_retries_and_a_maximum_age(dev):
    configs = {c.inputs["functionName"]: c.inputs for c in dev.of_type(INVOKE_CONFIG)}
    # the alias is what callers invoke: its configuration is the one that applies
    assert {c["qualifier"] for c in configs.values()} == {"live"}
    ingest = configs[_worker(dev, "ingest_worker").state["name"]]
    chat = configs[_worker(dev, "chat_worker").state["name"]]
    assert (ingest["maximumRetryAttempts"], ingest["maximumEventAgeInSeconds"]) == (2, 21600)
    assert (chat["maximumRetryAttempts"], chat["maximumEventAgeInSeconds"]) == (1, 3600)
    assert ingest["destinationConfig"]["onFailure"]["destination"] == _queue_arn(
        dev, "vectors-ingest-failed"
    )
    assert chat["destinationConfig"]["onFailure"]["destination"] == _queue_arn(
        dev, "chat-chat-failed"
    )


def test_failed_source_hand_overs_are_retried_then_kept_in_the_sources_dlq(dev):
    """``rest_api`` and the schedule invoke ``sync_sources`` asynchronously: a hand-over that
    fails every retry is kept with its payload and the reason, not lost."""
    [config] = [
        c.inputs
        for c in dev.of_type(INVOKE_CONFIG)
        if c.inputs["functionName"] == _worker(dev, "sync_sources").state["name"]
    ]
    assert config["qualifier"] == "live"
    assert (config["maximumRetryAttempts"], config["maximumEventAgeInSeconds"]) == (2, 21600)
    assert config["destinationConfig"]["onFailure"]["destination"] == _queue_arn(
        dev, "chat-sources-failed"
    )
    rest = _worker(dev, "rest_api").inputs["environment"]["variables"]
    assert rest["CHORUS_SOURCES_SYNC_FUNCTION"] == _live(dev, "sync_sources")


def test_the_sources_dlq_is_encrypted_and_alarmed_on(dev):
    queue = dev.named("chat-sources-failed", "aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True  # dev: no customer key
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    [alarm] = [
        a.inputs
        for a in dev.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name.endswith("-sources-dlq-depth")
    ]
    assert alarm["dimensions"] == {"QueueName": queue.state["name"]}


def test_workers_may_send_only_to_their_own_dlq(dev):
    for module, dlq in (
        ("ingest_worker", "vectors-ingest-failed"),
        ("chat_worker", "chat-chat-failed"),
        ("sync_sources", "chat-sources-failed"),
    ):
        policy = json.loads(dev.named(f"chat-{module.replace('_', '-')}-policy").inputs["policy"])
        sends = [s for s in policy["Statement"] if "sqs:SendMessage" in s["Action"]]
        assert [s["Resource"] for s in sends] == [[_queue_arn(dev, dlq)]], module
        assert not any("sqs:ReceiveMessage" in s["Action"] for s in policy["Statement"]), module


def test_the_concurrency_caps_become_the_workers_reserved_concurrency(dev):
    settings = load_stack_file(DEV).orchestrator
    assert _worker(dev, "chat_worker").inputs["reservedConcurrentExecutions"] == (
        settings.chat_max_concurrency
    )
    assert _worker(dev, "ingest_worker").inputs["reservedConcurrentExecutions"] == (
        settings.ingest_max_concurrency
    )


def test_the_message_handler_invokes_only_the_chat_worker(dev):
    message = _worker(dev, "ws_message")
    env = message.inputs["environment"]["variables"]
    assert env["CHORUS_CHAT_WORKER_FUNCTION"] == _live(dev, "chat_worker")
    assert "CHORUS_CHAT_QUEUE_URL" not in env
    grant = json.loads(dev.named("chat-ws-message-chat-invoke").inputs["policy"])
    assert grant["Statement"] == [
        {
            "Sid": "InvokeAsync",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [_live(dev, "chat_worker")],
        }
    ]
    role = dev.named("chat-ws-message-role", "aws:iam/role:Role").state["name"]
    assert dev.named("chat-ws-message-chat-invoke").inputs["role"] == role


def test_the_ingest_worker_continues_by_invoking_itself(dev):
    ingest = _worker(dev, "ingest_worker")
    assert ingest.inputs["environment"]["variables"]["CHORUS_INGEST_CONTINUATION"] == "invoke"
    grant = json.loads(dev.named("chat-ingest-continuation-invoke").inputs["policy"])
    assert grant["Statement"][0]["Resource"] == [_live(dev, "ingest_worker")]
    assert ingest.inputs["environment"]["variables"]["CHORUS_LIVE_ALIAS"] == "live"


def test_document_changed_invokes_the_chat_worker_and_dead_letters_undeliverable(dev):
    subscriptions = [s.inputs for s in dev.of_type("aws:sns/topicSubscription:TopicSubscription")]
    [lambda_sub] = [s for s in subscriptions if s["protocol"] == "lambda"]
    assert lambda_sub["endpoint"] == _live(dev, "chat_worker")
    redrive = json.loads(lambda_sub["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": _queue_arn(dev, "chat-chat-failed")}
    assert not [s for s in subscriptions if s["protocol"] == "sqs"]


def test_the_dead_letter_queues_admit_only_their_sender(dev):
    rule = dev.one("aws:cloudwatch/eventRule:EventRule").state["arn"]
    topic = dev.one("aws:sns/topic:Topic", "document-changed").state["arn"]
    for name, service, source in (
        ("vectors-ingest-failed", "events.amazonaws.com", rule),
        ("chat-chat-failed", "sns.amazonaws.com", topic),
    ):
        policy = json.loads(dev.named(f"{name}-policy").inputs["policy"])
        [allow] = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
        assert allow["Principal"] == {"Service": service}
        assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": source}}
    # sync_sources's failures arrive with its own role (Lambda's destination): no service may
    policy = json.loads(dev.named("chat-sources-failed-policy").inputs["policy"])
    assert [s["Effect"] for s in policy["Statement"]] == ["Deny"]


def test_prod_keeps_the_three_sqs_event_sources_with_their_caps(prod):
    mappings = {
        m.name: m.inputs for m in prod.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    }
    assert sorted(mappings) == ["chat-cache-source", "chat-chat-source", "chat-ingest-source"]
    assert mappings["chat-chat-source"]["scalingConfig"]["maximumConcurrency"] == 20
    assert mappings["chat-ingest-source"]["scalingConfig"]["maximumConcurrency"] == 4
    assert all(m["functionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings.values())
    assert prod.of_type("aws:cloudwatch/eventRule:EventRule") == []
    # the only asynchronous invocations left: rest_api's hand-overs to sync_sources
    [config] = prod.of_type(INVOKE_CONFIG)
    assert config.inputs["functionName"] == _worker(prod, "sync_sources").state["name"]
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == _queue_arn(
        prod, "chat-sources-failed"
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_cost_model_counts_the_stacks_real_alarms(stack, request):
    deployment = request.getfixturevalue(stack)
    real = sum(len(deployment.of_type(t)) for t in ALARM_TYPES)
    assert alarm_count(load_stack_file(DEV if stack == "dev" else PROD)) == real


def test_dev_keeps_its_alarms_within_the_free_tier(dev):
    assert sum(len(dev.of_type(t)) for t in ALARM_TYPES) <= 10


def _resource(type_, name, props):
    return PolicyResource(type_, props, f"urn:{name}", name, None, None, None, [], {})


def test_the_policy_pack_refuses_an_async_invoked_function_without_a_destination():
    found = []
    resources = [
        _resource(PERMISSION, "p", {"function": "worker", "principal": "events.amazonaws.com"}),
        _resource(PERMISSION, "api", {"function": "api", "principal": "apigateway.amazonaws.com"}),
    ]
    async_invocations_dead_letter(
        StackValidationArgs(resources, {}), lambda message, urn=None: found.append(message)
    )
    assert len(found) == 1 and "worker" in found[0] and "onFailure" in found[0]


def test_prod_on_the_idle_free_paths_passes_the_policy_pack_with_its_customer_key():
    from components.settings import parse_settings, read_stack_file

    from .test_stack import _violations

    config = read_stack_file(PROD)
    config["chorus:eventPaths"] = {"ingestion": "eventbridge", "chat": "async"}
    d = _deploy(parse_settings(config), stack="prod")
    assert _violations(d, {"requireCustomerManagedKey": True}) == []
    key = d.one("aws:kms/key:Key").state["arn"]
    for name in ("vectors-ingest-failed", "chat-chat-failed", "chat-sources-failed"):
        assert d.named(name, "aws:sqs/queue:Queue").inputs["kmsMasterKeyId"] == key
    policy = json.loads(d.one("aws:kms/key:Key").inputs["policy"])
    senders = next(s for s in policy["Statement"] if s["Sid"] == "S3AndSnsToEncryptedQueues")
    assert "events.amazonaws.com" in senders["Principal"]["Service"]
