"""The consensus fan-out workflow: generated from the plan, valid ASL, and executed under moto.

Execution: moto's Step Functions interpreter runs the real ASL — Map, Retry with backoff and
full jitter, Catch into the Pass state, the agreement task. moto cannot run Lambda code without
Docker (none here), so its Docker-free Lambda backend is given an in-process "runtime": an invoke
calls the task function (``fanout_model_task`` / ``fanout_agreement_task``) and turns a raised
exception into a Lambda function error ``{"errorType", "errorMessage"}`` as the Python runtime
does. Everything but the Lambda container is the real thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from chorus.runtime.core.agreement import EmbeddingAgreementScorer
from chorus.runtime.core.answering import LLMAnswerer
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.errors import ContextTooLong, Throttled
from chorus.runtime.core.models import SearchHit, TokenUsage
from chorus.runtime.core.stepfunctions_plan import (
    ASL_PATH,
    FanoutPlan,
    consensus_fanout_definition,
    context_from_payload,
    context_payload,
    fanout_agreement_task,
    fanout_model_task,
    render,
)
from statelint.linter import Linter
from support.providers import ScriptedProvider
from support.stepfunctions import (
    PLACEHOLDER,
    deploy_fanout,
    record_retry_waits,
    run_execution,
    run_lambdas_in_process,
)

INFRA_PLACEHOLDERS = {
    "FanoutModelFunctionArn",
    "AgreementFunctionArn",
}  # components/orchestrator.py


def test_checked_in_definition_is_the_one_the_plan_generates():
    assert ASL_PATH.read_text(encoding="utf-8") == render(consensus_fanout_definition()), (
        "runtime/statemachines/consensus_fanout.asl.json is out of date; regenerate it with "
        "python -m chorus.runtime.core.stepfunctions_plan"
    )


def test_definition_keeps_the_placeholders_the_infrastructure_fills():
    assert set(PLACEHOLDER.findall(ASL_PATH.read_text())) == INFRA_PLACEHOLDERS


def test_definition_is_valid_asl_before_and_after_substitution():
    text = render(consensus_fanout_definition())
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:f"

    assert Linter.validate(json.loads(text)) == []
    assert Linter.validate(json.loads(PLACEHOLDER.sub(arn, text))) == []


def _ask_one(definition: dict[str, Any]) -> dict[str, Any]:
    return definition["States"]["AskModels"]["ItemProcessor"]["States"]["AskOneModel"]


def test_model_task_retries_transient_errors_with_full_jitter_and_catches_everything():
    task = _ask_one(consensus_fanout_definition())

    (retry,) = task["Retry"]
    assert retry["JitterStrategy"] == "FULL"
    assert isinstance(retry["BackoffRate"], float) and retry["MaxAttempts"] >= 2
    assert {"Throttled", "Lambda.TooManyRequestsException", "ProviderError"} <= set(
        retry["ErrorEquals"]
    )
    assert not {"ContextTooLong", "ProviderTimeout", "States.ALL"} & set(retry["ErrorEquals"])
    assert task["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ModelFailed"}
    ]


def test_plan_knobs_reach_the_definition():
    definition = consensus_fanout_definition(FanoutPlan(max_concurrency=3, model_timeout_s=30))

    assert definition["States"]["AskModels"]["MaxConcurrency"] == 3
    assert _ask_one(definition)["TimeoutSeconds"] == 30


def test_context_survives_the_json_round_trip():
    context = assemble_context(
        [SearchHit("c1", "d1", 2, "Lava is molten rock.", 0.5, {"document_name": "v.md"})],
        budget_tokens=500,
    )

    assert context_from_payload(json.loads(json.dumps(context_payload(context)))) == context


# -- executed under moto ------------------------------------------------------------------------

LAVA = "A volcano is an opening in the crust where molten magma reaches the surface as lava."
RIGHT = "Lava is molten magma that reaches the surface through an opening in the crust [1]."
RIGHT_TOO = "Molten magma reaching the surface through an opening in the crust is lava [1]."


def flaky(name: str, text: str, errors: Sequence[Exception] = ()) -> ScriptedProvider:
    return ScriptedProvider(name, text, errors, usage=TokenUsage(100, 20))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        yield


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return record_retry_waits(monkeypatch)


def test_one_failing_model_yields_a_partial_result_under_moto(
    aws, retry_waits, monkeypatch, embedder
):
    models = {
        "good": flaky("good", RIGHT),
        "flaky": flaky("flaky", RIGHT_TOO, [Throttled("429"), Throttled("429")]),
        "throttled": flaky("throttled", RIGHT, [Throttled("429")] * 10),
        "too-long": flaky("too-long", RIGHT, [ContextTooLong("prompt too long")]),
    }
    answerers = {name: LLMAnswerer(p) for name, p in models.items()}
    scorer = EmbeddingAgreementScorer(embedder)
    run_lambdas_in_process(
        monkeypatch,
        {
            "fanout_model": lambda event: fanout_model_task(event, answerers),
            "fanout_agreement": lambda event: fanout_agreement_task(event, scorer),
        },
    )
    sfn, machine = deploy_fanout(render(consensus_fanout_definition()))
    context = assemble_context([SearchHit("c1", "d1", 0, LAVA, 1.0, {})], budget_tokens=500)
    request = {"question": "What is lava?", "context": context_payload(context), "history": []}

    execution = run_execution(sfn, machine, {"models": list(models), "request": request})

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    by_model = {a["model"]: a for a in output["answers"]}
    assert [a["model"] for a in output["answers"]] == list(models)  # Map keeps the order
    assert output["partial"] is True
    assert by_model["good"]["text"] == RIGHT and by_model["flaky"]["text"] == RIGHT_TOO
    assert by_model["throttled"]["error"]["code"] == "throttled"
    assert by_model["too-long"]["error"]["code"] == "context_too_long"
    assert output["model"] in ("good", "flaky") and output["agreement"] > 0.5
    # Retries: throttling is retried (1 + 3 attempts), a too-long prompt is not.
    assert (models["flaky"].calls, models["throttled"].calls, models["too-long"].calls) == (3, 4, 1)
    assert len(retry_waits) == 2 + 3
    assert all(0 <= wait <= 4.0 for wait in retry_waits)  # full jitter under 1 s x 2^n


def test_every_model_failing_still_completes_with_an_error_result_under_moto(
    aws, retry_waits, monkeypatch, embedder
):
    answerers = {
        "a": LLMAnswerer(flaky("a", RIGHT, [ContextTooLong("too long")])),
        "b": LLMAnswerer(flaky("b", RIGHT, [ContextTooLong("too long")])),
    }
    scorer = EmbeddingAgreementScorer(embedder)
    run_lambdas_in_process(
        monkeypatch,
        {
            "fanout_model": lambda event: fanout_model_task(event, answerers),
            "fanout_agreement": lambda event: fanout_agreement_task(event, scorer),
        },
    )
    sfn, machine = deploy_fanout(render(consensus_fanout_definition()))
    context = assemble_context([], budget_tokens=100)
    request = {"question": "What is lava?", "context": context_payload(context)}

    execution = run_execution(sfn, machine, {"models": ["a", "b"], "request": request})

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["answer"] is None and output["error"]["code"] == "context_too_long"
    assert retry_waits == []
