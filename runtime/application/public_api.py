"""The public API (``/v1``): questions and documents into one workspace, on an API key.

The transport authenticates first (``api_keys.authenticate``: one request spent), then calls one
of these with the key. A question is a chat turn of the same ``ChatService`` the app and
``chorus ask`` use, stored in a session of the key's own (user ``apikey:<keyId>``); a document
goes through the same upload operation as the app's (``documents.index_upload`` locally,
``presign_upload`` in the cloud).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.api_keys import ApiKey
from ..core.errors import ChorusError, NotFound
from ..core.models import Workspace
from .api_keys import key_caller
from .documents import index_upload, presign_upload
from .ports import PublicBackend
from .views import Reply

if TYPE_CHECKING:  # pydantic loads with the first request that has a body
    from .requests import AskQuestion, UploadRequest

_ERROR_STATUS = {
    "bad_request": 400,
    "unknown_model": 400,
    "forbidden": 403,
    "not_found": 404,
    "throttled": 429,
    "timeout": 504,
    "internal_error": 500,
}


class AnswerFailed(ChorusError):
    """A chat turn that ended with an ``error`` event, as an HTTP error with the event's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.http_status = _ERROR_STATUS.get(code, 502)


def key_workspace(backend: PublicBackend, key: ApiKey) -> Workspace:
    workspace = backend.records.get_workspace(key.workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {key.workspace_id!r} does not exist")
    return workspace


def answer_view(final: dict[str, Any], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``final`` event as the public API's answer: the answer, its citations ([n] is
    ``citations[n - 1]``), grounding and what it cost."""
    return {
        "answer": final["answer"],
        "citations": sources,
        "grounding": final.get("grounding"),
        "covered": final.get("covered"),
        "model": final.get("model"),
        "sessionId": final["sessionId"],
        "messageId": final["messageId"],
        "usage": final.get("usage"),
        "cost": final.get("cost"),
    }


def ask(
    backend: PublicBackend,
    key: ApiKey,
    body: AskQuestion,
    send: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """Run the turn, delivering every event (``token``, ``sources``, ``final``/``error``) to
    ``send``; returns the event that ended it."""
    from ..core.protocol import SendMessageData

    key_workspace(backend, key)
    request = SendMessageData(
        workspaceId=key.workspace_id,
        sessionId=body.sessionId,
        text=body.question,
        mode=body.mode,
        models=body.models,
    )
    return backend.answers.chat(request, user_id=key_caller(key), send=send)


def answer(backend: PublicBackend, key: ApiKey, body: AskQuestion) -> Reply:
    """The whole answer as one JSON body: ``200``, or the turn's error with its code."""
    events: list[dict[str, Any]] = []
    final = ask(backend, key, body, lambda e: events.append(e) or True)
    if final["type"] == "error":
        raise AnswerFailed(final["code"], final["message"])
    sources = next((e["sources"] for e in events if e["type"] == "sources"), [])
    return Reply(200, answer_view(final, sources))


def add_document(backend: PublicBackend, key: ApiKey, name: str, data: bytes) -> Reply:
    """Index one file now (the local server): as ``POST /workspaces/{id}/documents``."""
    return index_upload(backend, key_workspace(backend, key), name, data)


def request_document_upload(backend: PublicBackend, key: ApiKey, body: UploadRequest) -> Reply:
    """A presigned upload (the cloud): as ``POST /workspaces/{id}/documents`` with JSON."""
    return presign_upload(backend, key_workspace(backend, key), body)
