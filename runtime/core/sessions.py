"""Who a session belongs to: the one ownership rule every entry point applies.

A session, its messages and its feedback belong to the user who started it — nobody else, not
even an admin. Two ways to meet someone else's session, two answers:

* a chat turn naming it (``open_session``) is refused with ``forbidden`` (docs/protocol.md):
  the client sent the id it was given and must start a new session;
* a read, a delete or feedback through the REST API (``owned_session``) answers ``not_found``,
  exactly like a missing session, so ids cannot be probed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import BadRequest, Forbidden, NotFound
from .models import Session

if TYPE_CHECKING:  # ports imports numpy: the WebSocket Lambda checks sessions without it
    from .ports import MetadataStore

TITLE_CHARS = 80


def is_owner(session: Session, user_id: str) -> bool:
    """True when ``user_id`` started the session."""
    return session.user_id == user_id


def owned_session(session: Session | None, user_id: str, session_id: str) -> Session:
    """The session if ``user_id`` started it; ``NotFound`` when missing or another user's."""
    if session is None or not is_owner(session, user_id):
        raise NotFound(f"session {session_id!r} does not exist")
    return session


def open_session(
    metadata: MetadataStore, session_id: str, user_id: str, workspace_id: str, text: str
) -> Session:
    """The session a chat turn goes to: created on first use (titled with the question's first
    80 characters), else checked — ``Forbidden`` when another user started it, ``BadRequest``
    when it belongs to another workspace.

    ``create_session`` keeps a session that appeared meanwhile (another connection raced to the
    same id): what it returns is checked like any existing session.
    """
    session = metadata.get_session(session_id)
    if session is None:
        title = " ".join(text.split())[:TITLE_CHARS]
        session = metadata.create_session(Session(session_id, user_id, workspace_id, title))
    if not is_owner(session, user_id):
        raise Forbidden("this session belongs to another user")
    if session.workspace_id != workspace_id:
        raise BadRequest("this session belongs to another workspace; start a new session")
    return session
