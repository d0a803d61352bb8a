"""Who may use, manage and delete a workspace (``runtime/application/access.py``)."""

from __future__ import annotations

import pytest
from chorus.runtime.application import Caller, local_caller
from chorus.runtime.application.access import may_use, require_deleter, require_manager
from chorus.runtime.core.errors import Forbidden
from chorus.runtime.core.models import WorkspaceAccess

SHARED = WorkspaceAccess("w", owner_id="alice", groups=("team-a",))


def test_the_owner_and_members_of_its_groups_may_use_a_workspace():
    assert may_use(Caller("alice"), SHARED)
    assert may_use(Caller("carol", frozenset({"team-a"})), SHARED)
    assert not may_use(Caller("bob", frozenset({"team-b"})), SHARED)


def test_an_admin_may_use_every_workspace():
    assert may_use(Caller("root", frozenset({"admin"})), WorkspaceAccess("w", owner_id=""))


def test_only_admins_and_workspace_managers_may_create_workspaces():
    require_manager(Caller("m", frozenset({"workspace_manager"})))
    with pytest.raises(Forbidden):
        require_manager(Caller("bob", frozenset({"team-a"})))


def test_a_group_member_may_not_delete_a_workspace_they_did_not_create():
    require_deleter(Caller("alice"), SHARED)
    with pytest.raises(Forbidden, match="creator or an admin"):
        require_deleter(Caller("carol", frozenset({"team-a"})), SHARED)


def test_a_local_user_administers_the_laptops_workspaces():
    assert local_caller("dev").is_admin and local_caller("dev").may_manage
