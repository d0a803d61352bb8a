"""Sources in the cloud: ``rest_api`` records a site or feed and hands it to ``sync_sources``,
which fetches it into the workspace; the REST GET shows its status. On a moto stack with the
real MiniLM and embedded PostgreSQL, against the local test site (tests/support/web_site.py).

The cloud's guard refuses loopback addresses with no opt-in, so the fetches of the test site go
through the real ``AddressGuard`` with the test server's one address listed in
``allowed_networks`` (the same mechanism an operator would need code, not config, to change);
the refusal itself is tested through the handlers with the default guard.
"""

from __future__ import annotations

import json

import pytest
from chorus.runtime.adapters.dynamodb_sources import DynamoDBSourceLedger
from chorus.runtime.adapters.http_fetcher import AddressGuard, HttpFetcher
from chorus.runtime.cloud.sources import CloudSources, SyncRequest, run_sync
from chorus.runtime.core.models import ChunkingSettings, Workspace
from chorus.runtime.core.source_sync import Source
from chorus.runtime.core.sources import FetchLimits
from chorus.runtime.handlers import rest_api, sync_sources
from support import moto_stack

from tests.support.web_site import HarbourSite

TEST_SERVER = AddressGuard(allowed_networks=["127.0.0.1/32"])


@pytest.fixture(scope="module")
def site():
    s = HarbourSite()
    s.start()
    yield s
    s.close()


