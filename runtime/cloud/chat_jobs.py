"""The WebSocket side of chat: validate a client frame, enqueue the work, answer it later.

``accept_frame`` runs in the ``ws_message`` Lambda (fast: validation, access check, session
creation, one message to the worker); ``run_chat_job`` runs in the chat worker (retrieval,
models, frames back through the API Gateway management API). Between them, per the stack's
``eventPaths.chat``: the chat queue (its event source's maximum concurrency caps calls into
rate-limited model APIs) or an asynchronous invocation of the worker (its reserved concurrency
is the cap; nothing polls while idle). ``chat_job_sender`` picks the one the stack deployed.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..core.errors import ChorusError
from ..core.protocol import (
    Heartbeat,
    SendMessageData,
    error_event,
    exception_event,
    heartbeat_event,
    parse_client_message,
    session_id_of,
)
from ..core.sessions import open_session
from .access import Caller, require_workspace

if TYPE_CHECKING:
    from ..application.api_keys import SocketKey
    from ..core.ports import WorkSender  # numpy: annotations only
    from .wiring.chat import ChatWiring
    from .wiring.messages import MessageWiring

log = logging.getLogger(__name__)

CHAT_WORKER_FUNCTION_ENV = "CHORUS_CHAT_WORKER_FUNCTION"
"""Set (to the chat worker's name) when the stack invokes the worker asynchronously."""


def chat_job_sender(services: MessageWiring, env: Mapping[str, str] | None = None) -> WorkSender:
    """Where accepted jobs go: an asynchronous invocation of the chat worker when
    ``CHORUS_CHAT_WORKER_FUNCTION`` names it, else the chat queue."""
    from ..adapters.work_senders import (
        LambdaAsyncWorkSender,
        SqsWorkSender,
        default_lambda_client,
    )

    function = (os.environ if env is None else env).get(CHAT_WORKER_FUNCTION_ENV, "")
    if function:
        return LambdaAsyncWorkSender(default_lambda_client(), function)
    return SqsWorkSender(services.sqs, services.settings.chat_queue_url)


class ChatJob(BaseModel):
    """One accepted ``sendMessage``: what the chat worker needs, nothing more."""

    model_config = ConfigDict(extra="forbid")

    requestId: str
    connectionId: str
    userId: str
    request: SendMessageData


def accept_frame(
    services: MessageWiring,
    connection_id: str,
    caller: Caller,
    body: str | bytes | None,
    jobs: WorkSender | None = None,
    key: SocketKey | None = None,
    clock: Callable[[], float] = time.time,
) -> str:
    """Handle one client frame; every problem is answered with an ``error`` event.

    ``jobs`` receives the accepted job (default: ``chat_job_sender(services)``). ``key`` is set
    on a connection opened with an API key: its questions must name the key's workspace and
    each spends one request of its plan (at ``clock()``). Returns what happened:
    ``heartbeat``, ``queued`` or the error code.
    """
    try:
        message = parse_client_message(body or "")
        if isinstance(message, Heartbeat):
            services.delivery.send(connection_id, heartbeat_event())
            return "heartbeat"
        request = message.data
        session_id = request.sessionId or uuid.uuid4().hex
        request = request.model_copy(update={"sessionId": session_id})
        if key is None:
            require_workspace(services.metadata, caller, request.workspaceId)
        else:
            from ..application.api_keys import admit_question

            admit_question(services.api_keys, key, request.workspaceId, clock())
        open_session(
            services.metadata, session_id, caller.user_id, request.workspaceId, request.text
        )
        job = ChatJob(
            requestId=uuid.uuid4().hex,
            connectionId=connection_id,
            userId=caller.user_id,
            request=request,
        )
        (jobs or chat_job_sender(services)).send(job.model_dump_json())
        return "queued"
    except ChorusError as exc:
        session_id = session_id_of(body)
        services.delivery.send(connection_id, exception_event(exc, session_id))
        return exc.code
    except Exception:  # a store outage or a bug: the client still hears why nothing happens
        request_id = uuid.uuid4().hex
        log.exception("accepting a frame failed (request id %s)", request_id)
        message = (
            f"something went wrong on our side (request id {request_id}); retry, and quote the "
            "request id if it happens again"
        )
        services.delivery.send(
            connection_id, error_event("internal_error", message, session_id_of(body))
        )
        return "internal_error"


def run_chat_job(services: ChatWiring, job: ChatJob) -> dict[str, Any]:
    """Answer one queued message, streaming events to its connection; returns the last event."""
    delivery = services.delivery

    def send(event: dict[str, Any]) -> bool:
        return delivery.send(job.connectionId, event)

    # The job id keys the turn: a redelivered job stores its question and answer once.
    return services.chat.chat(job.request, user_id=job.userId, send=send, turn_id=job.requestId)
