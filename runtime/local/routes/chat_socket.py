"""The chat WebSocket of the local server (``/ws``): the protocol of docs/protocol.md.

Opened with a public API key (``/ws?token=chorus_<keyId>_<secret>&workspace=<id>``), as in the
cloud: the key is checked when the connection opens (a live key of that workspace with the
``answers`` scope, else an ``error`` event and close code 1008), and each question must name
that workspace and spends one request of the key's plan.

Each frame is answered with an event whatever it holds; a question runs in a worker thread (its
models may stream from threads of their own) so one slow answer never stalls the event loop,
heartbeats or other connections.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...application.api_keys import SocketKey, admit_question, verify_key
from ...application.ports import ApiKeys
from ...core.api_keys import looks_like_key
from ...core.chat import ChatService
from ...core.errors import ChorusError
from ...core.protocol import (
    Heartbeat,
    encode_event,
    error_event,
    exception_event,
    heartbeat_event,
    parse_client_message,
)
from .identity import user_of

log = logging.getLogger("chorus.local")


def chat_socket_route(
    chat: ChatService, keys: Callable[[], ApiKeys], clock: Callable[[], float] = time.time
) -> WebSocketRoute:
    """``/ws`` answering with ``chat``; ``keys`` (the public API's key store, built on first
    use) admits connections opened with an API key, ``clock`` times their plans."""

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            key = await anyio.to_thread.run_sync(_socket_key, websocket, keys)
            user_id = key.user_id if key is not None else user_of(websocket)
        except ChorusError as exc:  # a bad user name, an expired sign-in, a refused key
            await websocket.send_text(encode_event(exception_event(exc)))
            await websocket.close(code=1008)
            return
        admit = None
        if key is not None:
            store = keys()  # the store _socket_key checked the key against

            def admit(workspace_id: str) -> None:
                admit_question(store, key, workspace_id, clock())

        await _serve(websocket, chat, user_id, admit)

    return WebSocketRoute("/ws", endpoint)


def _socket_key(websocket: WebSocket, keys: Callable[[], ApiKeys]) -> SocketKey | None:
    """The API key the connection is opened with (``?token=chorus_…&workspace=…``), checked;
    None for a person's connection."""
    token = websocket.query_params.get("token")
    if not looks_like_key(token):
        return None
    workspace_id = websocket.query_params.get("workspace") or ""
    key = verify_key(keys(), token, workspace_id, "answers")
    return SocketKey(key.workspace_id, key.key_id)


async def _serve(
    websocket: WebSocket,
    chat: ChatService,
    user_id: str,
    admit: Callable[[str], None] | None = None,
) -> None:
    send_lock = anyio.Lock()
    # The chat may stream from threads of its own (one per model in consensus mode), not only
    # from the anyio worker thread it runs in: the loop token reaches back from any.
    loop_token = anyio.lowlevel.current_token()

    async def send(event: dict[str, Any]) -> bool:
        try:
            async with send_lock:
                await websocket.send_text(encode_event(event))
            return True
        except (WebSocketDisconnect, RuntimeError, OSError):
            return False

    def send_from_thread(event: dict[str, Any]) -> bool:
        try:
            return anyio.from_thread.run(send, event, token=loop_token)
        except Exception:  # the loop is closing: the client is gone either way
            log.debug("could not deliver a %s event", event.get("type"), exc_info=True)
            return False

    async def answer(message: Any) -> None:
        try:
            await anyio.to_thread.run_sync(
                functools.partial(chat.chat, message.data, user_id=user_id, send=send_from_thread)
            )
        except Exception:
            log.exception("chat failed")
            await send(
                error_event(
                    "internal_error", "the server failed; see its log", message.data.sessionId
                )
            )

    async def receive_one(frame: Mapping[str, Any]) -> None:
        """One client frame: answered with an event whatever it holds."""
        raw = frame.get("text")
        if raw is None:
            raw = frame.get("bytes") or b""
        try:
            message = parse_client_message(raw)
        except ChorusError as exc:
            await send(exception_event(exc))
            return
        if isinstance(message, Heartbeat):
            await send(heartbeat_event())
            return
        if admit is not None:  # a key's connection: its workspace, one request of its plan
            try:
                await anyio.to_thread.run_sync(admit, message.data.workspaceId)
            except ChorusError as exc:
                await send(exception_event(exc, message.data.sessionId))
                return
        tasks.start_soon(answer, message)

    async with anyio.create_task_group() as tasks:
        while True:
            try:
                frame = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                break
            if frame["type"] == "websocket.disconnect":
                break
            try:
                await receive_one(frame)
            except Exception:  # the connection outlives any one frame
                log.exception("a WebSocket frame failed")
                await send(error_event("internal_error", "the server failed; see its log"))
        tasks.cancel_scope.cancel()
