"""``$connect``/``$disconnect``/``sendMessage``/``heartbeat`` handlers and the chat worker."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber
from chorus.runtime.adapters.apigw_delivery import Connection
from chorus.runtime.core.models import Session, StoredMessage
from chorus.runtime.handlers import chat_worker, ws_connect, ws_disconnect, ws_message
from support import moto_stack

CHAT_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:chorus-chat"
TEXT = (
    "The XK-4471 signing key rotates every ninety days. Operators run keyctl rotate and then "
    "restart the gateway. If the gateway refuses the new key, restore the previous key."
)


@pytest.fixture
def workspace(stack, services):
    workspace = stack.team_workspace(services)
    services.ingestor.ingest(workspace, "keys.txt", TEXT.encode())
    return workspace


def authorizer_context(stack, user: str) -> dict:
    groups = {"alice": "team-a,workspace_manager", "bob": "team-b,user", "root": "admin"}[user]
    return {"principalId": stack.user_id(user), "userId": stack.user_id(user), "groups": groups}


def send(stack, context, user: str, body, connection: str = "conn-a") -> dict:
    text = body if isinstance(body, str) else json.dumps(body)
    event = moto_stack.ws_event(
        "sendMessage", connection, body=text, authorizer=authorizer_context(stack, user)
    )
    return ws_message.handler(event, context)


def question(text: str = "How often does the XK-4471 key rotate?", **data) -> dict:
    return {"action": "sendMessage", "data": {"workspaceId": "ops", "text": text, **data}}


def test_connect_records_the_user_and_disconnect_forgets_it(stack, services, context):
    event = moto_stack.ws_event("$connect", "conn-a", authorizer=authorizer_context(stack, "bob"))
    assert ws_connect.handler(event, context) == {"statusCode": 200}
    connection = services.connections.get("conn-a")
    assert connection.user_id == stack.user_id("bob")
    assert set(connection.groups) == {"team-b", "user"}
    item = stack.client("dynamodb").get_item(
        TableName=stack.settings.tables.connections, Key={"connection_id": {"S": "conn-a"}}
    )["Item"]
    assert int(item["expires_at"]["N"]) > int(item["connected_at"]["N"])  # TTL set

    ws_disconnect.handler(moto_stack.ws_event("$disconnect", "conn-a"), context)
    assert services.connections.get("conn-a") is None


def test_connect_without_an_authorizer_context_is_refused(stack, services, context):
    assert ws_connect.handler(moto_stack.ws_event("$connect", "conn-x"), context) == {
        "statusCode": 401
    }
    assert services.connections.get("conn-x") is None


def test_a_heartbeat_is_answered_on_the_connection(stack, services, context):
    send(stack, context, "alice", {"action": "heartbeat"})
    assert [f["type"] for f in moto_stack.delivered_frames("conn-a")] == ["heartbeat"]


BAD_FRAMES = {  # connection id → (frame, expected error code)
    "malformed": ("{nope", "bad_request"),
    "unknown-action": ({"action": "dance"}, "bad_request"),
    "missing-text": ({"action": "sendMessage", "data": {"workspaceId": "ops"}}, "bad_request"),
    "unknown-field": (question(colour="red"), "bad_request"),
    "oversize": (question("x" * 70_000), "payload_too_large"),
    "no-group-for-workspace": (question(workspaceId="elsewhere"), "not_found"),
}


def test_bad_frames_get_an_error_event_and_queue_nothing(stack, services, workspace, context):
    for case, (body, _code) in BAD_FRAMES.items():
        assert send(stack, context, "alice", body, connection=case) == {"statusCode": 200}, case
    for case, (_body, code) in BAD_FRAMES.items():
        frames = moto_stack.delivered_frames(case)
        assert [(f["type"], f["code"]) for f in frames] == [("error", code)], case
    assert stack.receive(stack.chat_queue_url) == []


def test_a_user_without_the_workspace_group_cannot_ask(stack, services, workspace, context):
    send(stack, context, "bob", question())
    assert moto_stack.delivered_frames("conn-a")[0]["code"] == "not_found"
    assert stack.receive(stack.chat_queue_url) == []
    assert services.metadata.list_sessions(stack.user_id("bob")) == []


def test_a_user_cannot_continue_another_users_session(stack, services, workspace, context):
    services.metadata.create_session(Session("s-alice", stack.user_id("alice"), "ops", "t"))
    services.metadata.add_message(StoredMessage("s-alice", "q1", "user", "secret question"))
    send(stack, context, "root", question(sessionId="s-alice"))  # even an admin
    assert moto_stack.delivered_frames("conn-a")[0]["code"] == "forbidden"
    assert stack.receive(stack.chat_queue_url) == []


def test_a_valid_question_opens_a_session_and_queues_one_job(stack, services, workspace, context):
    send(stack, context, "alice", question())

    [message] = stack.receive(stack.chat_queue_url)
    job = json.loads(message["Body"])
    assert job["connectionId"] == "conn-a" and job["userId"] == stack.user_id("alice")
    session = services.metadata.get_session(job["request"]["sessionId"])
    assert (session.user_id, session.workspace_id) == (stack.user_id("alice"), "ops")
    assert moto_stack.delivered_frames("conn-a") == []


def run_worker(stack, context, messages) -> dict:
    return chat_worker.handler(moto_stack.sqs_event(messages, CHAT_QUEUE_ARN), context)


def test_the_worker_streams_sources_tokens_and_a_cited_final_answer(
    stack, services, workspace, context
):
    send(stack, context, "alice", question())
    messages = stack.receive(stack.chat_queue_url)

    assert run_worker(stack, context, messages) == {"batchItemFailures": []}

    frames = moto_stack.delivered_frames("conn-a")
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "sources" and kinds[-1] == "final" and "token" in kinds
    final = frames[-1]
    assert "ninety days" in final["answer"]
    assert frames[0]["sources"][0]["documentName"] == "keys.txt"
    stored = services.metadata.list_messages(final["sessionId"])
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].details["sources"][0]["documentName"] == "keys.txt"


def test_a_redelivered_job_is_answered_once(stack, services, workspace, context):
    send(stack, context, "alice", question())
    messages = stack.receive(stack.chat_queue_url)
    run_worker(stack, context, messages)
    first = moto_stack.delivered_frames("conn-a")

    run_worker(stack, context, messages)

    assert moto_stack.delivered_frames("conn-a") == first
    assert len(services.metadata.list_messages(first[-1]["sessionId"])) == 2


def test_a_gone_connection_is_cleaned_up_without_failing_the_job(
    stack, services, workspace, context
):
    services.connections.remember(Connection("conn-a", stack.user_id("alice")))
    send(stack, context, "alice", question())
    messages = stack.receive(stack.chat_queue_url)
    client = services.delivery._client
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "post_to_connection", service_error_code="GoneException", http_status_code=410
        )
        assert run_worker(stack, context, messages) == {"batchItemFailures": []}
        stubber.assert_no_pending_responses()  # one post, then the service stopped sending
    assert services.connections.get("conn-a") is None
    assert [m.role for m in services.metadata.list_messages(_session_of(messages))] == [
        "user",
        "assistant",
    ]


def _session_of(messages) -> str:
    return json.loads(messages[0]["Body"])["request"]["sessionId"]


def test_a_malformed_job_fails_alone(stack, services, workspace, context):
    send(stack, context, "alice", question())
    good = stack.receive(stack.chat_queue_url)
    poison = {"MessageId": "poison", "ReceiptHandle": "p", "Body": '{"requestId": 1}'}

    result = run_worker(stack, context, [poison, *good])

    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert moto_stack.delivered_frames("conn-a")[-1]["type"] == "final"


def test_document_changed_notifications_are_acknowledged(stack, services, context):
    body = json.dumps({"type": "document-changed", "workspaceId": "ops", "documentId": "d"})
    event = moto_stack.sqs_event(
        [{"MessageId": "n1", "ReceiptHandle": "n1", "Body": body}],
        "arn:aws:sqs:us-east-1:123456789012:chorus-cache-invalidation",
    )
    assert chat_worker.handler(event, context) == {"batchItemFailures": []}


class _RacedSessions:
    """The session store, as seen by a message that loses the race to create its session:
    another user's session with the same id lands between the lookup and the create."""

    def __init__(self, metadata, intruder: Session) -> None:
        self._metadata = metadata
        self._intruder = intruder

    def __getattr__(self, name: str):
        return getattr(self._metadata, name)

    def get_session(self, session_id: str):
        found = self._metadata.get_session(session_id)
        if found is None:
            self._metadata.create_session(self._intruder)
        return found


