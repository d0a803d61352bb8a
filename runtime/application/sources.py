"""Operations on a workspace's sources: add a site, a feed, text or Q&A pairs; list; sync.

A site or feed is fetched and indexed within the request (bounded by the page limit and the
fetch timeouts); ``SourceError`` (a refused address, a start page that is missing, a feed that is
not XML) is a 400 with its code and nothing is stored. Each page becomes a document of the
workspace, listed by ``GET /workspaces/{id}/documents`` with its status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.errors import BadRequest
from ..core.sources import QAPair
from .caller import Caller
from .ports import SourceBackend, Sources
from .views import Reply
from .workspaces import find_workspace, require_writable

if TYPE_CHECKING:  # the REST Lambda imports this module: no numpy or pydantic at cold start
    from ..core.ingestion import IngestResult
    from ..core.source_sync import Source
    from .requests import AddSource


def _sources(backend: SourceBackend) -> Sources:
    sources = getattr(backend, "sources", None)
    if sources is None:
        raise BadRequest(
            "this deployment does not fetch web sources yet; upload the pages as files",
            code="not_deployed",
        )
    return sources


def source_view(source: Source) -> dict[str, Any]:
    return {
        "url": source.url,
        "kind": source.kind,
        "depth": source.max_depth,
        "maxPages": source.max_pages,
        "status": source.status,
        "error": source.error,
        "syncedAt": source.synced_at,
    }


def _result_view(result: IngestResult) -> dict[str, Any]:
    return {
        "documentId": result.document_id,
        "name": result.name,
        "outcome": result.outcome,
        "chunks": result.chunks,
        "reason": result.reason,
    }


def add_source(backend: SourceBackend, caller: Caller, workspace_id: str, body: AddSource) -> Reply:
    """Fetch and index a source now. ``201`` with the report (site, feed) or the documents'
    outcomes (text, Q&A)."""
    workspace = find_workspace(backend, caller, workspace_id)
    require_writable(workspace)
    sources = _sources(backend)
    if body.kind in ("site", "feed"):
        if not body.url:
            raise BadRequest(f"a {body.kind} source needs a url")
        if body.kind == "site":
            report = sources.add_site(
                workspace, body.url, max_depth=body.depth, max_pages=body.maxPages
            )
        else:
            report = sources.add_feed(workspace, body.url)
        return Reply(202 if report.queued else 201, report.as_dict())
    if body.kind == "text":
        if not body.text or not body.name:
            raise BadRequest("a text source needs a name and a text")
        results = [sources.add_text(workspace, body.name, body.text)]
    else:
        if not body.pairs:
            raise BadRequest("a qa source needs pairs: [{question, answer}, ...]")
        results = sources.add_qa(workspace, [QAPair(p.question, p.answer) for p in body.pairs])
    queued = all(r.outcome == "queued" for r in results)
    return Reply(202 if queued else 201, {"documents": [_result_view(r) for r in results]})


def list_sources(backend: SourceBackend, caller: Caller, workspace_id: str) -> Reply:
    """The workspace's sites and feeds with their last sync's status (and, in the cloud, how
    many pages each has recorded)."""
    workspace = find_workspace(backend, caller, workspace_id)
    sources = _sources(backend)
    counter = getattr(sources, "page_count", None)  # the cloud's ledger counts a site's pages
    views = []
    for source in sources.list_sources(workspace.id):
        view = source_view(source)
        if callable(counter):
            view["pages"] = counter(workspace.id, source.url)
        views.append(view)
    return Reply(200, {"sources": views})


def sync_sources(backend: SourceBackend, caller: Caller, workspace_id: str) -> Reply:
    """Re-fetch every site and feed (unchanged pages are skipped). ``200`` with the reports,
    or ``202`` when the fetches were handed to a worker (the cloud)."""
    workspace = find_workspace(backend, caller, workspace_id)
    require_writable(workspace)
    reports = _sources(backend).sync(workspace)
    queued = any(r.queued for r in reports)
    return Reply(202 if queued else 200, {"sources": [r.as_dict() for r in reports]})
