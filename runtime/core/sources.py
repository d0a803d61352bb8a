"""Sources: documents that come from the web (a site, a feed) or are typed in (text, Q&A pairs).

The fetching itself sits behind two ports so core stays free of HTTP and parsing libraries:
``WebFetcher`` (one guarded GET: SSRF checks, redirects, timeouts, a size cap, conditional
requests) and ``WebReader`` (HTML to text, links, robots.txt, sitemaps, feeds). The crawl and the
sync logic here only decide *what* to fetch and *what* becomes a document.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from .errors import ChorusError

SourceKind = Literal["site", "feed"]

USER_AGENT = "chorus-sources/1.0 (+https://github.com/chorus)"


class SourceError(ChorusError):
    """A source cannot be fetched or read; ``code`` says why, nothing was stored.

    Codes: ``address_refused`` (the host resolves to a loopback, link-local, private or reserved
    address), ``bad_url``, ``too_large``, ``timeout``, ``unreachable``, ``http_error``,
    ``too_many_redirects``, ``robots_disallowed``, ``not_a_feed``, ``not_html``.
    """

    code = "source_error"
    http_status = 400


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch and on one crawl.

    timeout_s: per connect/read and for the whole body; max_page_bytes: a larger body is
    refused (``too_large``) rather than truncated; max_pages / max_depth: the crawl's bounds.
    """

    timeout_s: float = 10.0
    max_page_bytes: int = 2 * 1024 * 1024
    max_pages: int = 50
    max_depth: int = 2
    max_redirects: int = 5


@dataclass(frozen=True)
class Validators:
    """What a server said identifies a version of a page (for conditional re-fetches)."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True)
class FetchedPage:
    """One response: ``url`` is the final one after redirects; status 304 has no body."""

    url: str
    status: int
    content_type: str
    body: bytes
    validators: Validators = field(default_factory=Validators)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class WebFetcher(Protocol):
    """One guarded GET (``adapters.http_fetcher``)."""

    def fetch(self, url: str, *, validators: Validators | None = None) -> FetchedPage:
        """The page at ``url`` (following redirects it may follow); ``SourceError`` otherwise.
        A non-2xx/304 final status is ``SourceError`` with code ``http_error``."""
        ...


@dataclass(frozen=True)
class PageText:
    title: str
    text: str


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str
    text: str


@dataclass(frozen=True)
class Feed:
    title: str
    entries: tuple[FeedEntry, ...]


class RobotsRules(Protocol):
    def allowed(self, url: str) -> bool: ...
    @property
    def sitemaps(self) -> Sequence[str]: ...


class WebReader(Protocol):
    """What is in fetched bytes (``adapters.web_content``)."""

    def page_text(self, body: bytes, url: str) -> PageText | None:
        """The readable text of an HTML page (boilerplate removed); None when there is none."""
        ...

    def links(self, body: bytes, url: str) -> list[str]:
        """Absolute URLs the page links to."""
        ...

    def robots(self, body: bytes, user_agent: str) -> RobotsRules: ...

    def sitemap_urls(self, body: bytes) -> list[str]: ...

    def feed(self, body: bytes, url: str) -> Feed:
        """The feed's entries; ``SourceError(code="not_a_feed")`` when it is not RSS/Atom."""
        ...


# --- URLs ---------------------------------------------------------------------------------


def normalize_url(url: str, base: str | None = None) -> str:
    """An absolute http(s) URL without fragment, host lower-cased, empty path as ``/``.

    ``SourceError(bad_url)`` for other schemes or a missing host.
    """
    joined = urljoin(base, url.strip()) if base else url.strip()
    joined, _ = urldefrag(joined)
    parts = urlsplit(joined)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SourceError(
            f"{url!r} is not an http(s) URL with a host; give one like https://example.com/",
            code="bad_url",
        )
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()  # credentials never travel in a source URL
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def same_site(url: str, start: str) -> bool:
    """Same host and port as the start URL (http and https of one host on default ports count
    as one site)."""
    a, b = urlsplit(url), urlsplit(start)
    return a.hostname == b.hostname and a.port == b.port


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def document_name_for_url(url: str) -> str:
    """A readable, safe document name for a page: ``host path`` with ``/`` as ``›``, ``.txt``.

    Long names are cut and keep a hash of the URL, so two URLs never share a name.
    """
    parts = urlsplit(url)
    path = parts.path.strip("/")
    readable = " › ".join(p for p in [parts.netloc, *path.split("/")] if p)
    if parts.query:
        readable += " ?" + parts.query
    readable = re.sub(r"[\x00-\x1f\\/]", "_", readable)
    if len(readable.encode()) > 180:
        digest = hashlib.sha256(url.encode()).hexdigest()[:10]
        readable = readable.encode()[:160].decode("utf-8", "ignore") + f" … {digest}"
    return readable + ".txt"


def document_id_for_url(url: str) -> str:
    """The stable document id of the page at ``url`` (one document per URL)."""
    return hashlib.sha256(("url\x1f" + url).encode()).hexdigest()[:24]


# --- crawling -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CrawledPage:
    url: str
    depth: int
    title: str
    text: str
    validators: Validators


@dataclass
class CrawlResult:
    """What a crawl found: changed pages with text, pages the server said are unchanged, and
    URLs skipped with a reason (404, robots, off-site redirect, not HTML, too large ...)."""

    start_url: str
    pages: list[CrawledPage] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    fetched: int = 0


