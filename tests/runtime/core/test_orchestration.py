"""Modes over scripted providers of known latency and behaviour (the chaos half of issue 7).

Providers here are small ``LLMProvider`` implementations that answer, sleep, throttle (429),
fail (500), hang, crash or stream garbage on cue; they go through the real ``LLMAnswerer``.
Grounding and agreement use the real MiniLM.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from chorus.runtime.core.agreement import EmbeddingAgreementScorer
from chorus.runtime.core.answering import LLMAnswerer
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.errors import ContextTooLong, ProviderError, Throttled
from chorus.runtime.core.grounding import EmbeddingGroundingJudge
from chorus.runtime.core.models import ChatMessage, LLMDelta, SearchHit, TokenUsage
from chorus.runtime.core.orchestration import (
    AllModelsFailed,
    ModelPrice,
    OrchestrationSettings,
    Orchestrator,
)
from chorus.runtime.core.relevance import EmbeddingRelevanceScorer

VOLCANO = (
    "A volcano is an opening in the crust where molten magma reaches the surface as lava. "
    "Stratovolcanoes such as Mount Fuji build steep cones from layers of ash and lava. "
    "Explosive eruptions throw pyroclastic flows and ash columns high into the sky."
)
RIGHT = "Lava is molten magma that reaches the surface through an opening in the crust [1]."
RIGHT_TOO = "Molten magma reaching the surface through an opening in the crust is lava [1]."
INVENTED = "Lava is frozen seawater that the Moon pulls out of deep ocean trenches."
GARBAGE = "qzx vbn ##@@ lorem ipsum 0x00ff zzzz kkkk"

RELEASE = threading.Event()  # set at teardown so hanging providers' threads end


@pytest.fixture(autouse=True, scope="module")
def _release_hung_threads() -> Iterator[None]:
    yield
    RELEASE.set()


@dataclass
class Scripted:
    """An LLMProvider that does what it is told, after ``latency`` seconds."""

    name: str
    text: str = RIGHT
    latency: float = 0.0
    behaviour: str = "ok"
    usage: TokenUsage = field(default_factory=lambda: TokenUsage(1000, 100))
    calls: int = 0
    barrier: threading.Barrier | None = None
    """Waited at before answering (proves models are asked at once)."""

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        self.calls += 1
        time.sleep(self.latency)
        if self.barrier is not None:
            self.barrier.wait()
        if self.behaviour == "throttle":
            raise Throttled(f"{self.name} is rate limited (429)")
        if self.behaviour == "fail":
            raise ProviderError(f"{self.name} answered 500")
        if self.behaviour == "too_long":
            raise ContextTooLong(f"{self.name}: prompt too long")
        if self.behaviour == "crash":
            raise TypeError("'NoneType' object is not subscriptable")
        if self.behaviour == "hang":
            yield LLMDelta("Lava ")
            RELEASE.wait(30)
            yield LLMDelta("is late.")
            return
        if self.behaviour == "not_text":
            yield LLMDelta(text=b"\xff\xfe")  # type: ignore[arg-type]
            return
        if self.behaviour == "empty":
            yield LLMDelta(usage=self.usage)
            return
        words = self.text.split(" ")
        for i, word in enumerate(words):
            yield LLMDelta(word if i == len(words) - 1 else word + " ")
        yield LLMDelta(usage=self.usage)


@pytest.fixture(scope="module")
def context():
    return assemble_context(
        [SearchHit("c1", "d1", 0, VOLCANO, 1.0, {"document_name": "volcanoes.md"})],
        budget_tokens=2000,
    )


@pytest.fixture(scope="module")
def scorers(embedder):
    return EmbeddingGroundingJudge(embedder), EmbeddingAgreementScorer(embedder)


def orchestrator(scorers, *providers: Scripted, prices=None, **settings) -> Orchestrator:
    grounding, agreement = scorers
    return Orchestrator(
        {p.name: LLMAnswerer(p) for p in providers},
        prices=prices or {},
        grounding=grounding,
        agreement=agreement,
        settings=OrchestrationSettings(**settings),
    )


class Tokens:
    """A thread-safe token sink that records (model, text)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []

    def __call__(self, model: str, text: str) -> None:
        with self.lock:
            self.events.append((model, text))

    def text_of(self, model: str) -> str:
        return "".join(t for m, t in self.events if m == model).strip()


# -- single -------------------------------------------------------------------------------------


