"""The chat service end to end below the transport: modes, chaos, cache, conversation, costs.

Real PostgreSQL (one database for the module), real MiniLM, real retrieval; the models are
scripted providers behind the real ``LLMAnswerer``. Every turn is checked for what the client
sees (events) and what the session keeps (stored messages).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from chorus.runtime.core.agreement import EmbeddingAgreementScorer
from chorus.runtime.core.answering import Answerer, ExtractiveAnswerer, LLMAnswerer
from chorus.runtime.core.chat import ChatService
from chorus.runtime.core.errors import ProviderError, Throttled
from chorus.runtime.core.grounding import EmbeddingGroundingJudge, GuardrailVerdict
from chorus.runtime.core.models import ChatMessage, LLMDelta, TokenUsage
from chorus.runtime.core.orchestration import ModelPrice, OrchestrationSettings
from chorus.runtime.core.protocol import SendMessageData
from chorus.runtime.core.semantic_cache import InMemorySemanticCache
from support.clock import SimulatedClock

pytestmark = pytest.mark.timeout(120)

DOCUMENTS = {
    "volcanoes.md": (
        "# Volcanoes\n\nA volcano is an opening in the crust where molten magma reaches the "
        "surface as lava. Stratovolcanoes such as Mount Fuji build steep cones from layers of ash "
        "and lava. Explosive eruptions throw pyroclastic flows and ash columns high into the sky.\n"
    ),
    "honeybees.md": (
        "# Honeybees\n\nA honeybee colony has one queen, thousands of worker bees and a few "
        "drones. Worker bees collect nectar from flowers and turn it into honey in the hive. "
        "Bees perform a waggle dance to tell the colony where the flowers are.\n"
    ),
}
RIGHT = "Lava is molten magma that reaches the surface through an opening in the crust [1]."
RIGHT_TOO = "Molten magma reaching the surface through an opening in the crust is lava [1]."
INVENTED = "Lava is frozen seawater that the Moon pulls out of deep ocean trenches."
RELEASE = threading.Event()
DEADLINE_S = 1.0


@dataclass
class Scripted:
    name: str
    text: str = RIGHT
    latency: float = 0.0
    behaviour: str = "ok"
    usage: TokenUsage = field(default_factory=lambda: TokenUsage(1000, 100))
    seen: list[Sequence[ChatMessage]] = field(default_factory=list)
    clock: SimulatedClock | None = None

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        self.seen.append(messages)
        time.sleep(self.latency)
        if self.behaviour == "throttle":
            raise Throttled(f"{self.name} is rate limited (429)")
        if self.behaviour == "fail":
            raise ProviderError(f"{self.name} answered 500")
        if self.behaviour == "hang":
            if self.clock is not None:
                self.clock.park(RELEASE)
            else:
                RELEASE.wait(30)
        if self.behaviour == "garbage":
            yield LLMDelta("qzx vbn ##@@ 0x00ff zzzz kkkk")
            return
        for word in self.text.split(" "):
            yield LLMDelta(word + " ")
        yield LLMDelta(usage=self.usage)


@pytest.fixture(scope="module")
def services(pg_server_dsn, embedder) -> Iterator[Any]:
    import psycopg2
    from chorus.runtime.local.services import open_services

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    services = open_services(
        dsn=pg_server_dsn.replace("/postgres?", f"/{name}?", 1), embedder=embedder
    )
    workspace = services.create_workspace("topics")
    for doc, text in DOCUMENTS.items():
        assert services.ingestor.ingest(workspace, doc, text.encode()).outcome == "indexed"
    yield services
    RELEASE.set()
    services.close()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="module")
def workspace_id(services) -> str:
    return services.find_workspace("topics").id


def chat_service(services, *providers: Scripted, **kwargs: Any) -> ChatService:
    answerers: dict[str, Answerer] = {"extractive": ExtractiveAnswerer(services.embedder)}
    answerers.update({p.name: LLMAnswerer(p) for p in providers})
    settings = kwargs.pop("orchestration", OrchestrationSettings(model_timeout_s=DEADLINE_S))
    if providers:  # multi-model modes without ``models`` use the scripted ones only
        kwargs.setdefault("cascade_models", [p.name for p in providers])
        kwargs.setdefault("consensus_models", [p.name for p in providers])
    return ChatService(
        services.metadata,
        services.retriever,
        answerers,
        default_model=providers[0].name if providers else "extractive",
        grounding=EmbeddingGroundingJudge(services.embedder),
        agreement=EmbeddingAgreementScorer(services.embedder),
        orchestration=settings,
        **kwargs,
    )


def ask(service: ChatService, workspace_id: str, text: str, **data: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    request = SendMessageData(workspaceId=workspace_id, text=text, **data)
    ended = service.chat(request, user_id="u", send=lambda e: events.append(e) or True)
    assert ended is events[-1]
    return events


def stored(service: ChatService, session_id: str) -> list[Any]:
    return service.metadata.list_messages(session_id)


# -- modes --------------------------------------------------------------------------------------


def test_consensus_final_reports_each_model_agreement_and_grounding(services, workspace_id):
    service = chat_service(
        services, Scripted("a"), Scripted("b", text=RIGHT_TOO), Scripted("c", text=INVENTED)
    )

    events = ask(service, workspace_id, "What is lava?", mode="consensus", models=["a", "b", "c"])

    final = events[-1]
    assert final["type"] == "final" and final["mode"] == "consensus"
    assert [a["model"] for a in final["answers"]] == ["a", "b", "c"]
    assert final["model"] in ("a", "b") and 0 < final["agreement"] < 1
    assert final["grounding"] == 1.0 and final["unsupported"] == []
    invented = final["answers"][2]
    assert invented["unsupported"] == [INVENTED] and invented["grounding"] == 0.0
    assert final["usage"] == {"inputTokens": 3000, "outputTokens": 300}
    tokens = [e for e in events if e["type"] == "token"]
    assert {e["model"] for e in tokens} == {"a", "b", "c"}
    chosen = "".join(e["text"] for e in tokens if e["model"] == final["model"]).strip()
    assert chosen == final["answer"]


def test_cascade_final_reports_the_escalation_path_and_its_cost(services, workspace_id):
    prices = {"cheap": ModelPrice(0.1, 0.2), "strong": ModelPrice(10.0, 20.0)}
    service = chat_service(
        services, Scripted("cheap", text=INVENTED), Scripted("strong"), prices=prices
    )

    final = ask(service, workspace_id, "What is lava?", mode="cascade")[-1]

    assert final["model"] == "strong" and final["escalation"] == ["cheap", "strong"]
    assert final["cost"] == pytest.approx(0.12 + 12.0)
    assert [a["cost"] for a in final["answers"]] == [0.12, 12.0]


def test_single_mode_keeps_its_shape_and_gains_grounding(services, workspace_id):
    service = chat_service(services)

    events = ask(service, workspace_id, "What is lava?")

    final = events[-1]
    assert final["model"] == "extractive" and final["mode"] == "single"
    assert final["answers"][0]["text"] == final["answer"]
    assert final["agreement"] is None and final["grounding"] == 1.0
    assert "".join(e["text"] for e in events if e["type"] == "token").strip() == final["answer"]


# -- chaos: k of N providers misbehave ----------------------------------------------------------

CHAOS = {
    "one throttles": ["ok", "throttle", "ok", "ok"],
    "two fail": ["fail", "ok", "fail", "ok"],
    "one hangs past the deadline": ["ok", "ok", "hang", "ok"],
    "garbage and a throttle": ["garbage", "throttle", "ok", "ok"],
    "three of four down": ["hang", "throttle", "fail", "ok"],
    "all down": ["hang", "throttle", "fail", "fail"],
}


@pytest.mark.parametrize("mode", ["consensus", "cascade", "single"])
@pytest.mark.parametrize("behaviours", CHAOS.values(), ids=CHAOS.keys())
def test_chaos_every_turn_ends_within_its_deadline_and_is_stored(
    services, workspace_id, mode, behaviours
):
    clock = SimulatedClock()
    providers = [
        Scripted(f"m{i}", behaviour=b, text=[RIGHT, RIGHT_TOO][i % 2], clock=clock)
        for i, b in enumerate(behaviours)
    ]
    prices = {p.name: ModelPrice(i, i) for i, p in enumerate(providers)}
    service = chat_service(services, *providers, prices=prices, clock=clock)
    session_id = f"s-{uuid.uuid4().hex}"

    started = clock.now()
    events = ask(service, workspace_id, "What is lava?", sessionId=session_id, mode=mode)
    elapsed = clock.now() - started

    # Consensus waits one deadline at most; a cascade one per hung model it had to try.
    hung = sum(b == "hang" for b in behaviours)
    assert elapsed <= DEADLINE_S * (hung if mode == "cascade" else min(hung, 1))
    ended = events[-1]
    messages = stored(service, session_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content == "What is lava?"
    working = [p.name for p in providers if p.behaviour in ("ok", "garbage")]
    if mode == "single":
        working = working[:1] if providers[0].behaviour in ("ok", "garbage") else []
    if working:
        assert ended["type"] == "final", ended
        assert messages[1].content == ended["answer"]
        failed = {a["model"]: a["error"]["code"] for a in ended["answers"] if "error" in a}
        assert all(
            code in ("throttled", "provider_unavailable", "timeout") for code in failed.values()
        )
        if mode == "consensus":
            assert ended["partial"] == (len(failed) > 0)
            assert ended["model"] in working
    else:
        assert ended["type"] == "error"
        assert ended["code"] in ("throttled", "provider_unavailable", "timeout")
        assert "Traceback" not in ended["message"]
        assert messages[1].details["error"]["code"] == ended["code"]
        assert messages[1].details["answers"]


# -- cache --------------------------------------------------------------------------------------


def test_reworded_question_is_answered_from_the_cache_until_a_document_changes(services):
    """The local wiring: PostgreSQL cache, invalidated by the ingestor's change callback."""
    workspace = services.create_workspace(f"cache {uuid.uuid4().hex[:6]}")
    services.ingestor.ingest(workspace, "volcanoes.md", DOCUMENTS["volcanoes.md"].encode())
    service = services.chat

    first = ask(service, workspace.id, "What is lava?")
    second = ask(service, workspace.id, "Can you tell me what lava is?")

    assert first[-1]["cached"] is False
    assert second[-1]["cached"] is True and second[-1]["cost"] == 0
    assert second[-1]["answer"] == first[-1]["answer"]
    assert second[0]["sources"] == first[0]["sources"]
    assert [e["text"] for e in second if e["type"] == "token"] == [first[-1]["answer"]]
    assert second[-1]["cacheSimilarity"] >= service.cache_threshold

    services.ingestor.ingest(workspace, "honeybees.md", DOCUMENTS["honeybees.md"].encode())
    third = ask(service, workspace.id, "Can you tell me what lava is?")

    assert third[-1]["cached"] is False


