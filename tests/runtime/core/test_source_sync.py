"""Sites, feeds, text and Q&A pairs become documents: crawled from a real local site through
the real fetcher and reader, ingested into the embedded PostgreSQL with the real embedder."""

from __future__ import annotations

import pytest
from chorus.runtime.adapters.http_fetcher import AddressGuard, HttpFetcher
from chorus.runtime.adapters.postgres_sources import PostgresSourceLedger
from chorus.runtime.adapters.web_content import WebContent
from chorus.runtime.core.models import DocumentStatus
from chorus.runtime.core.source_sync import SourceIngest
from chorus.runtime.core.sources import (
    FetchLimits,
    QAPair,
    SourceError,
    document_id_for_url,
)
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings

LIMITS = FetchLimits(timeout_s=5.0, max_page_bytes=256 * 1024, max_pages=30, max_depth=2)


@pytest.fixture
def services(tmp_path, fresh_dsn, embedder):
    s = open_services(LocalSettings(home=tmp_path / "home"), embedder=embedder, dsn=fresh_dsn)
    yield s
    s.close()


@pytest.fixture
def workspace(services):
    return services.create_workspace("harbour")


def sources(services, *, allow_private: bool = True) -> SourceIngest:
    fetcher = HttpFetcher(LIMITS, AddressGuard(allow_private=allow_private))
    return SourceIngest(
        fetcher, WebContent(), services.ingestor, PostgresSourceLedger(services.db), LIMITS
    )


def indexed_urls(services, workspace) -> set[str]:
    urls = set()
    for document in services.metadata.list_documents(workspace.id):
        assert document.status is DocumentStatus.INDEXED
        for hit in services.store.document_chunks(workspace.id, document.id):
            urls.add(hit.metadata.get("source_url") or hit.metadata["document_name"])
    return urls


def test_a_site_crawl_indexes_the_same_site_pages_within_depth(services, workspace, site):
    report = sources(services).add_site(workspace, site.base + "/")
    b = site.base
    assert indexed_urls(services, workspace) == {
        f"{b}/",
        f"{b}/a",
        f"{b}/b",
        f"{b}/orphan",
        f"{b}/deep/1",
        f"{b}/deep/2",
    }
    assert report.indexed == 6 and not report.failed
    reasons = dict(report.skipped)
    assert "404" in reasons[f"{b}/missing"]
    assert "robots" in reasons[f"{b}/private/secret"]
    assert reasons[f"{b}/offsite"].startswith("off_site")
    assert reasons[f"{b}/big"].startswith("too_large")
    assert reasons[f"{b}/file.pdf"].startswith("not_html")


def test_the_loop_between_pages_fetches_each_page_once(services, workspace, site):
    site.requests.clear()
    sources(services).add_site(workspace, site.base + "/", max_depth=3)
    # (/a is also where /offsite's redirect lands, on another host name)
    assert site.requests.count("/") == 1 and site.requests.count("/b") == 1


def test_depth_limits_how_far_links_are_followed(services, workspace, site):
    sources(services).add_site(workspace, site.base + "/", max_depth=3)
    assert f"{site.base}/deep/3" in indexed_urls(services, workspace)


def test_the_page_limit_stops_the_crawl(services, workspace, site):
    report = sources(services).add_site(workspace, site.base + "/", max_pages=2)
    assert report.fetched == 2 and report.indexed == 2
    assert any("page limit" in reason for _url, reason in report.skipped)


def test_a_page_is_found_by_its_text_and_carries_its_origin(services, workspace, site):
    sources(services).add_site(workspace, site.base + "/")
    hits = services.retriever.retrieve(workspace.id, "How much does a ferry ticket cost?")
    assert hits[0].metadata["source_url"] == f"{site.base}/a"
    assert "twelve euros" in hits[0].text


def test_a_resync_of_an_unchanged_site_skips_every_page(services, workspace, site):
    ingest = sources(services)
    ingest.add_site(workspace, site.base + "/")
    [again] = ingest.sync(workspace)
    assert again.indexed == 0 and again.unchanged == 6


