"""``bulk_ingest_batch``: the ingest wiring plus the bulk jobs' progress records and S3 reads of
the listed source buckets."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from .base import current, from_environment
from .ingest import IngestWiring

if TYPE_CHECKING:
    from ...core.bulk_ingestion import BulkProgress


class BulkWiring(IngestWiring):
    """What a Distributed Map child needs besides the ingestor: S3 and the progress records."""

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    @cached_property
    def bulk_progress(self) -> BulkProgress:
        from ...adapters.dynamodb_bulk_jobs import DynamoBulkProgress

        return DynamoBulkProgress(self.dynamodb, self.settings.tables.workspace)


def bulk_wiring() -> BulkWiring:
    """The bulk batch function's wiring, from the app config on the first call."""
    return current(BulkWiring, lambda: from_environment(BulkWiring))