def test_cached_answers_do_not_cross_modes(services, workspace_id):
    service = chat_service(services, Scripted("a"), Scripted("b"), cache=InMemorySemanticCache())

    ask(service, workspace_id, "What is lava?", models=["a"])
    consensus = ask(service, workspace_id, "What is lava?", mode="consensus", models=["a", "b"])
    again = ask(service, workspace_id, "What is lava?", models=["a"])

    assert consensus[-1]["cached"] is False
    assert again[-1]["cached"] is True


def test_partial_results_are_not_cached(services, workspace_id):
    service = chat_service(
        services, Scripted("a"), Scripted("b", behaviour="fail"), cache=InMemorySemanticCache()
    )

    ask(service, workspace_id, "What is lava?", mode="consensus")
    again = ask(service, workspace_id, "What is lava?", mode="consensus")

    assert again[-1]["cached"] is False and again[-1]["partial"] is True


# -- conversation and costs ---------------------------------------------------------------------


def test_follow_up_is_condensed_for_retrieval_and_history_trimmed(services, workspace_id):
    provider = Scripted("a")
    service = chat_service(services, provider, history_budget_tokens=40)
    session_id = f"s-{uuid.uuid4().hex}"
    ask(service, workspace_id, "Why do bees dance?", sessionId=session_id)
    ask(service, workspace_id, "What is a volcano?", sessionId=session_id)

    final = ask(service, workspace_id, "How hot is it?", sessionId=session_id)[-1]

    assert final["retrievalQuery"].endswith("What is a volcano? How hot is it?")
    sent = provider.seen[-1]
    history = [m for m in sent[1:-1]]
    assert history and history[0].role == "user"
    assert "Why do bees dance?" not in [m.content for m in history]  # over the budget


