"""Turn sources into documents: crawl or read, then ingest, then remember the validators.

Order is what keeps a failure from storing anything half-way: the whole crawl (or feed) is
fetched and read first, in memory and within the limits; a source that fails there (refused
address, start page missing, not a feed) raises ``SourceError`` and nothing is written. Only then
are the pages ingested (each document atomically, by the ``Ingestor``), and only pages that
ended ``indexed`` or ``unchanged`` get their ETag/Last-Modified recorded, so a failed page is
fetched in full again next time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from .ingestion import DocumentInput, Ingestor, IngestResult
from .models import Workspace
from .sources import (
    FetchLimits,
    KnownPage,
    QAPair,
    SiteCrawler,
    SourceError,
    SourceKind,
    Validators,
    WebFetcher,
    WebReader,
    document_id_for_url,
    document_name_for_url,
    normalize_url,
    qa_document_id,
    qa_document_name,
    qa_text,
)


@dataclass(frozen=True)
class Source:
    """A site or feed registered on a workspace, re-fetched by ``chorus sync``."""

    workspace_id: str
    url: str
    kind: SourceKind
    max_depth: int = 2
    max_pages: int = 50
    status: str = "new"
    """``new``, ``synced`` or ``failed`` (with ``error``)."""
    error: str | None = None
    synced_at: float | None = None
    validators: Validators = field(default_factory=Validators)
    """The feed's own validators (a site keeps one pair per page)."""


@dataclass(frozen=True)
class PageState:
    url: str
    document_id: str
    depth: int
    validators: Validators


class SourceLedger(Protocol):
    """Where sources and their pages' validators are kept (``adapters.postgres_sources``)."""

    def put_source(self, source: Source) -> None: ...
    def get_source(self, workspace_id: str, url: str) -> Source | None: ...
    def list_sources(self, workspace_id: str) -> list[Source]: ...
    def pages(self, workspace_id: str, source_url: str) -> list[PageState]: ...
    def put_pages(self, workspace_id: str, source_url: str, pages: Sequence[PageState]) -> None: ...


@dataclass
class SourceReport:
    """What one sync of one source did (the CLI prints it, the REST API returns it)."""

    url: str
    kind: str
    indexed: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    fetched: int = 0
    chunks: int = 0
    seconds: float = 0.0
    documents: list[str] = field(default_factory=list)
    queued: bool = False
    """True when the fetch was handed to a worker (the cloud): nothing is fetched yet."""

    def as_dict(self) -> dict[str, object]:
        return {
            **({"queued": True} if self.queued else {}),
            "url": self.url,
            "kind": self.kind,
            "fetched": self.fetched,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "chunks": self.chunks,
            "failed": [{"url": u, "reason": r} for u, r in self.failed],
            "skipped": [{"url": u, "reason": r} for u, r in self.skipped],
            "documentIds": self.documents,
        }


