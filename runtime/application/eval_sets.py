"""Operations on a workspace's eval set, and the turns and feedback that feed it.

One rule set for both transports:

* a workspace's eval set holds other users' questions: only workspace managers and admins who may
  use the workspace read or edit it (list, create, import, review, delete); anyone else who may
  use it gets ``403``, and a workspace the caller may not use is ``404`` as everywhere;
* any user of the workspace may mark a turn of their own session as a case
  (``mark_turn``): a manager's mark is ``accepted``, anyone else's a ``candidate`` for review;
* feedback feeds the set (``case_from_feedback``): a thumbs-down becomes a ``candidate`` with the
  comment as its note, a thumbs-up an ``accepted`` regression case with the answer as reference.

A turn makes at most one case, whose id derives from the answer's message id
(``turn_case_id``): marking or rating the same turn again updates that case.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, get_args

from ..core.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge
from ..core.eval_cases import CaseStatus, EvalCase
from ..core.identifiers import valid_id
from ..core.models import Feedback, Session, StoredMessage
from ..core.sessions import owned_session
from .access import may_use, require_workspace
from .caller import Caller
from .ports import Backend
from .views import NO_CONTENT, Reply, eval_case_view

if TYPE_CHECKING:  # pydantic loads with the first request that has a body
    from .requests import CreateEvalCase, MarkTurn, UpdateEvalCase

MAX_IMPORT_LINES = 1000
MAX_IMPORT_BYTES = 1024 * 1024
"""A JSONL upload is at most 1,000 cases in 1 MiB (larger sets go in several uploads)."""
THUMBS_UP = "thumbs-up"
THUMBS_DOWN = "thumbs-down"


def turn_case_id(message_id: str) -> str:
    """The id of the case made from the answer ``message_id`` (one case per turn)."""
    case_id = f"turn-{message_id}"
    if len(case_id) <= 128:
        return case_id
    return "turn-" + hashlib.sha256(message_id.encode()).hexdigest()[:32]


def _editor(backend: Backend, caller: Caller, workspace_id: str) -> None:
    require_workspace(backend.records, caller, workspace_id)
    if not caller.may_manage:
        raise Forbidden(
            "a workspace's eval set needs the 'admin' or 'workspace_manager' group; mark your "
            "own turns with POST /sessions/{id}/messages/{messageId}/eval-case"
        )


def _status(value: str | None) -> CaseStatus | None:
    if not value:
        return None
    choices = get_args(CaseStatus)
    if value not in choices:
        raise BadRequest(f"unknown status {value!r}; use one of {', '.join(choices)}")
    return value  # type: ignore[return-value]


def _checked(case: EvalCase) -> EvalCase:
    """``case`` if it can be evaluated as accepted; an answerable case needs its documents."""
    if case.status == "accepted" and case.answerable and not case.relevant_document_ids:
        raise BadRequest(
            "an accepted answerable case needs relevantDocumentIds (the documents that answer "
            "it); add them, or set answerable to false for a question that must be declined"
        )
    return case


def _existing(backend: Backend, workspace_id: str, case_id: str) -> EvalCase:
    case = backend.eval_cases.get_case(workspace_id, case_id)
    if case is None:
        raise NotFound(f"no eval case {case_id!r} in workspace {workspace_id!r}")
    return case


def list_cases(
    backend: Backend, caller: Caller, workspace_id: str, status: str | None = None
) -> Reply:
    """The workspace's eval set, oldest first, narrowed to one ``status`` when given."""
    _editor(backend, caller, workspace_id)
    wanted = _status(status)
    cases = backend.eval_cases.list_cases(workspace_id, status=wanted)
    return Reply(200, {"cases": [eval_case_view(c) for c in cases]})


def get_case(backend: Backend, caller: Caller, workspace_id: str, case_id: str) -> Reply:
    _editor(backend, caller, workspace_id)
    return Reply(200, eval_case_view(_existing(backend, workspace_id, case_id)))


