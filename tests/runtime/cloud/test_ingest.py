"""Parsing S3 notifications and continuations into object events (what reaches the ingest worker
through SQS), and the deadline that pauses a large document."""

from __future__ import annotations

import json

import numpy as np
import pytest
from chorus.runtime.cloud.ingest import SAFETY_MARGIN_MS, InvocationDeadline, object_events
from chorus.runtime.core.errors import BadRequest


def notification(*records) -> str:
    return json.dumps({"Records": list(records)})


def record(name: str, key: str, etag: str = "e1") -> dict:
    return {
        "eventName": name,
        "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 5, "eTag": etag}},
    }


def test_created_and_removed_objects_become_events_with_decoded_keys():
    events = object_events(
        notification(
            record("ObjectCreated:Put", "workspaces/w1/d1/my+notes.md"),
            record("ObjectRemoved:Delete", "workspaces/w1/d2/old.txt"),
        )
    )
    assert [(e.kind, e.workspace_id, e.document_id, e.name) for e in events] == [
        ("created", "w1", "d1", "my notes.md"),
        ("removed", "w1", "d2", "old.txt"),
    ]
    assert events[0].key == "workspaces/w1/d1/my notes.md"


def test_test_events_foreign_keys_and_other_event_types_are_ignored():
    assert object_events(json.dumps({"Event": "s3:TestEvent", "Bucket": "b"})) == []
    assert (
        object_events(
            notification(
                record("ObjectCreated:Put", "elsewhere/a.md"),
                record("ObjectRestore:Completed", "workspaces/w/d/a.md"),
            )
        )
        == []
    )


def test_the_same_object_version_gives_the_same_idempotency_payload():
    one = object_events(notification(record("ObjectCreated:Put", "workspaces/w/d/a.md")))[0]
    two = object_events(notification(record("ObjectCreated:Put", "workspaces/w/d/a.md")))[0]
    new = object_events(notification(record("ObjectCreated:Put", "workspaces/w/d/a.md", "e2")))[0]
    assert one.as_dict() == two.as_dict() != new.as_dict()


@pytest.mark.parametrize(
    "body",
    [
        "{nope",
        "[]",
        "{}",
        json.dumps({"Records": [{"x": 1}]}),
        "[" * 10_000,
        '{"Records": [' + '{"a":' * 5_000,
        json.dumps({"Records": [["not", "a", "record"]]}),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": []}]}),
    ],
)
def test_a_message_that_is_not_an_s3_notification_is_a_bad_request(body):
    with pytest.raises(BadRequest):
        object_events(body)


def continuation(**overrides) -> str:
    body = {
        "bucket": "b",
        "key": "workspaces/w/d/my notes+1.md",
        "etag": "e1",
        "versionId": "",
        "workspaceId": "w",
        "documentId": "d",
        "contentHash": "ab" * 32,
        "nextBatch": 3,
        "hop": 1,
        **overrides,
    }
    return json.dumps({"chorusContinuation": body})


def test_a_continuation_message_becomes_a_continued_event_with_its_plain_key():
    (event,) = object_events(continuation())
    assert (event.kind, event.workspace_id, event.document_id, event.name) == (
        "continued",
        "w",
        "d",
        "my notes+1.md",
    )
    assert (event.content_hash, event.next_batch, event.hop) == ("ab" * 32, 3, 1)


def test_a_continuation_is_never_the_idempotency_payload_of_its_event_or_another_hop():
    (created,) = object_events(notification(record("ObjectCreated:Put", "workspaces/w/d/a.md")))
    first = object_events(continuation(key="workspaces/w/d/a.md", hop=1))[0]
    second = object_events(continuation(key="workspaces/w/d/a.md", hop=2))[0]
    again = object_events(continuation(key="workspaces/w/d/a.md", hop=1))[0]
    payloads = [created.as_dict(), first.as_dict(), second.as_dict()]
    assert len({json.dumps(p, sort_keys=True) for p in payloads}) == 3
    assert again.as_dict() == first.as_dict()  # a redelivered hop is the same payload


def test_the_continuation_an_event_sends_names_the_next_hop():
    from chorus.runtime.core.ingestion import EmbeddingCheckpoint

    (created,) = object_events(notification(record("ObjectCreated:Put", "workspaces/w/d/a.md")))
    saved = EmbeddingCheckpoint("d", "cd" * 32, "f", 40, 4, np.zeros((12, 2), np.float32))
    (first,) = object_events(created.continuation(saved))
    (second,) = object_events(first.continuation(saved))
    assert (first.hop, first.next_batch, first.content_hash, first.etag) == (1, 3, "cd" * 32, "e1")
    assert (second.hop, second.key) == (2, created.key)


@pytest.mark.parametrize(
    "overrides",
    [
        {"key": "elsewhere/w/d/a.md"},
        {"documentId": "other"},
        {"contentHash": "not-a-digest"},
        {"hop": 0},
        {"nextBatch": "many"},
        {"bucket": None, "key": None},
    ],
    ids=["foreign-key", "mismatched-document", "bad-hash", "hop-zero", "bad-batch", "no-key"],
)
def test_a_malformed_continuation_is_a_bad_request(overrides):
    body = json.loads(continuation())
    body["chorusContinuation"].update(overrides)
    body["chorusContinuation"] = {
        k: v for k, v in body["chorusContinuation"].items() if v is not None
    }
    with pytest.raises(BadRequest):
        object_events(json.dumps(body))


