"""The fan-out workflow's Lambda handlers, run by moto's Step Functions interpreter.

The generated ASL executes under moto (``execute_state_machine``); its two Lambda tasks invoke
``runtime.handlers.fanout_model.handler`` and ``fanout_agreement.handler`` in-process, as the
Python runtime would (a raised exception becomes ``{"errorType": type(exc).__name__, ...}``),
so the workflow's ``Retry``/``Catch`` see exactly the error names the handlers raise. The models
come from ``models.registry`` of the app config (prices included) through ``CloudServices``;
only the provider behind each registry entry is a fake.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chorus.runtime.cloud.fanout import ProviderRejected, workflow_error
from chorus.runtime.cloud.services import CloudServices, set_services
from chorus.runtime.cloud.settings import settings_from
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.errors import (
    BadRequest,
    ContextTooLong,
    ProviderError,
    ProviderTimeout,
    Throttled,
)
from chorus.runtime.core.models import SearchHit
from chorus.runtime.core.resilience import CircuitOpen, RateLimited
from chorus.runtime.core.stepfunctions_plan import (
    consensus_fanout_definition,
    context_payload,
    render,
)
from chorus.runtime.handlers import fanout_agreement, fanout_model
from support import moto_stack
from support.providers import ScriptedProvider
from support.stepfunctions import (
    deploy_fanout,
    record_retry_waits,
    run_execution,
    run_lambdas_in_process,
)

LAVA = "A volcano is an opening in the crust where molten magma reaches the surface as lava."
RIGHT = "Lava is molten magma that reaches the surface through an opening in the crust [1]."
RIGHT_TOO = "Molten magma reaching the surface through an opening in the crust is lava [1]."
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def rejected() -> ProviderError:
    error = ProviderError("the model refused the request")
    error.retryable = False
    return error


# -- error names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "name"),
    [
        (Throttled("429"), "Throttled"),
        (RateLimited("no slot"), "Throttled"),
        (ProviderError("503"), "ProviderError"),
        (type("BedrockHiccup", (ProviderError,), {})("500"), "ProviderError"),
        (rejected(), "ProviderRejected"),
        (CircuitOpen("open"), "CircuitOpen"),
        (ContextTooLong("long"), "ContextTooLong"),
        (type("PromptTooLong", (ContextTooLong,), {})("long"), "ContextTooLong"),
        (ProviderTimeout("slow"), "ProviderTimeout"),
        (BadRequest("no"), "BadRequest"),
    ],
)
def test_errors_take_the_name_the_workflow_retries_or_catches(error, name):
    renamed = workflow_error(error)
    assert type(renamed).__name__ == name
    assert str(renamed) == str(error)
    if renamed is not error:
        assert renamed.__cause__ is error
    assert not isinstance(renamed, ProviderRejected) or renamed.retryable is False


# -- the workflow under moto ----------------------------------------------------------------------

REGISTRY = [
    {"name": "good", "provider": "openai", "model_id": "good", "base_url": "http://x/v1",
     "price_per_1k_input": 0.001, "price_per_1k_output": 0.002},
    {"name": "flaky", "provider": "openai", "model_id": "flaky", "base_url": "http://x/v1"},
    {"name": "throttled", "provider": "openai", "model_id": "t", "base_url": "http://x/v1"},
    {"name": "rate-limited", "provider": "openai", "model_id": "r", "base_url": "http://x/v1"},
    {"name": "rejecting", "provider": "openai", "model_id": "j", "base_url": "http://x/v1"},
    {"name": "too-long", "provider": "openai", "model_id": "l", "base_url": "http://x/v1"},
]  # fmt: skip


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    moto_stack.set_lambda_environment(monkeypatch)
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        yield


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return record_retry_waits(monkeypatch)


@pytest.fixture
def providers() -> dict[str, ScriptedProvider]:
    return {
        "good": ScriptedProvider("good", RIGHT),
        "flaky": ScriptedProvider("flaky", RIGHT_TOO, [Throttled("429"), ProviderError("503")]),
        "throttled": ScriptedProvider("throttled", RIGHT, [Throttled("429")] * 10),
        "rate-limited": ScriptedProvider("rate-limited", RIGHT, [RateLimited("no slot")] * 10),
        "rejecting": ScriptedProvider("rejecting", RIGHT, [rejected()]),
        "too-long": ScriptedProvider("too-long", RIGHT, [ContextTooLong("prompt too long")]),
    }


@pytest.fixture
def services(aws, embedder, providers) -> Iterator[CloudServices]:
    config = {
        "tables": {"workspace": "ws", "document": "docs", "sessions": "s", "connections": "c"},
        "models": {"registry": REGISTRY},
    }
    built = CloudServices(
        settings_from(config, {"AWS_REGION": moto_stack.REGION}),
        session=boto3.session.Session(region_name=moto_stack.REGION),
        embedder=embedder,
        provider_factories={"openai": lambda spec: providers[spec.name]},
    )
    set_services(built)
    yield built
    set_services(None)


def _lambda_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """The task functions are our real Lambda handlers, with a Lambda context."""
    run_lambdas_in_process(
        monkeypatch,
        {
            name: (lambda event, h=module.handler: h(event, moto_stack.LambdaContext()))
            for name, module in (
                ("fanout_model", fanout_model),
                ("fanout_agreement", fanout_agreement),
            )
        },
    )


def _deploy() -> tuple[Any, str]:
    return deploy_fanout(render(consensus_fanout_definition()))


def _request() -> dict[str, Any]:
    context = assemble_context([SearchHit("c1", "d1", 0, LAVA, 1.0, {})], budget_tokens=500)
    return {"question": "What is lava?", "context": context_payload(context), "history": []}


def test_the_handlers_run_the_workflow_with_retries_catches_and_a_partial_result(
    services, providers, retry_waits, monkeypatch
):
    _lambda_runtime(monkeypatch)
    sfn, machine = _deploy()

    execution = run_execution(sfn, machine, {"models": list(providers), "request": _request()})

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    by_model = {a["model"]: a for a in output["answers"]}
    assert output["partial"] is True and output["model"] in ("good", "flaky")
    assert by_model["good"]["text"] == RIGHT and by_model["flaky"]["text"] == RIGHT_TOO
    assert {m: a["error"]["code"] for m, a in by_model.items() if "error" in a} == {
        "throttled": "throttled",
        "rate-limited": "throttled",
        "rejecting": "provider_unavailable",
        "too-long": "context_too_long",
    }
    # Retried by the workflow only (the providers' own retry is off in the fan-out): throttling
    # and transient faults, up to 1 + 3 attempts; a refusal and a too-long prompt never.
    calls = {name: p.calls for name, p in providers.items()}
    assert calls == {
        "good": 1, "flaky": 3, "throttled": 4, "rate-limited": 4, "rejecting": 1, "too-long": 1,
    }  # fmt: skip
    assert len(retry_waits) == 2 + 3 + 3 and all(0 <= w <= 4.0 for w in retry_waits)
    # Prices from the registry; grounding and agreement from the agreement handler.
    assert by_model["good"]["cost"] == pytest.approx((1000 * 0.001 + 200 * 0.002) / 1000)
    assert by_model["good"]["grounding"] > 0.5 and output["agreement"] > 0.5


def test_every_model_failing_completes_with_an_error_result(services, retry_waits, monkeypatch):
    _lambda_runtime(monkeypatch)
    sfn, machine = _deploy()

    execution = run_execution(
        sfn, machine, {"models": ["too-long", "rejecting"], "request": _request()}
    )

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["answer"] is None and output["error"]["code"] == "provider_unavailable"
    assert retry_waits == []


def test_an_unknown_model_or_a_malformed_task_fails_without_a_retryable_name(services):
    context = moto_stack.LambdaContext()
    with pytest.raises(BadRequest):
        fanout_model.handler({"request": {}}, context)
    with pytest.raises(BadRequest):
        fanout_agreement.handler({"request": {}}, context)
    with pytest.raises(Exception) as caught:
        fanout_model.handler({"model": "nope", "request": _request()}, context)
    assert type(caught.value).__name__ not in ("Throttled", "ProviderError", "ThrottlingException")


def test_the_model_task_answers_directly(services):
    result = fanout_model.handler(
        {"model": "good", "request": _request()}, moto_stack.LambdaContext()
    )
    assert result["text"] == RIGHT and result["usage"]["inputTokens"] == 1000


# -- the chat worker's side: StartSyncExecution through the adapter ------------------------------


def _sync_client(sfn: Any, calls: list[dict[str, Any]]) -> Any:
    """A ``stepfunctions`` client whose ``StartSyncExecution`` runs the execution for real on
    moto's interpreter (moto has no synchronous start) and answers in the documented shape."""
    from botocore.awsrequest import AWSResponse

    client = boto3.client("stepfunctions", region_name=moto_stack.REGION)

    def start_sync(model: Any, params: dict[str, Any], **_: Any) -> Any:
        body = json.loads(params["body"])
        calls.append(body)
        execution = run_execution(sfn, body["stateMachineArn"], json.loads(body["input"]))
        parsed = {
            "executionArn": execution["executionArn"],
            "startDate": execution["startDate"],
            "stopDate": execution.get("stopDate", execution["startDate"]),
            "status": execution["status"],
            "output": execution.get("output", "{}"),
        }
        return AWSResponse(None, 200, {}, None), parsed

    client.meta.events.register("before-call.sfn.StartSyncExecution", start_sync)
    return client


