"""Delivery port over the API Gateway management API, plus the connections table it cleans up.

A WebSocket client can vanish at any moment (tab closed, network lost). API Gateway then answers
``GoneException`` (HTTP 410); that is an expected outcome, not an error: ``send`` returns False,
the connection's row is deleted, and the chat service stops streaming to it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..core.protocol import encode_event

CONNECTION_TTL_SECONDS = 2 * 60 * 60 + 600
"""API Gateway closes a WebSocket after 2 hours; rows outlive that by 10 minutes, then expire."""


@dataclass(frozen=True)
class Connection:
    """One open WebSocket connection and who opened it (from the authorizer)."""

    connection_id: str
    user_id: str
    groups: tuple[str, ...] = ()
    connected_at: int = 0


class ConnectionRegistry:
    """The connections table: ``connection_id`` → user, groups; TTL ``expires_at``.

    Parameters
    ----------
    resource:
        A boto3 DynamoDB service resource.
    table_name:
        The connections table (``CHORUS_CONNECTIONS_TABLE``).
    """

    def __init__(self, resource: Any, table_name: str) -> None:
        self._table = resource.Table(table_name)

    def remember(self, connection: Connection) -> None:
        now = int(time.time())
        self._table.put_item(
            Item={
                "connection_id": connection.connection_id,
                "user_id": connection.user_id,
                "groups": list(connection.groups),
                "connected_at": connection.connected_at or now,
                "expires_at": now + CONNECTION_TTL_SECONDS,
            }
        )

    def get(self, connection_id: str) -> Connection | None:
        item = self._table.get_item(Key={"connection_id": connection_id}).get("Item")
        if item is None:
            return None
        return Connection(
            connection_id,
            str(item["user_id"]),
            tuple(item.get("groups", [])),
            int(item.get("connected_at", 0)),
        )

    def forget(self, connection_id: str) -> None:
        self._table.delete_item(Key={"connection_id": connection_id})


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
