"""Run the consensus fan-out workflow under moto's Step Functions interpreter.

moto executes ASL for real but needs Docker to run Lambda code; ``run_lambdas_in_process``
replaces its Docker-free Lambda backend's invoke with a call of our handler in this process,
reporting a raised exception as a function error named after its class, as the Python runtime
does — so the workflow's Retry and Catch match exactly what they would in AWS.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


def run_lambdas_in_process(
    monkeypatch: pytest.MonkeyPatch, handlers: dict[str, Callable[[dict[str, Any]], Any]]
) -> None:
    """Invoking function ``name`` calls ``handlers[name](event)``."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        try:
            return json.dumps(handlers[name](json.loads(body or "{}"))).encode()
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return json.dumps(error).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)


def stable_heap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give each ASL component one heap key even when a Map's iterations ask at once.

    moto's interpreter names a component's per-iteration state (a Retry's attempt count) by a
    key it draws lazily on first use; two iterations racing there draw two keys, and the loser's
    count restarts, so a task gets one retry more than MaxAttempts (seen once in CI under load).
    ``dict.setdefault`` keeps the first key drawn.
    """
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.utils import long_uid

    def heap_key(self: Any) -> str:
        return str(self.__dict__.setdefault("_EvalComponent__heap_key", long_uid()))

    monkeypatch.setattr(EvalComponent, "heap_key", property(heap_key))


def record_retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits moto's interpreter asks for, recorded instead of slept (and each Retry's
    attempts counted once per iteration: ``stable_heap_keys``)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    stable_heap_keys(monkeypatch)

    waits: list[float] = []

    class _Clock:
        @staticmethod
        def sleep(seconds: float) -> None:
            waits.append(seconds)

    monkeypatch.setattr(retrier_decl, "time", _Clock)
    return waits


def deploy_state_machine(
    name: str, definition: str, functions: dict[str, str], workflow_type: str = "STANDARD"
) -> tuple[Any, str]:
    """Create one function per placeholder (``{"FanoutModelFunctionArn": "fanout_model"}``:
    the handler module under ``runtime.handlers``) and the state machine with the placeholders
    filled; return the Step Functions client and the machine's ARN. moto runs either type
    alike; the default is what ``create_state_machine`` defaults to."""
    import boto3

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = boto3.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    lam = boto3.client("lambda")
    values = {
        placeholder: lam.create_function(
            FunctionName=module,
            Runtime="python3.12",
            Role=role,
            Handler=f"runtime.handlers.{module}.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )["FunctionArn"]
        for placeholder, module in functions.items()
    }
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=name,
        definition=PLACEHOLDER.sub(lambda m: values[m.group(1)], definition),
        roleArn=role,
        type=workflow_type,
    )
    return sfn, machine["stateMachineArn"]


def deploy_fanout(definition: str) -> tuple[Any, str]:
    """The two fan-out task functions and the consensus state machine."""
    return deploy_state_machine(
        "consensus-fanout",
        definition,
        {"FanoutModelFunctionArn": "fanout_model", "AgreementFunctionArn": "fanout_agreement"},
    )


EXECUTION_PATIENCE_S = 300
"""How long a test waits for moto's interpreter to finish an execution: a bound against a hang,
not a timing assertion (its Lambda tasks embed text; CI machines run at load 8)."""


def run_execution(sfn: Any, machine: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Start an execution and wait until it is no longer running."""
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))
    return wait_for_execution(sfn, execution["executionArn"])


def wait_for_execution(sfn: Any, execution_arn: str) -> dict[str, Any]:
    """``describe_execution`` once the execution is no longer running."""
    deadline = time.monotonic() + EXECUTION_PATIENCE_S
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"the execution did not finish within {EXECUTION_PATIENCE_S} s")


def execute_in_running_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside an already started ``mock_aws()`` (the ``stack`` fixture's), let moto execute
    state machines and run Lambda functions without Docker, as
    ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda":
    {"use_docker": False}})`` would; moto reads this config per request."""
    from moto.core.config import default_user_config

    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    monkeypatch.setitem(default_user_config, "lambda", {"use_docker": False})


def deploy_reindex(definition: str) -> tuple[Any, str]:
    """The ``reindex_document`` function and the re-index (Standard) state machine."""
    return deploy_state_machine(
        "reindex-workspace",
        definition,
        {"ReindexDocumentFunctionArn": "reindex_document"},
    )


def deploy_bulk_ingestion(
    results_bucket: str = "chorus-results", **settings: Any
) -> tuple[Any, str]:
    """The ``bulk_ingest_batch`` function and the bulk ingestion (Standard) state machine,
    from ``components.bulk_ingestion.bulk_ingestion_definition`` in the variant moto's
    interpreter executes (``moto_compatible``: no ItemBatcher, STANDARD children)."""
    from chorus.components.bulk_ingestion import bulk_ingestion_definition

    definition = bulk_ingestion_definition(
        batch_function_arn="${BulkBatchFunctionArn}",
        results_bucket=results_bucket,
        moto_compatible=True,
        **settings,
    )
    return deploy_state_machine(
        "bulk-ingestion",
        json.dumps(definition),
        {"BulkBatchFunctionArn": "bulk_ingest_batch"},
    )
