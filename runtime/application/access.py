"""Who may do what with a workspace (sessions: ``core.sessions``).

* ``admin`` may use and manage every workspace;
* ``admin`` and ``workspace_manager`` may create and tune workspaces;
* anyone else may use a workspace they created or one that lists one of their groups;
* only a workspace's creator or an admin may delete it.

A workspace the caller may not use is reported as ``not_found``, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.errors import Forbidden, NotFound
from ..core.models import WorkspaceAccess
from .caller import Caller
from .ports import AccessRecords


def may_use(caller: Caller, access: WorkspaceAccess) -> bool:
    if caller.is_admin or (access.owner_id and access.owner_id == caller.user_id):
        return True
    return bool(caller.groups & set(access.groups))


def require_workspace(records: AccessRecords, caller: Caller, workspace_id: str) -> WorkspaceAccess:
    """The workspace's access record; ``NotFound`` when it is missing or not the caller's."""
    access = records.workspace_access(workspace_id)
    if access is None or not may_use(caller, access):
        raise NotFound(f"workspace {workspace_id!r} does not exist or is not shared with you")
    return access


def require_manager(caller: Caller) -> None:
    if not caller.may_manage:
        raise Forbidden(
            "creating or tuning workspaces needs the 'admin' or 'workspace_manager' group"
        )


def require_deleter(caller: Caller, access: WorkspaceAccess) -> None:
    if not (caller.is_admin or access.owner_id == caller.user_id):
        raise Forbidden("only the workspace's creator or an admin may delete it")


def visible_workspaces(caller: Caller, accesses: Iterable[WorkspaceAccess]) -> set[str]:
    """Ids of the workspaces among ``accesses`` that the caller may use."""
    return {a.workspace_id for a in accesses if may_use(caller, a)}
