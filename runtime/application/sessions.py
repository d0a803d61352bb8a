"""Operations on the caller's sessions: list, read (with feedback), delete, rate an answer.

Only the user who started a session sees it (``core.sessions.owned_session``): another user's
session answers ``404`` exactly like a missing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.models import Feedback, Session
from ..core.sessions import owned_session
from .caller import Caller
from .eval_sets import case_from_feedback
from .ports import Backend
from .views import NO_CONTENT, Reply, feedback_view, session_view, session_with_messages

if TYPE_CHECKING:  # pydantic loads with the first request that has a body
    from .requests import FeedbackRequest


def _own(backend: Backend, caller: Caller, session_id: str) -> Session:
    return owned_session(backend.records.get_session(session_id), caller.user_id, session_id)


def list_sessions(backend: Backend, caller: Caller) -> Reply:
    """The caller's sessions, most recently updated first."""
    sessions = backend.records.list_sessions(caller.user_id)
    return Reply(200, {"sessions": [session_view(s) for s in sessions]})


def get_session(backend: Backend, caller: Caller, session_id: str) -> Reply:
    """The session with its messages in order, each answer with the caller's feedback."""
    session = _own(backend, caller, session_id)
    messages = backend.records.list_messages(session.id)
    feedback = {f.message_id: f for f in backend.records.list_feedback(session.id)}
    return Reply(200, session_with_messages(session, messages, feedback))


def delete_session(backend: Backend, caller: Caller, session_id: str) -> Reply:
    """Delete the session, its messages and their feedback. ``204``."""
    session = _own(backend, caller, session_id)
    backend.records.delete_session(session.id)
    return NO_CONTENT


def give_feedback(
    backend: Backend, caller: Caller, session_id: str, body: FeedbackRequest
) -> Reply:
    """Record (or replace) the caller's rating of one answer. ``200`` with the feedback and
    ``evalCaseId``, the case the rating made or updated in the workspace's eval set
    (``eval_sets.case_from_feedback``; null when the workspace is gone); ``404`` when the
    message is not an answer of this session."""
    session = _own(backend, caller, session_id)
    stored = backend.records.put_feedback(
        Feedback(session.id, body.messageId, caller.user_id, body.rating, body.comment)
    )
    case = case_from_feedback(backend, caller, session, stored)
    return Reply(200, {**feedback_view(stored), "evalCaseId": case.id if case else None})
