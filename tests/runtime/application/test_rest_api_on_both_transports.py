"""The REST operations answer the same on the laptop and in the cloud: one spelling of every
field, one status per outcome, one ownership rule (``runtime/application``)."""

from __future__ import annotations

import pytest
from chorus.runtime.core.models import Session, StoredMessage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

WORKSPACE_FIELDS = {
    "id",
    "name",
    "embeddingModel",
    "embeddingDimension",
    "chunkSize",
    "chunkOverlap",
    "titleMode",
    "splitOnHeadings",
    "retrieval",
    "store",
    "createdAt",
}


def test_a_created_workspace_has_one_spelling_and_a_meaningful_id(api):
    status, body = api("alice", "POST", "/workspaces", {"name": "Café ü 日本", "chunkSize": 500})

    assert status == 201, body
    assert set(body) == WORKSPACE_FIELDS
    assert (body["id"], body["name"]) == ("cafe-u-ri-ben", "Café ü 日本")
    assert (body["embeddingDimension"], body["chunkSize"], body["store"]) == (384, 500, "pgvector")
    assert api("alice", "GET", "/workspaces/cafe-u-ri-ben") == (200, {**body, "documents": 0})


def test_deleting_a_workspace_answers_204_without_a_body(api):
    _, created = api("alice", "POST", "/workspaces", {"name": "Ops"})

    assert api("alice", "DELETE", f"/workspaces/{created['id']}") == (204, None)
    status, error = api("alice", "GET", f"/workspaces/{created['id']}")
    assert (status, error["error"]["code"]) == (404, "not_found")


def test_an_unknown_document_status_is_a_400_naming_the_statuses(api):
    _, created = api("alice", "POST", "/workspaces", {"name": "Docs"})

    status, error = api("alice", "GET", f"/workspaces/{created['id']}/documents?status=done")

    assert (status, error["error"]["code"]) == (400, "bad_request")
    assert "queued, processing, indexed, failed" in error["error"]["message"]


def test_a_chunking_change_without_re_indexing_is_refused_and_changes_nothing(api):
    _, created = api("alice", "POST", "/workspaces", {"name": "Tuned"})
    path = f"/workspaces/{created['id']}/settings"

    status, error = api("alice", "PUT", path, {"chunkSize": 400, "chunkOverlap": 40})

    assert (status, error["error"]["code"]) == (400, "not_deployed")
    assert api("alice", "GET", f"/workspaces/{created['id']}")[1]["chunkSize"] == 1000


def test_an_unknown_session_is_a_404_for_read_delete_and_feedback(api):
    for method, path, body in [
        ("GET", "/sessions/s-nobody", None),
        ("DELETE", "/sessions/s-nobody", None),
        ("POST", "/sessions/s-nobody/feedback", {"messageId": "m1", "rating": "up"}),
    ]:
        status, error = api("bob", method, path, body)
        assert (status, error["error"]["code"]) == (404, "not_found"), (method, path)


@pytest.fixture
def answered(api) -> str:
    """A session of alice's with one question and its answer (``m1``)."""
    _, created = api("alice", "POST", "/workspaces", {"name": "Keys"})
    records = api.records
    records.create_session(Session("s-alice", api.user_id("alice"), created["id"], "keys"))
    records.add_message(StoredMessage("s-alice", "m1-q", "user", "How do keys rotate?"))
    records.add_message(StoredMessage("s-alice", "m1", "assistant", "Every 90 days."))
    return "s-alice"


def test_feedback_answers_200_and_shows_on_the_rated_answer(api, answered):
    status, feedback = api(
        "alice", "POST", f"/sessions/{answered}/feedback", {"messageId": "m1", "rating": "down"}
    )

    assert status == 200, feedback
    assert set(feedback) == {
        "sessionId",
        "messageId",
        "rating",
        "comment",
        "createdAt",
        "evalCaseId",
    }
    assert (feedback["sessionId"], feedback["messageId"]) == (answered, "m1")
    _, session = api("alice", "GET", f"/sessions/{answered}")
    assert [m["feedback"] for m in session["messages"]] == [
        None,
        {"rating": "down", "comment": ""},
    ]


def test_another_users_session_looks_missing(api, answered):
    status, error = api("bob", "GET", f"/sessions/{answered}")

    assert (status, error["error"]["code"]) == (404, "not_found")
    assert api("bob", "GET", "/sessions") == (200, {"sessions": []})


def test_deleting_a_session_answers_204_without_a_body(api, answered):
    assert api("alice", "DELETE", f"/sessions/{answered}") == (204, None)
    assert api("alice", "GET", "/sessions") == (200, {"sessions": []})
