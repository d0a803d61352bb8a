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