@dataclass(frozen=True)
class KnownPage:
    """A page fetched before: its validators and its depth (re-visited on sync)."""

    validators: Validators
    depth: int


class _AllowAll:
    sitemaps: Sequence[str] = ()

    def allowed(self, url: str) -> bool:
        return True


class SiteCrawler:
    """Breadth-first, same-site crawl from a start URL, within depth and page limits.

    robots.txt is read first (unreadable: everything allowed); its sitemaps and ``/sitemap.xml``
    seed the queue at depth 1. Every URL is fetched at most once (loops end there); pages known
    from an earlier crawl are re-fetched conditionally and revisited at their old depth, so an
    unchanged (304) page does not hide the pages below it.
    """

    def __init__(
        self,
        fetcher: WebFetcher,
        reader: WebReader,
        limits: FetchLimits | None = None,
        *,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.fetcher = fetcher
        self.reader = reader
        self.limits = limits or FetchLimits()
        self.user_agent = user_agent

    def crawl(
        self,
        start_url: str,
        *,
        max_depth: int | None = None,
        max_pages: int | None = None,
        known: Mapping[str, KnownPage] | None = None,
    ) -> CrawlResult:
        """Crawl; ``SourceError`` when the start page itself cannot be fetched or read."""
        start = normalize_url(start_url)
        depth_limit = self.limits.max_depth if max_depth is None else max_depth
        page_limit = self.limits.max_pages if max_pages is None else max_pages
        known = known or {}
        result = CrawlResult(start)
        robots = self._robots(start)
        if not robots.allowed(start):
            raise SourceError(
                f"robots.txt of {origin_of(start)} disallows {start}", code="robots_disallowed"
            )
        queue: list[tuple[str, int]] = [(start, 0)]
        seen = {start}

        def enqueue(url: str, depth: int) -> None:
            if url not in seen and same_site(url, start):
                seen.add(url)
                queue.append((url, depth))

        for url in self._sitemap(start, robots):
            enqueue(url, 1)
        for url, page in known.items():
            enqueue(url, page.depth)
        position = 0
        while position < len(queue) and result.fetched < page_limit:
            url, depth = queue[position]
            position += 1
            if not robots.allowed(url):
                result.skipped.append((url, "disallowed by robots.txt"))
                continue
            before = known.get(url)
            try:
                result.fetched += 1
                page = self.fetcher.fetch(url, validators=before.validators if before else None)
                if not same_site(page.url, start):
                    raise SourceError(f"redirected off-site to {page.url}", code="off_site")
                if page.not_modified:
                    result.unchanged[url] = depth
                    continue
                text, links = self._read(page)
            except SourceError as exc:
                if url == start:
                    raise
                result.skipped.append((url, f"{exc.code}: {exc.message}"))
                continue
            if text is not None:
                result.pages.append(CrawledPage(url, depth, text.title, text.text, page.validators))
            elif url == start:
                raise SourceError(f"{url} has no readable text", code="not_html")
            else:
                result.skipped.append((url, "no readable text"))
            if depth < depth_limit:
                for link in links:
                    try:
                        enqueue(normalize_url(link), depth + 1)
                    except SourceError:
                        continue  # mailto:, javascript:, ftp: ...
        for url, _depth in queue[position:]:
            result.skipped.append((url, f"page limit of {page_limit} reached"))
        return result

    def _read(self, page: FetchedPage) -> tuple[PageText | None, list[str]]:
        kind = page.content_type.split(";")[0].strip().lower()
        if kind in ("text/html", "application/xhtml+xml"):
            return self.reader.page_text(page.body, page.url), self.reader.links(
                page.body, page.url
            )
        if kind == "text/plain":
            text = page.body.decode("utf-8", "replace").strip()
            return (PageText("", text) if text else None), []
        raise SourceError(f"{page.url} is {kind or 'untyped'}, not HTML or text", code="not_html")

    def _robots(self, start: str) -> RobotsRules:
        try:
            page = self.fetcher.fetch(urljoin(origin_of(start), "/robots.txt"))
        except SourceError as exc:
            if exc.code == "address_refused":
                raise
            return _AllowAll()
        return self.reader.robots(page.body, self.user_agent)

    def _sitemap(self, start: str, robots: RobotsRules) -> list[str]:
        locations = list(robots.sitemaps) or [urljoin(origin_of(start), "/sitemap.xml")]
        urls: list[str] = []
        for location in locations[:3]:
            try:
                if not same_site(normalize_url(location), start):
                    continue
                page = self.fetcher.fetch(location)
            except SourceError:
                continue
            for url in self.reader.sitemap_urls(page.body):
                try:
                    urls.append(normalize_url(url))
                except SourceError:
                    continue
        return urls


# --- typed-in sources ---------------------------------------------------------------------


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str


def qa_text(pair: QAPair) -> str:
    """The text a Q&A pair is indexed as: the question first, so a question like it matches."""
    return f"Question: {pair.question.strip()}\n\nAnswer: {pair.answer.strip()}\n"


def qa_document_id(pair: QAPair) -> str:
    """One document per question (editing the answer replaces it)."""
    return hashlib.sha256(("qa\x1f" + pair.question.strip()).encode()).hexdigest()[:24]


def qa_document_name(pair: QAPair) -> str:
    words = re.sub(r"[\x00-\x1f\\/]", " ", pair.question.strip())
    short = words if len(words) <= 80 else words[:80].rstrip() + "…"
    return f"Q&A {short} {qa_document_id(pair)[:6]}.txt"
