"""The chat service: one question in, streamed and cited answer out, every turn stored.

The local WebSocket server and the cloud chat worker both call ``ChatService.chat`` with a
validated ``SendMessageData`` and a ``send`` function that delivers events to the client.

A turn: condense a follow-up into a standalone query → semantic-cache lookup → retrieve →
answer in the requested mode (single, cascade, consensus; see ``orchestration.py``) → grounding
check (every mode) → optional guardrail → store the turn → ``final``; the answer is cached.

Every turn ends with ``final`` or ``error``: a failure chorus did not foresee (a store outage, a
bug) ends it with ``internal_error`` and a request id that the log line carries too, never a
stack trace and never silence. A turn keyed by ``turn_id`` (the chat job's id) stores its
question and answer under ids derived from it, so a redelivered job stores nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .agreement import AgreementScorer
from .answering import NO_ANSWER, Answerer
from .clock import Clock, SystemClock
from .context import AssembledContext, TokenCounter, approximate_token_count, assemble_context
from .conversation import HeuristicCondenser, QueryCondenser, trim_history
from .errors import BadRequest, ChorusError, NotFound
from .grounding import GroundingJudge, GroundingReport, GuardrailCheck, contradiction_dict
from .metrics import NO_METRICS, OperationsMetrics
from .models import ChatMessage, StoredMessage
from .orchestration import (
    AllModelsFailed,
    ModelFanOut,
    ModelPrice,
    OrchestrationResult,
    OrchestrationSettings,
    Orchestrator,
    usage_dict,
)
from .ports import MetadataStore
from .protocol import SendMessageData, error_event, final_event, sources_event, token_event
from .relevance import RelevanceScorer
from .retrieval import RetrievalTrace, Retriever
from .semantic_cache import DEFAULT_THRESHOLD as CACHE_THRESHOLD
from .semantic_cache import SemanticCache, cache_scope
from .sessions import open_session

__all__ = ["ChatService", "ModelPrice", "SendEvent"]

SendEvent = Callable[[dict[str, Any]], bool]
SNIPPET_CHARS = 300
log = logging.getLogger(__name__)


class ChatService:
    """Retrieves, answers and records one chat turn.

    Parameters
    ----------
    metadata:
        Where workspaces, sessions and messages live.
    retriever:
        Hybrid retrieval over the workspace's chunks (its Embedder also keys the cache).
    answerers:
        Available models by name (``"extractive"`` is always a good one to have).
    default_model:
        Used when a single-mode message names no model.
    context_budget_tokens:
        Token budget for the sources in a prompt.
    history_turns:
        Earlier user/assistant turns considered for LLM answerers ...
    history_budget_tokens:
        ... and the token budget they must fit (oldest dropped first).
    prices:
        USD per 1k tokens by model: costs per turn and per session, and the cascade order.
    cascade_models, consensus_models:
        Models of a cascade / consensus message that names none (default: every answerer).
    grounding:
        Grounding judge run on every answer (None: ``grounding`` is null in ``final``).
    agreement:
        Agreement scorer for consensus and cascade (None: ``agreement`` is null).
    relevance:
        Answer-relevance scorer (None: ``relevance`` is null; consensus ties then go to
        grounding alone).
    orchestration:
        Deadlines, cascade thresholds, judge model.
    cache, cache_threshold:
        Semantic cache (None: no caching) and the cosine a hit needs.
    condenser:
        Turns follow-ups into standalone retrieval queries (default: the no-LLM heuristic).
    guardrail:
        Optional post-answer guardrail (e.g. Bedrock ApplyGuardrail); may replace the answer.
    fanout:
        Where consensus turns ask their models (None: in this process; the cloud chat worker
        passes the Step Functions Express workflow).
    clock:
        What the turn's budget (``orchestration.turn_budget_s``) is measured on.
    metrics:
        Where each turn's figures (latency, outcome, per-model tokens and cost, cache hits,
        retrieval latency) and spans go (default: nowhere).
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
        history_budget_tokens: int = 1500,
        prices: Mapping[str, ModelPrice] | None = None,
        cascade_models: Sequence[str] | None = None,
        consensus_models: Sequence[str] | None = None,
        grounding: GroundingJudge | None = None,
        agreement: AgreementScorer | None = None,
        orchestration: OrchestrationSettings | None = None,
        cache: SemanticCache | None = None,
        cache_threshold: float = CACHE_THRESHOLD,
        condenser: QueryCondenser | None = None,
        guardrail: GuardrailCheck | None = None,
        fanout: ModelFanOut | None = None,
        clock: Clock | None = None,
        relevance: RelevanceScorer | None = None,
        metrics: OperationsMetrics | None = None,
    ) -> None:
        if default_model not in answerers:
            raise ValueError(f"default model {default_model!r} is not among the answerers")
        for name in [*(cascade_models or ()), *(consensus_models or ())]:
            if name not in answerers:
                raise ValueError(f"model {name!r} is not among the answerers")
        self.metadata = metadata
        self.retriever = retriever
        self.answerers = dict(answerers)
        self.default_model = default_model
        self.context_budget_tokens = context_budget_tokens
        self.count_tokens = count_tokens
        self.history_turns = history_turns
        self.history_budget_tokens = history_budget_tokens
        self.prices = dict(prices or {})
        self.settings = orchestration or OrchestrationSettings()
        judge = self.settings.judge_model
        if judge is not None and judge not in answerers:
            raise ValueError(f"judge model {judge!r} is not among the answerers")
        self.cascade_models = list(cascade_models or [m for m in answerers if m != judge])
        self.consensus_models = list(consensus_models or [m for m in answerers if m != judge])
        self.metrics = metrics or NO_METRICS
        self.grounding = grounding
        self.agreement = agreement
        self.cache = cache
        self.cache_threshold = cache_threshold
        self.condenser = condenser or HeuristicCondenser()
        self.guardrail = guardrail
        self.clock: Clock = clock or SystemClock()
        self.orchestrator = Orchestrator(
            self.answerers,
            prices=self.prices,
            grounding=(
                _SpannedGrounding(grounding, self.metrics)
                if grounding is not None and metrics is not None
                else grounding
            ),
            agreement=agreement,
            settings=self.settings,
            fanout=fanout,
            clock=self.clock,
            relevance=relevance,
        )

    @property
    def models(self) -> list[str]:
        return list(self.answerers)

    def chat(
        self,
        request: SendMessageData,
        *,
        user_id: str,
        send: SendEvent,
        turn_id: str | None = None,
    ) -> dict[str, Any]:
        """Answer one message; every outcome, success or failure, is sent as an event.

        Returns the ``final`` or ``error`` event that ended the turn. Both the question and the
        outcome (answer, or error with each model's part) are stored in the session.
        ``turn_id`` keys the turn (default: a fresh id): the same id answered twice stores its
        question and answer once.
        """
        message_id = turn_id or uuid.uuid4().hex
        session_id = request.sessionId or uuid.uuid4().hex
        delivery = _Delivery(send)
        event = self._turn(request, user_id, session_id, message_id, delivery)
        try:
            self.metrics.turn(event, request.mode)
            self.metrics.flush()
        except Exception:  # figures are never worth a turn
            log.warning("recording the turn's metrics failed", exc_info=True)
        return event

    def _turn(
        self,
        request: SendMessageData,
        user_id: str,
        session_id: str,
        message_id: str,
        delivery: _Delivery,
    ) -> dict[str, Any]:
        """The turn, with every failure turned into the ``error`` event that ends it."""
        try:
            return self._chat(request, user_id, session_id, message_id, delivery)
        except ChorusError as exc:  # e.g. a store refusing a write: its own code, no answer
            log.warning("chat turn failed: %s (%s)", exc.message, exc.code)
            event = error_event(exc.code, exc.message, session_id, message_id)
            delivery(event)
            return event
        except Exception:  # the client hears about every turn, whatever broke
            request_id = uuid.uuid4().hex
            log.exception("chat turn failed unexpectedly (request id %s)", request_id)
            event = error_event(
                "internal_error",
                f"something went wrong on our side (request id {request_id}); retry, and quote "
                "the request id if it happens again",
                session_id,
                message_id,
            )
            delivery(event)
            return event

    def _chat(
        self,
        request: SendMessageData,
        user_id: str,
        session_id: str,
        message_id: str,
        delivery: _Delivery,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        deadline = self.clock.now() + self.settings.turn_budget_s
        try:
            models = self._check(request)
            session = open_session(
                self.metadata, session_id, user_id, request.workspaceId, request.text
            )
        except ChorusError as exc:
            event = error_event(exc.code, exc.message, session_id, message_id)
            delivery(event)
            return event

        question_id = f"{message_id}-q"
        stored = [
            m
            for m in self.metadata.list_messages(session.id)
            if m.id not in (question_id, message_id)  # a redelivered turn is not its own history
        ]
        history = self._history(stored)
        self.metadata.add_message(StoredMessage(session.id, question_id, "user", request.text))
        turn = _Turn(
            request, models, session.id, message_id, history, stored, delivery, started, deadline
        )
        try:
            final = self._answer(turn)
        except ChorusError as exc:
            event = error_event(exc.code, exc.message, session.id, message_id)
            details: dict[str, Any] = {
                "error": exc.to_dict(),
                "model": models[0],
                "mode": request.mode,
                "models": models,
            }
            if isinstance(exc, AllModelsFailed):
                details["answers"] = [a.to_dict() for a in exc.answers]
                details["cost"] = round(sum(a.cost for a in exc.answers), 6)
            self.metadata.add_message(
                StoredMessage(session.id, message_id, "assistant", "", details)
            )
            delivery(event)
            return event
        return final

    def session_usage(self, session_id: str) -> dict[str, Any]:
        """Tokens and cost of a session, in total and per model, from its stored turns."""
        return _session_usage(self.metadata.list_messages(session_id))

    # -- steps ------------------------------------------------------------------------------

    def _check(self, request: SendMessageData) -> list[str]:
        """The models of the turn, in the order the mode uses them."""
        if request.models:
            models = list(dict.fromkeys(request.models))
        elif request.mode == "cascade":
            models = list(self.cascade_models)
        elif request.mode == "consensus":
            models = list(self.consensus_models)
        else:
            models = [self.default_model]
        if request.mode == "single":
            models = models[:1]
        unknown = [m for m in models if m not in self.answerers]
        if unknown:
            raise BadRequest(
                f"unknown model {unknown[0]!r}; available: {', '.join(self.answerers)}",
                code="unknown_model",
            )
        if self.metadata.get_workspace(request.workspaceId) is None:
            raise NotFound(f"workspace {request.workspaceId!r} does not exist")
        return models

    def _history(self, stored: Sequence[StoredMessage]) -> list[ChatMessage]:
        turns = [
            ChatMessage(m.role, m.content)
            for m in stored
            if m.content and m.role in ("user", "assistant")
        ]
        turns = turns[-self.history_turns :] if self.history_turns else []
        return trim_history(turns, self.history_budget_tokens, count_tokens=self.count_tokens)

    def _answer(self, turn: _Turn) -> dict[str, Any]:
        request = turn.request
        query = request.text
        if turn.history:
            query = self.condenser.condense(request.text, turn.history)
        scope = cache_scope(request.mode, turn.models)
        query_vec = None
        epoch = 0
        if self.cache is not None:
            query_vec = self.retriever.embedder.embed([query], kind="query")[0]
            try:
                epoch = self.cache.epoch(request.workspaceId)
                hit = self.cache.lookup(request.workspaceId, scope, query_vec, self.cache_threshold)
            except Exception:  # a cache outage costs money, never the answer
                log.warning("semantic cache lookup failed; answering without it", exc_info=True)
                query_vec, hit = None, None
            if query_vec is not None:
                self.metrics.cache_lookup(hit is not None)
            if hit is not None:
                return self._from_cache(turn, query, hit.final, hit.similarity)

        trace = RetrievalTrace()
        retrieval_started = time.perf_counter()
        with self.metrics.span("retrieve", {"workspace": request.workspaceId}):
            hits = self.retriever.retrieve(request.workspaceId, query, trace=trace)
        retrieval_ms = _ms(retrieval_started)
        self.metrics.retrieval(trace.store or "unknown", retrieval_ms)
        context = assemble_context(
            hits, budget_tokens=self.context_budget_tokens, count_tokens=self.count_tokens
        )
        sources = _sources(context)
        turn.delivery(sources_event(turn.session_id, turn.message_id, sources))

        generation_started = time.perf_counter()
        first_token: list[float] = []

        def on_token(model: str, text: str) -> None:
            if not first_token:
                first_token.append(_ms(turn.started))
            turn.delivery(token_event(turn.session_id, turn.message_id, model, text))

        with self.metrics.span("answer", {"mode": request.mode}):
            result = self.orchestrator.run(
                request.mode,
                turn.models,
                request.text,
                context,
                turn.history,
                temperature=request.modelKwargs.temperature,
                max_tokens=request.modelKwargs.maxTokens,
                on_token=on_token,
                deadline=turn.deadline,
            )
        answer = result.answer
        guardrail: dict[str, Any] | None = None
        if self.guardrail is not None:
            verdict = self.guardrail.apply(request.text, answer, context)
            guardrail = {"intervened": verdict.intervened, **verdict.details}
            if verdict.intervened and verdict.output is not None:
                answer = verdict.output
        latency = {
            "retrieval": retrieval_ms,
            "generation": _ms(generation_started),
            "firstToken": first_token[0] if first_token else None,
            "total": _ms(turn.started),
            **{f"retrieval.{k}": v for k, v in trace.timings_ms.items()},
        }
        fields = _result_fields(result, answer)
        session_usage = _session_usage(turn.stored, extra=[a.to_dict() for a in result.calls])
        final = final_event(
            turn.session_id,
            turn.message_id,
            **fields,
            mode=request.mode,
            latencyMs=latency,
            cached=False,
            retrievalQuery=query,
            guardrail=guardrail,
            sessionUsage=session_usage,
        )
        with self.metrics.span("store_turn"):
            self._store_answer(turn, answer, fields, sources, latency, query, guardrail)
        turn.delivery(final)
        # Never cache what a guardrail replaced or could not check (fail-open): a cache hit
        # skips the guardrail.
        unchecked = guardrail is not None and (guardrail["intervened"] or "error" in guardrail)
        cacheable = not result.partial and not unchecked
        if self.cache is not None and query_vec is not None and cacheable:
            entry = {**fields, "sources": sources}
            try:
                self.cache.store(request.workspaceId, scope, query, query_vec, entry, epoch=epoch)
            except Exception:
                log.warning("semantic cache store failed", exc_info=True)
        return final

    def _store_answer(
        self,
        turn: _Turn,
        answer: str,
        fields: Mapping[str, Any],
        sources: list[dict[str, Any]],
        latency: Mapping[str, Any],
        query: str,
        guardrail: dict[str, Any] | None,
    ) -> None:
        request = turn.request
        self.metadata.add_message(
            StoredMessage(
                turn.session_id,
                turn.message_id,
                "assistant",
                answer,
                {
                    **{k: v for k, v in fields.items() if k != "answer"},
                    "mode": request.mode,
                    "sources": sources,
                    "latencyMs": latency,
                    "retrievalQuery": query,
                    "guardrail": guardrail,
                },
            )
        )

    def _from_cache(
        self, turn: _Turn, query: str, cached: Mapping[str, Any], similarity: float
    ) -> dict[str, Any]:
        """Replay a cached answer as a normal turn: sources, one token, final (cost 0)."""
        sources = list(cached.get("sources", []))
        answer = str(cached.get("answer", ""))
        model = str(cached.get("model", ""))
        turn.delivery(sources_event(turn.session_id, turn.message_id, sources))
        turn.delivery(token_event(turn.session_id, turn.message_id, model, answer))
        zero = {"inputTokens": 0, "outputTokens": 0}
        fields = {k: v for k, v in cached.items() if k != "sources"}
        fields.update(usage=zero, cost=0.0)
        latency = {"total": _ms(turn.started), "firstToken": _ms(turn.started)}
        final = final_event(
            turn.session_id,
            turn.message_id,
            **fields,
            mode=turn.request.mode,
            latencyMs=latency,
            cached=True,
            cacheSimilarity=round(similarity, 6),
            retrievalQuery=query,
            sessionUsage=_session_usage(turn.stored),
        )
        self.metadata.add_message(
            StoredMessage(
                turn.session_id,
                turn.message_id,
                "assistant",
                answer,
                {
                    "model": model,
                    "mode": turn.request.mode,
                    "sources": sources,
                    "usage": zero,
                    "cost": 0.0,
                    "cached": True,
                    "latencyMs": latency,
                    "retrievalQuery": query,
                },
            )
        )
        turn.delivery(final)
        return final


class _SpannedGrounding:
    """A grounding judge whose checks show as a ``grounding`` span of the turn's trace."""

    def __init__(self, judge: GroundingJudge, metrics: OperationsMetrics) -> None:
        self.judge = judge
        self.metrics = metrics

    def check(self, answers: Sequence[str], context: AssembledContext) -> list[GroundingReport]:
        with self.metrics.span("grounding"):
            return self.judge.check(answers, context)


class _Turn:
    """What one ``chat`` call carries between its steps."""

    def __init__(
        self,
        request: SendMessageData,
        models: list[str],
        session_id: str,
        message_id: str,
        history: list[ChatMessage],
        stored: list[StoredMessage],
        delivery: _Delivery,
        started: float,
        deadline: float,
    ) -> None:
        self.request = request
        self.models = models
        self.session_id = session_id
        self.message_id = message_id
        self.history = history
        self.stored = stored
        self.delivery = delivery
        self.started = started
        self.deadline = deadline


def _sources(context: AssembledContext) -> list[dict[str, Any]]:
    return [
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


def _result_fields(result: OrchestrationResult, answer: str) -> dict[str, Any]:
    """The ``final`` fields a mode's result fills (and the stored turn keeps)."""
    chosen = result.chosen
    return {
        "answer": answer,
        "model": chosen.model,
        "models": [a.model for a in result.answers],
        "answers": [a.to_dict() for a in result.answers],
        "judge": result.judge.to_dict() if result.judge else None,
        "agreement": result.agreement.score if result.agreement else None,
        "grounding": chosen.grounding.score if chosen.grounding else None,
        "unsupported": chosen.grounding.unsupported if chosen.grounding else [],
        "contradicted": (
            [contradiction_dict(s) for s in chosen.grounding.contradicted]
            if chosen.grounding
            else []
        ),
        "relevance": chosen.relevance,
        # False when the answer says the documents do not cover the question: the sources
        # sent before it are then only the closest matches, not an answer's sources.
        "covered": answer.strip() != NO_ANSWER,
        "conflicts": [c.to_dict() for c in result.agreement.conflicts] if result.agreement else [],
        "escalation": result.escalation or None,
        "partial": result.partial,
        "usage": usage_dict(result.usage),
        "cost": result.cost,
    }


def _session_usage(
    stored: Sequence[StoredMessage], extra: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """Sum tokens and cost per model over a session's stored turns (+ this turn's calls)."""
    calls: list[Mapping[str, Any]] = []
    for message in stored:
        if message.role != "assistant":
            continue
        details = message.details
        if details.get("answers"):
            calls.extend(details["answers"])
            if details.get("judge"):
                calls.append(details["judge"])
        elif details.get("model"):
            calls.append(details)
    calls.extend(extra)
    by_model: dict[str, dict[str, Any]] = {}
    for call in calls:
        usage = call.get("usage") or {}
        entry = by_model.setdefault(
            str(call.get("model")), {"inputTokens": 0, "outputTokens": 0, "cost": 0.0}
        )
        entry["inputTokens"] += int(usage.get("inputTokens", 0))
        entry["outputTokens"] += int(usage.get("outputTokens", 0))
        entry["cost"] = round(entry["cost"] + float(call.get("cost") or 0.0), 6)
    return {
        "inputTokens": sum(e["inputTokens"] for e in by_model.values()),
        "outputTokens": sum(e["outputTokens"] for e in by_model.values()),
        "cost": round(sum(e["cost"] for e in by_model.values()), 6),
        "byModel": by_model,
    }


class _Delivery:
    """Sends events until the client is gone, then drops them quietly. Thread-safe: consensus
    streams every model's tokens from its own thread, and events must not interleave mid-send."""

    def __init__(self, send: SendEvent) -> None:
        self._send = send
        self._lock = threading.Lock()
        self.connected = True

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            if not self.connected:
                return
            try:
                self.connected = bool(self._send(event))
            except Exception:  # a transport failure ends the stream, never the turn
                log.exception("delivering a %s event failed; no more events", event.get("type"))
                self.connected = False


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