def _orchestrator(services: CloudServices, fanout: Any) -> Any:
    from chorus.runtime.core.orchestration import Orchestrator

    return Orchestrator(
        services.answerers(),
        prices=services.prices,
        grounding=services.grounding,
        agreement=services.agreement,
        fanout=fanout,
    )


def test_a_consensus_turn_fans_out_through_the_workflow(
    services, providers, retry_waits, monkeypatch
):
    from chorus.runtime.adapters.stepfunctions_fanout import StepFunctionsFanOut

    _lambda_runtime(monkeypatch)
    sfn, machine = _deploy()
    calls: list[dict[str, Any]] = []
    orchestrator = _orchestrator(services, StepFunctionsFanOut(_sync_client(sfn, calls), machine))
    context = context_from_request()

    result = orchestrator.run(
        "consensus", ["good", "flaky", "too-long"], "What is lava?", context, temperature=0.0
    )

    assert len(calls) == 1 and calls[0]["stateMachineArn"] == machine
    sent = json.loads(calls[0]["input"])
    assert sent["models"] == ["good", "flaky", "too-long"]
    assert sent["request"]["context"]["citations"][0]["text"] == LAVA
    # Every model was asked by the workflow's Lambdas, none by this process a second time.
    assert {m: providers[m].calls for m in ("good", "flaky", "too-long")} == {
        "good": 1, "flaky": 3, "too-long": 1,
    }  # fmt: skip
    by_model = {a.model: a for a in result.answers}
    assert [a.model for a in result.answers] == ["good", "flaky", "too-long"]
    assert by_model["good"].text == RIGHT and by_model["flaky"].text == RIGHT_TOO
    assert by_model["too-long"].error is not None
    assert by_model["too-long"].error.code == "context_too_long"
    assert result.agreement is not None and result.agreement.score > 0.5
    assert by_model["good"].agreement == pytest.approx(result.agreement.score)
    assert by_model["good"].grounding is not None and by_model["good"].grounding.score > 0.5
    assert by_model["good"].cost == pytest.approx((1000 * 0.001 + 200 * 0.002) / 1000)
    assert result.answer in (RIGHT, RIGHT_TOO) and result.partial


