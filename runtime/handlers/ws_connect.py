"""WebSocket ``$connect``: record the connection and its user (the authorizer already ran).

Runs on ``runtime.cloud.wiring.connections`` and the standard library: its cold import loads
neither boto3 (built with the first call) nor Powertools (``edge_observability``).
"""

from __future__ import annotations

from typing import Any

from ..adapters.dynamodb_connections import Connection
from ..cloud.access import parse_groups
from ..cloud.wiring.connections import connection_wiring
from .edge_observability import edge_handler, logger


@edge_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event["requestContext"]
    authorizer = request.get("authorizer") or {}
    user_id = authorizer.get("userId") or authorizer.get("principalId")
    if not user_id:
        logger.warning("connect without an authorizer context")
        return {"statusCode": 401}
    connection_wiring().connections.remember(
        Connection(
            request["connectionId"],
            str(user_id),
            tuple(sorted(parse_groups(authorizer.get("groups")))),
            int((request.get("connectedAt") or 0) // 1000),
        )
    )
    return {"statusCode": 200}
