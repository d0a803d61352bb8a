"""Web and feed sources in the cloud: registered by the REST API, fetched by ``sync_sources``.

A crawl can take longer than API Gateway's 29 seconds, so the REST API does not fetch: it
checks the URL (scheme, and the SSRF guard on the host's addresses), records the source
``queued`` in the workspace table and hands ``{"workspaceId", "url"}`` to the ``sync_sources``
function (an asynchronous invocation); it answers ``202``. Plain text and Q&A pairs need no
fetch and are indexed within the request. ``sync_sources`` also runs on the EventBridge
Scheduler schedule and re-fetches every *due* source: re-fetching is idempotent (ETag /
Last-Modified, content hashes), so a retried or overlapping run re-indexes nothing unchanged.

In the cloud the guard **always** refuses loopback, link-local (169.254.169.254), private and
other non-global addresses: there is no opt-in (the local ``--allow-private`` does not exist
here).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.source_sync import Source, SourceLedger, SourceReport
from ..core.sources import FetchLimits, SourceError, WebFetcher, normalize_url

if TYPE_CHECKING:
    from ..core.ingestion import IngestResult
    from ..core.models import Workspace
    from ..core.ports import WorkSender
    from ..core.source_sync import SourceIngest
    from ..core.sources import QAPair

AddressCheck = Callable[[str, int], str]
"""Resolves ``(host, port)`` and raises ``SourceError(address_refused)`` for a refused one."""


def public_address_check() -> AddressCheck:
    """The cloud's guard: public addresses only, no exceptions."""
    from ..adapters.http_fetcher import AddressGuard

    return AddressGuard(allow_private=False).check


def open_source_ingest(
    ingestor: Any, ledger: SourceLedger, fetcher: WebFetcher | None = None
) -> SourceIngest:
    """``SourceIngest`` with the web reader and ``fetcher`` (default: the guarded fetcher,
    public addresses only)."""
    from ..adapters.http_fetcher import AddressGuard, HttpFetcher
    from ..adapters.web_content import WebContent
    from ..core.source_sync import SourceIngest

    limits = FetchLimits()
    fetcher = fetcher or HttpFetcher(limits, AddressGuard(allow_private=False))
    return SourceIngest(fetcher, WebContent(), ingestor, ledger, limits)


def run_sync(
    wiring: Any, request: SyncRequest, *, fetcher: WebFetcher | None = None
) -> list[SourceReport]:
    """One ``sync_sources`` invocation on the indexing functions' wiring (``IngestWiring``):
    the ledger on the workspace table, the wiring's ingestor, the guarded fetcher."""
    from ..adapters.dynamodb_sources import DynamoDBSourceLedger

    ledger = DynamoDBSourceLedger(
        wiring.session.resource("dynamodb"), wiring.settings.tables.workspace
    )
    ingest = open_source_ingest(wiring.ingestor, ledger, fetcher)
    metadata = wiring.metadata
    return sync_sources(
        request, ingest, metadata.list_workspaces, metadata.get_workspace, now=time.time()
    )