def context_from_request() -> Any:
    from chorus.runtime.core.stepfunctions_plan import context_from_payload

    return context_from_payload(_request()["context"])


@pytest.mark.parametrize(
    "failure",
    [
        {"status": "FAILED", "error": "States.Runtime", "cause": "boom"},
        {"status": "TIMED_OUT"},
        {"error_code": "ExecutionLimitExceeded"},
        {"error_code": "ThrottlingException"},
    ],
)
def test_when_the_workflow_cannot_run_the_models_are_asked_in_process(services, providers, failure):
    from botocore.stub import ANY, Stubber
    from chorus.runtime.adapters.stepfunctions_fanout import StepFunctionsFanOut

    client = boto3.client("stepfunctions", region_name=moto_stack.REGION)
    arn = f"arn:aws:states:{moto_stack.REGION}:123456789012:stateMachine:fanout"
    with Stubber(client) as stub:
        expected = {"stateMachineArn": arn, "input": ANY}
        if "error_code" in failure:
            stub.add_client_error(
                "start_sync_execution", failure["error_code"], expected_params=expected
            )
        else:
            response = {
                "executionArn": arn.replace("stateMachine", "express") + ":run",
                "startDate": "2026-11-26T00:00:00Z",
                "stopDate": "2026-11-26T00:05:00Z",
                **failure,
            }
            stub.add_response("start_sync_execution", response, expected)
        result = _orchestrator(services, StepFunctionsFanOut(client, arn)).run(
            "consensus", ["good", "too-long"], "What is lava?", context_from_request()
        )
        stub.assert_no_pending_responses()

    assert result.answer == RIGHT and result.model == "good"
    assert providers["good"].calls == 1 and providers["too-long"].calls == 1


def test_an_input_over_the_step_functions_limit_is_never_sent(services, providers):
    from botocore.stub import Stubber
    from chorus.runtime.adapters.stepfunctions_fanout import MAX_INPUT_BYTES, StepFunctionsFanOut

    client = boto3.client("stepfunctions", region_name=moto_stack.REGION)
    huge = SearchHit("c1", "d1", 0, LAVA + " x" * MAX_INPUT_BYTES, 1.0, {})
    context = assemble_context([huge], budget_tokens=10**7)
    with Stubber(client):  # no response queued: any call would fail the test
        result = _orchestrator(services, StepFunctionsFanOut(client, "arn:x")).run(
            "consensus", ["good"], "What is lava?", context
        )
    assert result.answer == RIGHT and providers["good"].calls == 1