class Clock:
    """A Lambda context's remaining time, moved by the test."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_deadline_stops_when_the_longest_step_would_end_inside_the_margin():
    clock = Clock(900_000)
    deadline = InvocationDeadline.from_context(clock)
    assert deadline.margin_ms == SAFETY_MARGIN_MS
    should_stop = deadline.should_stop()
    for remaining in (700_000, 500_000, 300_000):  # steps of 200 s
        clock.remaining_ms = remaining
        assert not should_stop()
    clock.remaining_ms = 250_000  # a 50 s step, but the longest was 200 s: 250 - 200 < 60
    assert should_stop()


def test_a_short_invocation_keeps_a_quarter_of_its_time_as_margin():
    assert InvocationDeadline.from_context(Clock(40_000)).margin_ms == 10_000
    assert InvocationDeadline.from_context(object()) is None


# -- asynchronous invocation: EventBridge and direct S3 notifications -------------------------
# Shapes recorded from the S3 User Guide, "EventBridge event message structure" (the bucket and
# key changed to chorus's; the key URL-encoded as S3 writes it).

EVENTBRIDGE_CREATED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "111122223333",
    "time": "2021-11-12T00:00:00Z",
    "region": "ca-central-1",
    "resources": ["arn:aws:s3:::chorus-documents"],
    "detail": {
        "version": "0",
        "bucket": {"name": "chorus-documents"},
        "object": {
            "key": "workspaces/ops/doc1/key+rotation.md",
            "size": 5,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            "sequencer": "617f08299329d189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}
EVENTBRIDGE_DELETED = {
    **EVENTBRIDGE_CREATED,
    "detail-type": "Object Deleted",
    "detail": {
        "version": "0",
        "bucket": {"name": "chorus-documents"},
        "object": {
            "key": "workspaces/ops/doc1/key+rotation.md",
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "version-id": "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
            "sequencer": "617f0837b476e463",
        },
        "request-id": "0BH729840619AG5K",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "DeleteObject",
        "deletion-type": "Delete Marker Created",
    },
}


def test_an_eventbridge_object_created_event_is_one_created_event_with_its_version():
    from chorus.runtime.cloud.ingest import invocation_events

    [event] = invocation_events(EVENTBRIDGE_CREATED)
    assert (event.kind, event.bucket, event.workspace_id, event.document_id) == (
        "created",
        "chorus-documents",
        "ops",
        "doc1",
    )
    assert event.name == "key rotation.md"  # decoded like the notification's key
    assert (event.etag, event.version_id, event.size) == (
        "b1946ac92492d2347c6235b4d2611184",
        "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        5,
    )
    assert event.sequencer == "617f08299329d189"


def test_an_eventbridge_object_deleted_event_removes_and_orders_after_the_upload():
    from chorus.runtime.cloud.ingest import invocation_events
    from chorus.runtime.core.ingestion import document_version

    [created] = invocation_events(EVENTBRIDGE_CREATED)
    [deleted] = invocation_events(EVENTBRIDGE_DELETED)
    assert deleted.kind == "removed"
    assert document_version(deleted.sequencer) > document_version(created.sequencer)


def test_the_same_upload_as_notification_or_eventbridge_event_is_the_same_version():
    from chorus.runtime.cloud.ingest import invocation_events

    direct = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "chorus-documents"},
                    "object": {
                        "key": "workspaces/ops/doc1/key+rotation.md",
                        "size": 5,
                        "eTag": "b1946ac92492d2347c6235b4d2611184",
                        "versionId": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                        "sequencer": "617f08299329d189",
                    },
                },
            }
        ]
    }
    assert invocation_events(direct) == invocation_events(EVENTBRIDGE_CREATED)


def test_other_s3_event_types_and_keys_outside_the_documents_prefix_give_no_event():
    from chorus.runtime.cloud.ingest import invocation_events

    tagged = {**EVENTBRIDGE_CREATED, "detail-type": "Object Tags Added"}
    elsewhere = json.loads(json.dumps(EVENTBRIDGE_CREATED))
    elsewhere["detail"]["object"]["key"] = "ingest-staging/ops/doc1/x.npz"
    assert invocation_events(tagged) == [] and invocation_events(elsewhere) == []


@pytest.mark.parametrize(
    "event",
    [
        [],
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}},
        {"source": "aws.s3", "detail-type": "Object Created", "detail": "x"},
        {"hello": "world"},
    ],
    ids=["not-an-object", "no-key", "detail-not-an-object", "not-s3"],
)
def test_an_invocation_that_is_no_object_event_is_a_bad_request(event):
    from chorus.runtime.cloud.ingest import invocation_events

    with pytest.raises(BadRequest):
        invocation_events(event)
