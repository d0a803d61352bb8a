"""The ``ApiKeys`` port on PostgreSQL: one row per key, its usage in the same row.

A key belongs to its workspace (``ON DELETE CASCADE``). ``spend`` locks the key's row
(``SELECT ... FOR UPDATE``), applies ``core.api_keys.admit`` and writes the new usage in the same
transaction: concurrent requests queue on the row, none is lost, and a refused request rolls back
with nothing written. The secret never reaches the table (only ``salt`` and ``secret_hash``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.api_keys import ApiKey, InvalidApiKey, RevokedApiKey, Usage, UsagePlan, admit
from .postgres_workspace_rows import PostgresWorkspaceRows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chorus_api_keys (
    workspace_id text NOT NULL REFERENCES chorus_workspaces (id) ON DELETE CASCADE,
    key_id text NOT NULL,
    name text NOT NULL,
    created_by text NOT NULL,
    created_at double precision NOT NULL,
    salt text NOT NULL,
    secret_hash text NOT NULL,
    rate_per_second double precision NOT NULL,
    burst integer NOT NULL,
    daily_quota integer NOT NULL,
    scopes text[] NOT NULL,
    revoked_at double precision,
    tokens double precision NOT NULL,
    refilled_at double precision NOT NULL,
    usage_day integer NOT NULL DEFAULT 0,
    day_used integer NOT NULL DEFAULT 0,
    usage_version integer NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, key_id)
);
"""

_COLUMNS = (
    "workspace_id, key_id, name, created_by, created_at, salt, secret_hash, rate_per_second,"
    " burst, daily_quota, scopes, revoked_at, tokens, refilled_at, usage_day, day_used,"
    " usage_version"
)


def _key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        workspace_id=row[0],
        key_id=row[1],
        name=row[2],
        created_by=row[3],
        created_at=row[4],
        salt=row[5],
        secret_hash=row[6],
        plan=UsagePlan(rate_per_second=row[7], burst=row[8], daily_quota=row[9]),
        scopes=tuple(row[10]),
        revoked_at=row[11],
        usage=Usage(
            tokens=row[12], refilled_at=row[13], day=row[14], day_used=row[15], version=row[16]
        ),
    )


class PostgresApiKeys(PostgresWorkspaceRows):
    """API keys in ``chorus_api_keys`` (created here; the metadata schema must exist)."""

    table = "chorus_api_keys"
    schema = _SCHEMA

    def add_key(self, key: ApiKey) -> None:
        usage = key.usage or Usage(tokens=float(key.plan.burst), refilled_at=key.created_at)
        with self.db.transaction() as cur:
            cur.execute(
                f"INSERT INTO chorus_api_keys ({_COLUMNS}) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    key.workspace_id,
                    key.key_id,
                    key.name.replace("\x00", ""),
                    key.created_by,
                    key.created_at,
                    key.salt,
                    key.secret_hash,
                    key.plan.rate_per_second,
                    key.plan.burst,
                    key.plan.daily_quota,
                    list(key.scopes),
                    key.revoked_at,
                    usage.tokens,
                    usage.refilled_at,
                    usage.day,
                    usage.day_used,
                    usage.version,
                ),
            )

    def get_key(self, workspace_id: str, key_id: str) -> ApiKey | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM chorus_api_keys WHERE workspace_id = %s AND key_id = %s",
            (workspace_id, key_id),
        )
        return _key(row) if row else None

    def list_keys(self, workspace_id: str) -> list[ApiKey]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM chorus_api_keys WHERE workspace_id = %s "
            "ORDER BY created_at, key_id",
            (workspace_id,),
        )
        return [_key(r) for r in rows]

    def revoke_key(self, workspace_id: str, key_id: str, at: float) -> ApiKey | None:
        row = self._one(
            "UPDATE chorus_api_keys SET revoked_at = COALESCE(revoked_at, %s) "
            f"WHERE workspace_id = %s AND key_id = %s RETURNING {_COLUMNS}",
            (at, workspace_id, key_id),
        )
        return _key(row) if row else None

    def spend(self, workspace_id: str, key_id: str, now: float) -> Usage:
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM chorus_api_keys WHERE workspace_id = %s AND key_id = %s "
                "FOR UPDATE",
                (workspace_id, key_id),
            )
            row = cur.fetchone()
            if row is None:
                raise InvalidApiKey(f"the API key was deleted with workspace {workspace_id!r}")
            key = _key(row)
            if key.revoked_at is not None:
                raise RevokedApiKey("this API key was revoked; ask a workspace manager for one")
            assert key.usage is not None
            usage = admit(key.usage, key.plan, now)  # LimitExceeded rolls the transaction back
            cur.execute(
                "UPDATE chorus_api_keys SET tokens = %s, refilled_at = %s, usage_day = %s, "
                "day_used = %s, usage_version = %s WHERE workspace_id = %s AND key_id = %s",
                (
                    usage.tokens,
                    usage.refilled_at,
                    usage.day,
                    usage.day_used,
                    usage.version,
                    workspace_id,
                    key_id,
                ),
            )
            return usage
