"""The chat service: one question in, streamed and cited answer out, every turn stored.

The local WebSocket server and the cloud chat worker both call ``ChatService.chat`` with a
validated ``SendMessageData`` and a ``send`` function that delivers events to the client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .answering import Answerer
from .context import TokenCounter, approximate_token_count, assemble_context
from .errors import BadRequest, ChorusError, Forbidden, NotFound
from .models import ChatMessage, Session, StoredMessage, TokenUsage
from .ports import MetadataStore
from .protocol import SendMessageData, error_event, final_event, sources_event, token_event
from .retrieval import RetrievalTrace, Retriever

SendEvent = Callable[[dict[str, Any]], bool]
SNIPPET_CHARS = 300


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1,000 input and output tokens."""

    input_per_1k: float = 0.0
    output_per_1k: float = 0.0

    def cost(self, usage: TokenUsage) -> float:
        return round(
            usage.input_tokens / 1000 * self.input_per_1k
            + usage.output_tokens / 1000 * self.output_per_1k,
            6,
        )


class ChatService:
    """Retrieves, answers and records one chat turn.

    Parameters
    ----------
    metadata:
        Where workspaces, sessions and messages live.
    retriever:
        Hybrid retrieval over the workspace's chunks.
    answerers:
        Available models by name (``"extractive"`` is always a good one to have).
    default_model:
        Used when a message names no model.
    context_budget_tokens:
        Token budget for the sources in a prompt.
    history_turns:
        Earlier user/assistant turns sent to LLM answerers.
    """

    def __init__(
        self,
        metadata: MetadataStore,
        retriever: Retriever,
        answerers: Mapping[str, Answerer],
        *,
        default_model: str,
        context_budget_tokens: int = 1500,
        count_tokens: TokenCounter = approximate_token_count,
        history_turns: int = 6,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        if default_model not in answerers:
            raise ValueError(f"default model {default_model!r} is not among the answerers")
        self.metadata = metadata
        self.retriever = retriever
        self.answerers = dict(answerers)
        self.default_model = default_model
        self.context_budget_tokens = context_budget_tokens
        self.count_tokens = count_tokens
        self.history_turns = history_turns
        self.prices = dict(prices or {})

    @property
    def models(self) -> list[str]:
        return list(self.answerers)

    def chat(self, request: SendMessageData, *, user_id: str, send: SendEvent) -> dict[str, Any]:
        """Answer one message; every outcome, success or failure, is sent as an event.

        Returns the ``final`` or ``error`` event that ended the turn.
        """
        started = time.perf_counter()
        message_id = uuid.uuid4().hex
        session_id = request.sessionId or uuid.uuid4().hex
        delivery = _Delivery(send)
        try:
            model = self._check(request)
            session = self._session(request, session_id, user_id)
        except ChorusError as exc:
            event = error_event(exc.code, exc.message, session_id, message_id)
            delivery(event)
            return event

        history = self._history(session.id)
        self.metadata.add_message(
            StoredMessage(session.id, f"{message_id}-q", "user", request.text)
        )
        try:
            final = self._answer(request, model, session.id, message_id, history, delivery, started)
        except ChorusError as exc:
            event = error_event(exc.code, exc.message, session.id, message_id)
            self.metadata.add_message(
                StoredMessage(
                    session.id,
                    message_id,
                    "assistant",
                    "",
                    {"error": exc.to_dict(), "model": model},
                )
            )
            delivery(event)
            return event
        return final

    # -- steps ------------------------------------------------------------------------------

    def _check(self, request: SendMessageData) -> str:
        if request.mode != "single":
            raise BadRequest(
                f"mode {request.mode!r} is not available on this server; use 'single'",
                code="unsupported_mode",
            )
        model = request.models[0] if request.models else self.default_model
        if model not in self.answerers:
            raise BadRequest(
                f"unknown model {model!r}; available: {', '.join(self.answerers)}",
                code="unknown_model",
            )
        if self.metadata.get_workspace(request.workspaceId) is None:
            raise NotFound(f"workspace {request.workspaceId!r} does not exist")
        return model

    def _session(self, request: SendMessageData, session_id: str, user_id: str) -> Session:
        session = self.metadata.get_session(session_id)
        if session is None:
            title = " ".join(request.text.split())[:80]
            return self.metadata.create_session(
                Session(session_id, user_id, request.workspaceId, title)
            )
        if session.user_id != user_id:
            raise Forbidden("this session belongs to another user")
        if session.workspace_id != request.workspaceId:
            raise BadRequest("this session belongs to another workspace; start a new session")
        return session

    def _history(self, session_id: str) -> list[ChatMessage]:
        turns = [
            ChatMessage(m.role, m.content)
            for m in self.metadata.list_messages(session_id)
            if m.content and m.role in ("user", "assistant")
        ]
        return turns[-self.history_turns :] if self.history_turns else []

    def _answer(
        self,
        request: SendMessageData,
        model: str,
        session_id: str,
        message_id: str,
        history: list[ChatMessage],
        delivery: _Delivery,
        started: float,
    ) -> dict[str, Any]:
        trace = RetrievalTrace()
        retrieval_started = time.perf_counter()
        hits = self.retriever.retrieve(request.workspaceId, request.text, trace=trace)
        retrieval_ms = _ms(retrieval_started)
        context = assemble_context(
            hits, budget_tokens=self.context_budget_tokens, count_tokens=self.count_tokens
        )
        sources = [
            {
                "n": c.number,
                "documentId": c.hit.document_id,
                "documentName": c.document_name,
                "chunkId": c.hit.chunk_id,
                "score": round(c.hit.score, 6),
                "snippet": c.hit.text[:SNIPPET_CHARS],
            }
            for c in context.citations
        ]
        delivery(sources_event(session_id, message_id, sources))

        answerer = self.answerers[model]
        generation_started = time.perf_counter()
        first_token_ms: float | None = None
        pieces: list[str] = []
        usage = TokenUsage()
        for delta in answerer.answer(
            request.text,
            context,
            history,
            temperature=request.modelKwargs.temperature,
            max_tokens=request.modelKwargs.maxTokens,
        ):
            if delta.text:
                if first_token_ms is None:
                    first_token_ms = _ms(started)
                pieces.append(delta.text)
                delivery(token_event(session_id, message_id, model, delta.text))
            if delta.usage is not None:
                usage = delta.usage
        answer = "".join(pieces).strip()
        cost = self.prices.get(model, ModelPrice()).cost(usage)
        latency = {
            "retrieval": retrieval_ms,
            "generation": _ms(generation_started),
            "firstToken": first_token_ms,
            "total": _ms(started),
            **{f"retrieval.{k}": v for k, v in trace.timings_ms.items()},
        }
        usage_dict = {"inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens}
        final = final_event(
            session_id,
            message_id,
            answer=answer,
            model=model,
            mode=request.mode,
            answers=[{"model": model, "text": answer, "usage": usage_dict, "cost": cost}],
            agreement=None,
            grounding=None,
            usage=usage_dict,
            cost=cost,
            latencyMs=latency,
            cached=False,
        )
        self.metadata.add_message(
            StoredMessage(
                session_id,
                message_id,
                "assistant",
                answer,
                {
                    "model": model,
                    "sources": sources,
                    "usage": usage_dict,
                    "cost": cost,
                    "latencyMs": latency,
                },
            )
        )
        delivery(final)
        return final


class _Delivery:
    """Sends events until the client is gone, then drops them quietly."""

    def __init__(self, send: SendEvent) -> None:
        self._send = send
        self.connected = True

    def __call__(self, event: dict[str, Any]) -> None:
        if self.connected:
            self.connected = bool(self._send(event))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
