"""The one session-ownership rule (``runtime/core/sessions.py``), on the real PostgreSQL store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.adapters.postgres_metadata import PostgresMetadataStore
from chorus.runtime.core.errors import BadRequest, Forbidden, NotFound
from chorus.runtime.core.models import Session, Workspace
from chorus.runtime.core.sessions import open_session, owned_session


@pytest.fixture
def metadata(module_dsn: str, schema_path: str, with_settings) -> Iterator[PostgresMetadataStore]:
    db = PostgresDatabase(with_settings(module_dsn, schema_path))
    store = PostgresMetadataStore(db)
    for wid in ("ws-1", "ws-2"):
        store.create_workspace(Workspace(wid, wid, "all-MiniLM-L6-v2", 384))
    yield store
    db.close()


def test_a_first_turn_opens_the_session_titled_with_the_question(metadata):
    session = open_session(metadata, "s1", "alice", "ws-1", "  How do keys\nrotate? " + "x" * 100)

    assert (session.user_id, session.workspace_id) == ("alice", "ws-1")
    assert session.title.startswith("How do keys rotate? x") and len(session.title) == 80
    assert metadata.get_session("s1") == session


def test_a_later_turn_of_the_owner_continues_the_session(metadata):
    first = open_session(metadata, "s1", "alice", "ws-1", "first")

    assert open_session(metadata, "s1", "alice", "ws-1", "second") == first


def test_a_turn_naming_another_users_session_is_forbidden(metadata):
    open_session(metadata, "s1", "alice", "ws-1", "first")

    with pytest.raises(Forbidden, match="another user"):
        open_session(metadata, "s1", "bob", "ws-1", "mine now?")


def test_a_session_cannot_move_to_another_workspace(metadata):
    open_session(metadata, "s1", "alice", "ws-1", "first")

    with pytest.raises(BadRequest, match="another workspace"):
        open_session(metadata, "s1", "alice", "ws-2", "elsewhere")


def test_the_owner_reads_their_session(metadata):
    session = Session("s1", "alice", "ws-1")

    assert owned_session(session, "alice", "s1") is session


def test_another_users_session_reads_like_a_missing_one(metadata):
    with pytest.raises(NotFound) as other:
        owned_session(Session("s1", "alice", "ws-1"), "bob", "s1")
    with pytest.raises(NotFound) as missing:
        owned_session(None, "bob", "s1")

    assert other.value.message == missing.value.message
