"""The guarded fetcher against a real HTTP server on 127.0.0.1: the SSRF guard (on by default,
re-checked on every redirect), size, timeout, status and conditional requests."""

from __future__ import annotations

import pytest
from chorus.runtime.adapters.http_fetcher import AddressGuard, HttpFetcher, refused_reason
from chorus.runtime.core.sources import FetchLimits, SourceError, Validators

from tests.support.web_site import HarbourSite


@pytest.fixture(scope="module")
def site():
    s = HarbourSite(hang_s=2.0)
    s.start()
    yield s
    s.close()


def open_fetcher(**limits) -> HttpFetcher:
    return HttpFetcher(FetchLimits(**limits), AddressGuard(allow_private=True))


def refused(fetcher: HttpFetcher, url: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        fetcher.fetch(url)
    return info.value


def test_a_url_resolving_to_loopback_is_refused_by_default(site):
    sent = len(site.requests)
    error = refused(HttpFetcher(), site.base + "/a")
    assert error.code == "address_refused"
    assert "127.0.0.1" in error.message and "--allow-private" in error.message
    assert len(site.requests) == sent  # refused before connecting


def test_a_host_name_resolving_to_loopback_is_refused_by_default(site):
    assert refused(HttpFetcher(), f"http://localhost:{site.port}/a").code == "address_refused"


def test_allow_private_lets_a_local_url_through(site):
    page = open_fetcher().fetch(site.base + "/a")
    assert page.status == 200 and b"Tickets" in page.body
    assert page.validators.etag


def test_the_metadata_address_is_refused_without_connecting():
    assert refused(HttpFetcher(), "http://169.254.169.254/latest/meta-data/").code == (
        "address_refused"
    )


@pytest.mark.parametrize(
    "address, reason",
    [
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fd00::1", "private"),
        ("0.0.0.0", "private"),
        ("8.8.8.8", None),
    ],
)
def test_non_public_addresses_are_named(address, reason):
    assert refused_reason(address) == reason


def test_every_redirect_hop_is_checked_again(site):
    # The first hop is admitted explicitly; its redirect to the metadata address is not.
    guard = AddressGuard(allowed_networks=["127.0.0.1/32"])
    fetcher = HttpFetcher(FetchLimits(), guard)
    assert fetcher.fetch(site.base + "/a").status == 200
    assert refused(fetcher, site.base + "/redirect-to-metadata").code == "address_refused"


def test_a_redirect_is_followed_to_its_final_url(site):
    page = open_fetcher().fetch(site.base + "/offsite")
    assert page.url == f"http://localhost:{site.port}/a"


def test_too_many_redirects_stop(site):
    assert refused(open_fetcher(max_redirects=0), site.base + "/offsite").code == (
        "too_many_redirects"
    )


def test_a_page_over_the_size_limit_is_refused(site):
    error = refused(open_fetcher(max_page_bytes=64 * 1024), site.base + "/big")
    assert error.code == "too_large"


def test_a_small_compressed_body_is_limited_by_its_decoded_size(site):
    error = refused(open_fetcher(max_page_bytes=64 * 1024), site.base + "/gzip-bomb")
    assert error.code == "too_large"


def test_a_hanging_host_ends_in_a_timeout(site):
    # 0.2 s is only a limit: the server waits 2 s, so any run ends with the timeout error.
    assert refused(open_fetcher(timeout_s=0.2), site.base + "/hang").code == "timeout"


def test_a_missing_page_is_an_http_error(site):
    error = refused(open_fetcher(), site.base + "/missing")
    assert error.code == "http_error" and "404" in error.message


def test_a_matching_etag_is_answered_not_modified(site):
    fetcher = open_fetcher()
    first = fetcher.fetch(site.base + "/b")
    again = fetcher.fetch(site.base + "/b", validators=first.validators)
    assert again.not_modified and again.body == b""


def test_a_stale_etag_gets_the_page(site):
    page = open_fetcher().fetch(site.base + "/b", validators=Validators(etag='"old"'))
    assert page.status == 200 and b"Timetable" in page.body


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http:///nohost"])
def test_other_schemes_and_hostless_urls_are_refused(url):
    assert refused(HttpFetcher(), url).code == "bad_url"
