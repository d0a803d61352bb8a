"""The idle-free event paths (``eventPaths: eventbridge / async``) under moto: the ingest worker
invoked with the EventBridge events moto's S3 → EventBridge → rule really delivers (captured
through an SQS target of the same rule pattern the ``VectorStore`` component declares), and the
chat worker invoked with the job the ``message`` handler sends asynchronously (moto's Lambda
without Docker accepts the invocation; the payload is read from the call). The guarantees of the
queue path hold: redelivery changes nothing, a poison event fails alone (it raises: Lambda
retries it, then dead-letters it), an older sequencer never replaces a newer version, a large
document continues across invocations."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from chorus.runtime.adapters.work_senders import LambdaAsyncWorkSender
from chorus.runtime.cloud.access import Caller
from chorus.runtime.cloud.chat_jobs import (
    CHAT_WORKER_FUNCTION_ENV,
    accept_frame,
    chat_job_sender,
)
from chorus.runtime.cloud.ingest import (
    INGEST_CONTINUATION_ENV,
    apply_object_event,
    continuation_sender,
    invocation_events,
)
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.ingestion import Ingestor
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from chorus.runtime.handlers import chat_worker, ingest_worker
from support import moto_stack
from support.chunks import relay_log

from .conftest import USERS

GUIDE = (
    "# Rotating the signing key\n\nThe XK-4471 signing key rotates every ninety days. Operators "
    "rotate it with the `keyctl rotate` command and then restart the gateway."
)
RULE_PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created", "Object Deleted"],
    "detail": {
        "bucket": {"name": ["chorus-documents-test"]},
        "object": {"key": [{"prefix": "workspaces/"}]},
    },
}
"""What ``VectorStore(ingestion_path="eventbridge")`` matches (tests/components check it)."""


class InvokeLog:
    """A real (moto) Lambda client that also keeps each ``invoke`` call's arguments."""

    def __init__(self, client) -> None:
        self._client, self.calls = client, []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        return self._client.invoke(**kwargs)

    def payloads(self) -> list[dict]:
        return [json.loads(call["Payload"]) for call in self.calls]


@pytest.fixture
def stack(aws_env: None) -> Iterator:
    """The handler tests' moto stack, with Lambda answering without Docker and the documents
    bucket also sending its events to EventBridge, where the ingest rule's pattern feeds a
    capture queue (standing in for the Lambda target)."""
    from moto import mock_aws

    with mock_aws(config={"lambda": {"use_docker": False}}):
        built = moto_stack.build_stack(users=USERS)
        s3, sqs, events = (built.client(s) for s in ("s3", "sqs", "events"))
        config = s3.get_bucket_notification_configuration(Bucket=built.bucket)
        config.pop("ResponseMetadata", None)
        s3.put_bucket_notification_configuration(
            Bucket=built.bucket,
            NotificationConfiguration={**config, "EventBridgeConfiguration": {}},
        )
        built.receive(built.ingest_queue_url)  # drop the reconfiguration's s3:TestEvent
        built.events_url = sqs.create_queue(QueueName="ingest-rule-target")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=built.events_url, AttributeNames=["QueueArn"])
        events.put_rule(Name="ingest", EventPattern=json.dumps(RULE_PATTERN))
        events.put_targets(
            Rule="ingest", Targets=[{"Id": "capture", "Arn": arn["Attributes"]["QueueArn"]}]
        )
        yield built
        built.close()


@pytest.fixture
def workspace(services):
    return services.metadata.create_workspace(
        Workspace(
            id="ops",
            name="Operations",
            embedding_model=services.embedder.model_id,
            embedding_dim=services.embedder.dimension,
            chunking=ChunkingSettings(200, 40),
        ),
        owner_id=moto_stack.REGION,
    )


def eventbridge_events(stack) -> list[dict]:
    """The events the ingest rule delivered (and the ingest queue's copies, dropped)."""
    stack.receive(stack.ingest_queue_url)
    return [json.loads(m["Body"]) for m in stack.receive(stack.events_url)]


def upload(stack, key: str, body: bytes) -> list[dict]:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)
    return eventbridge_events(stack)


def published(stack) -> list[dict]:
    return [json.loads(m["Body"]) for m in stack.receive(stack.invalidation_queue_url)]


# -- ingestion through EventBridge ------------------------------------------------------------


def test_the_rule_delivers_only_documents_and_the_worker_indexes_and_announces_them(
    stack, services, workspace, context
):
    assert upload(stack, "uploads/elsewhere.md", GUIDE.encode()) == []  # outside the prefix
    [event] = upload(stack, "workspaces/ops/doc1/key rotation.md", GUIDE.encode())
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")

    result = ingest_worker.handler(event, context)

    assert [r["outcome"] for r in result["results"]] == ["indexed"]
    document = services.metadata.get_document("ops", "doc1")
    assert (document.status, document.name) == (DocumentStatus.INDEXED, "key rotation.md")
    assert document.chunk_count == services.store.count_chunks("ops", "doc1") > 0
    assert [e["documentId"] for e in published(stack)] == ["doc1"]


