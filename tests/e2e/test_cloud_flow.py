"""The cloud runtime end to end under moto, with the real embedded PostgreSQL as "Aurora".

Every step goes through a Lambda handler with the event API Gateway, S3 → SQS or SQS → Lambda
would deliver: REST create workspace → presigned PUT → S3 event → ingest worker → document
``indexed`` → ``$connect`` authorizer with a real Cognito token → ``sendMessage`` → chat worker →
frames read back from the API Gateway management API → sessions listed over REST.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from chorus.runtime.cloud.rest_wiring import RestWiring, set_rest_wiring
from chorus.runtime.cloud.services import set_services
from chorus.runtime.handlers import (
    chat_worker,
    ingest_worker,
    rest_api,
    ws_authorizer,
    ws_connect,
    ws_message,
)
from support import moto_stack

RUNBOOK = """# Signing key runbook

The XK-4471 signing key rotates every ninety days. To rotate it, run `keyctl rotate --key
XK-4471` on the bastion host and then restart the payment gateway.

## Rollback

If the gateway refuses the new key, restore the previous key from the vault with
`keyctl restore` and open an incident.

## Contacts

The security team owns the key; the platform team owns the gateway.
"""


@pytest.fixture
def cloud(monkeypatch, embedder, module_dsn, schema_path, with_settings) -> Iterator:
    from moto import mock_aws

    moto_stack.set_lambda_environment(monkeypatch)
    with mock_aws():
        stack = moto_stack.build_stack(users={"alice": ["workspace_manager"], "bob": ["user"]})
        dsn = with_settings(module_dsn, schema_path)
        services = stack.services(embedder=embedder, database_dsn=dsn)
        wiring = RestWiring(
            stack.settings, session=stack.session, embedder=embedder, database_dsn=dsn
        )
        set_services(services)
        set_rest_wiring(wiring)
        yield stack
        set_rest_wiring(None)
        set_services(None)
        wiring.close()
        if "store" in vars(services):
            services.store.db.close()
        stack.close()


def rest(stack, user: str, method: str, path: str, body=None, query=None) -> tuple[int, dict]:
    claims = moto_stack.http_claims(stack.tokens(user)["access"])
    event = moto_stack.http_event(method, path, claims=claims, body=body, query=query)
    response = rest_api.handler(event, moto_stack.LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_upload_ingest_connect_ask_and_list_the_session(cloud):
    stack, context = cloud, moto_stack.LambdaContext()

    # 1. a workspace manager creates a workspace and asks for an upload URL
    status, workspace = rest(stack, "alice", "POST", "/workspaces", {"name": "Payments ops"})
    assert status == 201
    wid = workspace["id"]
    size = len(RUNBOOK.encode())
    status, ticket = rest(
        stack,
        "alice",
        "POST",
        f"/workspaces/{wid}/documents",
        {"name": "key runbook.md", "contentType": "text/markdown", "sizeBytes": size},
    )
    assert status == 201

    # 2. the browser PUTs the file to the presigned URL; S3 notifies the ingest queue
    put = requests.put(
        ticket["upload"]["url"], data=RUNBOOK.encode(), headers=ticket["upload"]["headers"]
    )
    assert put.status_code == 200
    s3_messages = stack.receive(stack.ingest_queue_url)
    assert len(s3_messages) == 1 and "key+runbook.md" in s3_messages[0]["Body"]

    # 3. the ingest worker indexes it
    ingest_event = moto_stack.sqs_event(s3_messages, "arn:aws:sqs:us-east-1:123456789012:ingest")
    assert ingest_worker.handler(ingest_event, context) == {"batchItemFailures": []}
    _, listed = rest(stack, "alice", "GET", f"/workspaces/{wid}/documents")
    [document] = listed["documents"]
    assert (document["name"], document["status"]) == ("key runbook.md", "indexed")
    assert document["chunks"] >= 1 and document["contentHash"]

    # 4. the browser connects with its Cognito token in the query string
    token = stack.tokens("alice")["id"]
    auth = ws_authorizer.handler(moto_stack.authorizer_event(token, "conn-e2e"), context)
    assert auth["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    authorizer = {"principalId": auth["principalId"], **auth["context"]}
    connect = moto_stack.ws_event("$connect", "conn-e2e", authorizer=authorizer)
    assert ws_connect.handler(connect, context) == {"statusCode": 200}

    # 5. it asks a question; the message handler queues the work
    frame = {
        "action": "sendMessage",
        "data": {"workspaceId": wid, "text": "How often does the XK-4471 key rotate?"},
    }
    ask = moto_stack.ws_event(
        "sendMessage", "conn-e2e", body=json.dumps(frame), authorizer=authorizer
    )
    assert ws_message.handler(ask, context) == {"statusCode": 200}
    jobs = stack.receive(stack.chat_queue_url)
    assert len(jobs) == 1

    # 6. the chat worker answers through the API Gateway management API
    chat_event = moto_stack.sqs_event(jobs, stack.chat_queue_arn)
    assert chat_worker.handler(chat_event, context) == {"batchItemFailures": []}
    frames = moto_stack.delivered_frames("conn-e2e")
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "sources" and kinds[-1] == "final" and kinds.count("token") >= 1
    final = frames[-1]
    assert "ninety days" in final["answer"]
    assert "".join(f["text"] for f in frames if f["type"] == "token").strip() == final["answer"]
    cited = frames[0]["sources"]
    assert cited[0]["documentName"] == "key runbook.md"
    assert cited[0]["documentId"] == ticket["documentId"]
    assert "[1]" in final["answer"]  # the extractive answer cites its source by number

    # 7. the session is listed for its owner, with the cited answer, and for nobody else
    _, sessions = rest(stack, "alice", "GET", "/sessions")
    assert [s["id"] for s in sessions["sessions"]] == [final["sessionId"]]
    _, session = rest(stack, "alice", "GET", f"/sessions/{final['sessionId']}")
    assert [m["role"] for m in session["messages"]] == ["user", "assistant"]
    assert session["messages"][1]["details"]["sources"][0]["documentName"] == "key runbook.md"
    assert rest(stack, "bob", "GET", "/sessions")[1]["sessions"] == []
    assert rest(stack, "bob", "GET", f"/sessions/{final['sessionId']}")[0] == 404
