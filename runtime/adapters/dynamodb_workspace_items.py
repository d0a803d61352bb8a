"""What the stores keeping their items in a workspace's partition of the seed's workspace table
share: the table, the key, and the paged query over one kind of item.

Eval cases, web sources (and their pages) and API keys sit under ``workspace_id`` with
``object_type = "<prefix><id>"``: no new table, the functions' grants on the workspace table
cover them, and deleting the workspace (every item of its partition) deletes them too. Their
items carry no ``created_at``, so the ``by_object_type`` index that lists workspaces never holds
them. Written once here, the layout cannot drift between the three stores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class DynamoDBWorkspaceItems:
    """Base of a store whose items live in workspaces' partitions of the workspace table.

    Parameters
    ----------
    resource:
        A boto3 DynamoDB service resource.
    table_name:
        The workspace table (``TableNames.workspace``).
    """

    def __init__(self, resource: Any, table_name: str) -> None:
        self._table = resource.Table(table_name)
        self._errors = resource.meta.client.exceptions

    @staticmethod
    def _key(workspace_id: str, object_type: str) -> dict[str, str]:
        """The item's primary key: its workspace's partition and its ``object_type``."""
        return {"workspace_id": workspace_id, "object_type": object_type}

    def _get(self, workspace_id: str, object_type: str) -> dict[str, Any] | None:
        """The item, read consistently; None when there is none."""
        found = self._table.get_item(Key=self._key(workspace_id, object_type), ConsistentRead=True)
        item: dict[str, Any] | None = found.get("Item")
        return item

    def _under(
        self,
        workspace_id: str,
        prefix: str,
        *,
        where: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The workspace's items whose ``object_type`` starts with ``prefix`` (a consistent
        read), filtered by ``where`` (its ``:name`` placeholders in ``values``) when given."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "workspace_id = :w AND begins_with(object_type, :p)",
            "ExpressionAttributeValues": {":w": workspace_id, ":p": prefix, **(values or {})},
            "ConsistentRead": True,
        }
        if where is not None:
            query["FilterExpression"] = where
        return self._query(query)

    def _query(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item ``query`` matches, page after page."""
        while True:
            page = self._table.query(**query)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
