"""Resilience around LLM providers: deadlines, retries, circuit breakers, rate limits, fallback.

Providers fail in a handful of ways (throttling, 5xx, timeouts, streams that stall or break off,
garbage), and a chat must still end within its deadline with a stable error code. Two wrappers,
both ``LLMProvider``s themselves, so the modes never care whether they talk to a bare adapter:

- ``ResilientProvider(provider, ...)`` adds, per call: a total deadline (a stalled stream is cut
  off at the deadline, never waited on), retries with full-jitter exponential backoff (tenacity)
  on throttling and transient provider faults only, and only before the first token; a circuit
  breaker (pybreaker) that makes calls fail fast after repeated faults and lets one trial through
  after ``reset_after`` seconds; and a token bucket that paces requests to the model's rate limit.
- ``FallbackChain([...])`` tries each provider in turn until one starts streaming; the stream it
  returns says which provider answered (``answered_by``) and why the others did not
  (``failures``).

Every failure is a ``ChorusError`` with a stable code (``throttled``, ``timeout``,
``provider_unavailable``, ``context_too_long`` ...); an unexpected exception inside a provider is
wrapped as ``provider_unavailable``, never passed on raw.

Example
-------
    haiku = ResilientProvider(bedrock_haiku, deadline=20, rate_limit=TokenBucket(rate=2, burst=4))
    chain = FallbackChain([haiku, ResilientProvider(local_model, deadline=60)])
    stream = chain.stream_chat(messages, max_tokens=400)
    text = "".join(delta.text for delta in stream)
    print(stream.answered_by)
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pybreaker
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from .clock import Clock, SystemClock
from .errors import ChorusError, ContextTooLong, ProviderError, ProviderTimeout, Throttled
from .metrics import NO_METRICS, OperationsMetrics
from .models import ChatMessage, LLMDelta
from .ports import LLMProvider

logger = logging.getLogger(__name__)


class CircuitOpen(ProviderError):
    """The provider failed too often in a row; calls fail fast until the breaker's reset time."""

    code = "provider_unavailable"
    retryable = False


class RateLimited(Throttled):
    """chorus' own rate limit for the model had no free slot before the call's deadline."""

    code = "throttled"
    retryable = False


def is_retryable(error: BaseException) -> bool:
    """Whether trying the same request again may succeed: throttling and transient faults.

    A timeout is not retried (it has used the deadline), nor is a prompt that is too long, a
    request the provider rejected (``retryable = False`` on the error), or a bad request.
    """
    if not isinstance(error, ProviderError) or isinstance(error, ContextTooLong | ProviderTimeout):
        return False
    return bool(getattr(error, "retryable", True))


def is_fault(error: BaseException) -> bool:
    """Whether an error says the provider itself is unwell (what opens a circuit breaker).

    Timeouts, throttling and transient faults are; a too-long prompt, a rejected request, or the
    caller abandoning a stream are not.
    """
    return isinstance(error, ProviderTimeout) or is_retryable(error)


def as_chorus_error(error: BaseException, name: str) -> ChorusError:
    """``error`` if it is a ``ChorusError``, else a ``ProviderError`` that wraps it."""
    if isinstance(error, ChorusError):
        return error
    wrapped = ProviderError(f"{name} failed unexpectedly ({type(error).__name__}: {error})")
    wrapped.__cause__ = error
    return wrapped


# -- policies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry before the first token.

    The n-th wait is uniform in ``[0, min(max_backoff, initial_backoff * 2**(n-1))]`` ("full
    jitter"), and a retry never starts if its wait would end past the call's deadline.
    """

    attempts: int = 3
    initial_backoff: float = 0.25
    max_backoff: float = 4.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1 (the first try)")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff times cannot be negative")


@dataclass(frozen=True)
class BreakerPolicy:
    """Open the circuit after ``failures`` faults in a row; let a trial call through after
    ``reset_after`` seconds (success closes it, failure opens it again)."""

    failures: int = 5
    reset_after: float = 30.0

    def __post_init__(self) -> None:
        if self.failures < 1:
            raise ValueError("failures must be at least 1")
        if self.reset_after <= 0:
            raise ValueError("reset_after must be positive")

    def breaker(self, name: str) -> pybreaker.CircuitBreaker:
        return pybreaker.CircuitBreaker(
            fail_max=self.failures,
            reset_timeout=self.reset_after,
            exclude=[lambda error: not is_fault(error)],
            name=name,
            throw_new_error_on_trip=False,
        )


DEFAULT_RETRY = RetryPolicy()
DEFAULT_BREAKER = BreakerPolicy()


class TokenBucket:
    """A token bucket: ``burst`` calls at once, then ``rate`` calls a second.

    ``acquire`` reserves a slot and sleeps until it comes, or returns ``False`` at once (taking
    nothing) when the slot would come later than ``timeout``. Thread-safe; waiting callers are
    served in the order they reserved.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (requests per second)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self, timeout: float | None = None) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if timeout is not None and wait > timeout:
                return False
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return True


