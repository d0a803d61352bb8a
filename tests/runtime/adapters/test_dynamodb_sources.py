"""runtime/adapters/dynamodb_sources.py under moto: sources and page validators as items of the
workspace table, under seed-style keys, gone with the workspace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chorus.runtime.adapters.dynamodb_metadata import (
    DynamoDBMetadataStore,
    TableNames,
    create_tables,
)
from chorus.runtime.adapters.dynamodb_sources import DynamoDBSourceLedger
from chorus.runtime.core.models import Workspace
from chorus.runtime.core.source_sync import PageState, Source
from chorus.runtime.core.sources import Validators

TABLES = TableNames("ws", "docs", "sessions", "conns")
SITE = "https://docs.example.com/"
FEED = "https://blog.example.com/feed.xml"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        create_tables(session.client("dynamodb"), TABLES)
        yield session.resource("dynamodb")


@pytest.fixture
def ledger(dynamodb) -> DynamoDBSourceLedger:
    return DynamoDBSourceLedger(dynamodb, TABLES.workspace)


def test_a_source_round_trips_with_its_status_and_validators(ledger):
    source = Source(
        "w1",
        FEED,
        "feed",
        status="synced",
        synced_at=1764750000.25,
        validators=Validators('"abc"', "Wed, 02 Dec 2026 10:00:00 GMT"),
    )
    ledger.put_source(source)
    assert ledger.get_source("w1", FEED) == source
    assert ledger.get_source("w2", FEED) is None


def test_a_failed_source_keeps_its_reason(ledger):
    ledger.put_source(Source("w1", SITE, "site", 1, 5, status="failed", error="timeout: slow"))
    (listed,) = ledger.list_sources("w1")
    assert (listed.status, listed.error, listed.synced_at) == ("failed", "timeout: slow", None)
    assert (listed.max_depth, listed.max_pages) == (1, 5)


def test_sources_are_listed_per_workspace_by_url_and_pages_stay_out_of_the_list(ledger):
    ledger.put_source(Source("w1", SITE, "site"))
    ledger.put_source(Source("w1", FEED, "feed"))
    ledger.put_source(Source("w2", "https://other.example.com/", "site"))
    ledger.put_pages("w1", SITE, [PageState(f"{SITE}a", "d-a", 1, Validators('"1"'))])
    assert [s.url for s in ledger.list_sources("w1")] == [FEED, SITE]


def test_pages_are_replaced_by_url_and_counted_per_source(ledger):
    ledger.put_pages(
        "w1",
        SITE,
        [
            PageState(SITE, "d-root", 0, Validators('"1"')),
            PageState(f"{SITE}b", "d-b", 1, Validators(None, "Tue, 01 Dec 2026 00:00:00 GMT")),
        ],
    )
    ledger.put_pages("w1", SITE, [PageState(SITE, "d-root", 0, Validators('"2"'))])
    pages = ledger.pages("w1", SITE)
    assert [(p.url, p.validators.etag) for p in pages] == [(SITE, '"2"'), (f"{SITE}b", None)]
    assert pages[1].validators.last_modified == "Tue, 01 Dec 2026 00:00:00 GMT"
    assert ledger.page_count("w1", SITE) == 2
    assert ledger.pages("w1", "https://elsewhere.example.com/") == []


def test_a_url_longer_than_a_key_allows_is_stored_by_digest(ledger):
    long_url = SITE + "p/" + "x" * 1900
    ledger.put_source(Source("w1", long_url, "site"))
    assert ledger.get_source("w1", long_url).url == long_url


def test_deleting_the_workspace_deletes_its_sources_and_pages(dynamodb, ledger):
    metadata = DynamoDBMetadataStore(dynamodb, TABLES)
    metadata.create_workspace(Workspace("w1", "W", "minilm", 384))
    ledger.put_source(Source("w1", SITE, "site"))
    ledger.put_pages("w1", SITE, [PageState(SITE, "d-root", 0, Validators('"1"'))])
    assert [w.id for w in metadata.list_workspaces()] == ["w1"]  # sources are not workspaces
    metadata.delete_workspace("w1")
    assert ledger.list_sources("w1") == [] and ledger.pages("w1", SITE) == []
