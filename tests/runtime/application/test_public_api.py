"""The public API answers the same on the laptop and in the cloud: workspace managers issue and
revoke keys; a key asks its own workspace questions and adds documents, within its plan."""

from __future__ import annotations

import json

import pytest
from chorus.runtime.core.models import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

DOC = (
    b"# Key rotation\n\nAPI keys of the billing service rotate every 90 days. The old key stays "
    b"valid for seven days after a rotation so that clients can switch over.\n"
)


@pytest.fixture
def workspace(api) -> str:
    status, created = api("alice", "POST", "/workspaces", {"name": "Public"})
    assert status == 201, created
    return created["id"]


def issue(api, workspace: str, **plan) -> dict:
    status, created = api(
        "alice", "POST", f"/workspaces/{workspace}/api-keys", {"name": "ci", **plan}
    )
    assert status == 201, created
    return created


def indexed(api, workspace_id: str) -> None:
    workspace: Workspace = api.records.get_workspace(workspace_id)
    assert api.backend.index.ingest(workspace, "rotation.md", DOC).outcome == "indexed"


def test_a_created_key_is_shown_once_and_listed_without_its_secret(api, workspace):
    created = issue(api, workspace)

    assert created["key"].startswith(f"chorus_{created['id']}_")
    assert created["hint"] == f"chorus_{created['id']}_…"
    assert created["plan"] == {"ratePerSecond": 1.0, "burst": 5, "dailyQuota": 1000}
    status, listed = api("alice", "GET", f"/workspaces/{workspace}/api-keys")
    assert status == 200
    assert [k["id"] for k in listed["apiKeys"]] == [created["id"]]
    assert created["key"] not in json.dumps(listed)


def test_a_key_answers_a_question_with_citations_and_grounding(api, workspace):
    indexed(api, workspace)
    key = issue(api, workspace)["key"]

    status, answer, _ = api.public(
        key,
        "POST",
        f"/v1/workspaces/{workspace}/answers",
        {"question": "How often do keys rotate?"},
    )

    assert status == 200, answer
    assert "90 days" in answer["answer"]
    assert answer["citations"][0]["documentName"] == "rotation.md"
    assert isinstance(answer["grounding"], float)