# -- reading a stream against a deadline ------------------------------------------------------

_END = object()
_SYSTEM_CLOCK = SystemClock()


class _StreamPump:
    """Reads a provider's stream on a daemon thread, so the reader can stop at a deadline.

    A provider blocked in a network read cannot be interrupted; the pump lets the caller walk
    away, and closes the provider's stream as soon as it yields again.
    """

    def __init__(self, open_stream: Callable[[], Iterator[LLMDelta]], name: str) -> None:
        self._items: queue.Queue[Any] = queue.Queue()
        self._cancelled = threading.Event()
        self.name = name
        thread = threading.Thread(
            target=self._run, args=(open_stream,), name=f"chorus-llm-{name}", daemon=True
        )
        thread.start()

    def _run(self, open_stream: Callable[[], Iterator[LLMDelta]]) -> None:
        stream: Any = None
        try:
            stream = open_stream()
            for delta in stream:
                if self._cancelled.is_set():
                    return
                self._items.put(delta)
            self._items.put(_END)
        except Exception as error:  # handed to the reader, who raises it as a ChorusError
            self._items.put(error)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # a stream that fails to close has nothing left to tell
                    logger.debug("closing the stream of %s failed", self.name, exc_info=True)

    def next(
        self, deadline_at: float | None, budget: float | None, clock: Clock
    ) -> LLMDelta | None:
        """The next delta, ``None`` at the end; raises the provider's error or a timeout.

        ``deadline_at`` is a time on ``clock``, which also does the waiting (so a simulated
        clock can end a wait on a stuck provider without real time passing).
        """
        try:
            if deadline_at is None:
                item = self._items.get()
            else:
                remaining = min(deadline_at - clock.now(), threading.TIMEOUT_MAX)
                item = clock.next_finished(self._items, remaining, 1)
        except queue.Empty:
            self.cancel()
            raise ProviderTimeout(
                f"{self.name} did not finish within the {budget:g} s deadline; try a shorter "
                "answer (max_tokens) or a faster model"
            ) from None
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise as_chorus_error(item, self.name)
        return item

    def cancel(self) -> None:
        self._cancelled.set()


# -- one provider, made resilient -------------------------------------------------------------


