"""A workspace's eval set over REST, the same on both transports: managers curate it, users mark
their own turns, and every rating feeds it (``runtime/application/eval_sets.py``)."""

from __future__ import annotations

import json

import pytest
from chorus.runtime.core.models import Session, StoredMessage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CASE_FIELDS = {
    "id",
    "question",
    "relevantDocumentIds",
    "referenceAnswer",
    "answerable",
    "origin",
    "status",
    "note",
    "tags",
    "synthetic",
}
SOURCES = [
    {"n": 1, "documentId": "doc-keys", "documentName": "keys.md", "chunkId": "c1"},
    {"n": 2, "documentId": "doc-ops", "documentName": "ops.md", "chunkId": "c7"},
    {"n": 3, "documentId": "doc-keys", "documentName": "keys.md", "chunkId": "c2"},
]


def _workspace(api, name: str = "Keys", groups: list[str] | None = None) -> str:
    status, created = api("alice", "POST", "/workspaces", {"name": name, "groups": groups or []})
    assert status == 201, created
    return created["id"]


def _turn(api, user: str, workspace_id: str, session_id: str = "s-1") -> str:
    """A session of ``user`` with one question and its cited answer ``a1``."""
    records = api.records
    records.create_session(Session(session_id, api.user_id(user), workspace_id, "keys"))
    records.add_message(StoredMessage(session_id, "q1", "user", "How often do keys rotate?"))
    records.add_message(
        StoredMessage(session_id, "a1", "assistant", "Every 90 days [1].", {"sources": SOURCES})
    )
    return session_id


def test_a_manager_creates_reads_and_lists_a_case_with_one_spelling(api):
    ws = _workspace(api)
    body = {"question": "Who approves access?", "relevantDocumentIds": ["doc-1"], "tags": ["hr"]}

    status, case = api("alice", "POST", f"/workspaces/{ws}/eval-cases", body)

    assert status == 201, case
    assert set(case) == CASE_FIELDS
    assert (case["origin"], case["status"], case["synthetic"]) == ("manual", "accepted", False)
    assert api("alice", "GET", f"/workspaces/{ws}/eval-cases/{case['id']}") == (200, case)
    assert api("alice", "GET", f"/workspaces/{ws}/eval-cases") == (200, {"cases": [case]})


def test_a_thumbs_down_becomes_a_candidate_with_the_comment_as_note(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)
    rating = {"messageId": "a1", "rating": "down", "comment": "it is 30 days now"}

    status, feedback = api("alice", "POST", f"/sessions/{session}/feedback", rating)

    assert status == 200, feedback
    _, listed = api("alice", "GET", f"/workspaces/{ws}/eval-cases?status=candidate")
    [case] = listed["cases"]
    assert case["id"] == feedback["evalCaseId"] == "turn-a1"
    assert (case["origin"], case["status"], case["note"]) == (
        "feedback",
        "candidate",
        rating["comment"],
    )
    assert case["question"] == "How often do keys rotate?"
    assert case["relevantDocumentIds"] == ["doc-keys", "doc-ops"]
    assert case["referenceAnswer"] is None


def test_rating_the_same_answer_twice_keeps_one_case_and_its_review(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)
    down = {"messageId": "a1", "rating": "down", "comment": "wrong"}
    api("alice", "POST", f"/sessions/{session}/feedback", down)
    api("alice", "PATCH", f"/workspaces/{ws}/eval-cases/turn-a1", {"status": "rejected"})

    api("alice", "POST", f"/sessions/{session}/feedback", down)

    _, listed = api("alice", "GET", f"/workspaces/{ws}/eval-cases")
    assert [(c["id"], c["status"]) for c in listed["cases"]] == [("turn-a1", "rejected")]


def test_a_thumbs_up_becomes_an_accepted_regression_case_with_the_answer(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)
    api("alice", "POST", f"/sessions/{session}/feedback", {"messageId": "a1", "rating": "down"})

    api("alice", "POST", f"/sessions/{session}/feedback", {"messageId": "a1", "rating": "up"})

    _, listed = api("alice", "GET", f"/workspaces/{ws}/eval-cases")
    [case] = listed["cases"]
    assert (case["status"], case["referenceAnswer"]) == ("accepted", "Every 90 days [1].")
    assert case["tags"] == ["thumbs-up"]


def test_marking_a_turn_as_correct_makes_a_case_with_the_answer_as_reference(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)
    path = f"/sessions/{session}/messages/a1/eval-case"

    status, case = api("alice", "POST", path, {"correct": True, "tags": ["keys"]})

    assert status == 201, case
    assert (case["id"], case["origin"], case["status"]) == ("turn-a1", "manual", "accepted")
    assert case["referenceAnswer"] == "Every 90 days [1]."
    assert case["relevantDocumentIds"] == ["doc-keys", "doc-ops"]
    assert api("alice", "POST", path, {"correct": True, "tags": ["keys"]}) == (200, case)


