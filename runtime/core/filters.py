"""Metadata filters with one meaning on every store.

A filter is a JSON object a chunk's metadata must *contain*, with PostgreSQL's ``jsonb @>``
semantics; stores that cannot push the filter down evaluate it with ``metadata_matches``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def metadata_matches(metadata: Mapping[str, Any], filters: Mapping[str, Any] | None) -> bool:
    """True when ``metadata`` contains ``filters`` the way PostgreSQL's ``jsonb @>`` does.

    The same semantics as the pgvector store, so a filter means the same thing on every store:
    objects match key by key, a list matches when every filter element is contained in some
    element of the stored list, scalars match by equality (``true`` never equals ``1``), and a
    scalar never matches a list.
    """
    return _contains(metadata, filters or {})


def _contains(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        return isinstance(value, Mapping) and all(
            k in value and _contains(value[k], v) for k, v in wanted.items()
        )
    if isinstance(wanted, list | tuple):
        return isinstance(value, list | tuple) and all(
            any(_contains(item, w) for item in value) for w in wanted
        )
    if isinstance(wanted, bool) or isinstance(value, bool):
        return isinstance(wanted, bool) and isinstance(value, bool) and wanted == value
    if isinstance(value, Mapping | list | tuple):
        return False
    return value == wanted
