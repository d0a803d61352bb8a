"""WebSocket ``sendMessage``, ``heartbeat`` and ``$default``: validate, check, enqueue.

Replies (heartbeats, errors) go back through the management API, so a bad frame gets an
``error`` event with a stable code and the connection stays open.

Like the edge functions it logs and counts on the standard library (``edge_observability``):
Powertools' Tracer alone would load the X-Ray SDK and botocore at import (~440 modules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..cloud.access import Caller, parse_groups
from ..cloud.chat_jobs import accept_frame
from ..cloud.wiring.messages import MessageWiring, message_wiring
from ..core.protocol import error_event
from .edge_observability import count, edge_handler

if TYPE_CHECKING:
    from ..application.api_keys import SocketKey


def caller_of(services: MessageWiring, event: dict[str, Any]) -> Caller | None:
    """The user from the authorizer context, else from the connections table."""
    authorizer = event["requestContext"].get("authorizer") or {}
    if authorizer.get("userId"):
        return Caller(str(authorizer["userId"]), parse_groups(authorizer.get("groups")))
    connection = services.connections.get(event["requestContext"]["connectionId"])
    if connection is None:
        return None
    return Caller(connection.user_id, frozenset(connection.groups))


def socket_key_of(event: dict[str, Any]) -> SocketKey | None:
    """The API key a connection was opened with (``ws_authorizer``'s context), if any."""
    authorizer = event["requestContext"].get("authorizer") or {}
    if not authorizer.get("apiKeyId"):
        return None
    from ..application.api_keys import SocketKey

    return SocketKey(str(authorizer["apiKeyWorkspace"]), str(authorizer["apiKeyId"]))


@edge_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    services = message_wiring()
    connection_id = event["requestContext"]["connectionId"]
    caller = caller_of(services, event)
    if caller is None:
        services.delivery.send(
            connection_id, error_event("unauthorized", "unknown connection; reconnect")
        )
        return {"statusCode": 401}
    key = socket_key_of(event)
    outcome = accept_frame(services, connection_id, caller, event.get("body"), key=key)
    count(f"Frames_{outcome}")
    return {"statusCode": 200}
