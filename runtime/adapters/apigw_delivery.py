"""Delivery port over the API Gateway management API, plus the connections table it cleans up.

A WebSocket client can vanish at any moment (tab closed, network lost). API Gateway then answers
``GoneException`` (HTTP 410); that is an expected outcome, not an error: ``send`` returns False,
the connection's row is deleted, and the chat service stops streaming to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..core.protocol import encode_event
from .dynamodb_connections import CONNECTION_TTL_SECONDS, Connection, ConnectionRegistry

__all__ = ["CONNECTION_TTL_SECONDS", "ApiGatewayDelivery", "Connection", "ConnectionRegistry"]


class ApiGatewayDelivery:
    """Posts chat events as JSON frames to WebSocket connections.

    Parameters
    ----------
    client:
        An ``apigatewaymanagementapi`` client whose ``endpoint_url`` is the stage's
        ``https://<api>.execute-api.<region>.amazonaws.com/<stage>``
        (``CHORUS_WEBSOCKET_ENDPOINT``).
    connections:
        Where gone connections are removed from; None leaves the table alone.

    Example
    -------
    >>> delivery = ApiGatewayDelivery(client, registry)  # doctest: +SKIP
    >>> delivery.send("abc=", {"type": "heartbeat"})  # doctest: +SKIP
    True
    """

    def __init__(self, client: Any, connections: ConnectionRegistry | None = None) -> None:
        self._client = client
        self._connections = connections

    def send(self, connection_id: str, event: Mapping[str, Any]) -> bool:
        """Post one event; False (and the row deleted) when the connection is gone."""
        data = encode_event(dict(event)).encode("utf-8")
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if _is_gone(exc):
                if self._connections is not None:
                    self._connections.forget(connection_id)
                return False
            raise
        return True

    def send_many(self, connection_id: str, events: Sequence[Mapping[str, Any]]) -> bool:
        """Post events in order until one finds the connection gone."""
        return all(self.send(connection_id, event) for event in events)


def _is_gone(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") == "GoneException" or status == 410
