"""The ``ApiKeys`` port on the seed's workspace table: one item per key, its usage inside.

Items sit under the workspace's partition (``workspace_id``, ``object_type = "apikey#<keyId>"``)
like the eval cases: deleting the workspace deletes its keys, the ``rest_api`` grant on the table
covers them, and they carry ``issued_at`` (never ``created_at``) so the index that lists
workspaces never holds them. The secret never reaches the table (``salt`` and ``secret_hash``).

``spend`` reads the key, applies ``core.api_keys.admit`` and writes the new usage with a
condition on the usage version it read (and on the key still being unrevoked): a concurrent
request that won the race makes the write fail, and the request is retried on fresh figures. A
refused request writes nothing; no request is counted twice or lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..core.api_keys import (
    ApiKey,
    InvalidApiKey,
    LimitExceeded,
    RevokedApiKey,
    Usage,
    UsagePlan,
    admit,
)
from .dynamodb_workspace_items import DynamoDBWorkspaceItems

KEY_PREFIX = "apikey#"
MAX_ATTEMPTS = 8
"""Lost races a request retries before it is told to come back (429, ``Retry-After: 1``)."""


def _number(value: float) -> Decimal:
    return Decimal(repr(float(value)))


class DynamoDBApiKeys(DynamoDBWorkspaceItems):
    """API keys in the workspace table (``DynamoDBWorkspaceItems``: resource, table name)."""

    def add_key(self, key: ApiKey) -> None:
        usage = key.usage or Usage(tokens=float(key.plan.burst), refilled_at=key.created_at)
        item: dict[str, Any] = {
            **self._key(key.workspace_id, KEY_PREFIX + key.key_id),
            "key_id": key.key_id,
            "key_name": key.name.replace("\x00", ""),
            "created_by": key.created_by,
            "issued_at": _number(key.created_at),
            "salt": key.salt,
            "secret_hash": key.secret_hash,
            "rate_per_second": _number(key.plan.rate_per_second),
            "burst": key.plan.burst,
            "daily_quota": key.plan.daily_quota,
            "scopes": list(key.scopes),
            **_usage_attributes(usage),
        }
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(object_type)")

    def get_key(self, workspace_id: str, key_id: str) -> ApiKey | None:
        item = self._get(workspace_id, KEY_PREFIX + key_id)
        return _api_key(item) if item else None

    def list_keys(self, workspace_id: str) -> list[ApiKey]:
        keys = [_api_key(i) for i in self._under(workspace_id, KEY_PREFIX)]
        return sorted(keys, key=lambda k: (k.created_at, k.key_id))

    def revoke_key(self, workspace_id: str, key_id: str, at: float) -> ApiKey | None:
        try:
            item = self._table.update_item(
                Key=self._key(workspace_id, KEY_PREFIX + key_id),
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at)",
                ConditionExpression="attribute_exists(object_type)",
                ExpressionAttributeValues={":at": _number(at)},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self._errors.ConditionalCheckFailedException:
            return None
        return _api_key(item)

    def spend(self, workspace_id: str, key_id: str, now: float) -> Usage:
        for _ in range(MAX_ATTEMPTS):
            key = self.get_key(workspace_id, key_id)
            if key is None:
                raise InvalidApiKey(f"the API key was deleted with workspace {workspace_id!r}")
            if key.revoked_at is not None:
                raise RevokedApiKey("this API key was revoked; ask a workspace manager for one")
            assert key.usage is not None
            usage = admit(key.usage, key.plan, now)
            attributes = _usage_attributes(usage)
            try:
                self._table.update_item(
                    Key=self._key(workspace_id, KEY_PREFIX + key_id),
                    UpdateExpression="SET " + ", ".join(f"{a} = :{a}" for a in attributes),
                    ConditionExpression=(
                        "usage_version = :read AND attribute_not_exists(revoked_at)"
                    ),
                    ExpressionAttributeValues={
                        **{f":{a}": v for a, v in attributes.items()},
                        ":read": key.usage.version,
                    },
                )
            except self._errors.ConditionalCheckFailedException:
                continue  # another request spent first (or the key was revoked): read again
            return usage
        raise LimitExceeded(
            "too many requests on this key at once; retry after the Retry-After seconds",
            code="rate_limited",
            retry_after=1,
        )


def _usage_attributes(usage: Usage) -> dict[str, Any]:
    return {
        "tokens": _number(usage.tokens),
        "refilled_at": _number(usage.refilled_at),
        "usage_day": usage.day,
        "day_used": usage.day_used,
        "usage_version": usage.version,
    }


def _api_key(item: Mapping[str, Any]) -> ApiKey:
    revoked = item.get("revoked_at")
    return ApiKey(
        workspace_id=str(item["workspace_id"]),
        key_id=str(item["key_id"]),
        name=str(item["key_name"]),
        created_by=str(item["created_by"]),
        created_at=float(item["issued_at"]),
        salt=str(item["salt"]),
        secret_hash=str(item["secret_hash"]),
        plan=UsagePlan(
            rate_per_second=float(item["rate_per_second"]),
            burst=int(item["burst"]),
            daily_quota=int(item["daily_quota"]),
        ),
        scopes=tuple(str(s) for s in item.get("scopes") or ()),
        revoked_at=float(revoked) if revoked is not None else None,
        usage=Usage(
            tokens=float(item["tokens"]),
            refilled_at=float(item["refilled_at"]),
            day=int(item["usage_day"]),
            day_used=int(item["day_used"]),
            version=int(item["usage_version"]),
        ),
    )