class CloudSources:
    """The ``Sources`` of the REST API in the cloud: every fetch and every embedding runs in
    ``sync_sources``; the REST API checks, records and hands over (``202``).

    Parameters
    ----------
    ledger:
        Where sources live (``DynamoDBSourceLedger`` on the workspace table).
    sync:
        Hands a sync request to the ``sync_sources`` function; None when it is not deployed
        (sites and feeds are then refused with ``not_deployed``).
    check_address:
        The SSRF guard (default: ``public_address_check()``).
    clock:
        Seconds since the epoch.
    """

    def __init__(
        self,
        ledger: SourceLedger,
        sync: WorkSender | None,
        *,
        check_address: AddressCheck | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self._sync = sync
        self._check = check_address
        self.clock = clock

    # -- sites and feeds: registered here, fetched by sync_sources -----------------------------

    def add_site(
        self, workspace: Workspace, url: str, *, max_depth: int | None, max_pages: int | None
    ) -> SourceReport:
        limits = FetchLimits()
        depth = limits.max_depth if max_depth is None else max_depth
        pages = limits.max_pages if max_pages is None else max_pages
        return self._register(Source(workspace.id, self._checked(url), "site", depth, pages))

    def add_feed(self, workspace: Workspace, url: str) -> SourceReport:
        return self._register(Source(workspace.id, self._checked(url), "feed"))

    def sync(self, workspace: Workspace) -> list[SourceReport]:
        """Hand every site and feed of the workspace to ``sync_sources`` (202)."""
        sources = self.ledger.list_sources(workspace.id)
        if sources:
            self._sender().send(json.dumps({"workspaceId": workspace.id}))
        return [SourceReport(s.url, s.kind, queued=True) for s in sources]

    def list_sources(self, workspace_id: str) -> list[Source]:
        return self.ledger.list_sources(workspace_id)

    def page_count(self, workspace_id: str, url: str) -> int:
        counter = getattr(self.ledger, "page_count", None)
        return int(counter(workspace_id, url)) if callable(counter) else 0

    # -- text and Q&A: indexed by sync_sources too (the REST API never embeds) ----------------

    def add_text(self, workspace: Workspace, name: str, text: str) -> IngestResult:
        from ..core.ingestion import IngestResult

        if not text.strip():
            raise SourceError("the text is empty", code="bad_url")
        body = {"workspaceId": workspace.id, "text": {"name": name, "text": text}}
        self._sender().send(json.dumps(body))
        return IngestResult(name=name, outcome="queued")  # type: ignore[arg-type]

    def add_qa(self, workspace: Workspace, pairs: Sequence[QAPair]) -> list[IngestResult]:
        from ..core.ingestion import IngestResult

        if any(not p.question.strip() or not p.answer.strip() for p in pairs):
            raise SourceError("every Q&A pair needs a question and an answer", code="bad_url")
        qa = [{"question": p.question, "answer": p.answer} for p in pairs]
        self._sender().send(json.dumps({"workspaceId": workspace.id, "qa": qa}))
        return [IngestResult(name=p.question, outcome="queued") for p in pairs]  # type: ignore[arg-type]

    # -- internals ---------------------------------------------------------------------------

    def _checked(self, url: str) -> str:
        normalized = normalize_url(url)
        parts = urlsplit(normalized)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        check = self._check or public_address_check()
        check(parts.hostname or "", port)
        return normalized

    def _register(self, source: Source) -> SourceReport:
        sender = self._sender()
        known = self.ledger.get_source(source.workspace_id, source.url)
        if known is not None:  # keep its validators and history; take the new limits
            source = replace(known, max_depth=source.max_depth, max_pages=source.max_pages)
        self.ledger.put_source(replace(source, status="queued", error=None))
        sender.send(json.dumps({"workspaceId": source.workspace_id, "url": source.url}))
        return SourceReport(source.url, source.kind, queued=True)

    def _sender(self) -> WorkSender:
        if self._sync is None:
            raise SourceError(
                "this stack does not deploy the sync_sources function; add text or Q&A pairs, "
                "or upload the pages as files",
                code="not_deployed",
            )
        return self._sync


@dataclass(frozen=True)
class SyncRequest:
    """What one ``sync_sources`` invocation does: one source, one workspace, or every due one.

    A scheduled run (``{}`` or ``{"minAgeSeconds": N}``) re-fetches sources that are new,
    queued, failed, or last synced at least ``min_age_s`` ago.
    """

    workspace_id: str | None = None
    url: str | None = None
    min_age_s: float = 0.0
    text: tuple[str, str] | None = None
    """(name, text) of a plain-text source to index."""
    qa: tuple[tuple[str, str], ...] = ()
    """(question, answer) pairs to index."""

    @classmethod
    def from_event(cls, event: Any) -> SyncRequest:
        if not isinstance(event, dict):
            raise SourceError("a sync event is a JSON object", code="bad_request")
        workspace_id, url = event.get("workspaceId"), event.get("url")
        if url is not None and workspace_id is None:
            raise SourceError("a sync of one url needs its workspaceId", code="bad_request")
        try:
            min_age = float(event.get("minAgeSeconds") or 0)
        except (TypeError, ValueError):
            raise SourceError("minAgeSeconds must be a number", code="bad_request") from None
        text = event.get("text")
        qa = event.get("qa") or []
        if (text is not None or qa) and workspace_id is None:
            raise SourceError("text and Q&A pairs need their workspaceId", code="bad_request")
        try:
            typed_text = (str(text["name"]), str(text["text"])) if text is not None else None
            pairs = tuple((str(p["question"]), str(p["answer"])) for p in qa)
        except (KeyError, TypeError):
            raise SourceError(
                "text is {name, text}; qa is [{question, answer}, ...]", code="bad_request"
            ) from None
        return cls(workspace_id, url, min_age, typed_text, pairs)


def due(source: Source, now: float, min_age_s: float) -> bool:
    """Whether a scheduled run re-fetches the source."""
    if source.status != "synced" or source.synced_at is None:
        return True
    return now - source.synced_at >= min_age_s


def sync_sources(
    request: SyncRequest,
    ingest: SourceIngest,
    workspaces: Callable[[], Iterable[Workspace]],
    workspace: Callable[[str], Workspace | None],
    *,
    now: float,
) -> list[SourceReport]:
    """Run one sync request; each source's failure is recorded on it, the others carry on.

    Text and Q&A pairs are indexed and reported as one ``SourceReport`` (kind ``text`` / ``qa``).
    """
    if request.workspace_id is not None:
        found = workspace(request.workspace_id)
        targets = [found] if found is not None and not found.knowledge_base_id else []
    else:
        targets = [w for w in workspaces() if not w.knowledge_base_id]
    reports = []
    if request.text is not None or request.qa:
        from ..core.sources import QAPair

        for target in targets:
            if request.text is not None:
                results = [ingest.add_text(target, *request.text)]
                reports.append(_report(request.text[0], "text", results))
            if request.qa:
                pairs = [QAPair(q, a) for q, a in request.qa]
                reports.append(_report("qa", "qa", ingest.add_qa(target, pairs)))
        return reports
    for target in targets:
        for source in ingest.ledger.list_sources(target.id):
            if request.url is not None and source.url != request.url:
                continue
            if request.url is None and not due(source, now, request.min_age_s):
                continue
            reports.append(ingest.sync_source(target, source))
    return reports


def _report(name: str, kind: str, results: Sequence[IngestResult]) -> SourceReport:
    report = SourceReport(name, kind)
    for result in results:
        ingest_count(report, result)
    return report


def ingest_count(report: SourceReport, result: IngestResult) -> None:
    """Count one ingest result into a report (as ``SourceIngest`` does for pages)."""
    if result.outcome == "indexed":
        report.indexed += 1
        report.chunks += result.chunks
    elif result.outcome == "unchanged":
        report.unchanged += 1
    else:
        report.failed.append((result.name, result.reason or result.outcome))
    if result.document_id:
        report.documents.append(result.document_id)


__all__ = [
    "CloudSources",
    "SyncRequest",
    "due",
    "open_source_ingest",
    "public_address_check",
    "run_sync",
    "sync_sources",
]