def _from_body(body: CreateEvalCase, case_id: str, origin: str = "manual") -> EvalCase:
    return EvalCase(
        id=case_id,
        question=body.question,
        relevant_document_ids=tuple(dict.fromkeys(body.relevantDocumentIds)),
        reference_answer=body.referenceAnswer,
        answerable=body.answerable,
        origin=origin,  # type: ignore[arg-type]
        status="accepted",
        note=body.note or None,
        tags=tuple(dict.fromkeys(body.tags)),
    )


def create_case(backend: Backend, caller: Caller, workspace_id: str, body: CreateEvalCase) -> Reply:
    """A case written by a manager: ``accepted`` at once. ``201`` with the case."""
    _editor(backend, caller, workspace_id)
    case = _checked(_from_body(body, uuid.uuid4().hex))
    return Reply(201, eval_case_view(backend.eval_cases.put_case(workspace_id, case)))


def import_cases(backend: Backend, caller: Caller, workspace_id: str, raw: bytes) -> Reply:
    """Cases from JSONL (one ``ImportedEvalCase`` per line, origin ``file``), all or none:
    every line is checked before any is written. ``200`` with ``imported`` and the cases."""
    from ..core.bounded_json import parse_json
    from .requests import ImportedEvalCase, validate_request

    _editor(backend, caller, workspace_id)
    if len(raw) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            f"the upload is {len(raw)} bytes; the limit is {MAX_IMPORT_BYTES} (split the file)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the upload is not UTF-8 text; send one JSON object per line") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise BadRequest("the upload holds no cases; send one JSON object per line")
    if len(lines) > MAX_IMPORT_LINES:
        raise PayloadTooLarge(f"{len(lines)} cases; the limit is {MAX_IMPORT_LINES} per upload")
    cases = []
    for number, line in lines:
        try:
            body = validate_request(ImportedEvalCase, parse_json(line.encode(), what="line"))
            cases.append(_checked(_from_body(body, body.id or uuid.uuid4().hex, "file")))
        except BadRequest as exc:
            raise BadRequest(f"line {number}: {exc.message}") from None
    stored = [backend.eval_cases.put_case(workspace_id, c) for c in cases]
    return Reply(200, {"imported": len(stored), "cases": [eval_case_view(c) for c in stored]})


def update_case(
    backend: Backend, caller: Caller, workspace_id: str, case_id: str, body: UpdateEvalCase
) -> Reply:
    """Review or edit a case; only the fields sent change. ``200`` with the case."""
    _editor(backend, caller, workspace_id)
    case = _existing(backend, workspace_id, case_id)
    sent = body.model_fields_set
    changes: dict[str, object] = {}
    if body.status is not None:
        changes["status"] = body.status
    if body.question is not None:
        changes["question"] = body.question
    if body.relevantDocumentIds is not None:
        changes["relevant_document_ids"] = tuple(dict.fromkeys(body.relevantDocumentIds))
    if "referenceAnswer" in sent:
        changes["reference_answer"] = body.referenceAnswer
    if body.answerable is not None:
        changes["answerable"] = body.answerable
    if "note" in sent:
        changes["note"] = body.note or None
    if body.tags is not None:
        changes["tags"] = tuple(dict.fromkeys(body.tags))
    updated = _checked(replace(case, **changes))  # type: ignore[arg-type]
    return Reply(200, eval_case_view(backend.eval_cases.put_case(workspace_id, updated)))


def delete_case(backend: Backend, caller: Caller, workspace_id: str, case_id: str) -> Reply:
    _editor(backend, caller, workspace_id)
    if not backend.eval_cases.delete_case(workspace_id, case_id):
        raise NotFound(f"no eval case {case_id!r} in workspace {workspace_id!r}")
    return NO_CONTENT


# -- turns -----------------------------------------------------------------------------------


def _turn(messages: list[StoredMessage], message_id: str) -> tuple[str, StoredMessage] | None:
    """The question and the answer of the turn whose answer is ``message_id``."""
    question = None
    for message in messages:
        if message.role == "user":
            question = message.content
        elif message.role == "assistant" and message.id == message_id:
            return (question, message) if question else None
    return None