def test_a_session_created_by_another_user_in_a_race_is_refused(
    stack, services, workspace, context, monkeypatch
):
    bobs = Session("s-raced", stack.user_id("bob"), "ops", "bob's")
    monkeypatch.setitem(vars(services), "metadata", _RacedSessions(services.metadata, bobs))

    send(stack, context, "alice", question(sessionId="s-raced"))

    assert moto_stack.delivered_frames("conn-a")[0]["code"] == "forbidden"
    assert stack.receive(stack.chat_queue_url) == []


def test_a_job_run_twice_stores_its_turn_once_even_without_idempotency_records(
    stack, services, workspace, context
):
    from chorus.runtime.cloud.chat_jobs import ChatJob, run_chat_job

    send(stack, context, "alice", question())
    [message] = stack.receive(stack.chat_queue_url)
    job = ChatJob.model_validate_json(message["Body"])

    first = run_chat_job(services, job)
    again = run_chat_job(services, job)  # SQS redelivered it and nothing remembered the first

    assert first["type"] == again["type"] == "final"
    stored = services.metadata.list_messages(job.request.sessionId)
    assert [(m.role, m.id) for m in stored] == [
        ("user", f"{job.requestId}-q"),
        ("assistant", job.requestId),
    ]


HOSTILE_FRAMES = {
    "10 KB of nested arrays": "[" * 10_000,
    "5,000 nested objects": '{"a":' * 5_000,
    "a session id with a lone surrogate": (
        '{"action": "sendMessage", "data": {"workspaceId": "ops", "text": "hi", '
        '"sessionId": "s\\ud800"}}'
    ),
    "a 3,000-character session id": json.dumps(question(sessionId="s" * 3000)),
}