class ResilientProvider:
    """An ``LLMProvider`` that adds a deadline, retries, a circuit breaker and a rate limit.

    Parameters
    ----------
    provider:
        The provider to protect (its ``name`` is kept).
    deadline:
        Seconds a whole call may take, from the first ``next()`` to the last delta: waiting for
        a rate-limit slot, retries, backoff and the stream itself. ``stream_chat(deadline=...)``
        can shorten it for one call (a mode passing on what is left of a chat's budget).
    retry:
        ``RetryPolicy`` for failures before the first delta; ``RetryPolicy(attempts=1)`` turns
        retries off. Once a delta has been yielded nothing is retried (it would repeat text).
    breaker:
        ``BreakerPolicy``, an existing ``pybreaker.CircuitBreaker`` (to share one between
        wrappers of the same provider), or ``None`` for no breaker.
    rate_limit:
        A ``TokenBucket`` for the model, or ``None``.
    name:
        The name to report (defaults to the provider's).
    sleep:
        How backoff waits pass (tests pass a recorder, or a simulated clock's ``advance``).
    clock:
        What the deadline is measured on and waited with (default: the system's monotonic
        clock; tests pass a simulated one, so a deadline is proven without real waiting).
    metrics:
        Where retries, throttles and breaker openings are counted (default: nowhere).
    """

    def __init__(
        self,
        provider: LLMProvider,
        *,
        deadline: float = 60.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        breaker: BreakerPolicy | pybreaker.CircuitBreaker | None = DEFAULT_BREAKER,
        rate_limit: TokenBucket | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock | None = None,
        metrics: OperationsMetrics | None = None,
    ) -> None:
        if deadline <= 0:
            raise ValueError("deadline must be positive (seconds)")
        self.provider = provider
        self.name = name or provider.name
        self.deadline = float(deadline)
        self.retry = retry
        self.breaker: pybreaker.CircuitBreaker | None = (
            breaker.breaker(self.name) if isinstance(breaker, BreakerPolicy) else breaker
        )
        self.rate_limit = rate_limit
        self.metrics = metrics or NO_METRICS
        if self.breaker is not None and metrics is not None:
            _count_openings(self.breaker, self.name, metrics)
        self._sleep = sleep
        self.clock: Clock = clock or SystemClock()

    @property
    def breaker_state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (``closed`` without a breaker)."""
        return "closed" if self.breaker is None else str(self.breaker.current_state)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
        deadline: float | None = None,
    ) -> Iterator[LLMDelta]:
        budget = self.deadline if deadline is None else min(self.deadline, float(deadline))
        deadline_at = self.clock.now() + budget
        if budget <= 0:
            raise ProviderTimeout(f"no time was left to ask {self.name}")
        with self.metrics.span("model_call", {"model": self.name}):
            stream, first = self._first_delta(
                messages, temperature, max_tokens, deadline_at, budget
            )
            if first is None:
                return
            yield first
            yield from stream

    def _first_delta(
        self,
        messages: Sequence[ChatMessage],
        temperature: float,
        max_tokens: int,
        deadline_at: float,
        budget: float,
    ) -> tuple[Iterator[LLMDelta], LLMDelta | None]:
        def no_time_for_the_wait(state: RetryCallState) -> bool:
            return self.clock.now() + (state.upcoming_sleep or 0.0) >= deadline_at

        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            stop=stop_after_attempt(self.retry.attempts) | no_time_for_the_wait,
            wait=wait_random_exponential(
                multiplier=self.retry.initial_backoff, max=self.retry.max_backoff
            ),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        stream: Iterator[LLMDelta] = iter(())
        first: LLMDelta | None = None
        for attempt in retrying:
            with attempt:
                stream = self._attempt(messages, temperature, max_tokens, deadline_at, budget)
                first = next(stream, None)
        return stream, first

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        self.metrics.model_retry(self.name, str(getattr(error, "code", type(error).__name__)))
        logger.warning(
            "%s failed (%s); retry %d in %.2f s",
            self.name,
            getattr(error, "code", type(error).__name__),
            state.attempt_number,
            state.upcoming_sleep or 0.0,
        )

    def _attempt(
        self,
        messages: Sequence[ChatMessage],
        temperature: float,
        max_tokens: int,
        deadline_at: float,
        budget: float,
    ) -> Iterator[LLMDelta]:
        if self.rate_limit is not None:
            remaining = deadline_at - self.clock.now()
            if not self.rate_limit.acquire(timeout=max(remaining, 0.0)):
                raise RateLimited(
                    f"{self.name} is limited to {self.rate_limit.rate:g} requests/s (burst "
                    f"{self.rate_limit.burst}) and no slot frees up within the {budget:g} s "
                    "deadline; try again shortly"
                )
        if self.breaker is None:
            return self._pumped(messages, temperature, max_tokens, deadline_at, budget)
        try:
            return self.breaker.call(
                self._pumped, messages, temperature, max_tokens, deadline_at, budget
            )
        except pybreaker.CircuitBreakerError:
            raise CircuitOpen(
                f"{self.name} failed {self.breaker.fail_max} times in a row; chorus stops calling "
                f"it for {self.breaker.reset_timeout:g} s. Another model can answer meanwhile."
            ) from None

    def _pumped(
        self,
        messages: Sequence[ChatMessage],
        temperature: float,
        max_tokens: int,
        deadline_at: float,
        budget: float,
    ) -> Iterator[LLMDelta]:
        pump = _StreamPump(
            lambda: self.provider.stream_chat(
                messages, temperature=temperature, max_tokens=max_tokens
            ),
            self.name,
        )
        try:
            while (delta := pump.next(deadline_at, budget, self.clock)) is not None:
                yield delta
        finally:
            pump.cancel()


class _BreakerOpenings(pybreaker.CircuitBreakerListener):
    """Counts a breaker's transitions to ``open`` as ``ModelBreakerOpens``."""

    def __init__(self, name: str, metrics: OperationsMetrics) -> None:
        self.name = name
        self.metrics = metrics

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state, new_state) -> None:
        if new_state is not None and new_state.name == pybreaker.STATE_OPEN:
            self.metrics.breaker_opened(self.name)


def _count_openings(
    breaker: pybreaker.CircuitBreaker, name: str, metrics: OperationsMetrics
) -> None:
    """Listen to ``breaker`` once, however many wrappers share it."""
    if not any(isinstance(listener, _BreakerOpenings) for listener in breaker.listeners):
        breaker.add_listener(_BreakerOpenings(name, metrics))


# -- several providers, one answer ------------------------------------------------------------


