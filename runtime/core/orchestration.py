"""Answering modes: one model, a cascade from cheap to strong, or a consensus of several.

- ``single``: one model answers; its answer is grounding-checked.
- ``cascade``: models ordered cheapest first; the next model is asked only when an answer is
  poorly grounded (and does not agree with the previous model's answer), contradicted by the
  sources, or when a model fails.
  Most questions stop at a cheap model; hard ones pay for a strong one.
- ``consensus``: every model answers at once (one thread per model, so the turn takes as long
  as the slowest model, not the sum); answers are scored for agreement and the medoid answer —
  the one closest to all the others — is chosen, or a judge model writes one answer from them.
  An answer the sources contradict is never chosen while another is not; with two answers, or
  a tie, grounding and then answer relevance decide — never the order the models were named in.
  A failing model leaves a partial result with its error code; the turn fails only when every
  model fails.

A consensus can also be fanned out elsewhere — the Step Functions Express workflow of the cloud
stack, one Lambda per model — through the ``ModelFanOut`` port; when that path is unavailable
(throttled, failed, payload too large) the same models are asked in process instead.

Every model call runs in its own daemon thread under a deadline: a hung provider costs the turn
its deadline, never a hang. The whole turn has one budget too (``turn_budget_s``, below the chat
worker's timeout): a model call never outlives it, a cascade asks no further model once it is
spent, and a turn with no answer by then ends with ``timeout``. Tokens stream through
``on_token(model, text)`` from those threads; after a call's deadline passes its late tokens are
dropped, so nothing arrives after the result.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from .agreement import AgreementResult, AgreementScorer, answer_confidence
from .answering import Answerer
from .clock import Clock, SystemClock
from .context import AssembledContext
from .errors import ChorusError, ProviderError, ProviderTimeout
from .grounding import GroundingJudge, GroundingReport, contradiction_dict
from .models import ChatMessage, LLMDelta, TokenUsage
from .orchestration_settings import OrchestrationSettings
from .relevance import RelevanceScorer

log = logging.getLogger(__name__)

TokenSink = Callable[[str, str], None]
"""Receives ``(model, text)`` for each streamed piece; may be called from worker threads."""

Mode = Literal["single", "cascade", "consensus"]

JUDGE_INSTRUCTIONS = (
    "Several assistants answered the question above from the same numbered sources. Write one "
    "answer that keeps what the answers agree on and what the sources support, leaves out claims "
    "the sources do not support, and cites sources as [n]. Do not mention the assistants."
)

# When every model failed, the error reported is the most actionable one.
_ERROR_PRIORITY = ("context_too_long", "throttled", "timeout", "provider_unavailable")


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

    @property
    def rank(self) -> float:
        """Ordering key for cascades: a typical answer reads ~4x the tokens it writes."""
        return 4 * self.input_per_1k + self.output_per_1k


@dataclass
class ModelAnswer:
    """One model's contribution to a turn: its text, or the error that stopped it."""

    model: str
    text: str = ""
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: float = 0.0
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    error: ChorusError | None = None
    grounding: GroundingReport | None = None
    agreement: float | None = None
    relevance: float | None = None
    role: str = "answer"

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def contradicted(self) -> bool:
        """Whether the sources contradict a sentence of this answer."""
        return bool(self.grounding and self.grounding.contradicted)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "text": self.text,
            "usage": usage_dict(self.usage),
            "cost": self.cost,
            "latencyMs": self.latency_ms,
            "grounding": self.grounding.score if self.grounding else None,
            "unsupported": self.grounding.unsupported if self.grounding else [],
            "contradicted": (
                [contradiction_dict(s) for s in self.grounding.contradicted]
                if self.grounding
                else []
            ),
            "agreement": self.agreement,
            "relevance": self.relevance,
        }
        if self.role != "answer":
            out["role"] = self.role
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out


