"""The REST API's routes as data: each one's method, path, operation and what it reads.

Both transports serve a route the same way: check the path ids (``NotFound`` for one no store
could hold), name the caller, read the body into its request model, run the operation and send
its ``Reply``. The local server (``runtime/local/routes``) and the cloud's REST Lambda
(``runtime/handlers/rest_api.py``) each write those steps once, over this table, rather than
once per route; what only one transport does (the laptop's multipart upload, the public API's
key check) stays in its own routes. The order of the steps decides which error a bad request
gets, so it lives here too (``RestRoute.path_ids`` then the caller, then ``RestRoute.run``).

Request models are named, not imported: a cold REST Lambda loads pydantic with the first body
it reads, not with this module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.identifiers import valid_id
from . import api_keys as key_ops
from . import bulk_ingestions as bulk_ops
from . import documents as document_ops
from . import eval_sets as eval_ops
from . import sessions as session_ops
from . import sources as source_ops
from . import workspaces as workspace_ops
from .caller import Caller
from .views import Reply

ID_KINDS = {
    "workspace_id": "workspace",
    "document_id": "document",
    "session_id": "session",
    "case_id": "case",
    "message_id": "message",
    "key_id": "API key",
}
"""Path ids checked at the edge, with the word the ``NotFound`` uses. Others (a bulk ingestion
job's) pass as sent: their operation checks them after the caller's rights."""


@dataclass(frozen=True)
class RestRoute:
    """One REST route; ``operation`` is called as
    ``operation(backend, caller, *path ids, [query value], [body], [now])``."""

    method: str
    path: str
    """With ``{name}`` parameters, without the local server's ``/api`` prefix."""
    operation: Callable[..., Reply]
    body: str | None = None
    """The model of ``requests.py`` the JSON body is read into (by name: see the module)."""
    raw_body_limit: int | None = None
    """When set, the operation takes the body as bytes, at most this many (the local server
    stops reading past it; the operation refuses a larger one)."""
    query: str | None = None
    """A query parameter the operation takes after the ids (None when absent)."""
    timed: bool = False
    """The operation takes the request's time (``time.time()``) last."""

    @property
    def name(self) -> str:
        """The operation's name, which the endpoint takes (logs and traces show it)."""
        return self.operation.__name__

    @property
    def reads_body(self) -> bool:
        return self.body is not None or self.raw_body_limit is not None

    def path_ids(self, params: Mapping[str, str]) -> list[str]:
        """The path's ids in order, each in ``ID_KINDS`` checked (``NotFound`` otherwise)."""
        names = re.findall(r"{(\w+)}", self.path)
        return [valid_id(params[n], ID_KINDS[n]) if n in ID_KINDS else params[n] for n in names]

    def run(
        self, backend: Any, caller: Caller, ids: list[str], query: str | None, body: bytes
    ) -> Reply:
        """Read the body (``BadRequest``, ``PayloadTooLarge``) and run the operation."""
        args: list[Any] = list(ids)
        if self.query is not None:
            args.append(query)
        if self.body is not None:
            from . import requests

            args.append(requests.read_request(getattr(requests, self.body), body))
        elif self.raw_body_limit is not None:
            args.append(body)
        if self.timed:
            args.append(time.time())
        return self.operation(backend, caller, *args)


WORKSPACE = "/workspaces/{workspace_id}"
EVAL_CASE = f"{WORKSPACE}/eval-cases/{{case_id}}"
SESSION = "/sessions/{session_id}"

REST_ROUTES = (
    RestRoute("GET", "/workspaces", workspace_ops.list_workspaces),
    RestRoute("POST", "/workspaces", workspace_ops.create_workspace, body="CreateWorkspace"),
    RestRoute("GET", WORKSPACE, workspace_ops.get_workspace),
    RestRoute("DELETE", WORKSPACE, workspace_ops.delete_workspace),
    RestRoute("POST", f"{WORKSPACE}/reindex", workspace_ops.start_reindex),
    RestRoute("PUT", f"{WORKSPACE}/settings", workspace_ops.tune_workspace, body="TuneWorkspace"),
    RestRoute(
        "POST",
        f"{WORKSPACE}/bulk-ingestions",
        bulk_ops.start_bulk_ingestion,
        body="StartBulkIngestion",
    ),
    RestRoute("GET", f"{WORKSPACE}/bulk-ingestions/{{job_id}}", bulk_ops.get_bulk_ingestion),
    RestRoute("GET", f"{WORKSPACE}/documents", document_ops.list_documents, query="status"),
    RestRoute("POST", f"{WORKSPACE}/documents", document_ops.request_upload, body="UploadRequest"),
    RestRoute("DELETE", f"{WORKSPACE}/documents/{{document_id}}", document_ops.delete_document),
    RestRoute("GET", f"{WORKSPACE}/sources", source_ops.list_sources),
    RestRoute("POST", f"{WORKSPACE}/sources", source_ops.add_source, body="AddSource"),
    RestRoute("POST", f"{WORKSPACE}/sources/sync", source_ops.sync_sources),
    RestRoute("GET", "/sessions", session_ops.list_sessions),
    RestRoute("GET", SESSION, session_ops.get_session),
    RestRoute("DELETE", SESSION, session_ops.delete_session),
    RestRoute("POST", f"{SESSION}/feedback", session_ops.give_feedback, body="FeedbackRequest"),
    RestRoute("GET", f"{WORKSPACE}/eval-cases", eval_ops.list_cases, query="status"),
    RestRoute("POST", f"{WORKSPACE}/eval-cases", eval_ops.create_case, body="CreateEvalCase"),
    RestRoute(
        "POST",
        f"{WORKSPACE}/eval-cases/import",
        eval_ops.import_cases,
        raw_body_limit=eval_ops.MAX_IMPORT_BYTES,
    ),
    RestRoute("GET", EVAL_CASE, eval_ops.get_case),
    RestRoute("PATCH", EVAL_CASE, eval_ops.update_case, body="UpdateEvalCase"),
    RestRoute("DELETE", EVAL_CASE, eval_ops.delete_case),
    RestRoute(
        "POST", f"{SESSION}/messages/{{message_id}}/eval-case", eval_ops.mark_turn, body="MarkTurn"
    ),
)
"""The signed-in user's routes on workspaces, documents, sources, sessions and eval sets."""

API_KEY_ROUTES = (
    RestRoute("POST", f"{WORKSPACE}/api-keys", key_ops.create_key, body="CreateApiKey", timed=True),
    RestRoute("GET", f"{WORKSPACE}/api-keys", key_ops.list_keys),
    RestRoute("DELETE", f"{WORKSPACE}/api-keys/{{key_id}}", key_ops.revoke_key, timed=True),
)
"""A workspace manager's key management, part of the public API (docs/public_api.md)."""
