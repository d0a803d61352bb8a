"""A chat turn and an ingest emit the catalogue's metrics as CloudWatch EMF lines on stdout."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from chorus.runtime.adapters.emf_metrics import EmfMetrics
from chorus.runtime.cloud.services import set_services
from chorus.runtime.core.metrics import NAMESPACE, OperationsMetrics
from chorus.runtime.handlers import chat_worker, ingest_worker, ws_message
from support import moto_stack

CHAT_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:chorus-chat"
INGEST_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:chorus-ingest"
TEXT = (
    "The XK-4471 signing key rotates every ninety days. Operators run keyctl rotate and then "
    "restart the gateway. If the gateway refuses the new key, restore the previous key."
)


@pytest.fixture
def emf_services(stack, embedder, module_dsn: str, schema_path: str, with_settings) -> Iterator:
    """The container's services with the cloud's EMF sink (as ``get_services`` builds them)."""
    built = stack.services(
        embedder=embedder,
        database_dsn=with_settings(module_dsn, schema_path),
        metrics=OperationsMetrics(EmfMetrics()),
    )
    set_services(built)
    yield built
    set_services(None)
    if "store" in vars(built):
        built.store.db.close()


@pytest.fixture
def workspace(stack, emf_services):
    return stack.team_workspace(emf_services)


def emf_lines(out: str) -> list[dict]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [
        line for line in lines if line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE
    ]


def metric_names(lines: list[dict]) -> set[str]:
    return {
        metric["Name"]
        for line in lines
        for directive in line["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


def ask(stack, context) -> None:
    user = stack.user_id("alice")
    authorizer = {"principalId": user, "userId": user, "groups": "team-a,workspace_manager"}
    question = "How often does the XK-4471 key rotate?"
    body = {"action": "sendMessage", "data": {"workspaceId": "ops", "text": question}}
    ws_message.handler(
        moto_stack.ws_event("sendMessage", "conn-a", body=json.dumps(body), authorizer=authorizer),
        context,
    )
    messages = stack.receive(stack.chat_queue_url)
    assert chat_worker.handler(moto_stack.sqs_event(messages, CHAT_QUEUE_ARN), context) == {
        "batchItemFailures": []
    }


def upload(stack, context, key: str, body: bytes) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)
    messages = stack.receive(stack.ingest_queue_url)
    ingest_worker.handler(moto_stack.sqs_event(messages, INGEST_QUEUE_ARN), context)


def test_a_chat_turn_emits_turn_model_and_retrieval_metrics(
    stack, emf_services, workspace, context, capsys
):
    emf_services.ingestor.ingest(workspace, "keys.txt", TEXT.encode())
    capsys.readouterr()

    ask(stack, context)

    lines = emf_lines(capsys.readouterr().out)
    assert {
        "Turns",
        "TurnLatency",
        "TurnFirstTokenLatency",
        "TurnCost",
        "RetrievalLatency",
        "ModelLatency",
        "ModelGrounding",
    } <= metric_names(lines)
    turns = [line for line in lines if "Turns" in line and "Mode" in line]
    assert turns[0]["Mode"] == "single" and turns[0]["service"] == "chorus"
    # the per-mode line also counts under the service alone (what the alarms read)
    assert ["service"] in turns[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    outcome = [line for line in lines if "Turns" in line and "Outcome" in line]
    assert outcome[0]["Outcome"] == "answered"
    model = [line for line in lines if "ModelLatency" in line]
    assert model[0]["Model"] == "extractive"
    assert [line["Store"] for line in lines if "RetrievalLatency" in line] == ["PgVectorStore"]


def test_an_ingest_emits_documents_chunks_and_seconds(
    stack, emf_services, workspace, context, capsys
):
    capsys.readouterr()

    upload(stack, context, "workspaces/ops/doc1/keys.md", TEXT.encode())

    lines = emf_lines(capsys.readouterr().out)
    assert {"IngestDocuments", "IngestChunks", "IngestSeconds"} <= metric_names(lines)
    documents = [line for line in lines if "IngestDocuments" in line]
    assert documents[0]["Outcome"] == "indexed"
    chunks = next(line["IngestChunks"] for line in lines if "IngestChunks" in line)
    assert chunks == [emf_services.store.count_chunks("ops", "doc1")]


def test_an_unreadable_document_emits_a_failure_by_reason(
    stack, emf_services, workspace, context, capsys
):
    capsys.readouterr()

    upload(stack, context, "workspaces/ops/doc2/broken.pdf", b"%PDF-1.7 not really a pdf")

    lines = emf_lines(capsys.readouterr().out)
    failures = [line for line in lines if "IngestFailures" in line and "Reason" in line]
    assert [line["Reason"] for line in failures] == ["UnsupportedDocument"]