def test_a_marked_turn_keeps_its_case_when_it_is_rated_later(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)
    _, marked = api("alice", "POST", f"/sessions/{session}/messages/a1/eval-case", {})

    api("alice", "POST", f"/sessions/{session}/feedback", {"messageId": "a1", "rating": "down"})

    assert api("alice", "GET", f"/workspaces/{ws}/eval-cases/turn-a1") == (200, marked)


def test_marking_a_liked_turn_keeps_the_reference_its_thumbs_up_gave(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)
    api("alice", "POST", f"/sessions/{session}/feedback", {"messageId": "a1", "rating": "up"})

    status, case = api("alice", "POST", f"/sessions/{session}/messages/a1/eval-case", {})

    assert (status, case["origin"]) == (200, "manual")
    assert (case["referenceAnswer"], case["tags"]) == ("Every 90 days [1].", ["thumbs-up"])


def test_marking_a_question_rather_than_an_answer_is_a_404(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)

    status, error = api("alice", "POST", f"/sessions/{session}/messages/q1/eval-case", {})

    assert (status, error["error"]["code"]) == (404, "not_found")


def test_another_users_turn_cannot_be_marked(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)

    status, error = api("bob", "POST", f"/sessions/{session}/messages/a1/eval-case", {})

    assert (status, error["error"]["code"]) == (404, "not_found")


def test_review_edits_only_the_fields_sent_and_null_clears_the_note(api):
    ws = _workspace(api)
    session = _turn(api, "alice", ws)
    api(
        "alice",
        "POST",
        f"/sessions/{session}/feedback",
        {"messageId": "a1", "rating": "down", "comment": "no"},
    )
    path = f"/workspaces/{ws}/eval-cases/turn-a1"

    status, case = api(
        "alice", "PATCH", path, {"status": "accepted", "referenceAnswer": "30 days.", "note": None}
    )

    assert status == 200, case
    assert (case["status"], case["referenceAnswer"], case["note"]) == ("accepted", "30 days.", None)
    assert case["question"] == "How often do keys rotate?"


def test_accepting_an_answerable_case_without_documents_is_refused(api):
    ws = _workspace(api)
    _, case = api(
        "alice",
        "POST",
        f"/workspaces/{ws}/eval-cases",
        {"question": "What is our VPN?", "answerable": False},
    )
    path = f"/workspaces/{ws}/eval-cases/{case['id']}"

    status, error = api("alice", "PATCH", path, {"answerable": True})

    assert (status, error["error"]["code"]) == (400, "bad_request")
    assert "relevantDocumentIds" in error["error"]["message"]
    assert api("alice", "GET", path)[1]["answerable"] is False


def test_deleting_a_case_answers_204_then_404(api):
    ws = _workspace(api)
    _, case = api(
        "alice",
        "POST",
        f"/workspaces/{ws}/eval-cases",
        {"question": "Q?", "relevantDocumentIds": ["d"]},
    )
    path = f"/workspaces/{ws}/eval-cases/{case['id']}"

    assert api("alice", "DELETE", path) == (204, None)
    status, error = api("alice", "DELETE", path)
    assert (status, error["error"]["code"]) == (404, "not_found")


def test_deleting_the_workspace_deletes_its_eval_set(api):
    ws = _workspace(api)
    api(
        "alice",
        "POST",
        f"/workspaces/{ws}/eval-cases",
        {"question": "Q?", "relevantDocumentIds": ["d"]},
    )

    api("alice", "DELETE", f"/workspaces/{ws}")

    assert _workspace(api) == ws
    assert api("alice", "GET", f"/workspaces/{ws}/eval-cases") == (200, {"cases": []})


def test_injection_strings_are_stored_verbatim(api):
    ws = _workspace(api)
    hostile = "'); DROP TABLE chorus_eval_cases; -- <script>alert(1)</script> #{x} ${y}"
    body = {"question": hostile, "relevantDocumentIds": ["d"], "note": hostile + "\x00"}

    _, case = api("alice", "POST", f"/workspaces/{ws}/eval-cases", body)

    _, read = api("alice", "GET", f"/workspaces/{ws}/eval-cases/{case['id']}")
    assert (read["question"], read["note"]) == (hostile, hostile)
    assert api("alice", "GET", f"/workspaces/{ws}/eval-cases")[1]["cases"] == [read]


@pytest.mark.parametrize(
    "body",
    [
        {"question": "Q?", "relevantDocumentIds": ["d"], "origin": "generated"},
        {"question": "x" * 4001},
        {"question": "Q?", "relevantDocumentIds": ["../etc/passwd"]},
        {"question": "Q?", "tags": ["a b"]},
        {"question": ""},
    ],
    ids=["unknown field", "oversize question", "bad document id", "bad tag", "empty question"],
)
def test_a_malformed_case_is_a_400_and_stores_nothing(api, body):
    ws = _workspace(api)

    status, error = api("alice", "POST", f"/workspaces/{ws}/eval-cases", body)

    assert (status, error["error"]["code"]) == (400, "bad_request")
    assert api("alice", "GET", f"/workspaces/{ws}/eval-cases") == (200, {"cases": []})