def _cited_documents(answer: StoredMessage) -> tuple[str, ...]:
    """The documents the answer cites, in citation order (``details.sources``)."""
    sources = answer.details.get("sources") or []
    ids = (s.get("documentId") for s in sources if isinstance(s, dict))
    return tuple(dict.fromkeys(i for i in ids if isinstance(i, str) and _document_id(i)))


def _document_id(value: str) -> str | None:
    try:
        return valid_id(value, "document")
    except BadRequest:
        return None


def _turn_case(
    session: Session,
    messages: list[StoredMessage],
    message_id: str,
    *,
    origin: str,
    status: CaseStatus,
    reference: bool,
    note: str | None,
    tags: tuple[str, ...],
) -> EvalCase | None:
    found = _turn(messages, message_id)
    if found is None:
        return None
    question, answer = found
    documents = _cited_documents(answer)
    if status == "accepted" and not documents:
        status = "candidate"  # nothing cited: a reviewer names the documents first
    return EvalCase(
        id=turn_case_id(message_id),
        question=question[:4000],
        relevant_document_ids=documents[:100],
        reference_answer=(answer.content[:20000] or None) if reference else None,
        answerable=True,
        origin=origin,  # type: ignore[arg-type]
        status=status,
        note=note or None,
        tags=tags,
    )


def mark_turn(
    backend: Backend, caller: Caller, session_id: str, message_id: str, body: MarkTurn
) -> Reply:
    """Make a turn of the caller's own session a case of the session's workspace.

    Question: the user's message; relevant documents: the sources the answer cites; reference
    answer: the answer, when ``correct`` (a mark without it keeps the reference the turn's case
    already had, e.g. from a thumbs up). ``201`` with the case (``200`` when the turn's case
    existed and was updated); ``404`` for another user's session or a message that is not an
    answer of it.
    """
    session = owned_session(backend.records.get_session(session_id), caller.user_id, session_id)
    require_workspace(backend.records, caller, session.workspace_id)
    messages = backend.records.list_messages(session.id)
    store = backend.eval_cases
    existing = store.get_case(session.workspace_id, turn_case_id(message_id))
    if caller.may_manage:
        status: CaseStatus = "accepted"
    else:
        status = existing.status if existing else "candidate"
    case = _turn_case(
        session,
        messages,
        message_id,
        origin="manual",
        status=status,
        reference=body.correct,
        note=body.note,
        tags=tuple(dict.fromkeys(body.tags)),
    )
    if case is None:
        raise NotFound(f"message {message_id!r} is not an answer in session {session_id!r}")
    if existing is not None:
        # Marking again adds to what the turn's case says: a reference answer (from a thumbs
        # up, or an earlier "correct") and a note stay unless this mark replaces them.
        case = replace(
            case,
            reference_answer=case.reference_answer or existing.reference_answer,
            note=case.note or existing.note,
            tags=tuple(dict.fromkeys(existing.tags + case.tags)),
        )
    stored = store.put_case(session.workspace_id, case)
    return Reply(200 if existing else 201, eval_case_view(stored))


def case_from_feedback(
    backend: Backend, caller: Caller, session: Session, feedback: Feedback
) -> EvalCase | None:
    """The case a rating makes or updates (None when the turn or workspace is gone).

    The same rating again only refreshes the note (a reviewed case keeps its status); a changed
    rating remakes the case; a turn marked by hand keeps its case.
    """
    access = backend.records.workspace_access(session.workspace_id)
    if access is None or not may_use(caller, access):
        return None
    store = backend.eval_cases
    existing = store.get_case(session.workspace_id, turn_case_id(feedback.message_id))
    tag = THUMBS_UP if feedback.rating == "up" else THUMBS_DOWN
    note = feedback.comment.strip() or None
    if existing is not None and existing.origin != "feedback":
        return existing
    if existing is not None and tag in existing.tags:
        if existing.note == note:
            return existing
        return store.put_case(session.workspace_id, replace(existing, note=note))
    case = _turn_case(
        session,
        backend.records.list_messages(session.id),
        feedback.message_id,
        origin="feedback",
        status="accepted" if tag == THUMBS_UP else "candidate",
        reference=tag == THUMBS_UP,
        note=note,
        tags=(tag,),
    )
    return store.put_case(session.workspace_id, case) if case is not None else None