@dataclass
class OrchestrationResult:
    """What a mode produced: the chosen answer and every model's part in it."""

    mode: str
    chosen: ModelAnswer
    answers: list[ModelAnswer]
    agreement: AgreementResult | None = None
    escalation: list[str] = field(default_factory=list)
    judge: ModelAnswer | None = None

    @property
    def answer(self) -> str:
        return self.chosen.text

    @property
    def model(self) -> str:
        return self.chosen.model

    @property
    def calls(self) -> list[ModelAnswer]:
        """Every model call of the turn, the judge's included (what the turn costs)."""
        return [*self.answers, *([self.judge] if self.judge else [])]

    @property
    def usage(self) -> TokenUsage:
        total = TokenUsage()
        for call in self.calls:
            total = total + call.usage
        return total

    @property
    def cost(self) -> float:
        return round(sum(c.cost for c in self.calls), 6)

    @property
    def partial(self) -> bool:
        return any(not a.ok for a in self.answers)


class AllModelsFailed(ProviderError):
    """No model produced an answer; ``answers`` keeps each one's error for the record."""

    def __init__(self, answers: Sequence[ModelAnswer], *, budget_spent: bool = False) -> None:
        failures = [a for a in answers if a.error is not None]
        codes = {a.error.code for a in failures if a.error}
        code = next((c for c in _ERROR_PRIORITY if c in codes), "provider_unavailable")
        detail = "; ".join(f"{a.model}: {a.error.code}" for a in failures if a.error)
        if budget_spent:
            code = "timeout"
            message = (
                f"the turn's time budget was spent before any model answered ({detail}); "
                "retry, ask a shorter question or choose faster models"
            )
        elif len(failures) == 1 and failures[0].error is not None:
            message = failures[0].error.message
        else:
            message = f"every model failed ({detail}); retry later or choose other models"
        super().__init__(message, code=code)
        self.answers = list(answers)


@dataclass
class FanOutResult:
    """What a remote fan-out returns: every model's answer (or error), in the order asked, and
    the agreement it scored over the answers that succeeded (None: the orchestrator scores)."""

    answers: list[ModelAnswer]
    agreement: AgreementResult | None = None


class FanOutUnavailable(ProviderError):
    """The remote fan-out could not run the turn at all (not one model's failure): the
    orchestrator asks the models in process instead."""

    code = "provider_unavailable"


@runtime_checkable
class ModelFanOut(Protocol):
    """Asks several models at once somewhere other than this process (a consensus turn).

    Answers come back complete: a remote fan-out streams no tokens. Raises
    ``FanOutUnavailable`` when the fan-out itself cannot run.
    """

    def ask_all(
        self,
        models: Sequence[str],
        question: str,
        context: AssembledContext,
        history: Sequence[ChatMessage],
        *,
        temperature: float | None,
        max_tokens: int | None,
    ) -> FanOutResult: ...


