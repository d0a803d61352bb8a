"""The REST handler: workspaces, uploads, documents, sessions and feedback, with access rules."""

from __future__ import annotations

import json

import pytest
import requests
from chorus.runtime.core.models import Session, StoredMessage
from chorus.runtime.handlers import rest_api
from support import moto_stack


@pytest.fixture
def call(stack, wiring, context):
    """``call(user, method, path, body=..., query=...)`` → (status, JSON body)."""
    claims = {u: moto_stack.http_claims(stack.tokens(u)["access"]) for u in stack.users}

    def invoke(user, method, path, body=None, query=None, headers=None):
        event = moto_stack.http_event(
            method, path, claims=claims.get(user), body=body, query=query, headers=headers
        )
        response = rest_api.handler(event, context)
        body = response.get("body")
        return response["statusCode"], json.loads(body) if body else None

    return invoke


@pytest.fixture
def workspace(call) -> str:
    status, body = call(
        "alice", "POST", "/workspaces", {"name": "Team A docs", "groups": ["team-a"]}
    )
    assert status == 201, body
    return body["id"]


def test_a_manager_creates_a_workspace_for_the_deployed_model_and_store(call, embedder):
    status, body = call("alice", "POST", "/workspaces", {"name": "Ops", "chunkSize": 500})

    assert status == 201
    assert (body["id"], body["embeddingModel"]) == ("ops", embedder.model_id)
    assert (body["chunkSize"], body["store"], body["embeddingDimension"]) == (500, "pgvector", 384)
    assert call("alice", "GET", f"/workspaces/{body['id']}") == (200, {**body, "documents": 0})


@pytest.fixture
def two_stores(stack, wiring, embedder, module_dsn, schema_path, with_settings):
    """The stack with DynamoDB (the default) and pgvector deployed, installed for the handler."""
    from chorus.runtime.adapters.dynamodb_store import create_table
    from chorus.runtime.cloud.rest_wiring import RestWiring, set_rest_wiring
    from chorus.runtime.cloud.settings import settings_from

    create_table(stack.client("dynamodb"), "chorus-chunks")
    vector_store = {
        "embeddingDimension": 384,
        "defaultStore": "dynamodb",
        "stores": {"dynamodb": {"table": "chorus-chunks"}, "pgvector": {"schema": "chorus"}},
    }
    settings = settings_from({**stack.config, "vectorStore": vector_store}, stack.env)
    built = RestWiring(
        settings,
        session=stack.session,
        embedder=embedder,
        database_dsn=with_settings(module_dsn, schema_path),
    )
    set_rest_wiring(built)
    yield built
    set_rest_wiring(wiring)
    built.close()


def test_a_workspace_goes_to_the_default_store_or_the_deployed_one_it_names(call, two_stores):
    status, default = call("alice", "POST", "/workspaces", {"name": "Support"})
    assert (status, default["store"]) == (201, "dynamodb")
    status, named = call("alice", "POST", "/workspaces", {"name": "IT", "store": "pgvector"})
    assert (status, named["store"]) == (201, "pgvector")

    status, refused = call("alice", "POST", "/workspaces", {"name": "x", "store": "opensearch"})

    assert (status, refused["error"]["code"]) == (400, "unsupported_store")
    assert "dynamodb, pgvector" in refused["error"]["message"]
    assert len(two_stores.records.list_workspaces()) == 2


def test_deleting_a_workspace_deletes_its_chunks_from_its_own_store(call, two_stores):
    _, body = call("alice", "POST", "/workspaces", {"name": "Support"})
    workspace = two_stores.records.get_workspace(body["id"])
    two_stores.index.ingest(workspace, "refunds.txt", b"Refunds are paid within 30 days.")
    dynamodb = two_stores.chunks.of_kind("dynamodb")
    assert dynamodb.count_chunks(workspace.id) > 0

    assert call("alice", "DELETE", f"/workspaces/{workspace.id}") == (204, None)
    assert dynamodb.count_chunks(workspace.id) == 0


