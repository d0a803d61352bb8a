"""runtime/adapters/bedrock_guardrails.py through a real ``bedrock-runtime`` boto3 client.

moto does not implement Bedrock runtime, so ApplyGuardrail answers are the documented shapes
through botocore's ``Stubber`` (which also validates every request and response against the
service model); nothing of ours is mocked. One test runs the real ChatService on the embedded
PostgreSQL and MiniLM with the guardrail in place.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber
from chorus.runtime.adapters.bedrock_guardrails import (
    BLOCKED_MESSAGE,
    BedrockGuardrail,
    apply_guardrail_request,
)
from chorus.runtime.core.chat import ChatService
from chorus.runtime.core.context import AssembledContext, Citation
from chorus.runtime.core.errors import ProviderError, Throttled
from chorus.runtime.core.grounding import GuardrailCheck
from chorus.runtime.core.models import SearchHit
from chorus.runtime.core.protocol import SendMessageData

GUARDRAIL_ID = "gr1abcd2efgh"
VERSION = "3"
QUESTION = "What is lava?"
ANSWER = "Lava is molten magma that reaches the surface [1]."
SOURCE = "A volcano is an opening in the crust where molten magma reaches the surface as lava."
CONTEXT = AssembledContext(
    f"[1] (volcanoes.md)\n{SOURCE}",
    [Citation(1, SearchHit("c1", "d1", SOURCE, 0.9, {"document_name": "volcanoes.md"}))],
    30,
)
BLOCKED = "Sorry, I cannot answer that from the documents."
USAGE = {
    "topicPolicyUnits": 1,
    "contentPolicyUnits": 1,
    "wordPolicyUnits": 0,
    "sensitiveInformationPolicyUnits": 0,
    "sensitiveInformationPolicyFreeUnits": 0,
    "contextualGroundingPolicyUnits": 2,
}


def client() -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def expected_request(question: str = QUESTION, answer: str = ANSWER) -> dict[str, Any]:
    return {
        "guardrailIdentifier": GUARDRAIL_ID,
        "guardrailVersion": VERSION,
        "source": "OUTPUT",
        "content": [
            {"text": {"text": CONTEXT.text, "qualifiers": ["grounding_source"]}},
            {"text": {"text": question, "qualifiers": ["query"]}},
            {"text": {"text": answer, "qualifiers": ["guard_content"]}},
        ],
    }


def intervention(text: str = BLOCKED) -> dict[str, Any]:
    """A documented GUARDRAIL_INTERVENED answer: grounding under its threshold blocked it."""
    return {
        "usage": USAGE,
        "action": "GUARDRAIL_INTERVENED",
        "actionReason": "Guardrail blocked.",
        "outputs": [{"text": text}],
        "assessments": [
            {
                "topicPolicy": {
                    "topics": [
                        {"name": "Finance", "type": "DENY", "action": "NONE", "detected": False}
                    ]
                },
                "contentPolicy": {
                    "filters": [
                        {
                            "type": "VIOLENCE",
                            "confidence": "LOW",
                            "filterStrength": "HIGH",
                            "action": "BLOCKED",
                            "detected": True,
                        },
                        {"type": "HATE", "confidence": "NONE", "action": "NONE"},
                    ]
                },
                "sensitiveInformationPolicy": {
                    "piiEntities": [
                        {"match": "jane@example.com", "type": "EMAIL", "action": "ANONYMIZED"}
                    ],
                    "regexes": [],
                },
                "contextualGroundingPolicy": {
                    "filters": [
                        {
                            "type": "GROUNDING",
                            "threshold": 0.75,
                            "score": 0.123456,
                            "action": "BLOCKED",
                            "detected": True,
                        },
                        {"type": "RELEVANCE", "threshold": 0.5, "score": 0.91, "action": "NONE"},
                    ]
                },
                "invocationMetrics": {"guardrailProcessingLatency": 211, "usage": USAGE},
            }
        ],
    }


def no_intervention() -> dict[str, Any]:
    return {"usage": USAGE, "action": "NONE", "outputs": [], "assessments": []}


def guardrail(bedrock: Any, **kwargs: Any) -> BedrockGuardrail:
    return BedrockGuardrail(GUARDRAIL_ID, VERSION, client=bedrock, **kwargs)


def test_it_implements_the_core_port():
    assert isinstance(guardrail(client()), GuardrailCheck)


def test_the_request_checks_the_answer_as_output_with_the_grounding_qualifiers():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_response("apply_guardrail", no_intervention(), expected_request())
        guardrail(bedrock).apply(QUESTION, ANSWER, CONTEXT)
        stub.assert_no_pending_responses()


def test_an_intervention_replaces_the_answer_and_says_which_policies_fired():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_response("apply_guardrail", intervention(), expected_request())
        verdict = guardrail(bedrock).apply(QUESTION, ANSWER, CONTEXT)

    assert verdict.intervened is True and verdict.output == BLOCKED
    details = verdict.details
    assert details["guardrailId"] == GUARDRAIL_ID and details["guardrailVersion"] == VERSION
    assert details["action"] == "GUARDRAIL_INTERVENED" and details["source"] == "OUTPUT"
    assert details["actionReason"] == "Guardrail blocked."
    assert details["policies"] == ["content", "sensitiveInformation", "contextualGrounding"]
    assert details["assessments"] == {
        "content": [
            {"type": "VIOLENCE", "confidence": "LOW", "filterStrength": "HIGH", "action": "BLOCKED"}
        ],
        "sensitiveInformation": [{"type": "EMAIL", "action": "ANONYMIZED"}],
        "contextualGrounding": [
            {"type": "GROUNDING", "action": "BLOCKED", "score": 0.1235, "threshold": 0.75},
            {"type": "RELEVANCE", "action": "NONE", "score": 0.91, "threshold": 0.5},
        ],
    }
    assert details["usage"] == {
        "topicPolicyUnits": 1,
        "contentPolicyUnits": 1,
        "contextualGroundingPolicyUnits": 2,
    }


def test_an_intervention_without_text_still_hides_the_answer():
    bedrock = client()
    response = {**intervention(), "outputs": []}
    with Stubber(bedrock) as stub:
        stub.add_response("apply_guardrail", response, expected_request())
        verdict = guardrail(bedrock).apply(QUESTION, ANSWER, CONTEXT)
    assert verdict.intervened is True and verdict.output == BLOCKED_MESSAGE


def test_no_intervention_keeps_the_answer():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_response("apply_guardrail", no_intervention(), expected_request())
        verdict = guardrail(bedrock).apply(QUESTION, ANSWER, CONTEXT)

    assert verdict.intervened is False and verdict.output is None
    assert verdict.details["action"] == "NONE" and verdict.details["policies"] == []
    assert verdict.details["assessments"] == {}


def test_output_scope_is_passed_through_and_checked():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_response(
            "apply_guardrail", no_intervention(), {**expected_request(), "outputScope": "FULL"}
        )
        guardrail(bedrock, output_scope="FULL").apply(QUESTION, ANSWER, CONTEXT)
        stub.assert_no_pending_responses()
    with pytest.raises(ValueError, match="output_scope"):
        guardrail(bedrock, output_scope="ALL")


def test_the_query_is_cut_to_the_documented_limit_and_no_sources_means_no_source_block():
    empty = AssembledContext("", [], 0)
    request = apply_guardrail_request(GUARDRAIL_ID, VERSION, "q" * 5000, ANSWER, empty)
    assert [b["text"]["qualifiers"] for b in request["content"]] == [["query"], ["guard_content"]]
    assert len(request["content"][0]["text"]["text"]) == 1000


def test_check_input_blocks_the_question_before_the_answer_is_checked():
    bedrock = client()
    input_request = {
        "guardrailIdentifier": GUARDRAIL_ID,
        "guardrailVersion": VERSION,
        "source": "INPUT",
        "content": [{"text": {"text": QUESTION}}],
    }
    with Stubber(bedrock) as stub:
        stub.add_response("apply_guardrail", intervention("No."), input_request)
        verdict = guardrail(bedrock, check_input=True).apply(QUESTION, ANSWER, CONTEXT)
        stub.assert_no_pending_responses()  # the output check was skipped
    assert verdict.intervened is True and verdict.output == "No."
    assert verdict.details["source"] == "INPUT"


def test_check_input_passing_goes_on_to_the_output_check_and_sums_usage():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_response("apply_guardrail", no_intervention(), None)
        stub.add_response("apply_guardrail", no_intervention(), expected_request())
        verdict = guardrail(bedrock, check_input=True).apply(QUESTION, ANSWER, CONTEXT)
        stub.assert_no_pending_responses()
    assert verdict.intervened is False
    assert verdict.details["usage"]["contextualGroundingPolicyUnits"] == 4


def test_throttling_fails_closed_by_default_as_throttled():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_client_error(
            "apply_guardrail", "ThrottlingException", "Rate exceeded", http_status_code=429
        )
        with pytest.raises(Throttled, match=GUARDRAIL_ID) as raised:
            guardrail(bedrock).apply(QUESTION, ANSWER, CONTEXT)
    assert raised.value.code == "throttled" and raised.value.retryable


def test_a_validation_error_is_a_non_retryable_provider_error_not_context_too_long():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_client_error(
            "apply_guardrail",
            "ValidationException",
            "The guarded content exceeds the contextual grounding limit of 5000 characters",
            http_status_code=400,
        )
        with pytest.raises(ProviderError) as raised:
            guardrail(bedrock).apply(QUESTION, ANSWER, CONTEXT)
    assert type(raised.value) is ProviderError
    assert raised.value.code == "provider_unavailable" and raised.value.retryable is False
    assert "ValidationException" in raised.value.message


def test_a_service_outage_is_retryable_provider_unavailable():
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_client_error(
            "apply_guardrail", "ServiceUnavailableException", "down", http_status_code=503
        )
        with pytest.raises(ProviderError) as raised:
            guardrail(bedrock).apply(QUESTION, ANSWER, CONTEXT)
    assert raised.value.code == "provider_unavailable" and raised.value.retryable is True


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        ("ThrottlingException", 429, "throttled"),
        ("ValidationException", 400, "provider_unavailable"),
        ("AccessDeniedException", 403, "provider_unavailable"),
    ],
)
def test_fail_open_keeps_the_answer_and_reports_the_error_code(error, status, code):
    bedrock = client()
    with Stubber(bedrock) as stub:
        stub.add_client_error("apply_guardrail", error, "nope", http_status_code=status)
        verdict = guardrail(bedrock, fail_open=True).apply(QUESTION, ANSWER, CONTEXT)

    assert verdict.intervened is False and verdict.output is None
    assert verdict.details["error"] == code and verdict.details["failOpen"] is True
    assert "nope" in verdict.details["message"]


# -- through the chat service ------------------------------------------------------------------

LAVA = (
    "# Volcanoes\n\nA volcano is an opening in the crust where molten magma reaches the surface "
    "as lava. Stratovolcanoes such as Mount Fuji build steep cones from layers of ash and lava.\n"
)


@pytest.fixture
def chat_parts(fresh_dsn, embedder):
    from chorus.runtime.core.answering import ExtractiveAnswerer
    from chorus.runtime.local.services import open_services

    services = open_services(dsn=fresh_dsn, embedder=embedder, semantic_cache=False)
    workspace = services.create_workspace("volcanoes")
    assert services.ingestor.ingest(workspace, "volcanoes.md", LAVA.encode()).outcome == "indexed"
    answerers = {"extractive": ExtractiveAnswerer(embedder)}
    try:
        yield services, workspace.id, answerers
    finally:
        services.close()


def ask(service: ChatService, workspace_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    request = SendMessageData(workspaceId=workspace_id, text=QUESTION)
    service.chat(request, user_id="u", send=lambda e: events.append(e) or True)
    return events


def test_the_chat_final_event_carries_the_verdict_and_the_replaced_answer(chat_parts):
    services, workspace_id, answerers = chat_parts
    bedrock = client()
    sent: list[dict[str, Any]] = []
    bedrock.meta.events.register(
        "provide-client-params.bedrock-runtime.ApplyGuardrail",
        lambda params, **_: sent.append(params),
    )
    expected = {
        "guardrailIdentifier": GUARDRAIL_ID,
        "guardrailVersion": VERSION,
        "source": "OUTPUT",
        "content": ANY,
    }
    service = ChatService(
        services.metadata,
        services.retriever,
        answerers,
        default_model="extractive",
        guardrail=guardrail(bedrock),
    )
    with Stubber(bedrock) as stub:
        stub.add_response("apply_guardrail", intervention(), expected)
        events = ask(service, workspace_id)
        stub.assert_no_pending_responses()

    final = events[-1]
    assert final["type"] == "final"
    assert final["answer"] == BLOCKED
    verdict = final["guardrail"]
    assert verdict["intervened"] is True and verdict["action"] == "GUARDRAIL_INTERVENED"
    assert verdict["assessments"]["contextualGrounding"][0]["score"] == 0.1235
    # what the guardrail saw: the retrieved sources, the question, the model's own answer
    source, query, content = sent[0]["content"]
    assert source["text"]["qualifiers"] == ["grounding_source"]
    assert "molten magma reaches the surface" in source["text"]["text"]
    assert query["text"] == {"text": QUESTION, "qualifiers": ["query"]}
    assert content["text"]["qualifiers"] == ["guard_content"]
    assert content["text"]["text"] == final["answers"][0]["text"] != BLOCKED
    stored = services.metadata.list_messages(final["sessionId"])[-1]
    assert stored.content == BLOCKED and stored.details["guardrail"]["intervened"] is True


def test_a_failing_guardrail_ends_the_turn_with_its_code_or_is_flagged_when_failing_open(
    chat_parts,
):
    services, workspace_id, answerers = chat_parts
    bedrock = client()

    def service(fail_open: bool) -> ChatService:
        return ChatService(
            services.metadata,
            services.retriever,
            answerers,
            default_model="extractive",
            guardrail=guardrail(bedrock, fail_open=fail_open),
        )

    with Stubber(bedrock) as stub:
        stub.add_client_error("apply_guardrail", "ThrottlingException", "slow down", 429)
        stub.add_client_error("apply_guardrail", "ThrottlingException", "slow down", 429)
        closed = ask(service(False), workspace_id)[-1]
        opened = ask(service(True), workspace_id)[-1]

    assert (closed["type"], closed["code"]) == ("error", "throttled")
    assert opened["type"] == "final" and opened["answer"] == opened["answers"][0]["text"]
    assert opened["guardrail"]["intervened"] is False
    assert opened["guardrail"]["error"] == "throttled" and opened["guardrail"]["failOpen"]


def test_an_answer_a_failing_open_guardrail_could_not_check_is_not_cached(chat_parts):
    from chorus.runtime.adapters.postgres_cache import PostgresSemanticCache

    services, workspace_id, answerers = chat_parts
    bedrock = client()
    service = ChatService(
        services.metadata,
        services.retriever,
        answerers,
        default_model="extractive",
        guardrail=guardrail(bedrock, fail_open=True),
        cache=PostgresSemanticCache(services.db, services.embedder.dimension),
    )
    with Stubber(bedrock) as stub:
        stub.add_client_error("apply_guardrail", "ThrottlingException", "slow down", 429)
        stub.add_response("apply_guardrail", no_intervention())
        first = ask(service, workspace_id)[-1]
        second = ask(service, workspace_id)[-1]
        stub.assert_no_pending_responses()

    assert first["guardrail"]["error"] == "throttled"
    assert second["cached"] is False  # checked by the guardrail this time, not served unchecked
    assert second["guardrail"]["intervened"] is False and "error" not in second["guardrail"]