def test_session_usage_sums_cost_and_tokens_per_model(services, workspace_id):
    prices = {"a": ModelPrice(1.0, 1.0), "b": ModelPrice(2.0, 2.0)}
    service = chat_service(services, Scripted("a"), Scripted("b"), prices=prices)
    session_id = f"s-{uuid.uuid4().hex}"

    ask(service, workspace_id, "What is lava?", sessionId=session_id, models=["a"])
    final = ask(
        service, workspace_id, "Why do bees dance?", sessionId=session_id, mode="consensus"
    )[-1]

    expected = {
        "inputTokens": 3000,
        "outputTokens": 300,
        "cost": 4.4,
        "byModel": {
            "a": {"inputTokens": 2000, "outputTokens": 200, "cost": 2.2},
            "b": {"inputTokens": 1000, "outputTokens": 100, "cost": 2.2},
        },
    }
    assert final["sessionUsage"] == expected  # costs are rounded to 6 decimals
    assert service.session_usage(session_id) == expected


def test_unknown_model_in_a_consensus_is_refused_before_anything_is_stored(services, workspace_id):
    service = chat_service(services, Scripted("a"))
    session_id = f"s-{uuid.uuid4().hex}"

    events = ask(
        service,
        workspace_id,
        "What is lava?",
        sessionId=session_id,
        mode="consensus",
        models=["a", "nope"],
    )

    assert (events[-1]["type"], events[-1]["code"]) == ("error", "unknown_model")
    assert stored(service, session_id) == []


