"""A workspace's API keys: created, listed and revoked by its managers; checked on every call of
the public API (``public_api.py``).

* only callers who may use the workspace AND are ``admin`` or ``workspace_manager`` manage its
  keys (a workspace the caller may not use is ``404`` as everywhere; a plain user ``403``);
* the full key is in the ``201`` of its creation and nowhere else, ever;
* a presented key is checked in this order: well-formed and a key of this workspace with the
  right secret (else ``401 invalid_api_key``), not revoked (``401 api_key_revoked``), scoped for
  the operation (``403 api_key_scope``), within its plan (``429`` with ``Retry-After``).

``now`` (epoch seconds) is passed in by the transport: tests drive the limits with a fake clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..core.api_keys import (
    ApiKey,
    InvalidApiKey,
    KeyScopeForbidden,
    RevokedApiKey,
    UsagePlan,
    issue_key,
    parse_key,
    secret_matches,
)
from ..core.errors import Forbidden, NotFound
from .access import require_workspace
from .caller import Caller
from .ports import PublicBackend
from .views import NO_CONTENT, Reply

if TYPE_CHECKING:  # pydantic loads with the first request that has a body
    from .requests import CreateApiKey


def _time(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if value is not None else None


def api_key_view(key: ApiKey) -> dict[str, Any]:
    """A key as the management API shows it: never its secret."""
    usage = key.usage
    return {
        "id": key.key_id,
        "workspaceId": key.workspace_id,
        "name": key.name,
        "hint": key.hint,
        "scopes": list(key.scopes),
        "plan": {
            "ratePerSecond": key.plan.rate_per_second,
            "burst": key.plan.burst,
            "dailyQuota": key.plan.daily_quota,
        },
        "createdBy": key.created_by,
        "createdAt": _time(key.created_at),
        "revokedAt": _time(key.revoked_at),
        "usedToday": usage.day_used if usage is not None else 0,
    }


def _manager(backend: PublicBackend, caller: Caller, workspace_id: str) -> None:
    require_workspace(backend.records, caller, workspace_id)
    if not caller.may_manage:
        raise Forbidden("a workspace's API keys need the 'admin' or 'workspace_manager' group")


def create_key(
    backend: PublicBackend, caller: Caller, workspace_id: str, body: CreateApiKey, now: float
) -> Reply:
    """A new key. ``201`` with the key's view and ``key``, the full key: shown this once."""
    _manager(backend, caller, workspace_id)
    plan = UsagePlan(body.ratePerSecond, body.burst, body.dailyQuota)
    scopes = tuple(dict.fromkeys(body.scopes))
    raw, record = issue_key(workspace_id, body.name, caller.user_id, now, plan, scopes)
    backend.api_keys.add_key(record)
    return Reply(201, {**api_key_view(record), "key": raw})


def list_keys(backend: PublicBackend, caller: Caller, workspace_id: str) -> Reply:
    _manager(backend, caller, workspace_id)
    keys = backend.api_keys.list_keys(workspace_id)
    return Reply(200, {"apiKeys": [api_key_view(k) for k in keys]})


def revoke_key(
    backend: PublicBackend, caller: Caller, workspace_id: str, key_id: str, now: float
) -> Reply:
    """Revoke the key at once (the record stays, listed with ``revokedAt``). ``204``."""
    _manager(backend, caller, workspace_id)
    if backend.api_keys.revoke_key(workspace_id, key_id, now) is None:
        raise NotFound(f"no API key {key_id!r} in workspace {workspace_id!r}")
    return NO_CONTENT


def authenticate(
    backend: PublicBackend, presented: str | None, workspace_id: str, scope: str, now: float
) -> ApiKey:
    """The key behind a public API call, with one request spent from its plan.

    Raises ``InvalidApiKey``, ``RevokedApiKey`` (401), ``KeyScopeForbidden`` (403) or
    ``LimitExceeded`` (429) as the module says; nothing is spent unless the call is admitted.
    """
    key_id, secret = parse_key(presented)
    key = backend.api_keys.get_key(workspace_id, key_id)
    if key is None or not secret_matches(key, secret):
        raise InvalidApiKey(
            f"this is not an API key of workspace {workspace_id!r}; keys work only for the "
            "workspace that issued them (check the key and the workspace id)"
        )
    if key.revoked_at is not None:
        raise RevokedApiKey("this API key was revoked; ask a workspace manager for a new one")
    if scope not in key.scopes:
        raise KeyScopeForbidden(
            f"this API key may not use {scope!r} (its scopes: {', '.join(key.scopes)}); ask a "
            "workspace manager for a key with that scope"
        )
    backend.api_keys.spend(workspace_id, key_id, now)
    return key


def key_caller(key: ApiKey) -> str:
    """The user id a key's questions are stored under (its sessions are the key's own)."""
    return f"apikey:{key.key_id}"
