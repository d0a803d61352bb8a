"""The WebSocket connections table: who is behind each open connection, until it closes.

A module of its own, on the standard library alone: ``ws_connect`` and ``ws_disconnect`` use it
and nothing else of the delivery adapter (``apigw_delivery``, which needs the protocol's
pydantic models to encode frames).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

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