def usage_dict(usage: TokenUsage) -> dict[str, int]:
    return {"inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens}


class Orchestrator:
    """Runs a turn in one of the three modes over named answerers.

    Parameters
    ----------
    answerers:
        Models by name.
    prices:
        USD per 1k tokens by model name (missing: free); also the cascade order.
    grounding:
        Checks answers against the context; None skips the check (cascades then stop at the
        first model that answers).
    agreement:
        Scores agreement between answers (consensus; cascade's second opinion).
    relevance:
        Scores whether each answer addresses the question (consensus tie-break; ``final``).
    settings:
        Deadlines and thresholds.
    fanout:
        Where consensus turns ask their models (None: in this process). A judge model, when
        configured, still writes its synthesis here, streaming.
    clock:
        What deadlines are measured on (default: the system's monotonic clock).
    """

    def __init__(
        self,
        answerers: Mapping[str, Answerer],
        *,
        prices: Mapping[str, ModelPrice] | None = None,
        grounding: GroundingJudge | None = None,
        agreement: AgreementScorer | None = None,
        settings: OrchestrationSettings | None = None,
        fanout: ModelFanOut | None = None,
        clock: Clock | None = None,
        relevance: RelevanceScorer | None = None,
    ) -> None:
        self.answerers = dict(answerers)
        self.relevance = relevance
        self.prices = dict(prices or {})
        self.grounding = grounding
        self.agreement = agreement
        self.settings = settings or OrchestrationSettings()
        self.fanout = fanout
        self.clock: Clock = clock or SystemClock()

    def price(self, model: str) -> ModelPrice:
        return self.prices.get(model, ModelPrice())

    def cascade_order(self, models: Sequence[str]) -> list[str]:
        """Cheapest first; equal prices keep the caller's order."""
        return sorted(models, key=lambda m: self.price(m).rank)

    def run(
        self,
        mode: str,
        models: Sequence[str],
        question: str,
        context: AssembledContext,
        history: Sequence[ChatMessage] = (),
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        on_token: TokenSink | None = None,
        deadline: float | None = None,
    ) -> OrchestrationResult:
        """Answer ``question`` in ``mode``; raise ``AllModelsFailed`` when no model answers.

        ``deadline`` is when the turn's budget ends on ``clock`` (default: ``turn_budget_s``
        from now); no model call outlives it.
        """
        if not models:
            raise ValueError("at least one model is needed")
        unknown = [m for m in models if m not in self.answerers]
        if unknown:
            raise ValueError(f"unknown models {unknown}")
        if deadline is None:
            deadline = self.clock.now() + self.settings.turn_budget_s
        call = _CallSpec(
            question, context, tuple(history), temperature, max_tokens, on_token, deadline
        )
        if mode == "single":
            return self._single(models[0], call)
        if mode == "cascade":
            return self._cascade(self.cascade_order(models), call)
        if mode == "consensus":
            return self._consensus(list(models), call)
        raise ValueError(f"unknown mode {mode!r}")

    # -- modes ------------------------------------------------------------------------------

    def _single(self, model: str, call: _CallSpec) -> OrchestrationResult:
        answer = self._ask_all([model], call)[0]
        if not answer.ok:
            raise AllModelsFailed([answer], budget_spent=self.clock.now() >= call.deadline)
        self._ground([answer], call.context)
        self._score_relevance([answer], call.question)
        return OrchestrationResult("single", answer, [answer])

    def _cascade(self, order: list[str], call: _CallSpec) -> OrchestrationResult:
        attempts: list[ModelAnswer] = []
        previous: ModelAnswer | None = None
        for index, model in enumerate(order):
            if self.clock.now() >= call.deadline:
                break  # the turn's budget is spent: answer with what there is, or time out
            answer = self._ask_all([model], call)[0]
            attempts.append(answer)
            if not answer.ok:
                continue  # fall back to the next model
            self._ground([answer], call.context)
            self._score_relevance([answer], call.question)
            if previous is not None and self.agreement is not None:
                pair = self.agreement.score(call.question, [previous.text, answer.text])
                answer.agreement = pair.score
            if index == len(order) - 1 or self._good_enough(answer):
                path = order[: index + 1]
                return OrchestrationResult("cascade", answer, attempts, escalation=path)
            previous = answer
        answered = [a for a in attempts if a.ok]
        if not answered:
            raise AllModelsFailed(attempts, budget_spent=self.clock.now() >= call.deadline)
        # The strongest models failed after weaker ones answered: keep the best of those
        # (not contradicted, then best grounded, then most relevant).
        best = answered[_best(answered, None)]
        return OrchestrationResult("cascade", best, attempts, escalation=list(order))

    def _good_enough(self, answer: ModelAnswer) -> bool:
        """Stop the cascade here? Grounded enough, or agreeing with the previous model while
        not clearly ungrounded. Without a grounding judge the first answer is good enough."""
        if self.grounding is None:
            return True
        if answer.contradicted:
            return False  # the sources say otherwise: ask a stronger model
        grounding = answer.grounding.score if answer.grounding else None
        if grounding is None:
            return False
        if grounding >= self.settings.cascade_grounding:
            return True
        agreeing = (
            answer.agreement is not None and answer.agreement >= self.settings.cascade_agreement
        )
        return agreeing and grounding >= self.settings.cascade_agreement_floor

    def _consensus(self, models: list[str], call: _CallSpec) -> OrchestrationResult:
        answers, agreement = self._fan_out(models, call)
        answered = [a for a in answers if a.ok]
        if not answered:
            raise AllModelsFailed(answers, budget_spent=self.clock.now() >= call.deadline)
        self._score_relevance(answered, call.question)
        if agreement is None and len(answered) > 1 and self.agreement is not None:
            agreement = self.agreement.score(call.question, [a.text for a in answered])
        if agreement is not None:
            for answer, mean in zip(answered, agreement.per_answer, strict=True):
                answer.agreement = mean
        chosen = answered[_best(answered, agreement)]
        judge = None
        judge_model = self.settings.judge_model
        time_left = self.clock.now() < call.deadline
        if judge_model and len(answered) > 1 and judge_model in self.answerers and time_left:
            judge = self._synthesise(judge_model, answered, call)
            if judge.ok:
                self._ground([judge], call.context)
                self._score_relevance([judge], call.question)
                if not judge.contradicted or chosen.contradicted:
                    chosen = (
                        judge  # a synthesis the sources contradict never replaces one they do not
                    )
        return OrchestrationResult("consensus", chosen, answers, agreement, judge=judge)

    def _fan_out(
        self, models: list[str], call: _CallSpec
    ) -> tuple[list[ModelAnswer], AgreementResult | None]:
        """Every model's answer, grounded; and the remote fan-out's agreement when it scored
        one over exactly the answers that succeeded."""
        if self.fanout is not None:
            try:
                result = self.fanout.ask_all(
                    models,
                    call.question,
                    call.context,
                    call.history,
                    temperature=call.temperature,
                    max_tokens=call.max_tokens,
                )
            except FanOutUnavailable as exc:
                log.warning("remote fan-out unavailable, asking in process: %s", exc.message)
            else:
                answered = [a for a in result.answers if a.ok]
                self._ground(answered, call.context)
                agreement = result.agreement
                if agreement is not None and len(agreement.per_answer) != len(answered):
                    agreement = None
                return result.answers, agreement
        answers = self._ask_all(models, call, lambda a: self._ground([a], call.context))
        return answers, None

    def _synthesise(
        self, judge_model: str, answered: Sequence[ModelAnswer], call: _CallSpec
    ) -> ModelAnswer:
        candidates = "\n\n".join(f"Answer {i}: {a.text}" for i, a in enumerate(answered, 1))
        question = f"{call.question}\n\n{JUDGE_INSTRUCTIONS}\n\n{candidates}"
        judge_call = _CallSpec(
            question,
            call.context,
            (),
            call.temperature,
            call.max_tokens,
            call.on_token,
            call.deadline,
        )
        judge = self._ask_all([judge_model], judge_call)[0]
        judge.role = "judge"
        return judge

    def _score_relevance(self, answers: Sequence[ModelAnswer], question: str) -> None:
        if self.relevance is None or not answers:
            return
        for answer, value in zip(
            answers, self.relevance.score(question, [a.text for a in answers]), strict=True
        ):
            answer.relevance = value

    def _ground(self, answers: Sequence[ModelAnswer], context: AssembledContext) -> None:
        if self.grounding is None or not answers:
            return
        reports = self.grounding.check([a.text for a in answers], context)
        for answer, report in zip(answers, reports, strict=True):
            answer.grounding = report

    # -- one call per model, each in its own thread under a deadline -------------------------

    def _ask_all(
        self,
        models: Sequence[str],
        call: _CallSpec,
        on_answer: Callable[[ModelAnswer], None] | None = None,
    ) -> list[ModelAnswer]:
        """Ask every model at once; ``on_answer`` sees each answer as soon as it is complete
        (consensus grounds early answers while slower models still run)."""
        now = self.clock.now()
        timeout_s = min(self.settings.model_timeout_s, max(0.0, call.deadline - now))
        deadline = now + timeout_s
        finished: queue.Queue[_ModelRun] = queue.Queue()
        runs = [_ModelRun(m, self.answerers[m], self.price(m), call, finished) for m in models]
        for run in runs:
            run.start()
        answers: dict[int, ModelAnswer] = {}
        while len(answers) < len(runs):
            running = len(runs) - len(answers)
            try:
                run = self.clock.next_finished(finished, deadline - self.clock.now(), running)
            except queue.Empty:
                break
            answer = run.finish(timeout_s)
            answers[id(run)] = answer
            if on_answer is not None and answer.ok:
                on_answer(answer)
        for run in runs:
            if id(run) not in answers:
                answers[id(run)] = run.finish(timeout_s)
        return [answers[id(run)] for run in runs]


def _best(answers: Sequence[ModelAnswer], agreement: AgreementResult | None) -> int:
    """Index of the answer to show: never one the sources contradict while another is not;
    then (three answers or more) the most confident — closest to the others, scaled by its
    grounding (``answer_confidence``); then the best grounded; then
    the most relevant. With two answers agreement is symmetric and decides nothing, so model
    order never does: only identical scores fall back to the first."""
    means = agreement.per_answer if agreement is not None else [None] * len(answers)
    use_agreement = len(answers) > 2

    def key(i: int) -> tuple[bool, float, float, float]:
        answer = answers[i]
        grounding = answer.grounding.score if answer.grounding else None
        mean = means[i] if use_agreement and i < len(means) else None
        return (
            not answer.contradicted,
            round(answer_confidence(mean, grounding), 3) if mean is not None else 0.0,
            grounding if grounding is not None else 0.0,
            answer.relevance if answer.relevance is not None else 0.0,
        )

    return max(range(len(answers)), key=key)


@dataclass(frozen=True)
class _CallSpec:
    question: str
    context: AssembledContext
    history: tuple[ChatMessage, ...]
    temperature: float | None
    max_tokens: int | None
    on_token: TokenSink | None
    deadline: float = float("inf")


class _Cancelled(Exception):
    """Raised inside a worker whose deadline passed, to stop consuming its stream."""


class _ModelRun:
    """One model call on a daemon thread; ``finish`` closes it so late tokens are dropped."""

    def __init__(
        self,
        model: str,
        answerer: Answerer,
        price: ModelPrice,
        call: _CallSpec,
        finished: queue.Queue[_ModelRun],
    ) -> None:
        self.model = model
        self._finished_queue = finished
        self.answerer = answerer
        self.price = price
        self.call = call
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._pieces: list[str] = []
        self._usage = TokenUsage()
        self._error: ChorusError | None = None
        self._first_token_ms: float | None = None
        self._started = 0.0
        self._finished = 0.0
        self._thread = threading.Thread(target=self._work, name=f"model-{model}", daemon=True)

    def start(self) -> None:
        self._started = time.perf_counter()
        self._thread.start()

    def _emit(self, text: str) -> None:
        with self._lock:
            if self._closed:
                raise _Cancelled
            if self._first_token_ms is None:
                self._first_token_ms = _ms(self._started)
            self._pieces.append(text)
            if self.call.on_token is not None:
                self.call.on_token(self.model, text)

    def _work(self) -> None:
        stream = None
        try:
            stream = self.answerer.answer(
                self.call.question,
                self.call.context,
                self.call.history,
                temperature=self.call.temperature,
                max_tokens=self.call.max_tokens,
            )
            for delta in stream:
                if not isinstance(delta, LLMDelta) or not isinstance(delta.text, str):
                    raise ProviderError(
                        f"model {self.model!r} streamed something that is not text; "
                        "choose another model or check its adapter"
                    )
                if delta.text:
                    self._emit(delta.text)
                if delta.usage is not None:
                    self._usage = delta.usage
        except _Cancelled:
            pass
        except ChorusError as exc:
            self._error = exc
        except Exception as exc:  # a provider bug must not take the turn down with it
            self._error = ProviderError(
                f"model {self.model!r} failed unexpectedly ({type(exc).__name__}); "
                "retry or choose another model"
            )
        finally:
            close = getattr(stream, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
            self._finished = time.perf_counter()
            self.done.set()
            self._finished_queue.put(self)

    def finish(self, timeout_s: float) -> ModelAnswer:
        with self._lock:
            self._closed = True
            finished = self.done.is_set()
            text = "".join(self._pieces).strip()
        ended = self._finished if finished else time.perf_counter()
        latency = round((ended - self._started) * 1000, 2)
        answer = ModelAnswer(
            self.model,
            latency_ms=latency,
            first_token_ms=self._first_token_ms,
            usage=self._usage if finished else TokenUsage(),
        )
        answer.cost = self.price.cost(answer.usage)
        if not finished:
            answer.error = ProviderTimeout(
                f"model {self.model!r} did not finish within {timeout_s:g} s; "
                "retry, ask a shorter question or lower maxTokens"
            )
        elif self._error is not None:
            answer.error = self._error
        elif not text:
            answer.error = ProviderError(
                f"model {self.model!r} returned an empty answer; retry or choose another model"
            )
        else:
            answer.text = text
        return answer


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
