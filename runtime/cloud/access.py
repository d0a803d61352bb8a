"""Who may do what: Cognito groups on workspaces, ownership on sessions.

Rules (kept here so every entry point applies the same ones):

* ``admin`` may use and manage every workspace;
* ``admin`` and ``workspace_manager`` may create workspaces;
* anyone else may use a workspace they created or one that lists one of their groups;
* a session, its messages and its feedback belong to the user who started it — nobody else,
  not even an admin, reads them through the API.

A workspace the caller may not use is reported as ``not_found``, so ids cannot be probed.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import ChorusError, Forbidden, NotFound

if TYPE_CHECKING:  # annotations only: ws_connect parses groups without loading the adapter
    from ..adapters.dynamodb_metadata import DynamoDBMetadataStore, WorkspaceAccess
    from ..core.models import Session

ADMIN = "admin"
WORKSPACE_MANAGER = "workspace_manager"


class Unauthorized(ChorusError):
    code = "unauthorized"
    http_status = 401


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request."""

    user_id: str
    groups: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.groups


def parse_groups(value: Any) -> frozenset[str]:
    """Groups from a claim or authorizer context.

    API Gateway's HTTP JWT authorizer flattens list claims to ``"[admin user]"``; the WebSocket
    authorizer context carries ``"admin,user"``; a decoded token has a list.
    """
    if value is None:
        return frozenset()
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(v) for v in value if str(v))
    text = str(value).strip().strip("[]")
    return frozenset(p for p in text.replace(",", " ").split() if p)


def caller_from_claims(claims: Mapping[str, Any] | None) -> Caller:
    """The caller of an HTTP API request from its JWT authorizer claims."""
    if not claims or not claims.get("sub"):
        raise Unauthorized("the request carries no verified user; sign in again")
    return Caller(str(claims["sub"]), parse_groups(claims.get("cognito:groups")))


def may_use(caller: Caller, access: WorkspaceAccess) -> bool:
    if caller.is_admin or (access.owner_id and access.owner_id == caller.user_id):
        return True
    return bool(caller.groups & set(access.groups))


def require_workspace(
    metadata: DynamoDBMetadataStore, caller: Caller, workspace_id: str
) -> WorkspaceAccess:
    """The workspace's access record; ``NotFound`` when it is missing or not the caller's."""
    access = metadata.workspace_access(workspace_id)
    if access is None or not may_use(caller, access):
        raise NotFound(f"workspace {workspace_id!r} does not exist or is not shared with you")
    return access


def require_manager(caller: Caller) -> None:
    if not caller.groups & {ADMIN, WORKSPACE_MANAGER}:
        raise Forbidden("creating workspaces needs the 'admin' or 'workspace_manager' group")


def require_session_owner(session: Session | None, caller: Caller, session_id: str) -> Session:
    """The session if the caller started it; ``NotFound`` otherwise (no probing)."""
    if session is None or session.user_id != caller.user_id:
        raise NotFound(f"session {session_id!r} does not exist")
    return session


def visible_workspaces(caller: Caller, accesses: Iterable[WorkspaceAccess]) -> set[str]:
    return {a.workspace_id for a in accesses if may_use(caller, a)}


def origin_header_ok(headers: Mapping[str, str] | None, name: str, expected: str | None) -> bool:
    """Constant-time check of the CDN's secret header (case-insensitive name)."""
    if not expected:
        return False
    wanted = name.lower()
    value = next((v for k, v in (headers or {}).items() if k.lower() == wanted), None)
    return value is not None and hmac.compare_digest(value.encode(), expected.encode())
