"""Refactoring the components keeps every resource of an existing stack: each resource the
stack had (tests/components/data/urns_before_split.json, recorded from the program before
ChatOrchestrator was split into smaller components) still answers to its URN, directly or
through an alias, so `pulumi up` updates in place instead of deleting and creating."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.settings import parse_settings, read_stack_file
from components.stack import build_stack

from .test_stack import CODE, EVERYTHING_ON
from .urns import deploy_recording

ROOT = Path(__file__).resolve().parents[2]
BEFORE = json.loads((Path(__file__).parent / "data" / "urns_before_split.json").read_text())
QUEUED = {"chorus:eventPaths": {"ingestion": "queue", "chat": "queue"}}
"""The event paths the identities were recorded with (the idle-free paths are other resources:
switching a stack's paths replaces its queues and event sources, on purpose)."""


def _dev_as_recorded():
    """Pulumi.dev.yaml as it was when the identities were recorded: Aurora on, the queues."""
    config = read_stack_file(ROOT / "Pulumi.dev.yaml")
    config["chorus:vectorStore"]["aurora"]["enabled"] = True
    return parse_settings({**config, **QUEUED})


STACKS = {
    "dev": (_dev_as_recorded, "dev"),
    "everything": (
        lambda: parse_settings({**EVERYTHING_ON, **QUEUED, "chorus:frontend": {"enabled": True}}),
        "prod",
    ),
}


@pytest.fixture(scope="module", params=sorted(STACKS))
def identities(request):
    settings_of, stack = STACKS[request.param]
    settings = settings_of()
    now = deploy_recording(lambda: build_stack(settings, CODE, stack), stack)
    return set(BEFORE[request.param]), now


def test_every_resource_of_an_existing_stack_keeps_its_identity(identities):
    before, now = identities
    answered = set().union(*now.values())
    assert sorted(before - answered) == []


def test_no_two_resources_claim_the_same_old_identity(identities):
    before, now = identities
    claims: dict[str, list[str]] = {}
    for urn, names in now.items():
        for old in names & before:
            claims.setdefault(old, []).append(urn)
    assert {old: urns for old, urns in claims.items() if len(urns) > 1} == {}


ADDED_SINCE_RECORDING = (
    "-http-route-12",  # PUT /workspaces/{workspaceId}/settings
    # eval sets (docs/protocol.md, "Eval sets"): seven routes appended
    *(f"-http-route-{n}" for n in range(13, 20)),
    # API keys (docs/public_api.md): three JWT routes appended after the sources', two public
    *(f"-http-route-{n}" for n in range(23, 26)),
    "-http-public-route-0",
    "-http-public-route-1",
    "-async-event-age",  # alarms of the event paths without a queue
    # operations (docs/operations.md): alarms, access logs, rollouts
    "-alarms-tls-only",
    "-api-5xx-rate",
    "-websocket-errors",
    "-chat-error-rate",
    "-turn-latency-p95",
    "-queue-age",
    "-lambda-throttles",
    "-workflow-failures",
    "-aurora-acu-at-max",
    "-endpoint-5xx",
    "-chat-down",
    "-ws-access-logs",
    "-apigateway-logs",
    "-apigateway-account",
    "-live",
    "-deploy",
    "-codedeploy",
    "-dashboard",
    "-all_at_once",
    "-canary",
    "-linear",
    "-cdn-logs",
    # web and feed sources in the cloud (docs/sources.md): three routes appended, and the
    # sync_sources function with its role, policy and log group
    *(f"-http-route-{n}" for n in range(20, 23)),
    "-sync-sources",
    "-sync-sources-role",
    "-sync-sources-policy",
    "-sync-sources-logs",
    "-sync-sources-errors",
    # its asynchronous hand-overs kept when they fail: the alias, the invoke configuration, the
    # dead-letter queue (a DeadLetterQueue component, its queue and policy) and its alarm
    "-sources-async",
    "-sources-failed",
    "-sources-failed-policy",
    "-sources-dlq-depth",
    # bulk ingestion (chorus:bulkIngestion): the workflow and its batch function
    "-bulk-ingestion",
    "-bulk-ingestion-logs",
    "-bulk-ingestion-role",
    "-bulk-ingestion-policy",
    "-bulk-ingest-batch",
    "-bulk-ingest-batch-role",
    "-bulk-ingest-batch-policy",
    "-bulk-ingest-batch-logs",
    "-bulk-ingest-batch-errors",
    "-http-route-26",  # POST /workspaces/{workspaceId}/bulk-ingestions
    "-http-route-27",  # GET /workspaces/{workspaceId}/bulk-ingestions/{jobId}
)
"""Resources new features added after the identities were recorded (URN name endings)."""
COMPONENTS_ADDED_SINCE_RECORDING = ("chorus:index:ScheduledEvaluation",)
"""Components added after the identities were recorded: they and their children are new."""


def test_only_new_grouping_components_are_created(identities):
    before, now = identities
    added = {
        urn.split("::")[2].split("$")[-1]
        for urn, names in now.items()
        if not names & before
        and not urn.endswith(ADDED_SINCE_RECORDING)
        and not any(c in urn for c in COMPONENTS_ADDED_SINCE_RECORDING)
    }
    assert added <= {
        "chorus:index:ChatTables",
        "chorus:index:ChatMessaging",
        "chorus:index:WebSocketApi",
        "chorus:index:HttpApi",
        "chorus:index:ChatWorkflows",
        "chorus:index:ChatAlarms",
        "chorus:index:LambdaDeployments",
        "chorus:index:Dashboard",
        "chorus:index:BulkIngestion",
    }