def test_single_mode_answers_with_a_grounding_report(scorers, context):
    orch = orchestrator(scorers, Scripted("a"), prices={"a": ModelPrice(1.0, 2.0)})

    result = orch.run("single", ["a"], "What is lava?", context)

    assert result.answer == RIGHT and result.model == "a"
    assert result.chosen.grounding.score == 1.0
    assert result.cost == pytest.approx(1.0 + 0.2)
    assert result.agreement is None


def test_single_mode_failure_raises_the_models_code(scorers, context):
    orch = orchestrator(scorers, Scripted("a", behaviour="throttle"))

    with pytest.raises(AllModelsFailed) as failed:
        orch.run("single", ["a"], "What is lava?", context)

    assert failed.value.code == "throttled"
    assert "rate limited" in failed.value.message


# -- consensus ----------------------------------------------------------------------------------


def test_consensus_asks_every_model_at_once():
    meeting = threading.Barrier(3, timeout=30)
    providers = [Scripted(f"m{i}", barrier=meeting) for i in range(3)]
    # Scoring is off: this measures the fan-out (bench/fanout.py reports scoring's cost).
    orch = Orchestrator({p.name: LLMAnswerer(p) for p in providers})
    empty = assemble_context([], budget_tokens=100)

    result = orch.run("consensus", ["m0", "m1", "m2"], "What is lava?", empty)

    # Each model waits at a three-party barrier: asked one after another, the first would
    # wait alone until the barrier broke and fail; asked at once, all three pass it.
    assert all(a.ok for a in result.answers), [a.error for a in result.answers]
    assert len(result.answers) == 3


def test_consensus_streams_every_model_with_its_name(scorers, context):
    orch = orchestrator(scorers, Scripted("a"), Scripted("b", text=RIGHT_TOO))
    tokens = Tokens()

    result = orch.run("consensus", ["a", "b"], "What is lava?", context, on_token=tokens)

    assert {m for m, _ in tokens.events} == {"a", "b"}
    assert tokens.text_of("a") == RIGHT and tokens.text_of("b") == RIGHT_TOO
    assert tokens.text_of(result.model) == result.answer


def test_consensus_picks_the_medoid_and_scores_agreement(scorers, context):
    orch = orchestrator(
        scorers, Scripted("a"), Scripted("b", text=RIGHT_TOO), Scripted("c", text=INVENTED)
    )

    result = orch.run("consensus", ["a", "b", "c"], "What is lava?", context)

    assert result.model in ("a", "b")
    assert 0 < result.agreement.score < 1
    by_model = {a.model: a for a in result.answers}
    assert by_model["c"].agreement < min(by_model["a"].agreement, by_model["b"].agreement)
    assert by_model["c"].grounding.unsupported == [INVENTED]


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        ("throttle", "throttled"),
        ("fail", "provider_unavailable"),
        ("too_long", "context_too_long"),
        ("crash", "provider_unavailable"),
        ("not_text", "provider_unavailable"),
        ("empty", "provider_unavailable"),
    ],
)
def test_one_failing_model_leaves_a_partial_result_with_its_code(scorers, context, behaviour, code):
    orch = orchestrator(
        scorers, Scripted("a"), Scripted("b", text=RIGHT_TOO), Scripted("bad", behaviour=behaviour)
    )

    result = orch.run("consensus", ["a", "b", "bad"], "What is lava?", context)

    bad = next(a for a in result.answers if a.model == "bad")
    assert bad.error.code == code and bad.text == ""
    assert "Traceback" not in bad.error.message
    assert result.partial and result.model in ("a", "b")
    assert result.agreement.score is not None  # over the two that answered


def test_garbage_answer_is_outvoted(scorers, context):
    orch = orchestrator(
        scorers, Scripted("a"), Scripted("b", text=RIGHT_TOO), Scripted("junk", text=GARBAGE)
    )

    result = orch.run("consensus", ["junk", "a", "b"], "What is lava?", context)

    assert result.model in ("a", "b")
    junk = next(a for a in result.answers if a.model == "junk")
    assert junk.grounding.score == 0.0


def test_hung_model_times_out_at_its_deadline_and_its_late_tokens_are_dropped(scorers, context):
    orch = orchestrator(
        scorers, Scripted("a"), Scripted("hung", behaviour="hang"), model_timeout_s=0.5
    )
    tokens = Tokens()

    result = orch.run("consensus", ["a", "hung"], "What is lava?", context, on_token=tokens)

    assert not RELEASE.is_set()  # the hung model is still hanging: only its deadline ended it
    hung = next(a for a in result.answers if a.model == "hung")
    assert hung.error.code == "timeout"
    assert result.model == "a"
    assert ("hung", "is late.") not in tokens.events


