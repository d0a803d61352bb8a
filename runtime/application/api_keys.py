"""A workspace's API keys: created, listed and revoked by its managers; checked on every call of
the public API (``public_api.py``).

* only callers who may use the workspace AND are ``admin`` or ``workspace_manager`` manage its
  keys (a workspace the caller may not use is ``404`` as everywhere; a plain user ``403``);
* the full key is in the ``201`` of its creation and nowhere else, ever;
* a presented key is checked in this order: well-formed and a key of this workspace with the
  right secret (else ``401 invalid_api_key``), not revoked (``401 api_key_revoked``), scoped for
  the operation (``403 api_key_scope``), within its plan (``429`` with ``Retry-After``);
* a chat connection opened with a key (the cloud's streaming answers) is checked the same way
  when it opens, and spends one request per question (``admit_question``).

``now`` (epoch seconds) is passed in by the transport: tests drive the limits with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from .ports import ApiKeys, PublicBackend
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


def verify_key(keys: ApiKeys, presented: str | None, workspace_id: str, scope: str) -> ApiKey:
    """The key ``presented`` for ``workspace_id``, checked but not spent from.

    Raises ``InvalidApiKey``, ``RevokedApiKey`` (401) or ``KeyScopeForbidden`` (403) as the
    module says. The WebSocket ``$connect`` authorizer stops here: it spends per question.
    """
    key_id, secret = parse_key(presented)
    if not workspace_id:
        raise InvalidApiKey(
            "name the workspace the key belongs to (on a chat connection: "
            "?token=<key>&workspace=<workspace id>)"
        )
    key = keys.get_key(workspace_id, key_id)
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
    return key


def authenticate(
    backend: PublicBackend, presented: str | None, workspace_id: str, scope: str, now: float
) -> ApiKey:
    """The key behind a public API call, with one request spent from its plan.

    Raises as ``verify_key``, or ``LimitExceeded`` (429); nothing is spent unless the call is
    admitted.
    """
    key = verify_key(backend.api_keys, presented, workspace_id, scope)
    backend.api_keys.spend(workspace_id, key.key_id, now)
    return key


@dataclass(frozen=True)
class SocketKey:
    """A chat connection opened with an API key (``?token=<key>&workspace=<id>``): it may ask
    questions of that one workspace, and each question spends one request of the key's plan."""

    workspace_id: str
    key_id: str

    @property
    def user_id(self) -> str:
        return key_user(self.key_id)


def key_user(key_id: str) -> str:
    """The user id a key's questions are stored under (its sessions are the key's own)."""
    return f"apikey:{key_id}"


def admit_question(keys: ApiKeys, key: SocketKey, workspace_id: str, now: float) -> None:
    """Admit one question on a key's connection: its own workspace only (another is
    ``not_found``, as for a user it is not shared with), one request spent. A key revoked
    since the connection opened is refused here (``RevokedApiKey``), the plan's limits as on
    the REST API (``LimitExceeded`` with ``retry_after``)."""
    if workspace_id != key.workspace_id:
        raise NotFound(f"workspace {workspace_id!r} does not exist or is not shared with you")
    keys.spend(key.workspace_id, key.key_id, now)


def key_caller(key: ApiKey) -> str:
    """The user id a key's questions are stored under (its sessions are the key's own)."""
    return key_user(key.key_id)