def test_a_body_over_64_kib_is_a_413(api):
    ws = _workspace(api)

    status, error = api("alice", "POST", f"/workspaces/{ws}/eval-cases", {"question": "x" * 70000})

    assert (status, error["error"]["code"]) == (413, "payload_too_large")


def test_an_unknown_status_filter_names_the_statuses(api):
    ws = _workspace(api)

    status, error = api("alice", "GET", f"/workspaces/{ws}/eval-cases?status=done")

    assert (status, error["error"]["code"]) == (400, "bad_request")
    assert "candidate, accepted, rejected" in error["error"]["message"]


# -- access (the cloud: callers differ in groups) -----------------------------------------------


def test_a_plain_user_of_the_workspace_may_not_read_its_eval_set(cloud_api):
    ws = _workspace(cloud_api, groups=["team-b"])

    status, error = cloud_api("bob", "GET", f"/workspaces/{ws}/eval-cases")

    assert (status, error["error"]["code"]) == (403, "forbidden")


def test_another_teams_workspace_looks_missing_for_every_eval_call(cloud_api):
    ws = _workspace(cloud_api)
    _, case = cloud_api(
        "alice",
        "POST",
        f"/workspaces/{ws}/eval-cases",
        {"question": "Q?", "relevantDocumentIds": ["d"]},
    )
    item = f"/workspaces/{ws}/eval-cases/{case['id']}"

    for method, path, body in [
        ("GET", f"/workspaces/{ws}/eval-cases", None),
        ("POST", f"/workspaces/{ws}/eval-cases", {"question": "Q?", "answerable": False}),
        ("GET", item, None),
        ("PATCH", item, {"status": "rejected"}),
        ("DELETE", item, None),
    ]:
        status, error = cloud_api("bob", method, path, body)
        assert (status, error["error"]["code"]) == (404, "not_found"), (method, path)
    assert cloud_api("alice", "GET", item) == (200, case)


def test_a_plain_users_marked_turn_is_a_candidate_a_manager_accepts(cloud_api):
    ws = _workspace(cloud_api, groups=["team-b"])
    session = _turn(cloud_api, "bob", ws, "s-bob")

    status, case = cloud_api(
        "bob", "POST", f"/sessions/{session}/messages/a1/eval-case", {"correct": True}
    )

    assert (status, case["status"]) == (201, "candidate")
    accepted = cloud_api(
        "alice", "PATCH", f"/workspaces/{ws}/eval-cases/{case['id']}", {"status": "accepted"}
    )
    assert accepted[1]["status"] == "accepted"


def test_rating_a_turn_in_a_workspace_no_longer_shared_makes_no_case(cloud_api):
    ws = _workspace(cloud_api)  # not shared with bob's team
    session = _turn(cloud_api, "bob", ws, "s-bob")

    status, feedback = cloud_api(
        "bob", "POST", f"/sessions/{session}/feedback", {"messageId": "a1", "rating": "down"}
    )

    assert (status, feedback["evalCaseId"]) == (200, None)
    assert cloud_api("alice", "GET", f"/workspaces/{ws}/eval-cases") == (200, {"cases": []})


# -- JSONL upload ------------------------------------------------------------------------------


def test_a_jsonl_upload_adds_every_case_as_a_file_case(api):
    ws = _workspace(api)
    lines = [
        {"id": "q-17", "question": "Who signs off?", "relevantDocumentIds": ["doc-1"]},
        {"question": "What is the CEO's salary?", "answerable": False, "tags": ["refusal"]},
    ]
    upload = "\n".join(json.dumps(line) for line in lines) + "\n\n"

    status, body = api("alice", "POST", f"/workspaces/{ws}/eval-cases/import", upload)

    assert status == 200, body
    assert body["imported"] == 2
    assert [(c["origin"], c["status"]) for c in body["cases"]] == [("file", "accepted")] * 2
    assert body["cases"][0]["id"] == "q-17"
    assert len(api("alice", "GET", f"/workspaces/{ws}/eval-cases")[1]["cases"]) == 2


def test_a_jsonl_upload_with_one_bad_line_names_it_and_adds_nothing(api):
    ws = _workspace(api)
    upload = '{"question": "Q?", "relevantDocumentIds": ["d"]}\n{"question": "Q?", "rm": 1}\n'

    status, error = api("alice", "POST", f"/workspaces/{ws}/eval-cases/import", upload)

    assert (status, error["error"]["code"]) == (400, "bad_request")
    assert error["error"]["message"].startswith("line 2: ")
    assert api("alice", "GET", f"/workspaces/{ws}/eval-cases") == (200, {"cases": []})