BAD_WORKSPACES = {
    "store": ({"name": "x", "store": "kendra"}, 400, "unsupported_store"),
    "model": ({"name": "x", "embeddingModel": "titan-v2"}, 400, "unsupported_embedding_model"),
    "overlap": ({"name": "x", "chunkSize": 100, "chunkOverlap": 100}, 400, "bad_request"),
    "unknown field": ({"name": "x", "color": "red"}, 400, "bad_request"),
    "group": ({"name": "x", "groups": ["a b"]}, 400, "bad_request"),
    "empty": ({}, 400, "bad_request"),
    "malformed": ("{not json", 400, "bad_request"),
    "not an object": ("[1, 2]", 400, "bad_request"),
    "oversize": ({"name": "x" * 70_000}, 413, "payload_too_large"),
}


def test_a_bad_workspace_request_is_a_4xx_with_a_code_and_creates_nothing(call, wiring):
    for case, (body, status, code) in BAD_WORKSPACES.items():
        got, error = call("alice", "POST", "/workspaces", body)
        assert (got, error["error"]["code"]) == (status, code), case
    assert wiring.records.list_workspaces() == []


def test_a_plain_user_cannot_create_workspaces(call):
    status, body = call("bob", "POST", "/workspaces", {"name": "Mine"})
    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_a_request_without_verified_claims_is_unauthorized(call):
    status, body = call("nobody", "GET", "/workspaces")
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_users_see_only_workspaces_of_their_groups(call, workspace):
    assert [w["id"] for w in call("alice", "GET", "/workspaces")[1]["workspaces"]] == [workspace]
    assert call("bob", "GET", "/workspaces")[1]["workspaces"] == []
    assert [w["id"] for w in call("root", "GET", "/workspaces")[1]["workspaces"]] == [workspace]
    for method, path in [
        ("GET", f"/workspaces/{workspace}"),
        ("GET", f"/workspaces/{workspace}/documents"),
        ("DELETE", f"/workspaces/{workspace}"),
        ("POST", f"/workspaces/{workspace}/reindex"),
    ]:
        status, body = call("bob", method, path)
        assert (status, body["error"]["code"]) == (404, "not_found"), path


def test_an_upload_url_accepts_the_file_and_records_it_queued(call, stack, workspace):
    status, ticket = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/documents",
        {"name": "runbook.md", "contentType": "text/markdown", "sizeBytes": 11},
    )
    assert status == 201
    assert ticket["key"] == f"workspaces/{workspace}/{ticket['documentId']}/runbook.md"
    assert "X-Amz-Signature=" in ticket["upload"]["url"]  # SigV4: the headers are signed

    put = requests.put(
        ticket["upload"]["url"], data=b"hello world", headers=ticket["upload"]["headers"]
    )

    assert put.status_code == 200
    stored = stack.client("s3").get_object(Bucket=stack.bucket, Key=ticket["key"])
    assert stored["Body"].read() == b"hello world"
    _, listed = call("alice", "GET", f"/workspaces/{workspace}/documents")
    assert [(d["name"], d["status"]) for d in listed["documents"]] == [("runbook.md", "queued")]
    _, queued = call(
        "alice", "GET", f"/workspaces/{workspace}/documents", query={"status": "queued"}
    )
    _, indexed = call(
        "alice", "GET", f"/workspaces/{workspace}/documents", query={"status": "indexed"}
    )
    assert (len(queued["documents"]), len(indexed["documents"])) == (1, 0)


PDF, TEXT = "application/pdf", "text/plain"
BAD_UPLOADS = {
    "oversize": (
        {"name": "a.pdf", "contentType": PDF, "sizeBytes": 10**9},
        413,
        "payload_too_large",
    ),
    "type": (
        {"name": "x.exe", "contentType": "application/x-msdownload", "sizeBytes": 9},
        415,
        "unsupported_document",
    ),
    "mismatch": (
        {"name": "a.pdf", "contentType": "text/html", "sizeBytes": 9},
        415,
        "unsupported_document",
    ),
    "traversal": (
        {"name": "../../etc/passwd.txt", "contentType": TEXT, "sizeBytes": 9},
        400,
        "bad_request",
    ),
    "empty": ({"name": "a.txt", "contentType": TEXT, "sizeBytes": 0}, 400, "bad_request"),
    "no size": ({"name": "a.txt", "contentType": TEXT}, 400, "bad_request"),
}