class FallbackStream(Iterator[LLMDelta]):
    """The deltas of the first provider of a chain that could start answering.

    ``answered_by`` names that provider once the first delta has arrived; ``failures`` lists
    ``(provider name, error)`` for those tried before it.
    """

    def __init__(self, run: Callable[[FallbackStream], Iterator[LLMDelta]]) -> None:
        self.answered_by: str | None = None
        self.failures: list[tuple[str, ChorusError]] = []
        self._deltas = run(self)

    def __iter__(self) -> FallbackStream:
        return self

    def __next__(self) -> LLMDelta:
        return next(self._deltas)

    def close(self) -> None:
        self._deltas.close()  # type: ignore[attr-defined]


class FallbackChain:
    """An ``LLMProvider`` that asks each provider in turn until one starts streaming.

    A provider that fails before its first delta (any ``ChorusError``: throttled, timeout, open
    circuit, even a prompt too long for it) hands over to the next; once a provider has streamed
    a delta its stream is the answer, failures included. When none can answer, the error has the
    code of the last failure (``timeout`` when the deadline ran out first) and a message listing
    every provider's failure; it also carries them as ``failures``.

    Parameters
    ----------
    providers:
        In order of preference; ``ResilientProvider`` members get what is left of the deadline.
    deadline:
        Seconds for the whole chain, or ``None`` to rely on each member's own deadline.
    """

    def __init__(
        self,
        providers: Sequence[LLMProvider],
        *,
        name: str | None = None,
        deadline: float | None = None,
    ) -> None:
        if not providers:
            raise ValueError("a fallback chain needs at least one provider")
        if deadline is not None and deadline <= 0:
            raise ValueError("deadline must be positive (seconds)")
        self.providers = list(providers)
        self.name = name or " > ".join(p.name for p in self.providers)
        self.deadline = deadline

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
        deadline: float | None = None,
    ) -> FallbackStream:
        budget = self.deadline if deadline is None else float(deadline)
        return FallbackStream(
            lambda stream: self._run(stream, messages, temperature, max_tokens, budget)
        )

    def _run(
        self,
        out: FallbackStream,
        messages: Sequence[ChatMessage],
        temperature: float,
        max_tokens: int,
        budget: float | None,
    ) -> Iterator[LLMDelta]:
        deadline_at = None if budget is None else _SYSTEM_CLOCK.now() + budget
        for provider in self.providers:
            remaining = math.inf if deadline_at is None else deadline_at - _SYSTEM_CLOCK.now()
            if remaining <= 0:
                raise self._none_answered(out, timed_out=True, budget=budget)
            pump = _StreamPump(
                _opener(provider, messages, temperature, max_tokens, remaining), provider.name
            )
            try:
                first = pump.next(deadline_at, budget, _SYSTEM_CLOCK)
            except ChorusError as error:
                pump.cancel()
                out.failures.append((provider.name, error))
                logger.warning(
                    "%s could not answer (%s); trying the next model", provider.name, error.code
                )
                continue
            out.answered_by = provider.name
            try:
                while first is not None:
                    yield first
                    first = pump.next(deadline_at, budget, _SYSTEM_CLOCK)
            finally:
                pump.cancel()
            return
        raise self._none_answered(out, timed_out=False, budget=budget)

    def _none_answered(
        self, out: FallbackStream, *, timed_out: bool, budget: float | None
    ) -> ProviderError:
        tried = {name for name, _ in out.failures}
        reasons = [f"{name}: {error.code} ({error.message})" for name, error in out.failures]
        reasons += [f"{p.name}: not tried" for p in self.providers if p.name not in tried]
        summary = "; ".join(reasons)
        if timed_out or not out.failures:
            error: ProviderError = ProviderTimeout(
                f"no model answered within the {budget:g} s deadline — {summary}"
            )
        else:
            last = out.failures[-1][1]
            kind = type(last) if isinstance(last, ProviderError) else ProviderError
            error = kind(f"no model could answer — {summary}", code=last.code)
        error.failures = list(out.failures)  # type: ignore[attr-defined]
        return error


def _opener(
    provider: LLMProvider,
    messages: Sequence[ChatMessage],
    temperature: float,
    max_tokens: int,
    remaining: float,
) -> Callable[[], Iterator[LLMDelta]]:
    def open_stream() -> Iterator[LLMDelta]:
        if isinstance(provider, ResilientProvider | FallbackChain) and math.isfinite(remaining):
            return provider.stream_chat(
                messages, temperature=temperature, max_tokens=max_tokens, deadline=remaining
            )
        return provider.stream_chat(messages, temperature=temperature, max_tokens=max_tokens)

    return open_stream
