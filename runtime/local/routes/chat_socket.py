"""The chat WebSocket of the local server (``/ws``): the protocol of docs/protocol.md.

Each frame is answered with an event whatever it holds; a question runs in a worker thread (its
models may stream from threads of their own) so one slow answer never stalls the event loop,
heartbeats or other connections.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...core.chat import ChatService
from ...core.errors import BadRequest, ChorusError
from ...core.protocol import (
    Heartbeat,
    encode_event,
    error_event,
    heartbeat_event,
    parse_client_message,
)
from .identity import Unauthorized, user_of

log = logging.getLogger("chorus.local")


def chat_socket_route(chat: ChatService) -> WebSocketRoute:
    """``/ws`` answering with ``chat``."""

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            user_id = user_of(websocket)
        except (BadRequest, Unauthorized) as exc:
            await websocket.send_text(encode_event(error_event(exc.code, exc.message)))
            await websocket.close(code=1008)
            return
        await _serve(websocket, chat, user_id)

    return WebSocketRoute("/ws", endpoint)


async def _serve(websocket: WebSocket, chat: ChatService, user_id: str) -> None:
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
            await send(error_event(exc.code, exc.message))
            return
        if isinstance(message, Heartbeat):
            await send(heartbeat_event())
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