def test_a_bad_upload_request_gets_no_url_and_records_nothing(call, wiring, workspace):
    for case, (upload, status, code) in BAD_UPLOADS.items():
        got, body = call("alice", "POST", f"/workspaces/{workspace}/documents", upload)
        assert (got, body["error"]["code"]) == (status, code), case
    assert wiring.records.list_documents(workspace) == []


def test_an_unknown_document_status_filter_is_a_400(call, workspace):
    status, body = call("alice", "GET", f"/workspaces/{workspace}/documents", query={"status": "x"})
    assert (status, body["error"]["code"]) == (400, "bad_request")


def test_deleting_a_workspace_removes_documents_and_files(call, stack, wiring, workspace):
    _, ticket = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/documents",
        {"name": "a.txt", "contentType": "text/plain", "sizeBytes": 5},
    )
    requests.put(ticket["upload"]["url"], data=b"hello", headers=ticket["upload"]["headers"])

    assert call("alice", "DELETE", f"/workspaces/{workspace}")[0] == 204

    assert wiring.records.get_workspace(workspace) is None
    assert wiring.records.list_documents(workspace) == []
    listing = stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="workspaces/")
    assert listing.get("KeyCount", 0) == 0


@pytest.fixture
def alice_session(stack, wiring, workspace) -> str:
    alice = stack.user_id("alice")
    wiring.records.create_session(Session("s-alice", alice, workspace, "keys"))
    wiring.records.add_message(StoredMessage("s-alice", "m1-q", "user", "How do keys rotate?"))
    wiring.records.add_message(
        StoredMessage("s-alice", "m1", "assistant", "Every 90 days.", {"cost": 0.001})
    )
    return "s-alice"


def test_a_user_lists_and_reads_their_sessions(call, alice_session):
    _, listed = call("alice", "GET", "/sessions")
    assert [s["id"] for s in listed["sessions"]] == [alice_session]
    status, session = call("alice", "GET", f"/sessions/{alice_session}")
    assert status == 200
    assert [(m["role"], m["content"]) for m in session["messages"]] == [
        ("user", "How do keys rotate?"),
        ("assistant", "Every 90 days."),
    ]
    assert session["messages"][1]["details"] == {"cost": 0.001}


def test_another_user_cannot_see_read_rate_or_delete_a_session(call, wiring, alice_session):
    assert call("bob", "GET", "/sessions")[1]["sessions"] == []
    for method, path, body in [
        ("GET", f"/sessions/{alice_session}", None),
        ("DELETE", f"/sessions/{alice_session}", None),
        ("POST", f"/sessions/{alice_session}/feedback", {"messageId": "m1", "rating": "up"}),
    ]:
        for user in ("bob", "root"):
            status, error = call(user, method, path, body)
            assert (status, error["error"]["code"]) == (404, "not_found")
    assert len(wiring.records.list_messages(alice_session)) == 2


def test_feedback_is_stored_on_an_answer_and_shown_with_the_session(call, alice_session):
    status, _ = call(
        "alice",
        "POST",
        f"/sessions/{alice_session}/feedback",
        {"messageId": "m1", "rating": "down", "comment": "too short"},
    )
    assert status == 200
    messages = call("alice", "GET", f"/sessions/{alice_session}")[1]["messages"]
    assert messages[1]["feedback"] == {"rating": "down", "comment": "too short"}
    status, body = call(
        "alice",
        "POST",
        f"/sessions/{alice_session}/feedback",
        {"messageId": "m1-q", "rating": "up"},
    )
    assert (status, body["error"]["code"]) == (404, "not_found")  # questions are not rated
    status, body = call(
        "alice", "POST", f"/sessions/{alice_session}/feedback", {"messageId": "m1", "rating": "meh"}
    )
    assert (status, body["error"]["code"]) == (400, "bad_request")


