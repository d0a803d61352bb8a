"""runtime/core/resilience.py: deadlines, retries, circuit breakers, rate limits and fallback.

Two kinds of providers get hurt here: small in-test ``LLMProvider``s with scripted behaviour, and
the real ``OpenAICompatibleProvider`` against the local OpenAI-compatible server's failure modes
(429, 500, slow, stall, garbage). No test measures how long anything took: a deadline is proven by
the provider still hanging when the timeout comes back (and, on a ``SimulatedClock``, by the time
the clock moved); backoff and pacing by the waits they asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from chorus.runtime.adapters.openai_compatible import OpenAICompatibleProvider
from chorus.runtime.core.errors import (
    ContextTooLong,
    ProviderError,
    ProviderTimeout,
    Throttled,
)
from chorus.runtime.core.models import ChatMessage, LLMDelta, TokenUsage
from chorus.runtime.core.ports import LLMProvider
from chorus.runtime.core.resilience import (
    BreakerPolicy,
    CircuitOpen,
    FallbackChain,
    RateLimited,
    ResilientProvider,
    RetryPolicy,
    TokenBucket,
    is_fault,
    is_retryable,
)
from support import openai_server
from support.clock import SimulatedClock

MESSAGES = [ChatMessage("user", "What is the capital of France?")]
ANSWER = ["Paris", " is", " the", " capital."]
USAGE = TokenUsage(7, 4)
NO_RETRY = RetryPolicy(attempts=1)
FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)
HANG_S = 30.0
"""How long a scripted provider waits to be let go: far past every deadline here, so a deadline
that did not work shows up as a wrong outcome (an answer, not a timeout) rather than a hung test."""


def rejected(message: str = "the model id is invalid") -> ProviderError:
    error = ProviderError(message)
    error.retryable = False
    return error


class Scripted:
    """An LLMProvider whose calls follow a script: one step per call, the last one repeats.

    A step is a ``ChorusError``/exception to raise before any token, ``"ok"`` to stream
    ``ANSWER``, ``"hang"`` to wait before any token until let go, ``"stall"`` to wait so after
    the first token, ``"paced"`` to wait for one ``step()`` before each token after the first, or
    ``("break", error)`` to raise after the first token. A wait not ended by the test ends after
    ``HANG_S`` and the answer then streams on. ``finished`` counts streams that reached their
    end: a call that timed out while it is 0 was ended by its deadline, not by the provider.

    With a ``SimulatedClock``, a hanging provider parks on it: to the clock the call is stuck,
    so its time jumps to the deadline at once.
    """

    def __init__(self, name: str, *steps: object, clock: SimulatedClock | None = None) -> None:
        self.name = name
        self.steps = list(steps) or ["ok"]
        self.clock = clock
        self.calls = 0
        self.finished = 0
        self.released = threading.Event()
        self._paced = threading.Semaphore(0)
        self._lock = threading.Lock()

    def step(self) -> None:
        """Let a ``"paced"`` stream send its next token."""
        self._paced.release()

    def let_go(self) -> None:
        """End every wait, now and later."""
        self.released.set()
        self._paced.release(max(self.calls, 1))  # one for each stream that may be waiting

    def _hang(self) -> None:
        if self.clock is not None:
            self.clock.park(self.released, timeout=HANG_S)
        else:
            self.released.wait(HANG_S)

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        with self._lock:
            step = self.steps[min(self.calls, len(self.steps) - 1)]
            self.calls += 1
        if isinstance(step, BaseException):
            raise step
        kind, arg = step if isinstance(step, tuple) else (step, None)
        if kind == "hang":
            self._hang()
        for i, piece in enumerate(ANSWER):
            if i > 0 and kind == "paced" and not self.released.is_set():
                self._paced.acquire(timeout=HANG_S)
            yield LLMDelta(text=piece)
            if i == 0 and kind == "stall":
                self._hang()
            if i == 0 and kind == "break":
                raise arg
        yield LLMDelta(usage=USAGE)
        with self._lock:
            self.finished += 1


def text(stream: Iterator[LLMDelta]) -> str:
    return "".join(d.text for d in stream)


def resilient(provider: LLMProvider, **kwargs: object) -> ResilientProvider:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("deadline", 5.0)
    return ResilientProvider(provider, **kwargs)


# -- error classification ---------------------------------------------------------------------


def test_throttling_and_transient_faults_are_retryable_and_nothing_else_is():
    assert is_retryable(Throttled("slow down"))
    assert is_retryable(ProviderError("HTTP 500"))
    assert not is_retryable(ContextTooLong("too long"))
    assert not is_retryable(ProviderTimeout("late"))
    assert not is_retryable(rejected())
    assert not is_retryable(ValueError("a bug"))


def test_timeouts_count_as_faults_but_a_too_long_prompt_does_not():
    assert is_fault(ProviderTimeout("late"))
    assert is_fault(Throttled("slow down"))
    assert not is_fault(ContextTooLong("too long"))
    assert not is_fault(rejected())
    assert not is_fault(GeneratorExit())


# -- pass-through -----------------------------------------------------------------------------


def test_the_wrappers_satisfy_the_llm_provider_port():
    provider = Scripted("a")
    assert isinstance(resilient(provider), LLMProvider)
    assert isinstance(FallbackChain([provider]), LLMProvider)
    assert resilient(provider).name == "a"


def test_a_healthy_provider_streams_through_unchanged():
    deltas = list(resilient(Scripted("a")).stream_chat(MESSAGES))

    assert [d.text for d in deltas[:-1]] == ANSWER
    assert deltas[-1] == LLMDelta(usage=USAGE)


def test_deltas_are_passed_on_as_they_arrive_not_at_the_end():
    provider = Scripted("a", "stall")
    stream = resilient(provider, deadline=120.0).stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    assert provider.finished == 0  # the rest of the answer is still held back

    provider.let_go()
    assert text(stream) == "".join(ANSWER[1:])
    assert provider.finished == 1


# -- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [Throttled("429"), ProviderError("HTTP 503")])
def test_throttling_and_5xx_are_retried_until_an_attempt_succeeds(error):
    provider = Scripted("a", error, error, "ok")

    assert text(resilient(provider).stream_chat(MESSAGES)) == "".join(ANSWER)
    assert provider.calls == 3


def test_backoff_waits_use_full_jitter_in_a_doubling_window():
    provider = Scripted("a", Throttled("429"))
    waits: list[float] = []
    policy = RetryPolicy(attempts=6, initial_backoff=0.5, max_backoff=3.0)

    with pytest.raises(Throttled):
        wrapped = resilient(provider, retry=policy, breaker=None, sleep=waits.append)
        list(wrapped.stream_chat(MESSAGES))

    assert provider.calls == 6
    windows = [0.5, 1.0, 2.0, 3.0, 3.0]
    assert len(waits) == len(windows)
    assert all(0 <= wait <= window for wait, window in zip(waits, windows, strict=True))


def test_after_the_last_attempt_the_last_error_is_raised_with_its_code():
    provider = Scripted("a", Throttled("rate limit reached"))

    with pytest.raises(Throttled) as caught:
        list(resilient(provider).stream_chat(MESSAGES))

    assert caught.value.code == "throttled"
    assert provider.calls == FAST_RETRY.attempts


@pytest.mark.parametrize(
    "error",
    [ContextTooLong("too long"), rejected(), ProviderTimeout("late")],
    ids=["context_too_long", "rejected", "timeout"],
)
def test_errors_that_would_repeat_are_not_retried(error):
    provider = Scripted("a", error, "ok")

    with pytest.raises(type(error)):
        list(resilient(provider).stream_chat(MESSAGES))

    assert provider.calls == 1


def test_a_retry_never_waits_past_the_deadline():
    clock = SimulatedClock()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    provider = Scripted("a", Throttled("429"))
    patient = RetryPolicy(attempts=10, initial_backoff=30.0, max_backoff=30.0)
    wrapped = resilient(provider, retry=patient, deadline=0.5, clock=clock, sleep=wait)

    with pytest.raises(Throttled):
        list(wrapped.stream_chat(MESSAGES))

    assert sum(waits) < 0.5  # backoffs of up to 30 s: only those ending in time were waited
    assert provider.calls == len(waits) + 1


def test_a_stream_that_already_yielded_tokens_is_not_retried():
    provider = Scripted("a", ("break", ProviderError("connection reset")), "ok")
    stream = resilient(provider).stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    with pytest.raises(ProviderError, match="connection reset"):
        next(stream)
    assert provider.calls == 1


def test_an_unexpected_exception_becomes_provider_unavailable():
    provider = Scripted("a", KeyError("choices"))

    with pytest.raises(ProviderError) as caught:
        list(resilient(provider, retry=NO_RETRY).stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"
    assert "KeyError" in caught.value.message
    assert isinstance(caught.value.__cause__, KeyError)


# -- deadlines --------------------------------------------------------------------------------


def test_a_provider_slower_than_the_deadline_times_out_at_the_deadline():
    clock = SimulatedClock()
    provider = Scripted("a", "hang", clock=clock)
    started = clock.now()

    with pytest.raises(ProviderTimeout) as caught:
        list(resilient(provider, deadline=0.4, clock=clock).stream_chat(MESSAGES))

    assert caught.value.code == "timeout"
    assert clock.now() - started == pytest.approx(0.4)  # the whole deadline, no less
    assert provider.finished == 0  # the provider still hangs: the deadline ended the call
    provider.let_go()


def test_a_stream_that_stalls_after_its_first_token_times_out_at_the_deadline():
    clock = SimulatedClock()
    provider = Scripted("a", "stall", clock=clock)
    stream = resilient(provider, deadline=0.5, clock=clock).stream_chat(MESSAGES)
    started = clock.now()

    assert next(stream).text == "Paris"
    with pytest.raises(ProviderTimeout):
        next(stream)

    assert clock.now() - started == pytest.approx(0.5)
    assert provider.finished == 0
    provider.let_go()


def test_the_deadline_covers_the_whole_stream_not_each_token():
    clock = SimulatedClock()
    provider = Scripted("a", "paced")
    stream = resilient(provider, deadline=0.5, clock=clock).stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    clock.advance(0.3)
    provider.step()
    assert next(stream).text == " is"  # 0.3 s in: within the deadline
    clock.advance(0.3)  # 0.6 s in, yet only 0.3 s after the last token

    with pytest.raises(ProviderTimeout):
        next(stream)  # a per-token deadline would wait for the next token instead
    assert provider.finished == 0
    provider.let_go()


def test_a_call_can_pass_a_shorter_deadline_than_the_default():
    clock = SimulatedClock()
    provider = Scripted("a", "hang", clock=clock)
    started = clock.now()

    with pytest.raises(ProviderTimeout):
        list(resilient(provider, deadline=30.0, clock=clock).stream_chat(MESSAGES, deadline=0.3))

    assert clock.now() - started == pytest.approx(0.3)
    assert provider.finished == 0
    provider.let_go()


# -- circuit breaker --------------------------------------------------------------------------


def test_the_breaker_opens_after_n_faults_and_then_refuses_without_calling_or_waiting():
    provider = Scripted("a", ProviderError("HTTP 500"))
    waits: list[float] = []
    wrapped = resilient(
        provider, retry=FAST_RETRY, breaker=BreakerPolicy(failures=3), sleep=waits.append
    )

    with pytest.raises(ProviderError):
        list(wrapped.stream_chat(MESSAGES))  # three attempts, two backoffs: the breaker opens
    waited = len(waits)
    with pytest.raises(CircuitOpen) as caught:
        list(wrapped.stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"
    assert provider.calls == 3
    assert waited == 2 and len(waits) == waited  # an open circuit is not retried after a backoff
    assert wrapped.breaker_state == "open"


def test_an_open_breaker_lets_a_trial_call_through_after_the_reset_time_and_closes():
    provider = Scripted("a", ProviderError("HTTP 500"), ProviderError("HTTP 500"), "ok")
    policy = BreakerPolicy(failures=2, reset_after=0.3)
    wrapped = resilient(provider, retry=NO_RETRY, breaker=policy)
    for _ in range(2):
        with pytest.raises(ProviderError):
            list(wrapped.stream_chat(MESSAGES))
    with pytest.raises(CircuitOpen):
        list(wrapped.stream_chat(MESSAGES))

    time.sleep(0.35)

    assert text(wrapped.stream_chat(MESSAGES)) == "".join(ANSWER)
    assert provider.calls == 3
    assert wrapped.breaker_state == "closed"


def test_a_failed_trial_call_opens_the_breaker_again():
    provider = Scripted("a", ProviderError("HTTP 500"))
    wrapped = resilient(provider, retry=NO_RETRY, breaker=BreakerPolicy(1, reset_after=0.2))
    with pytest.raises(ProviderError):
        list(wrapped.stream_chat(MESSAGES))
    time.sleep(0.25)

    with pytest.raises(ProviderError) as trial:
        list(wrapped.stream_chat(MESSAGES))
    with pytest.raises(CircuitOpen):
        list(wrapped.stream_chat(MESSAGES))

    assert not isinstance(trial.value, CircuitOpen)
    assert provider.calls == 2


def test_prompts_that_are_too_long_do_not_open_the_breaker():
    provider = Scripted("a", ContextTooLong("too long"))
    wrapped = resilient(provider, retry=NO_RETRY, breaker=BreakerPolicy(failures=2))

    for _ in range(4):
        with pytest.raises(ContextTooLong):
            list(wrapped.stream_chat(MESSAGES))

    assert wrapped.breaker_state == "closed"
    assert provider.calls == 4


def test_timeouts_open_the_breaker():
    clock = SimulatedClock()
    provider = Scripted("a", "hang", clock=clock)
    wrapped = resilient(provider, deadline=0.2, clock=clock, breaker=BreakerPolicy(failures=2))

    for _ in range(2):
        with pytest.raises(ProviderTimeout):
            list(wrapped.stream_chat(MESSAGES))

    with pytest.raises(CircuitOpen):
        list(wrapped.stream_chat(MESSAGES))
    assert provider.calls == 2
    provider.let_go()


def test_retries_count_towards_the_breaker():
    provider = Scripted("a", Throttled("429"))
    wrapped = resilient(provider, retry=FAST_RETRY, breaker=BreakerPolicy(failures=3))

    with pytest.raises(Throttled):
        list(wrapped.stream_chat(MESSAGES))

    assert wrapped.breaker_state == "open"


# -- token bucket -----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_bucket_allows_a_burst_then_paces_calls_at_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock, sleep=clock.sleep)

    for _ in range(5):
        assert bucket.acquire()

    assert clock.slept == pytest.approx([0.1, 0.1, 0.1])
    assert clock.now == pytest.approx(100.3)


def test_the_bucket_refills_while_idle_up_to_the_burst():
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        bucket.acquire()

    clock.now += 60.0
    for _ in range(3):
        bucket.acquire()
    bucket.acquire()

    assert clock.slept == pytest.approx([0.5])


def test_the_bucket_refuses_without_taking_a_token_when_the_wait_exceeds_the_timeout():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock, sleep=clock.sleep)
    bucket.acquire()

    assert bucket.acquire(timeout=0.5) is False
    assert bucket.acquire(timeout=1.0) is True
    assert clock.slept == pytest.approx([1.0])


def test_concurrent_callers_are_paced_together():
    sleepers = threading.Barrier(5, timeout=HANG_S)  # every caller that has to wait, at once
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        sleepers.wait()

    bucket = TokenBucket(rate=20, burst=1, clock=lambda: 100.0, sleep=sleep)
    threads = [threading.Thread(target=bucket.acquire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One goes at once; the other five each reserve their own slot, 1/20 s apart, and wait
    # for it side by side (a caller holding the bucket while it sleeps would break the barrier).
    assert sorted(slept) == pytest.approx([0.05, 0.10, 0.15, 0.20, 0.25])
    assert not sleepers.broken


def test_a_rate_limited_provider_paces_its_calls():
    clock = FakeClock()
    provider = Scripted("a")
    bucket = TokenBucket(rate=10, burst=1, clock=clock, sleep=clock.sleep)
    wrapped = resilient(provider, rate_limit=bucket)

    for _ in range(4):
        assert text(wrapped.stream_chat(MESSAGES)) == "".join(ANSWER)

    assert clock.slept == pytest.approx([0.1, 0.1, 0.1])
    assert provider.calls == 4


def test_no_rate_limit_slot_before_the_deadline_raises_throttled_without_calling_or_waiting():
    clock = FakeClock()
    provider = Scripted("a")
    bucket = TokenBucket(rate=0.5, burst=1, clock=clock, sleep=clock.sleep)
    wrapped = resilient(provider, deadline=0.2, rate_limit=bucket)
    list(wrapped.stream_chat(MESSAGES))

    with pytest.raises(RateLimited) as caught:
        list(wrapped.stream_chat(MESSAGES))  # the next slot is 2 s away

    assert caught.value.code == "throttled"
    assert clock.slept == []
    assert provider.calls == 1
    assert wrapped.breaker_state == "closed"


# -- fallback ---------------------------------------------------------------------------------


def test_the_chain_answers_from_the_next_provider_when_one_fails_before_streaming():
    first = Scripted("first", Throttled("429"))
    second = Scripted("second")

    stream = FallbackChain([resilient(first, retry=NO_RETRY), second]).stream_chat(MESSAGES)

    assert text(stream) == "".join(ANSWER)
    assert stream.answered_by == "second"
    assert [(name, error.code) for name, error in stream.failures] == [("first", "throttled")]


def test_the_chain_uses_the_first_provider_when_it_is_healthy():
    first, second = Scripted("first"), Scripted("second")

    stream = FallbackChain([first, second]).stream_chat(MESSAGES)

    assert text(stream) == "".join(ANSWER)
    assert stream.answered_by == "first"
    assert second.calls == 0


def test_a_prompt_too_long_for_one_model_falls_back_to_the_next():
    stream = FallbackChain(
        [Scripted("small", ContextTooLong("8k max")), Scripted("large")]
    ).stream_chat(MESSAGES)

    assert text(stream) == "".join(ANSWER)
    assert stream.answered_by == "large"


def test_a_provider_that_fails_mid_stream_is_not_replaced_by_the_next():
    first = Scripted("first", ("break", ProviderError("reset")))
    second = Scripted("second")
    stream = FallbackChain([first, second]).stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    with pytest.raises(ProviderError, match="reset"):
        list(stream)
    assert second.calls == 0
    assert stream.answered_by == "first"


def test_when_every_provider_fails_the_error_names_each_failure():
    chain = FallbackChain(
        [Scripted("a", Throttled("429 from a")), Scripted("b", ProviderError("500 from b"))]
    )

    with pytest.raises(ProviderError) as caught:
        list(chain.stream_chat(MESSAGES))

    assert type(caught.value) is ProviderError
    assert caught.value.code == "provider_unavailable"
    assert "a: throttled (429 from a)" in caught.value.message
    assert "b: provider_unavailable (500 from b)" in caught.value.message
    assert [name for name, _ in caught.value.failures] == ["a", "b"]


def test_the_chain_keeps_the_type_of_the_last_failure():
    chain = FallbackChain([Scripted("a", ProviderError("500")), Scripted("b", Throttled("429"))])

    with pytest.raises(Throttled):
        list(chain.stream_chat(MESSAGES))


def test_the_chain_moves_on_when_a_member_times_out():
    hung = Scripted("slow", "hang")
    # The chain's own deadline is far off: had the member's 0.3 s not ended the call, the
    # chain would have timed out instead of asking the next model.
    chain = FallbackChain([resilient(hung, deadline=0.3), Scripted("fast")], deadline=HANG_S / 2)

    stream = chain.stream_chat(MESSAGES)

    assert text(stream) == "".join(ANSWER)
    assert stream.answered_by == "fast"
    assert [(name, error.code) for name, error in stream.failures] == [("slow", "timeout")]
    assert hung.finished == 0
    hung.let_go()


def test_the_chain_deadline_bounds_the_whole_chain():
    hung, also_slow = Scripted("slow", "hang"), Scripted("also-slow", "hang")
    chain = FallbackChain([hung, also_slow], deadline=0.4)

    with pytest.raises(ProviderTimeout) as caught:
        list(chain.stream_chat(MESSAGES))

    assert caught.value.code == "timeout"
    assert hung.finished == 0  # still hanging: the chain's deadline ended the call
    assert also_slow.calls == 0
    assert "also-slow: not tried" in caught.value.message
    hung.let_go()


def test_resilient_members_get_what_is_left_of_the_chain_deadline():
    clock = SimulatedClock()  # the member's: it times out at once on it, whatever its budget
    hung = Scripted("slow", "hang", clock=clock)
    member = resilient(hung, deadline=30.0, clock=clock)
    started = clock.now()

    with pytest.raises(ProviderTimeout):
        list(FallbackChain([member], deadline=5.0).stream_chat(MESSAGES))

    assert 0 < clock.now() - started <= 5.0  # the chain's 5 s (less what it used), not 30 s
    assert hung.finished == 0
    hung.let_go()


def test_an_open_breaker_makes_the_chain_skip_the_provider_at_once():
    broken = resilient(
        Scripted("broken", ProviderError("500")), retry=NO_RETRY, breaker=BreakerPolicy(1, 60)
    )
    with pytest.raises(ProviderError):
        list(broken.stream_chat(MESSAGES))

    stream = FallbackChain([broken, Scripted("backup")]).stream_chat(MESSAGES)

    assert text(stream) == "".join(ANSWER)
    assert isinstance(stream.failures[0][1], CircuitOpen)


# -- chaos against a real OpenAI-compatible server --------------------------------------------

SLOW_SECONDS = 120.0
"""Far past every deadline and the client's own 10 s timeout here: only a ResilientProvider
deadline (its message names it) can end a slow or stalled call while a test waits."""


@pytest.fixture(scope="module")
def server() -> Iterator[openai_server.OpenAICompatibleServer]:
    with openai_server.OpenAICompatibleServer(slow_seconds=SLOW_SECONDS) as running:
        yield running


def real(server, model: str, **kwargs: object) -> ResilientProvider:
    provider = OpenAICompatibleProvider(
        model=model, base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=10.0
    )
    return resilient(provider, **kwargs)


def requests_for(server, model: str) -> int:
    return sum(1 for r in server.requests if r.body.get("model") == model)


def test_chaos_429_is_retried_with_backoff_then_reported_as_throttled(server):
    before = requests_for(server, "rate-limited")

    with pytest.raises(Throttled) as caught:
        list(real(server, "rate-limited").stream_chat(MESSAGES))

    assert caught.value.code == "throttled"
    assert requests_for(server, "rate-limited") - before == FAST_RETRY.attempts


def test_chaos_500_is_retried_then_reported_as_provider_unavailable(server):
    before = requests_for(server, "server-error")

    with pytest.raises(ProviderError) as caught:
        list(real(server, "server-error").stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"
    assert requests_for(server, "server-error") - before == FAST_RETRY.attempts


def test_chaos_a_context_error_is_sent_once(server):
    before = requests_for(server, "context-too-long")

    with pytest.raises(ContextTooLong):
        list(real(server, "context-too-long").stream_chat(MESSAGES))

    assert requests_for(server, "context-too-long") - before == 1


def test_chaos_a_slow_server_times_out_at_the_deadline_not_the_client_timeout(server):
    with pytest.raises(ProviderTimeout) as caught:
        list(real(server, "slow", deadline=0.5).stream_chat(MESSAGES))

    assert "within the 0.5 s deadline" in caught.value.message  # not the client's "in time"


def test_chaos_a_stalled_stream_times_out_after_its_first_token(server):
    stream = real(server, "stall", deadline=2.0).stream_chat(MESSAGES)

    assert next(stream).text == "Paris"
    with pytest.raises(ProviderTimeout) as caught:
        list(stream)
    assert "within the 2 s deadline" in caught.value.message


@pytest.mark.parametrize("model", ["malformed", "wrong-shape", "drop"])
def test_chaos_garbage_ends_as_provider_unavailable(server, model):
    with pytest.raises(ProviderError) as caught:
        list(real(server, model, retry=NO_RETRY).stream_chat(MESSAGES))

    assert caught.value.code == "provider_unavailable"


def test_chaos_the_breaker_stops_sending_requests_to_a_failing_server(server):
    wrapped = real(server, "server-error", retry=NO_RETRY, breaker=BreakerPolicy(failures=2))
    before = requests_for(server, "server-error")

    codes = []
    for _ in range(5):
        with pytest.raises(ProviderError) as caught:
            list(wrapped.stream_chat(MESSAGES))
        codes.append(type(caught.value).__name__)

    assert codes == ["ProviderError", "ProviderError", "CircuitOpen", "CircuitOpen", "CircuitOpen"]
    assert requests_for(server, "server-error") - before == 2


def test_chaos_a_chain_of_failing_models_answers_from_the_healthy_one_in_time(server):
    chain = FallbackChain(
        [
            real(server, "rate-limited"),
            real(server, "server-error"),
            real(server, "slow", deadline=0.5),
            real(server, "malformed", retry=NO_RETRY),
            real(server, "gpt-4o-mini"),
        ],
        deadline=5.0,
    )

    stream = chain.stream_chat(MESSAGES)
    answer = text(stream)

    # In time: past the chain's deadline it would have raised a timeout instead of answering.
    assert answer == "".join(openai_server.DEFAULT_REPLY)
    assert stream.answered_by == "gpt-4o-mini"
    assert [error.code for _, error in stream.failures] == [
        "throttled",
        "provider_unavailable",
        "timeout",
        "provider_unavailable",
    ]
    assert "within the 0.5 s deadline" in stream.failures[2][1].message