def test_a_resync_reindexes_only_the_changed_page(services, workspace, site):
    ingest = sources(services)
    ingest.add_site(workspace, site.base + "/")
    original = site.pages["/b"]
    site.pages["/b"] = original.replace("eleven at night", "midnight")
    try:
        [again] = ingest.sync(workspace)
    finally:
        site.pages["/b"] = original
    assert again.indexed == 1 and again.unchanged == 5
    document = services.metadata.get_document(workspace.id, document_id_for_url(f"{site.base}/b"))
    assert document is not None and document.status is DocumentStatus.INDEXED


def test_a_refused_start_url_stores_nothing(services, workspace, site):
    with pytest.raises(SourceError) as info:
        sources(services, allow_private=False).add_site(workspace, site.base + "/")
    assert info.value.code == "address_refused"
    assert services.metadata.list_documents(workspace.id) == []
    assert PostgresSourceLedger(services.db).list_sources(workspace.id) == []


def test_a_missing_start_page_stores_nothing(services, workspace, site):
    with pytest.raises(SourceError) as info:
        sources(services).add_site(workspace, site.base + "/missing")
    assert info.value.code == "http_error"
    assert services.metadata.list_documents(workspace.id) == []


def test_a_start_page_disallowed_by_robots_is_refused(services, workspace, site):
    with pytest.raises(SourceError) as info:
        sources(services).add_site(workspace, site.base + "/private/secret")
    assert info.value.code == "robots_disallowed"


def test_a_feed_indexes_one_document_per_entry(services, workspace, site):
    report = sources(services).add_feed(workspace, site.base + "/feed.xml")
    assert report.indexed == 2
    assert indexed_urls(services, workspace) == {
        f"{site.base}/news/pier",
        f"{site.base}/news/winter",
    }


def test_an_atom_feed_is_read_too(services, workspace, site):
    assert sources(services).add_feed(workspace, site.base + "/atom.xml").indexed == 1


def test_a_resynced_feed_indexes_only_new_entries(services, workspace, site):
    ingest = sources(services)
    ingest.add_feed(workspace, site.base + "/feed.xml")
    original = site.feed_items
    site.feed_items = original.replace(
        "</channel>",
        "<item><title>Night ferry</title><link>{base}/news/night</link>"
        "<description>A night ferry runs on Saturdays.</description></item></channel>",
    )
    try:
        [again] = ingest.sync(workspace)
    finally:
        site.feed_items = original
    assert again.indexed == 1 and again.unchanged == 2


def test_a_feed_that_is_not_xml_is_refused_and_stores_nothing(services, workspace, site):
    with pytest.raises(SourceError) as info:
        sources(services).add_feed(workspace, site.base + "/not-a-feed")
    assert info.value.code == "not_a_feed"
    assert services.metadata.list_documents(workspace.id) == []
    assert PostgresSourceLedger(services.db).list_sources(workspace.id) == []


def test_a_source_failing_on_sync_is_recorded_failed(services, workspace, site):
    ingest = sources(services)
    ingest.add_feed(workspace, site.base + "/feed.xml")
    original, site.feed_items = site.feed_items, "{base} plain words, no XML"
    try:
        [report] = ingest.sync(workspace)
    finally:
        site.feed_items = original
    [source] = PostgresSourceLedger(services.db).list_sources(workspace.id)
    assert source.status == "failed" and source.error.startswith("not_a_feed")
    assert report.failed and report.indexed == 0
    assert len(services.metadata.list_documents(workspace.id)) == 2  # the old entries stay


def test_a_qa_pair_is_found_by_its_question(services, workspace):
    sources(services).add_qa(
        workspace,
        [
            QAPair("Can I bring my bicycle on the ferry?", "Yes, bicycles travel free."),
            QAPair("Are dogs allowed on board?", "Dogs on a lead are welcome."),
        ],
    )
    hit = services.retriever.retrieve(workspace.id, "can I take my bike on the ferry")[0]
    assert "bicycles travel free" in hit.text
    assert hit.metadata["question"] == "Can I bring my bicycle on the ferry?"


def test_plain_text_is_a_document(services, workspace):
    result = sources(services).add_text(workspace, "opening hours", "The office opens at nine.")
    assert result.outcome == "indexed"
    assert services.metadata.get_document(workspace.id, result.document_id).name == (
        "opening hours.txt"
    )
