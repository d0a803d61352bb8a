"""The cloud semantic cache: wired on Aurora when configured, emptied by ``document-changed``.

The whole path runs for real: the ingest's SNS publish (moto) → the raw-delivery subscription →
the cache-invalidation queue → ``chat_worker.handler`` → ``PostgresSemanticCache`` on the
embedded PostgreSQL (the stand-in for Aurora).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from chorus.runtime.cloud.cache_invalidation import invalidate_on_document_changed
from chorus.runtime.cloud.services import set_services
from chorus.runtime.cloud.settings import SemanticCacheSettings
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.models import ChunkingSettings, Workspace
from chorus.runtime.core.protocol import SendMessageData
from chorus.runtime.handlers import chat_worker
from support import moto_stack

TEXT = "The XK-4471 signing key rotates every ninety days. Operators run keyctl rotate."
CHANGED = "The XK-4471 signing key now rotates every thirty days. Operators run keyctl rotate."
QUESTION = "How often does the XK-4471 key rotate?"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    from moto import mock_aws

    moto_stack.set_lambda_environment(monkeypatch)
    with mock_aws():
        built = moto_stack.build_stack(idempotency=False)
        yield built
        built.close()


def _services(stack, embedder, dsn: str, *, cache: bool):
    settings = replace(stack.settings, semantic_cache=SemanticCacheSettings(enabled=cache))
    return moto_stack.CloudServices(settings, session=stack.session, embedder=embedder,
                                    database_dsn=dsn)  # fmt: skip


@pytest.fixture
def services(stack, embedder, module_dsn, schema_path, with_settings) -> Iterator:
    built = _services(stack, embedder, with_settings(module_dsn, schema_path), cache=True)
    set_services(built)
    yield built
    set_services(None)
    built.close()


def _ask(services) -> dict:
    request = SendMessageData(workspaceId="ops", text=QUESTION)
    return services.chat.chat(request, user_id="alice", send=lambda event: True)


def _notifications(stack) -> list[dict]:
    return stack.receive(stack.invalidation_queue_url)


def test_the_configured_cache_answers_a_repeated_question(services):
    assert services.chat.cache is services.cache is not None
    assert services.chat.grounding is not None and services.chat.agreement is not None
    workspace = Workspace("ops", "Ops", services.embedder.model_id, 384, ChunkingSettings())
    services.metadata.create_workspace(workspace)
    services.ingestor.ingest(workspace, "keys.txt", TEXT.encode())

    first, second = _ask(services), _ask(services)

    assert first["type"] == second["type"] == "final"
    assert not first.get("cached") and second["cached"] is True
    assert second["answer"] == first["answer"]


def test_a_document_changed_notification_empties_the_workspace_cache(stack, services, context):
    workspace = Workspace("ops", "Ops", services.embedder.model_id, 384, ChunkingSettings())
    services.metadata.create_workspace(workspace)
    services.ingestor.ingest(workspace, "keys.txt", TEXT.encode())
    _notifications(stack)  # the first index's notification: nothing cached yet
    _ask(services)
    assert _ask(services)["cached"] is True

    services.ingestor.ingest(workspace, "keys.txt", CHANGED.encode())  # publishes on SNS
    messages = _notifications(stack)
    event = moto_stack.sqs_event(messages, stack.invalidation_queue_arn)

    assert chat_worker.handler(event, context) == {"batchItemFailures": []}
    after = _ask(services)
    assert not after.get("cached") and "thirty" in after["answer"]


def test_a_malformed_notification_fails_alone(stack, services, context):
    good = json.dumps({"type": "document-changed", "workspaceId": "ops", "documentId": "d"})
    event = moto_stack.sqs_event(
        [
            {"MessageId": "good", "ReceiptHandle": "g", "Body": good},
            {"MessageId": "bad", "ReceiptHandle": "b", "Body": '{"workspaceId": ""}'},
            {"MessageId": "junk", "ReceiptHandle": "j", "Body": "{nope"},
        ],
        stack.invalidation_queue_arn,
    )
    assert chat_worker.handler(event, context) == {
        "batchItemFailures": [{"itemIdentifier": "bad"}, {"itemIdentifier": "junk"}]
    }


def test_without_a_cache_a_notification_is_acknowledged_and_touches_no_database(stack, embedder):
    services = _services(stack, embedder, "postgresql://nowhere.invalid/db", cache=False)
    body = json.dumps({"type": "document-changed", "workspaceId": "ops", "documentId": "d"})

    outcome = invalidate_on_document_changed(services, body)

    assert outcome == {"workspaceId": "ops", "documentId": "d", "invalidated": None}
    assert "database" not in vars(services)
    with pytest.raises(BadRequest):
        invalidate_on_document_changed(services, json.dumps({"type": "other", "workspaceId": "x"}))


@pytest.fixture
def context():
    return moto_stack.LambdaContext()