def test_no_key_or_a_wrong_key_is_a_401(api, workspace):
    real = issue(api, workspace)["key"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    path = f"/v1/workspaces/{workspace}/answers"

    for key in [None, "not-a-key", forged]:
        status, error, _ = api.public(key, "POST", path, {"question": "q"})
        assert (status, error["error"]["code"]) == (401, "invalid_api_key"), key


def test_a_key_of_another_workspace_is_a_401(api, workspace):
    _, other = api("alice", "POST", "/workspaces", {"name": "Other"})
    key = issue(api, other["id"])["key"]

    status, error, _ = api.public(
        key, "POST", f"/v1/workspaces/{workspace}/answers", {"question": "q"}
    )

    assert (status, error["error"]["code"]) == (401, "invalid_api_key")


def test_a_revoked_key_is_refused_and_listed_as_revoked(api, workspace):
    created = issue(api, workspace)

    assert api("alice", "DELETE", f"/workspaces/{workspace}/api-keys/{created['id']}") == (
        204,
        None,
    )

    status, error, _ = api.public(
        created["key"], "POST", f"/v1/workspaces/{workspace}/answers", {"question": "q"}
    )
    assert (status, error["error"]["code"]) == (401, "api_key_revoked")
    _, listed = api("alice", "GET", f"/workspaces/{workspace}/api-keys")
    assert listed["apiKeys"][0]["revokedAt"] is not None


def test_revoking_an_unknown_key_is_a_404(api, workspace):
    status, error = api("alice", "DELETE", f"/workspaces/{workspace}/api-keys/0123456789abcdef")

    assert (status, error["error"]["code"]) == (404, "not_found")


def test_a_key_without_the_documents_scope_may_not_add_documents(api, workspace):
    key = issue(api, workspace, scopes=["answers"])["key"]
    body = {"name": "a.md", "contentType": "text/markdown", "sizeBytes": 10}

    status, error, _ = api.public(key, "POST", f"/v1/workspaces/{workspace}/documents", body)

    assert (status, error["error"]["code"]) == (403, "api_key_scope")


def test_a_spent_quota_is_a_429_with_retry_after_and_stores_nothing(api, workspace):
    key = issue(api, workspace, dailyQuota=1)["key"]
    path = f"/v1/workspaces/{workspace}/documents"
    api.public(
        key, "POST", path, {"name": "first.md", "contentType": "text/markdown", "sizeBytes": 9}
    )

    status, error, headers = api.public(
        key, "POST", path, {"name": "second.md", "contentType": "text/markdown", "sizeBytes": 9}
    )

    assert (status, error["error"]["code"]) == (429, "quota_exceeded")
    assert int(headers["retry-after"]) == error["error"]["retryAfter"] > 0
    _, documents = api("alice", "GET", f"/workspaces/{workspace}/documents")
    assert "second.md" not in [d["name"] for d in documents["documents"]]


def test_a_burst_over_the_rate_is_a_429_rate_limited(api, workspace):
    key = issue(api, workspace, ratePerSecond=0.001, burst=1)["key"]
    path = f"/v1/workspaces/{workspace}/documents"
    body = {"name": "a.md", "contentType": "text/markdown", "sizeBytes": 9}
    api.public(key, "POST", path, body)

    status, error, headers = api.public(key, "POST", path, body)

    assert (status, error["error"]["code"]) == (429, "rate_limited")
    assert int(headers["retry-after"]) >= 1


def test_an_invalid_plan_is_a_400_and_creates_no_key(api, workspace):
    status, error = api(
        "alice", "POST", f"/workspaces/{workspace}/api-keys", {"name": "x", "burst": 0}
    )

    assert (status, error["error"]["code"]) == (400, "bad_request")
    assert api("alice", "GET", f"/workspaces/{workspace}/api-keys") == (200, {"apiKeys": []})


def test_deleting_the_workspace_deletes_its_keys(api, workspace):
    key = issue(api, workspace)["key"]
    api("alice", "DELETE", f"/workspaces/{workspace}")
    api("alice", "POST", "/workspaces", {"name": "Public"})  # the same id again

    status, error, _ = api.public(
        key, "POST", f"/v1/workspaces/{workspace}/answers", {"question": "q"}
    )

    assert (status, error["error"]["code"]) == (401, "invalid_api_key")


def test_a_plain_user_may_not_manage_keys(cloud_api):
    _, created = cloud_api("alice", "POST", "/workspaces", {"name": "Shared", "groups": ["team-b"]})
    path = f"/workspaces/{created['id']}/api-keys"

    for method, body in [("GET", None), ("POST", {"name": "mine"})]:
        status, error = cloud_api("bob", method, path, body)
        assert (status, error["error"]["code"]) == (403, "forbidden"), method


def test_a_workspace_not_shared_with_the_caller_hides_its_keys(cloud_api):
    _, created = cloud_api("alice", "POST", "/workspaces", {"name": "Private"})

    status, error = cloud_api("bob", "GET", f"/workspaces/{created['id']}/api-keys")

    assert (status, error["error"]["code"]) == (404, "not_found")


def test_a_streamed_answer_is_server_sent_events_ending_with_final(api, workspace):
    indexed(api, workspace)
    key = issue(api, workspace)["key"]
    path = f"/v1/workspaces/{workspace}/answers"
    body = {"question": "How often do keys rotate?", "stream": True}
    if api.transport == "cloud":
        status, error, _ = api.public(key, "POST", path, body)
        assert (status, error["error"]["code"]) == (400, "streaming_unsupported")
        return

    response = api.client.post(f"/api{path}", json=body, headers={"X-Api-Key": key})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
        for block in response.text.strip().split("\n\n")
    ]
    assert [name for name, _ in events][-1] == "final"
    assert "sources" in [name for name, _ in events]
    assert "90 days" in events[-1][1]["answer"]


def test_the_local_server_serves_the_openapi_document(api):
    from chorus.runtime.application.openapi import openapi_document

    if api.transport == "cloud":
        pytest.skip("the cloud publishes docs/openapi.json; it does not serve it")
    response = api.client.get("/api/openapi.json")

    assert (response.status_code, response.json()) == (200, openapi_document())


def test_a_key_adds_a_document_through_the_upload_operation(api, workspace):
    key = issue(api, workspace)["key"]
    path = f"/v1/workspaces/{workspace}/documents"
    if api.transport == "cloud":  # the presigned flow, as POST /workspaces/{id}/documents
        body = {"name": "rotation.md", "contentType": "text/markdown", "sizeBytes": len(DOC)}
        status, created, _ = api.public(key, "POST", path, body)
        assert status == 201, created
        assert created["document"]["status"] == "queued"
        assert created["upload"]["method"] == "PUT"
    else:  # the file itself, indexed now
        response = api.client.post(
            f"/api{path}",
            files={"file": ("rotation.md", DOC, "text/markdown")},
            headers={"X-Api-Key": key},
        )
        assert response.status_code == 201, response.text
        assert response.json()["outcome"] == "indexed"
    _, documents = api("alice", "GET", f"/workspaces/{workspace}/documents")
    assert [d["name"] for d in documents["documents"]] == ["rotation.md"]
