"""Who is asking: the user behind a request and their groups, whatever the transport."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"
"""May use and manage every workspace (never reads another user's sessions)."""
WORKSPACE_MANAGER = "workspace_manager"
"""May create workspaces and tune them."""


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request.

    The cloud reads it from the Cognito claims; the local server names a dev user and makes
    them an admin of the laptop's workspaces (``local_caller``).
    """

    user_id: str
    groups: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.groups

    @property
    def may_manage(self) -> bool:
        return bool(self.groups & {ADMIN, WORKSPACE_MANAGER})


def local_caller(user_id: str) -> Caller:
    """A user of the local server: one person's laptop, so every signed-in name administers the
    workspaces (sessions stay their own: the ownership rule holds for admins too)."""
    return Caller(user_id, frozenset({ADMIN}))