class Redactor:
    def apply(self, question, answer, context) -> GuardrailVerdict:
        return GuardrailVerdict(
            True, "Sorry, I cannot answer that.", {"action": "GUARDRAIL_INTERVENED"}
        )


def test_guardrail_can_replace_the_answer_which_is_then_not_cached(services, workspace_id):
    service = chat_service(
        services, Scripted("a"), guardrail=Redactor(), cache=InMemorySemanticCache()
    )

    final = ask(service, workspace_id, "What is lava?")[-1]
    again = ask(service, workspace_id, "What is lava?")[-1]

    assert final["answer"] == "Sorry, I cannot answer that."
    assert final["guardrail"]["intervened"] is True
    assert again["cached"] is False


class BrokenCache(InMemorySemanticCache):
    def lookup(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("cache database is down")

    def store(self, *args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("cache database is down")


def test_a_cache_outage_costs_the_cache_not_the_answer(services, workspace_id):
    service = chat_service(services, Scripted("a"), cache=BrokenCache())

    final = ask(service, workspace_id, "What is lava?")[-1]

    assert final["type"] == "final" and final["cached"] is False


# -- one budget per turn ------------------------------------------------------------------------


def test_a_cascade_of_hung_models_ends_with_timeout_when_the_turn_budget_is_spent(
    services, workspace_id
):
    clock = SimulatedClock()
    providers = [Scripted(f"h{i}", behaviour="hang", clock=clock) for i in range(5)]
    settings = OrchestrationSettings(model_timeout_s=60.0, turn_budget_s=150.0)
    service = chat_service(services, *providers, orchestration=settings, clock=clock)
    started = clock.now()

    ended = ask(service, workspace_id, "What is lava?", mode="cascade")[-1]

    assert ended["type"] == "error" and ended["code"] == "timeout"
    assert clock.now() - started <= 150.0
    assert [len(p.seen) for p in providers] == [1, 1, 1, 0, 0]  # 60 + 60 + 30 s, then no more


def test_a_consensus_of_hung_models_gives_up_at_the_turn_budget_not_the_model_deadline(
    services, workspace_id
):
    clock = SimulatedClock()
    providers = [Scripted(f"h{i}", behaviour="hang", clock=clock) for i in range(3)]
    settings = OrchestrationSettings(model_timeout_s=600.0, turn_budget_s=200.0)
    service = chat_service(services, *providers, orchestration=settings, clock=clock)
    started = clock.now()

    ended = ask(service, workspace_id, "What is lava?", mode="consensus")[-1]

    assert ended["type"] == "error" and ended["code"] == "timeout"
    assert clock.now() - started == pytest.approx(200.0)


# -- a reply to every turn ----------------------------------------------------------------------


class _FailingStore:
    """The session store of ``services`` whose message writes fail like an outage would."""

    def __init__(self, metadata: Any, error: Exception) -> None:
        self._metadata = metadata
        self._error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._metadata, name)

    def add_message(self, message: Any) -> None:
        raise self._error


def test_a_store_outage_ends_the_turn_with_internal_error_and_a_request_id(
    services, workspace_id, caplog
):
    service = chat_service(services, Scripted("a"))
    service.metadata = _FailingStore(services.metadata, OSError("connection reset by peer"))

    with caplog.at_level("ERROR"):
        events = ask(service, workspace_id, "What is lava?")

    ended = events[-1]
    assert ended["type"] == "error" and ended["code"] == "internal_error"
    assert "connection reset" not in ended["message"] and "Traceback" not in ended["message"]
    request_id = ended["message"].split("request id ")[1].split(")")[0]
    assert any(request_id in r.getMessage() for r in caplog.records)


def test_a_turn_answered_twice_under_one_id_stores_its_question_and_answer_once(
    services, workspace_id
):
    service = chat_service(services, Scripted("a"))
    session_id = f"s-{uuid.uuid4().hex}"
    request = SendMessageData(workspaceId=workspace_id, text="What is lava?", sessionId=session_id)

    for _ in range(2):  # SQS delivers the same job again
        ended = service.chat(request, user_id="u", send=lambda e: True, turn_id="job-1")
        assert ended["type"] == "final"

    messages = stored(service, session_id)
    assert [(m.role, m.id) for m in messages] == [("user", "job-1-q"), ("assistant", "job-1")]


def test_a_reply_that_cannot_be_delivered_does_not_stop_the_turn(services, workspace_id):
    service = chat_service(services, Scripted("a"))
    session_id = f"s-{uuid.uuid4().hex}"
    request = SendMessageData(workspaceId=workspace_id, text="What is lava?", sessionId=session_id)

    def send(event: dict[str, Any]) -> bool:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    ended = service.chat(request, user_id="u", send=send)

    assert ended["type"] == "final"
    assert [m.role for m in stored(service, session_id)] == ["user", "assistant"]