class SourceIngest:
    """Add and re-sync sources of a workspace; each page or entry becomes one document whose
    chunks carry ``source_url`` (and ``source_kind``) in their metadata."""

    def __init__(
        self,
        fetcher: WebFetcher,
        reader: WebReader,
        ingestor: Ingestor,
        ledger: SourceLedger,
        limits: FetchLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetcher = fetcher
        self.reader = reader
        self.ingestor = ingestor
        self.ledger = ledger
        self.limits = limits or FetchLimits()
        self.crawler = SiteCrawler(fetcher, reader, self.limits)
        self.clock = clock

    def add_site(
        self,
        workspace: Workspace,
        url: str,
        *,
        max_depth: int | None = None,
        max_pages: int | None = None,
    ) -> SourceReport:
        """Crawl a site now and register it for ``sync``; ``SourceError`` stores nothing."""
        depth = self.limits.max_depth if max_depth is None else max_depth
        pages = self.limits.max_pages if max_pages is None else max_pages
        if depth < 0 or pages < 1:
            raise SourceError("depth must be ≥ 0 and max pages ≥ 1", code="bad_url")
        source = Source(workspace.id, normalize_url(url), "site", depth, pages)
        return self._sync_site(workspace, source)

    def add_feed(self, workspace: Workspace, url: str) -> SourceReport:
        """Read a feed now and register it for ``sync``; ``SourceError`` stores nothing."""
        return self._sync_feed(workspace, Source(workspace.id, normalize_url(url), "feed"))

    def sync(self, workspace: Workspace) -> list[SourceReport]:
        """Re-fetch every source of the workspace; a failing source is recorded ``failed`` and
        the others carry on."""
        return [self.sync_source(workspace, s) for s in self.ledger.list_sources(workspace.id)]

    def sync_source(self, workspace: Workspace, source: Source) -> SourceReport:
        """Re-fetch one registered source; a ``SourceError`` is recorded on it (``failed``)
        and reported, not raised."""
        try:
            if source.kind == "site":
                return self._sync_site(workspace, source)
            return self._sync_feed(workspace, source)
        except SourceError as exc:
            self.ledger.put_source(_failed(source, exc))
            report = SourceReport(source.url, source.kind)
            report.failed.append((source.url, f"{exc.code}: {exc.message}"))
            return report

    def list_sources(self, workspace_id: str) -> list[Source]:
        return self.ledger.list_sources(workspace_id)

    def add_text(self, workspace: Workspace, name: str, text: str) -> IngestResult:
        """Plain text typed in: a ``.txt`` document called ``name``."""
        if not text.strip():
            raise SourceError("the text is empty", code="bad_url")
        stem = name.strip() or "text"
        filename = stem if stem.lower().endswith(".txt") else f"{stem}.txt"
        return self.ingestor.ingest(
            workspace, filename, text.encode("utf-8"), metadata={"source_kind": "text"}
        )

    def add_qa(self, workspace: Workspace, pairs: Sequence[QAPair]) -> list[IngestResult]:
        """Each pair is a document whose text starts with the question (its title too)."""
        inputs = []
        for pair in pairs:
            if not pair.question.strip() or not pair.answer.strip():
                raise SourceError("every Q&A pair needs a question and an answer", code="bad_url")
            inputs.append(
                DocumentInput(
                    qa_document_name(pair),
                    qa_text(pair).encode("utf-8"),
                    document_id=qa_document_id(pair),
                    metadata={
                        "source_kind": "qa",
                        "question": pair.question.strip(),
                        "title": pair.question.strip(),
                    },
                )
            )
        return self.ingestor.ingest_many(workspace, inputs).results

    # --- internals ------------------------------------------------------------------------

    def _sync_site(self, workspace: Workspace, source: Source) -> SourceReport:
        started = time.perf_counter()
        known = {
            p.url: KnownPage(p.validators, p.depth)
            for p in self.ledger.pages(workspace.id, source.url)
        }
        crawl = self.crawler.crawl(
            source.url, max_depth=source.max_depth, max_pages=source.max_pages, known=known
        )
        report = SourceReport(source.url, "site", fetched=crawl.fetched, skipped=crawl.skipped)
        report.unchanged += len(crawl.unchanged)
        inputs = [
            DocumentInput(
                document_name_for_url(page.url),
                _page_bytes(page.title, page.text),
                document_id=document_id_for_url(page.url),
                metadata={"source_url": page.url, "source_kind": "site", "title": page.title}
                if page.title
                else {"source_url": page.url, "source_kind": "site"},
            )
            for page in crawl.pages
        ]
        by_id = {document_id_for_url(p.url): p for p in crawl.pages}
        states = [
            PageState(url, document_id_for_url(url), depth, known[url].validators)
            for url, depth in crawl.unchanged.items()
        ]
        for result in self.ingestor.ingest_many(workspace, inputs).results:
            page = by_id.get(result.document_id or "")
            if result.outcome in ("indexed", "unchanged") and page is not None:
                states.append(
                    PageState(page.url, result.document_id or "", page.depth, page.validators)
                )
            self._count(report, result, page.url if page else result.name)
        self.ledger.put_source(
            Source(
                workspace.id,
                source.url,
                "site",
                source.max_depth,
                source.max_pages,
                status="synced",
                synced_at=self.clock(),
            )
        )
        self.ledger.put_pages(workspace.id, source.url, states)
        report.seconds = time.perf_counter() - started
        return report

    def _sync_feed(self, workspace: Workspace, source: Source) -> SourceReport:
        started = time.perf_counter()
        page = self.fetcher.fetch(source.url, validators=source.validators or None)
        report = SourceReport(source.url, "feed", fetched=1)
        if page.not_modified:
            report.unchanged = 1
            self.ledger.put_source(_synced(source, source.validators, self.clock()))
            return report
        feed = self.reader.feed(page.body, page.url)
        inputs = []
        for entry in feed.entries:
            if not entry.text.strip():
                report.skipped.append((entry.url, "entry has no text"))
                continue
            inputs.append(
                DocumentInput(
                    document_name_for_url(entry.url),
                    _page_bytes(entry.title, entry.text),
                    document_id=document_id_for_url(entry.url),
                    metadata={
                        "source_url": entry.url,
                        "source_kind": "feed",
                        "feed_url": source.url,
                        **({"title": entry.title} if entry.title else {}),
                    },
                )
            )
        all_stored = True
        for result in self.ingestor.ingest_many(workspace, inputs).results:
            self._count(report, result, result.name)
            all_stored &= result.outcome in ("indexed", "unchanged")
        # A failed entry must be fetched again: keep the old validators then.
        validators = page.validators if all_stored else source.validators
        self.ledger.put_source(_synced(source, validators, self.clock()))
        report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _count(report: SourceReport, result: IngestResult, url: str) -> None:
        if result.outcome == "indexed":
            report.indexed += 1
            report.chunks += result.chunks
        elif result.outcome == "unchanged":
            report.unchanged += 1
        else:
            report.failed.append((url, result.reason or result.outcome))
        if result.document_id:
            report.documents.append(result.document_id)


def _page_bytes(title: str, text: str) -> bytes:
    body = text.strip()
    if title and not body.startswith(title):
        body = f"{title}\n\n{body}"
    return (body + "\n").encode("utf-8")


def _synced(source: Source, validators: Validators, now: float) -> Source:
    return replace(source, status="synced", error=None, synced_at=now, validators=validators)


def _failed(source: Source, exc: SourceError) -> Source:
    return replace(source, status="failed", error=f"{exc.code}: {exc.message}")