class HandOver:
    """A ``WorkSender`` that keeps what ``rest_api`` hands to ``sync_sources``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []

    def send(self, body: str) -> None:
        self.bodies.append(json.loads(body))


@pytest.fixture
def handed(stack, wiring) -> HandOver:
    sender = HandOver()
    ledger = DynamoDBSourceLedger(
        stack.session.resource("dynamodb"), stack.settings.tables.workspace
    )
    wiring.__dict__["sources"] = CloudSources(ledger, sender, check_address=TEST_SERVER.check)
    return sender


@pytest.fixture
def call(stack, wiring, context):
    claims = {u: moto_stack.http_claims(stack.tokens(u)["access"]) for u in stack.users}

    def invoke(user, method, path, body=None):
        event = moto_stack.http_event(method, path, claims=claims.get(user), body=body)
        response = rest_api.handler(event, context)
        text = response.get("body")
        return response["statusCode"], json.loads(text) if text else None

    return invoke


@pytest.fixture
def workspace(call) -> str:
    status, body = call("alice", "POST", "/workspaces", {"name": "Harbour", "chunkSize": 400})
    assert status == 201, body
    return body["id"]


def fetch(wiring, body: dict):
    """What ``sync_sources`` does with one handed-over body, fetching the test site."""
    fetcher = HttpFetcher(FetchLimits(), TEST_SERVER)
    return run_sync(wiring._data_plane, SyncRequest.from_event(body), fetcher=fetcher)


def test_a_feed_is_recorded_queued_and_handed_to_sync_sources(call, handed, workspace, site):
    status, body = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/sources",
        {"kind": "feed", "url": f"{site.base}/feed.xml"},
    )
    assert (status, body["queued"], body["fetched"]) == (202, True, 0)
    assert handed.bodies == [{"workspaceId": workspace, "url": f"{site.base}/feed.xml"}]
    status, listed = call("alice", "GET", f"/workspaces/{workspace}/sources")
    assert [(s["url"], s["status"]) for s in listed["sources"]] == [
        (f"{site.base}/feed.xml", "queued")
    ]
    assert call("alice", "GET", f"/workspaces/{workspace}/documents")[1]["documents"] == []


def test_sync_sources_indexes_the_feed_and_the_rest_get_shows_its_status(
    call, handed, wiring, workspace, site
):
    call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/sources",
        {"kind": "feed", "url": f"{site.base}/feed.xml"},
    )
    (report,) = fetch(wiring, handed.bodies[0])
    assert (report.kind, report.indexed, report.failed) == ("feed", 2, [])

    (source,) = call("alice", "GET", f"/workspaces/{workspace}/sources")[1]["sources"]
    assert source["status"] == "synced" and source["syncedAt"] and source["error"] is None
    documents = call("alice", "GET", f"/workspaces/{workspace}/documents")[1]["documents"]
    assert sorted(d["status"] for d in documents) == ["indexed", "indexed"]


def test_a_second_sync_is_idempotent(call, handed, wiring, workspace, site):
    call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/sources",
        {"kind": "feed", "url": f"{site.base}/feed.xml"},
    )
    fetch(wiring, handed.bodies[0])
    status, body = call("alice", "POST", f"/workspaces/{workspace}/sources/sync")
    assert (status, [s["queued"] for s in body["sources"]]) == (202, [True])
    (again,) = fetch(wiring, handed.bodies[-1])
    assert (again.indexed, again.unchanged) == (0, 2)
    assert len(call("alice", "GET", f"/workspaces/{workspace}/documents")[1]["documents"]) == 2


def test_a_site_records_its_pages_and_the_get_counts_them(call, handed, wiring, workspace, site):
    status, _ = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/sources",
        {"kind": "site", "url": f"{site.base}/", "depth": 1, "maxPages": 5},
    )
    assert status == 202
    (report,) = fetch(wiring, handed.bodies[0])
    assert report.indexed >= 1
    (source,) = call("alice", "GET", f"/workspaces/{workspace}/sources")[1]["sources"]
    assert (source["kind"], source["depth"], source["maxPages"]) == ("site", 1, 5)
    assert source["pages"] == report.indexed + report.unchanged


def test_text_and_qa_are_indexed_by_sync_sources_not_by_the_rest_api(
    call, handed, wiring, workspace
):
    status, body = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/sources",
        {"kind": "qa", "pairs": [{"question": "When do ferries run?", "answer": "Hourly."}]},
    )
    assert (status, body["documents"][0]["outcome"]) == (202, "queued")
    (report,) = fetch(wiring, handed.bodies[0])
    assert (report.kind, report.indexed) == ("qa", 1)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/feed.xml", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.8/"],
)
def test_the_cloud_refuses_private_addresses_with_no_opt_in(call, wiring, workspace, url):
    status, body = call(
        "alice", "POST", f"/workspaces/{workspace}/sources", {"kind": "feed", "url": url}
    )
    assert (status, body["error"]["code"]) == (400, "address_refused")
    assert call("alice", "GET", f"/workspaces/{workspace}/sources")[1]["sources"] == []


def test_sync_sources_refuses_a_source_on_a_private_address_and_records_why(
    stack, services, context, site
):
    workspace = services.metadata.create_workspace(
        Workspace("harbour", "Harbour", services.embedder.model_id, 384, ChunkingSettings(400, 40))
    )
    ledger = DynamoDBSourceLedger(
        stack.session.resource("dynamodb"), stack.settings.tables.workspace
    )
    url = f"{site.base}/feed.xml"
    ledger.put_source(Source(workspace.id, url, "feed", status="queued"))

    result = sync_sources.handler({"workspaceId": workspace.id, "url": url}, context)

    (report,) = result["sources"]
    assert report["failed"][0]["reason"].startswith("address_refused")
    stored = ledger.get_source(workspace.id, url)
    assert stored.status == "failed" and "127.0.0.1" in stored.error
    assert services.metadata.list_documents(workspace.id) == []


def test_a_scheduled_run_syncs_only_due_sources(stack, services, context):
    workspace = services.metadata.create_workspace(
        Workspace("harbour", "Harbour", services.embedder.model_id, 384, ChunkingSettings(400, 40))
    )
    ledger = DynamoDBSourceLedger(
        stack.session.resource("dynamodb"), stack.settings.tables.workspace
    )
    fresh = Source(
        workspace.id, "http://10.1.2.3/fresh.xml", "feed", status="synced", synced_at=9e12
    )
    stale = Source(
        workspace.id, "http://10.1.2.3/stale.xml", "feed", status="synced", synced_at=1.0
    )
    ledger.put_source(fresh)
    ledger.put_source(stale)

    result = sync_sources.handler({"minAgeSeconds": 3600}, context)

    assert [r["url"] for r in result["sources"]] == [stale.url]
    assert ledger.get_source(workspace.id, fresh.url).status == "synced"


def test_a_malformed_sync_event_is_refused(services, context):
    from chorus.runtime.core.sources import SourceError

    with pytest.raises(SourceError, match="workspaceId"):
        sync_sources.handler({"url": "https://example.com/"}, context)
