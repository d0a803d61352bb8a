"""WebSocket ``$disconnect``: forget the connection (its TTL would, later, anyway).

Standard library at import, like ``ws_connect``.
"""

from __future__ import annotations

from typing import Any

from ..cloud.wiring.connections import connection_wiring
from .edge_observability import edge_handler


@edge_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    connection_wiring().connections.forget(event["requestContext"]["connectionId"])
    return {"statusCode": 200}