@pytest.mark.parametrize("body", HOSTILE_FRAMES.values(), ids=HOSTILE_FRAMES.keys())
def test_a_hostile_frame_gets_a_bad_request_event_and_queues_nothing(
    stack, services, workspace, context, body
):
    assert send(stack, context, "alice", body) == {"statusCode": 200}

    [reply] = moto_stack.delivered_frames("conn-a")
    assert (reply["type"], reply["code"]) == ("error", "bad_request")
    assert reply["sessionId"] is None
    assert stack.receive(stack.chat_queue_url) == []


def test_a_deeply_nested_chat_job_fails_alone(stack, services, workspace, context):
    send(stack, context, "alice", question())
    good = stack.receive(stack.chat_queue_url)
    poison = {"MessageId": "deep", "ReceiptHandle": "d", "Body": "[" * 10_000}

    result = run_worker(stack, context, [poison, *good])

    assert result == {"batchItemFailures": [{"itemIdentifier": "deep"}]}
    assert moto_stack.delivered_frames("conn-a")[-1]["type"] == "final"


# -- a connection opened with a public API key (``ws_authorizer`` allowed it) ----------------


def _stored_key(services, **plan) -> str:
    """A key of workspace ``ops`` in the stack's workspace table; its id."""
    import time

    from chorus.runtime.core.api_keys import UsagePlan, issue_key

    _, record = issue_key("ops", "ci", "alice", time.time(), UsagePlan(**plan), ("answers",))
    services.api_keys.add_key(record)
    return record.key_id


def send_with_key(context, key_id: str, body, connection: str = "conn-k") -> dict:
    authorizer = {
        "principalId": f"apikey:{key_id}",
        "userId": f"apikey:{key_id}",
        "groups": "",
        "tokenUse": "api_key",
        "apiKeyId": key_id,
        "apiKeyWorkspace": "ops",
    }
    event = moto_stack.ws_event(
        "sendMessage", connection, body=json.dumps(body), authorizer=authorizer
    )
    return ws_message.handler(event, context)


def _used_today(services, key_id: str) -> int:
    return services.api_keys.get_key("ops", key_id).usage.day_used


def test_a_question_on_a_key_connection_is_answered_under_the_key_and_spends_one_request(
    stack, services, workspace, context
):
    key_id = _stored_key(services)

    send_with_key(context, key_id, question())
    messages = stack.receive(stack.chat_queue_url)
    assert json.loads(messages[0]["Body"])["userId"] == f"apikey:{key_id}"
    assert _used_today(services, key_id) == 1
    assert run_worker(stack, context, messages) == {"batchItemFailures": []}

    frames = moto_stack.delivered_frames("conn-k")
    assert frames[-1]["type"] == "final" and "ninety days" in frames[-1]["answer"]
    session = services.metadata.get_session(frames[-1]["sessionId"])
    assert (session.user_id, session.workspace_id) == (f"apikey:{key_id}", "ops")


def test_a_key_connection_cannot_ask_another_workspace_and_spends_nothing(
    stack, services, workspace, context
):
    key_id = _stored_key(services)

    send_with_key(context, key_id, question(workspaceId="elsewhere"))

    assert [f["code"] for f in moto_stack.delivered_frames("conn-k")] == ["not_found"]
    assert stack.receive(stack.chat_queue_url) == []
    assert _used_today(services, key_id) == 0


def test_a_key_over_its_plan_gets_rate_limited_with_retry_after_and_queues_nothing(
    stack, services, workspace, context
):
    key_id = _stored_key(services, daily_quota=1)

    send_with_key(context, key_id, question())
    send_with_key(context, key_id, question(), connection="conn-k2")

    assert len(stack.receive(stack.chat_queue_url)) == 1
    [refused] = moto_stack.delivered_frames("conn-k2")
    assert (refused["type"], refused["code"]) == ("error", "quota_exceeded")
    assert 0 < refused["retryAfter"] <= 86400
    assert _used_today(services, key_id) == 1


def test_a_key_revoked_after_connecting_is_refused_on_its_next_question(
    stack, services, workspace, context
):
    import time

    key_id = _stored_key(services)
    services.api_keys.revoke_key("ops", key_id, time.time())

    send_with_key(context, key_id, question())

    assert [f["code"] for f in moto_stack.delivered_frames("conn-k")] == ["api_key_revoked"]
    assert stack.receive(stack.chat_queue_url) == []
