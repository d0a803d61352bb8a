"""Wire web sources locally: the guarded httpx fetcher, the trafilatura/feedparser reader and
the PostgreSQL ledger, around the services' ingestor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..adapters.http_fetcher import AddressGuard, HttpFetcher
from ..adapters.postgres_sources import PostgresSourceLedger
from ..adapters.web_content import WebContent
from ..core.source_sync import SourceIngest
from ..core.sources import FetchLimits

if TYPE_CHECKING:
    from .services import LocalServices


def open_source_ingest(
    services: LocalServices, *, allow_private: bool, limits: FetchLimits | None = None
) -> SourceIngest:
    limits = limits or FetchLimits()
    fetcher = HttpFetcher(limits, AddressGuard(allow_private=allow_private))
    ledger = PostgresSourceLedger(services.db)
    return SourceIngest(fetcher, WebContent(), services.ingestor, ledger, limits)