def test_an_event_delivered_three_times_is_applied_once(stack, services, workspace, context):
    [event] = upload(stack, "workspaces/ops/doc1/guide.md", GUIDE.encode())
    ingest_worker.handler(event, context)
    first = [c.chunk_id for c in services.store.document_chunks("ops", "doc1")]

    for _ in range(2):  # Lambda's retries and EventBridge's at-least-once delivery
        ingest_worker.handler(event, context)

    assert [c.chunk_id for c in services.store.document_chunks("ops", "doc1")] == first
    assert [e["documentId"] for e in published(stack)] == ["doc1"]  # announced once
    records = stack.client("dynamodb").scan(TableName="chorus-idempotency")["Items"]
    assert len(records) == 1


def test_deleting_the_object_removes_the_document(stack, services, workspace, context):
    [created] = upload(stack, "workspaces/ops/doc1/guide.md", GUIDE.encode())
    ingest_worker.handler(created, context)
    stack.client("s3").delete_object(Bucket=stack.bucket, Key="workspaces/ops/doc1/guide.md")
    [deleted] = eventbridge_events(stack)
    assert deleted["detail-type"] == "Object Deleted"

    assert [r["outcome"] for r in ingest_worker.handler(deleted, context)["results"]] == ["deleted"]
    assert services.metadata.get_document("ops", "doc1") is None


def test_a_poison_event_raises_for_lambda_to_retry_and_dead_letter(stack, services, context):
    poison = {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}}
    with pytest.raises(BadRequest) as error:
        ingest_worker.handler(poison, context)
    assert error.value.code == "bad_request"


def test_an_older_sequencer_never_replaces_a_newer_version(stack, services, workspace, context):
    [old] = upload(stack, "workspaces/ops/doc1/guide.md", b"The old key rotates yearly.")
    [new] = upload(stack, "workspaces/ops/doc1/guide.md", GUIDE.encode())
    old["detail"]["object"]["sequencer"] = "0055AED6DCD90281E5"  # moto sends one sequencer:
    new["detail"]["object"]["sequencer"] = "0055AED6DCD90281E6"  # S3 orders them per key

    ingest_worker.handler(new, context)
    ingest_worker.handler(old, context)  # delivered late

    document = services.metadata.get_document("ops", "doc1")
    assert document.status is DocumentStatus.INDEXED
    assert document.version.endswith("0055AED6DCD90281E6")
    text = " ".join(c.text for c in services.store.document_chunks("ops", "doc1"))
    assert "ninety days" in text and "yearly" not in text


def test_a_large_document_continues_by_invoking_the_worker_itself(stack, services, workspace):
    services.ingestor = Ingestor(
        services.embedder,
        services.store,
        services.metadata,
        flush_chunks=4,
        max_document_bytes=services.settings.max_upload_bytes,
        on_document_changed=services.publisher,
    )
    lambda_client = InvokeLog(stack.client("lambda"))
    sender = LambdaAsyncWorkSender(lambda_client, "chorus-ingest-worker")
    [event] = upload(stack, "workspaces/ops/big/relay.md", relay_log(40))
    pending = invocation_events(event)
    rounds = 0
    while pending:
        rounds += 1
        deadline = ingest_worker.InvocationDeadline.from_context(moto_stack.ShrinkingContext())
        for object_event in pending:
            apply_object_event(services, object_event, deadline=deadline, continuations=sender)
        pending = [e for p in lambda_client.payloads()[rounds - 1 :] for e in invocation_events(p)]
        assert rounds < 20, "the continuations never end"

    assert rounds >= 2  # paused at least once
    assert {c["InvocationType"] for c in lambda_client.calls} == {"Event"}
    hops = [p["chorusContinuation"]["hop"] for p in lambda_client.payloads()]
    assert hops == list(range(1, rounds))
    document = services.metadata.get_document("ops", "big")
    assert document.status is DocumentStatus.INDEXED
    assert document.chunk_count == services.store.count_chunks("ops", "big") > 12


def test_on_the_eventbridge_path_continuations_go_to_the_worker_itself(stack, services):
    env = {INGEST_CONTINUATION_ENV: "invoke", "AWS_LAMBDA_FUNCTION_NAME": "chorus-ingest-worker"}
    sender = continuation_sender(services, env)
    assert isinstance(sender, LambdaAsyncWorkSender)
    assert sender.function_name == "chorus-ingest-worker"
    assert continuation_sender(services, {}) is None  # no queue, no self: one go