def test_every_model_failing_reports_the_most_actionable_code(scorers, context):
    orch = orchestrator(
        scorers,
        Scripted("a", behaviour="fail"),
        Scripted("b", behaviour="throttle"),
        Scripted("c", behaviour="crash"),
    )

    with pytest.raises(AllModelsFailed) as failed:
        orch.run("consensus", ["a", "b", "c"], "What is lava?", context)

    assert failed.value.code == "throttled"
    assert [a.error.code for a in failed.value.answers] == [
        "provider_unavailable",
        "throttled",
        "provider_unavailable",
    ]


def test_judge_writes_the_answer_from_the_others(scorers, context):
    judge = Scripted("judge", text=RIGHT_TOO, usage=TokenUsage(2000, 50))
    orch = orchestrator(
        scorers,
        Scripted("a"),
        Scripted("b", text=INVENTED),
        judge,
        judge_model="judge",
        prices={"judge": ModelPrice(1.0, 1.0)},
    )
    tokens = Tokens()

    result = orch.run("consensus", ["a", "b"], "What is lava?", context, on_token=tokens)

    assert result.model == "judge" and result.answer == RIGHT_TOO
    assert result.judge is not None and result.judge.role == "judge"
    assert [a.model for a in result.answers] == ["a", "b"]
    assert tokens.text_of("judge") == RIGHT_TOO
    assert result.cost == pytest.approx(2.05)
    assert judge.calls == 1


def test_failing_judge_falls_back_to_the_medoid(scorers, context):
    orch = orchestrator(
        scorers,
        Scripted("a"),
        Scripted("b", text=RIGHT_TOO),
        Scripted("judge", behaviour="fail"),
        judge_model="judge",
    )

    result = orch.run("consensus", ["a", "b"], "What is lava?", context)

    assert result.model in ("a", "b")
    assert result.judge.error.code == "provider_unavailable"


# -- cascade ------------------------------------------------------------------------------------

PRICES = {
    "cheap": ModelPrice(0.1, 0.2),
    "mid": ModelPrice(1.0, 2.0),
    "strong": ModelPrice(10.0, 20.0),
}


def test_cascade_stops_at_the_cheapest_model_when_its_answer_is_grounded(scorers, context):
    strong, cheap = Scripted("strong"), Scripted("cheap")
    orch = orchestrator(scorers, strong, cheap, prices=PRICES)

    result = orch.run("cascade", ["strong", "cheap"], "What is lava?", context)

    assert result.model == "cheap" and result.escalation == ["cheap"]
    assert strong.calls == 0
    assert result.cost == pytest.approx(0.1 + 0.02)


def test_cascade_escalates_past_an_ungrounded_answer(scorers, context):
    orch = orchestrator(
        scorers,
        Scripted("cheap", text=INVENTED),
        Scripted("mid"),
        Scripted("strong"),
        prices=PRICES,
    )

    result = orch.run("cascade", ["cheap", "mid", "strong"], "What is lava?", context)

    assert result.model == "mid" and result.escalation == ["cheap", "mid"]
    assert result.cost == pytest.approx(0.12 + 1.2)
    assert [a.model for a in result.answers] == ["cheap", "mid"]


def test_cascade_falls_back_past_a_failing_model(scorers, context):
    orch = orchestrator(
        scorers, Scripted("cheap", behaviour="throttle"), Scripted("mid"), prices=PRICES
    )

    result = orch.run("cascade", ["cheap", "mid"], "What is lava?", context)

    assert result.model == "mid"
    assert result.answers[0].error.code == "throttled"
    assert result.partial


def test_two_models_agreeing_stop_the_cascade_when_grounding_is_only_partial(scorers, context):
    extra = "It also glows orange and smells strongly of burnt sulphur."
    strong = Scripted("strong")
    orch = orchestrator(
        scorers,
        Scripted("cheap", text=f"{RIGHT} {extra}"),
        Scripted("mid", text=f"{RIGHT} {extra.replace('strongly', 'a lot')}"),
        strong,
        prices=PRICES,
    )

    result = orch.run("cascade", ["cheap", "mid", "strong"], "What is lava?", context)

    assert 0.4 <= result.chosen.grounding.score < 0.75
    assert result.model == "mid" and result.chosen.agreement > 0.85
    assert strong.calls == 0


def test_two_models_repeating_one_unsupported_claim_do_not_stop_the_cascade(scorers, context):
    orch = orchestrator(
        scorers,
        Scripted("cheap", text=INVENTED),
        Scripted("mid", text=INVENTED),
        Scripted("strong"),
        prices=PRICES,
    )

    result = orch.run("cascade", ["cheap", "mid", "strong"], "What is lava?", context)

    assert result.answers[1].agreement == pytest.approx(1.0)
    assert result.model == "strong"


