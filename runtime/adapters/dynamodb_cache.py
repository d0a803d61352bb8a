"""SemanticCache port on one DynamoDB table: the answer cache for stacks without Aurora.

Layout: partition key ``workspace_id``, sort key ``sk``. Each workspace has one ``epoch`` item
(its invalidation counter), its entries under ``entry#<scope>#<created, zero-padded ns>#<id>``
and one ``count#entry#<scope>#`` counter per scope. A lookup is one ``Query`` on the scope's
prefix, scored in numpy (a scope's cache is bounded, ``max_entries_per_workspace``); the counter
says when the bound is passed, and the oldest entries come first in key order when trimming.

``store`` is a transaction: a ``ConditionCheck`` that the epoch is still the one the chat read,
and the ``Put`` of the entry — an invalidation that lands while an answer is being computed
makes its ``store`` fail instead of caching a stale answer. ``invalidate_workspace`` moves the
epoch first, then deletes the entries. On-demand capacity: nothing to pay while idle.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
from boto3.dynamodb.conditions import Key

from ..core.semantic_cache import CachedAnswer
from .dynamodb_store import create_table

__all__ = ["DynamoDBSemanticCache", "create_table"]
"""``create_table``: the cache table has the chunk table's keys (``workspace_id``, ``sk``)."""

EPOCH = "epoch"
_ENTRY = "entry#"
_COUNT = "count#"


class DynamoDBSemanticCache:
    """Cached final answers per workspace, keyed by question embedding.

    Parameters
    ----------
    dynamodb:
        A boto3 DynamoDB *resource* (its client serialises plain Python values).
    table_name:
        The cache table.
    dimension:
        Query embedding dimension; vectors of another size are refused.
    max_entries_per_workspace:
        Oldest entries of a scope beyond this are deleted on store (200: every lookup reads
        the whole scope).
    ttl_seconds:
        Entries carry ``expires_at`` (the table's TTL attribute) this far ahead (7 days), so an
        answer does not outlive a model or prompt change by long.
    """

    def __init__(
        self,
        dynamodb: Any,
        table_name: str,
        dimension: int,
        *,
        max_entries_per_workspace: int = 200,
        ttl_seconds: int = 7 * 86400,
    ) -> None:
        self.table = dynamodb.Table(table_name)
        self.client = dynamodb.meta.client
        self.table_name = table_name
        self.dimension = dimension
        self.max_entries = max_entries_per_workspace
        self.ttl_seconds = ttl_seconds

    def epoch(self, workspace_id: str) -> int:
        item = self.table.get_item(
            Key={"workspace_id": workspace_id, "sk": EPOCH}, ConsistentRead=True
        ).get("Item")
        return int(item["epoch"]) if item else 0

    def lookup(
        self, workspace_id: str, scope: str, query_vec: np.ndarray, threshold: float
    ) -> CachedAnswer | None:
        entries = list(self._entries(workspace_id, scope))
        if not entries:
            return None
        vectors = np.stack([_vector(e["embedding"]) for e in entries])
        scores = vectors @ self._checked(query_vec)
        best = int(np.argmax(scores))
        if float(scores[best]) < threshold:
            return None
        entry = entries[best]
        return CachedAnswer(
            str(entry["query"]),
            json.loads(str(entry["final"])),
            float(scores[best]),
            float(entry["created_at"]),
        )

    def store(
        self,
        workspace_id: str,
        scope: str,
        query: str,
        query_vec: np.ndarray,
        final: Mapping[str, Any],
        *,
        epoch: int,
    ) -> bool:
        now = time.time()
        sk = f"{_prefix(scope)}{time.time_ns():020d}#{uuid.uuid4().hex}"
        still = (
            {"ConditionExpression": "attribute_not_exists(#epoch)"}
            if epoch == 0
            else {
                "ConditionExpression": "#epoch = :epoch",
                "ExpressionAttributeValues": {":epoch": epoch},
            }
        )
        try:
            # The resource's client takes plain Python values (boto3 serialises them).
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": {"workspace_id": workspace_id, "sk": EPOCH},
                            "ExpressionAttributeNames": {"#epoch": "epoch"},
                            **still,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                "workspace_id": workspace_id,
                                "sk": sk,
                                "query": query,
                                "embedding": self._checked(query_vec).tobytes(),
                                "final": json.dumps(dict(final), ensure_ascii=False),
                                "created_at": Decimal(repr(now)),
                                "expires_at": int(now) + self.ttl_seconds,
                            },
                        }
                    },
                ]
            )
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        self._count_and_trim(workspace_id, scope)
        return True

    def invalidate_workspace(self, workspace_id: str) -> int:
        self.table.update_item(
            Key={"workspace_id": workspace_id, "sk": EPOCH},
            UpdateExpression="ADD epoch :one",
            ExpressionAttributeValues={":one": 1},
        )
        keys = [e["sk"] for e in self._entries(workspace_id, None, keys_only=True)]
        keys += [e["sk"] for e in self._items(workspace_id, _COUNT, keys_only=True)]
        self._delete(workspace_id, keys)
        return sum(1 for sk in keys if sk.startswith(_ENTRY))

    # -- internals --------------------------------------------------------------------------

    def _checked(self, vector: np.ndarray) -> np.ndarray:
        array = np.asarray(vector, dtype="<f4").reshape(-1)
        if array.shape != (self.dimension,):
            raise ValueError(f"query vectors must have {self.dimension} dimensions")
        return array

    def _entries(
        self, workspace_id: str, scope: str | None, *, keys_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The scope's entries (every entry with ``scope=None``), oldest first, paginated."""
        prefix = _prefix(scope) if scope is not None else _ENTRY
        return self._items(workspace_id, prefix, keys_only=keys_only)

    def _items(
        self, workspace_id: str, prefix: str, *, keys_only: bool = False, limit: int = 0
    ) -> Iterator[dict[str, Any]]:
        condition = Key("workspace_id").eq(workspace_id) & Key("sk").begins_with(prefix)
        request: dict[str, Any] = {"KeyConditionExpression": condition}
        if keys_only:
            request["ProjectionExpression"] = "sk"
        if limit:
            request["Limit"] = limit
        while True:
            page = self.table.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page or limit:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _count_and_trim(self, workspace_id: str, scope: str) -> None:
        """Count the scope's entries on a counter item; past the bound, delete the oldest —
        one short query now and then instead of reading the whole scope on every store."""
        key = {"workspace_id": workspace_id, "sk": f"{_COUNT}{_prefix(scope)}"}
        count = self.table.update_item(
            Key=key,
            UpdateExpression="ADD entries :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )["Attributes"]["entries"]
        excess = int(count) - self.max_entries
        if excess <= 0:
            return
        oldest = [
            e["sk"] for e in self._items(workspace_id, _prefix(scope), keys_only=True, limit=excess)
        ]
        self._delete(workspace_id, oldest)
        self.table.update_item(
            Key=key,
            UpdateExpression="ADD entries :gone",
            ExpressionAttributeValues={":gone": -len(oldest)},
        )

    def _delete(self, workspace_id: str, keys: list[str]) -> None:
        with self.table.batch_writer() as batch:
            for sk in keys:
                batch.delete_item(Key={"workspace_id": workspace_id, "sk": sk})


def _prefix(scope: str) -> str:
    # '#' inside a scope (model names) must not let one scope's prefix match another's.
    return f"{_ENTRY}{scope.replace('%', '%25').replace('#', '%23')}#"


def _vector(raw: Any) -> np.ndarray:
    data = raw.value if hasattr(raw, "value") else raw
    return np.frombuffer(bytes(data), dtype="<f4")
