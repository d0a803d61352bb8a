"""Parsing S3 notifications into object events (what reaches the ingest worker through SQS)."""

from __future__ import annotations

import json

import pytest
from chorus.runtime.cloud.ingest import object_events
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


@pytest.mark.parametrize("body", ["{nope", "[]", "{}", json.dumps({"Records": [{"x": 1}]})])
def test_a_message_that_is_not_an_s3_notification_is_a_bad_request(body):
    with pytest.raises(BadRequest):
        object_events(body)