def test_deleting_a_session_removes_every_item(call, stack, alice_session):
    assert call("alice", "DELETE", f"/sessions/{alice_session}")[0] == 204
    assert call("alice", "GET", "/sessions")[1]["sessions"] == []
    items = stack.client("dynamodb").scan(TableName=stack.settings.tables.sessions)["Items"]
    assert items == []


def test_the_cdn_header_is_required_when_configured(stack, wiring, call, monkeypatch):
    from dataclasses import replace

    stack.client("ssm").put_parameter(Name="/chorus/cdn", Value="s3cret", Type="SecureString")
    monkeypatch.setattr(
        wiring,
        "settings",
        replace(wiring.settings, require_cdn_header=True, cdn_secret_parameter="/chorus/cdn"),
    )
    status, body = call("alice", "GET", "/workspaces")
    assert (status, body["error"]["code"]) == (403, "forbidden")
    wrong = call("alice", "GET", "/workspaces", headers={"x-chorus-origin-verify": "guess"})
    assert wrong[0] == 403
    assert (
        call("alice", "GET", "/workspaces", headers={"x-chorus-origin-verify": "s3cret"})[0] == 200
    )


# -- hostile input ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 10_000, '{"a":' * 5_000, '{"name": "\\udc00"}'])
def test_a_hostile_json_body_is_a_400(call, body):
    status, reply = call("alice", "POST", "/workspaces", body)

    assert status == 400 and reply["error"]["code"] == "bad_request"
    assert "Recursion" not in reply["error"]["message"]


def test_a_base64_body_that_is_not_utf8_is_a_400(stack, wiring, context):
    claims = moto_stack.http_claims(stack.tokens("alice")["access"])
    event = moto_stack.http_event("POST", "/workspaces", claims=claims, body="/v7+AA==")
    event["isBase64Encoded"] = True

    response = rest_api.handler(event, context)

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/sessions/" + "s" * 3000, "/workspaces/w%F0/documents"])
def test_an_id_that_no_record_could_have_is_a_404(call, path):
    status, reply = call("alice", "GET", path)

    assert status == 404 and reply["error"]["code"] == "not_found"


def test_a_manager_stores_tuned_retrieval_settings_on_the_workspace(call, workspace):
    tuned = {"chunkSize": 1000, "chunkOverlap": 200, "retrieval": {"fusion": "adaptive"}}
    status, body = call("alice", "PUT", f"/workspaces/{workspace}/settings", tuned)
    assert status == 200, body
    assert (body["retrieval"], body["reindex"]) == ({"fusion": "adaptive"}, None)
    status, listed = call("alice", "GET", "/workspaces")
    assert [w["retrieval"] for w in listed["workspaces"] if w["id"] == workspace] == [
        {"fusion": "adaptive"}
    ]


def test_a_chunking_change_without_the_reindex_workflow_is_refused_and_changes_nothing(
    call, workspace
):
    tuned = {"chunkSize": 500, "chunkOverlap": 50, "retrieval": {"fusion": "rrf"}}
    status, body = call("alice", "PUT", f"/workspaces/{workspace}/settings", tuned)
    assert (status, body["error"]["code"]) == (400, "not_deployed")
    status, listed = call("alice", "GET", "/workspaces")
    mine = next(w for w in listed["workspaces"] if w["id"] == workspace)
    assert (mine["chunkSize"], mine["retrieval"]) == (1000, {})


def test_unknown_retrieval_settings_are_a_400_naming_the_tunable_ones(call, workspace):
    tuned = {"chunkSize": 1000, "chunkOverlap": 200, "retrieval": {"mode": "keyword"}}
    status, body = call("alice", "PUT", f"/workspaces/{workspace}/settings", tuned)
    assert status == 400 and "tunable" in body["error"]["message"]