def test_cascade_keeps_the_strongest_answer_when_nothing_is_good_enough(scorers, context):
    orch = orchestrator(
        scorers,
        Scripted("cheap", text=INVENTED),
        Scripted("strong", text=GARBAGE),
        prices=PRICES,
    )

    result = orch.run("cascade", ["cheap", "strong"], "What is lava?", context)

    assert result.model == "strong" and result.escalation == ["cheap", "strong"]


def test_cascade_whose_strongest_model_fails_keeps_the_best_grounded_answer(scorers, context):
    orch = orchestrator(
        scorers,
        Scripted("cheap", text=INVENTED),
        Scripted("mid", text=f"{RIGHT} {INVENTED}"),
        Scripted("strong", behaviour="fail"),
        prices=PRICES,
    )

    result = orch.run("cascade", ["cheap", "mid", "strong"], "What is lava?", context)

    assert result.model == "mid"
    assert result.escalation == ["cheap", "mid", "strong"]


def test_cascade_order_is_by_price_whatever_the_request_order(scorers):
    orch = orchestrator(scorers, Scripted("strong"), Scripted("cheap"), Scripted("free"))
    orch.prices = {**PRICES}

    assert orch.cascade_order(["strong", "free", "cheap"]) == ["free", "cheap", "strong"]


# -- contradictions, relevance and the choice of answer -------------------------------------------

FLIPPED = (
    "Stratovolcanoes such as Mount Fuji never build steep cones from layers of ash and lava [1]."
)
FUJI = "Stratovolcanoes such as Mount Fuji build steep cones from layers of ash and lava [1]."
OFF_TOPIC = "Explosive eruptions throw pyroclastic flows and ash columns high into the sky [1]."


def with_relevance(orch: Orchestrator, embedder) -> Orchestrator:
    orch.relevance = EmbeddingRelevanceScorer(embedder)
    return orch


@pytest.mark.parametrize("order", [["flip", "true"], ["true", "flip"]])
def test_consensus_of_two_never_picks_the_answer_the_sources_contradict(scorers, context, order):
    orch = orchestrator(scorers, Scripted("flip", text=FLIPPED), Scripted("true", text=FUJI))

    result = orch.run("consensus", order, "Do stratovolcanoes build steep cones?", context)

    assert result.model == "true"
    [flip] = [a for a in result.answers if a.model == "flip"]
    assert flip.contradicted and flip.to_dict()["contradicted"][0]["differences"][0]["kind"] == (
        "negation"
    )


def test_agreement_of_two_contradicting_answers_is_zero_whatever_their_cosine(scorers, context):
    orch = orchestrator(scorers, Scripted("flip", text=FLIPPED), Scripted("true", text=FUJI))

    result = orch.run("consensus", ["flip", "true"], "Do stratovolcanoes build cones?", context)

    assert result.agreement is not None and result.agreement.score == 0.0
    [conflict] = result.agreement.conflicts
    assert [d.kind for d in conflict.differences] == ["negation"]


@pytest.mark.parametrize("order", [["off", "on"], ["on", "off"]])
def test_consensus_tie_between_grounded_answers_goes_to_the_relevant_one(
    scorers, context, embedder, order
):
    orch = with_relevance(
        orchestrator(scorers, Scripted("off", text=OFF_TOPIC), Scripted("on", text=FUJI)), embedder
    )

    result = orch.run("consensus", order, "How does Mount Fuji get its steep cone?", context)

    assert result.model == "on"
    by_model = {a.model: a.relevance for a in result.answers}
    assert by_model["on"] > by_model["off"]


def test_cascade_escalates_past_a_contradicted_answer(scorers, context):
    orch = orchestrator(
        scorers, Scripted("cheap", text=FLIPPED), Scripted("strong", text=FUJI), prices=PRICES
    )

    result = orch.run("cascade", ["cheap", "strong"], "Do stratovolcanoes build cones?", context)

    assert result.model == "strong" and result.escalation == ["cheap", "strong"]


def test_a_judge_synthesis_the_sources_contradict_does_not_replace_the_consensus(scorers, context):
    orch = orchestrator(
        scorers,
        Scripted("a", text=FUJI),
        Scripted("b", text=FUJI),
        Scripted("judge", text=FLIPPED),
        judge_model="judge",
    )

    result = orch.run("consensus", ["a", "b"], "Do stratovolcanoes build cones?", context)

    assert result.judge is not None and result.judge.contradicted
    assert result.answer == FUJI
