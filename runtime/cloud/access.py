"""The cloud's side of identity: the caller from Cognito claims, and the CDN's secret header.

The rules (who may use, manage or delete a workspace) live in ``runtime.application.access``;
session ownership in ``runtime.core.sessions``. ``Caller`` and ``require_workspace`` are
re-exported for the WebSocket handlers.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from ..application.access import require_workspace
from ..application.caller import ADMIN, WORKSPACE_MANAGER, Caller
from ..core.errors import ChorusError

__all__ = [
    "ADMIN",
    "WORKSPACE_MANAGER",
    "Caller",
    "Unauthorized",
    "caller_from_claims",
    "origin_header_ok",
    "parse_groups",
    "require_workspace",
]


class Unauthorized(ChorusError):
    code = "unauthorized"
    http_status = 401


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


def origin_header_ok(headers: Mapping[str, str] | None, name: str, expected: str | None) -> bool:
    """Constant-time check of the CDN's secret header (case-insensitive name)."""
    if not expected:
        return False
    wanted = name.lower()
    value = next((v for k, v in (headers or {}).items() if k.lower() == wanted), None)
    return value is not None and hmac.compare_digest(value.encode(), expected.encode())