# -- chat jobs by asynchronous invocation -----------------------------------------------------


def ask(stack, services, sender) -> str:
    caller = Caller(stack.user_id("alice"), frozenset({"team-a", "workspace_manager"}))
    body = json.dumps(
        {
            "action": "sendMessage",
            "data": {"workspaceId": "ops", "text": "How often does the XK-4471 key rotate?"},
        }
    )
    return accept_frame(services, "conn-a", caller, body, jobs=sender)


@pytest.fixture
def chat_workspace(stack, services):
    workspace = stack.team_workspace(services)
    services.ingestor.ingest(workspace, "keys.txt", GUIDE.encode())
    return workspace


def test_an_accepted_frame_invokes_the_chat_worker_and_its_answer_streams_back(
    stack, services, chat_workspace, context
):
    lambda_client = InvokeLog(stack.client("lambda"))
    sender = LambdaAsyncWorkSender(lambda_client, "chorus-chat-worker")

    assert ask(stack, services, sender) == "queued"

    [call] = lambda_client.calls
    assert (call["FunctionName"], call["InvocationType"]) == ("chorus-chat-worker", "Event")
    assert stack.receive(stack.chat_queue_url) == []  # no queue on this path
    [job] = lambda_client.payloads()
    final = chat_worker.handler(job, context)
    assert final["type"] == "final" and "ninety days" in final["answer"]
    assert moto_stack.delivered_frames("conn-a")[-1]["type"] == "final"


def test_a_retried_chat_invocation_is_answered_once(stack, services, chat_workspace, context):
    lambda_client = InvokeLog(stack.client("lambda"))
    ask(stack, services, LambdaAsyncWorkSender(lambda_client, "chorus-chat-worker"))
    [job] = lambda_client.payloads()
    chat_worker.handler(job, context)
    frames = moto_stack.delivered_frames("conn-a")

    chat_worker.handler(job, context)  # Lambda's retry after a timeout, or a duplicate

    assert moto_stack.delivered_frames("conn-a") == frames
    assert len(services.metadata.list_messages(job["request"]["sessionId"])) == 2


def test_a_malformed_invoked_job_raises_for_the_dead_letter_queue(stack, services, context):
    with pytest.raises(BadRequest):
        chat_worker.handler({"requestId": 1}, context)


def test_document_changed_from_sns_invokes_the_worker_directly(stack, services, context):
    message = json.dumps({"type": "document-changed", "workspaceId": "ops", "documentId": "d"})
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{stack.topic_arn}:sub",
                "Sns": {"Type": "Notification", "TopicArn": stack.topic_arn, "Message": message},
            }
        ]
    }
    assert chat_worker.handler(event, context) == {"invalidated": 0}


def test_the_message_handler_invokes_the_worker_named_in_its_environment(stack, services):
    sender = chat_job_sender(services, {CHAT_WORKER_FUNCTION_ENV: "chorus-chat-worker"})
    assert isinstance(sender, LambdaAsyncWorkSender)
    assert sender.function_name == "chorus-chat-worker"
    queue = chat_job_sender(services, {})
    assert queue.queue_url == stack.chat_queue_url  # without it, the chat queue


def test_the_message_handler_on_the_async_path_queues_nothing(
    stack, services, chat_workspace, context, monkeypatch
):
    from chorus.runtime.handlers import ws_message

    monkeypatch.setenv(CHAT_WORKER_FUNCTION_ENV, "chorus-chat-worker")
    event = moto_stack.ws_event(
        "sendMessage",
        "conn-a",
        body=json.dumps({"action": "sendMessage", "data": {"workspaceId": "ops", "text": "hi"}}),
        authorizer={
            "principalId": stack.user_id("alice"),
            "userId": stack.user_id("alice"),
            "groups": "team-a",
        },
    )
    assert ws_message.handler(event, context) == {"statusCode": 200}
    assert stack.receive(stack.chat_queue_url) == []
    assert moto_stack.delivered_frames("conn-a") == []  # accepted: no error frame


def test_eventbridge_and_queue_shapes_give_the_same_idempotency_payload(stack):
    boto3.client("s3").put_object(Bucket=stack.bucket, Key="workspaces/ops/d/a.md", Body=b"x")
    [queued] = stack.receive(stack.ingest_queue_url)
    [routed] = [json.loads(m["Body"]) for m in stack.receive(stack.events_url)]
    from chorus.runtime.cloud.ingest import object_events

    [from_queue] = object_events(queued["Body"])
    [from_rule] = invocation_events(routed)
    assert (from_rule.kind, from_rule.key, from_rule.etag) == (
        from_queue.kind,
        from_queue.key,
        from_queue.etag,
    )
