"""A workspace's sites and feeds, with each page's validators, on the seed's workspace table.

The cloud counterpart of ``postgres_sources`` (the ``SourceLedger`` port). Items live in the
workspace's partition under seed-style keys, like the eval cases:

* ``object_type = "source#<digest of the url>"``: the source (url, kind, limits, status, error,
  ``synced_at``, the feed's ``etag`` / ``last_modified``);
* ``object_type = "sourcepage#<digest of the source url>#<digest of the page url>"``: one page
  of a site (url, document id, depth, ``etag`` / ``last_modified``).

URLs can be 2,000 characters, so keys hold a digest and the url is an attribute. The items carry
no ``created_at``, so the ``by_object_type`` index that lists workspaces never holds them, and
deleting the workspace (every item of its partition) deletes them too. The ``rest_api`` and
``sync_sources`` functions' grants on the workspace table cover them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..core.source_sync import PageState, Source
from ..core.sources import Validators
from .dynamodb_workspace_items import DynamoDBWorkspaceItems

SOURCE_PREFIX = "source#"
PAGE_PREFIX = "sourcepage#"


def _digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def _plain(item: Mapping[str, Any], key: str) -> Any:
    value = item.get(key)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class DynamoDBSourceLedger(DynamoDBWorkspaceItems):
    """Sources and page validators in the workspace table (``DynamoDBWorkspaceItems``:
    resource, table name)."""

    # -- sources ----------------------------------------------------------------------------

    def put_source(self, source: Source) -> None:
        item: dict[str, Any] = {
            **self._key(source.workspace_id, SOURCE_PREFIX + _digest(source.url)),
            "url": source.url,
            "kind": source.kind,
            "max_depth": source.max_depth,
            "max_pages": source.max_pages,
            "source_status": source.status,
        }
        optional = {
            "error": source.error,
            "synced_at": Decimal(str(source.synced_at)) if source.synced_at is not None else None,
            "etag": source.validators.etag,
            "last_modified": source.validators.last_modified,
        }
        item.update({key: value for key, value in optional.items() if value is not None})
        self._table.put_item(Item=item)

    def get_source(self, workspace_id: str, url: str) -> Source | None:
        item = self._get(workspace_id, SOURCE_PREFIX + _digest(url))
        return _source(item) if item else None

    def list_sources(self, workspace_id: str) -> list[Source]:
        """The workspace's sources, by url."""
        items = self._under(workspace_id, SOURCE_PREFIX)
        return sorted((_source(i) for i in items), key=lambda s: s.url)

    # -- pages ------------------------------------------------------------------------------

    def pages(self, workspace_id: str, source_url: str) -> list[PageState]:
        items = self._under(workspace_id, f"{PAGE_PREFIX}{_digest(source_url)}#")
        pages = [
            PageState(
                str(i["url"]),
                str(i["document_id"]),
                int(_plain(i, "depth") or 0),
                Validators(i.get("etag"), i.get("last_modified")),
            )
            for i in items
        ]
        return sorted(pages, key=lambda p: p.url)

    def put_pages(self, workspace_id: str, source_url: str, pages: Sequence[PageState]) -> None:
        """Record (replace) each page's state; pages not named keep theirs."""
        source = _digest(source_url)
        with self._table.batch_writer(overwrite_by_pkeys=["workspace_id", "object_type"]) as batch:
            for page in pages:
                item: dict[str, Any] = {
                    **self._key(workspace_id, f"{PAGE_PREFIX}{source}#{_digest(page.url)}"),
                    "source_url": source_url,
                    "url": page.url,
                    "document_id": page.document_id,
                    "depth": page.depth,
                }
                if page.validators.etag:
                    item["etag"] = page.validators.etag
                if page.validators.last_modified:
                    item["last_modified"] = page.validators.last_modified
                batch.put_item(Item=item)

    def page_count(self, workspace_id: str, source_url: str) -> int:
        """How many pages of the source are recorded (the site's indexed or unchanged pages)."""
        return sum(1 for _ in self._under(workspace_id, f"{PAGE_PREFIX}{_digest(source_url)}#"))


def _source(item: Mapping[str, Any]) -> Source:
    synced = _plain(item, "synced_at")
    return Source(
        workspace_id=str(item["workspace_id"]),
        url=str(item["url"]),
        kind=item["kind"],
        max_depth=int(_plain(item, "max_depth")),
        max_pages=int(_plain(item, "max_pages")),
        status=str(item.get("source_status", "new")),
        error=item.get("error"),
        synced_at=float(synced) if synced is not None else None,
        validators=Validators(item.get("etag"), item.get("last_modified")),
    )


__all__ = ["PAGE_PREFIX", "SOURCE_PREFIX", "DynamoDBSourceLedger"]
