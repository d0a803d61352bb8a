"""The prod dashboard: every widget's metric names a resource the stack declares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.dashboard import dashboard_body
from components.settings import load_stack_file
from components.stack import answer_models

from .test_stack import _deploy

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
APP_DIMENSIONS = {"service", "Model", "Store"}
"""Dimensions of chorus's own metrics (values from the catalogue and the config, not resources)."""


@pytest.fixture(scope="module")
def prod():
    return _deploy(load_stack_file(ROOT / "Pulumi.prod.yaml"), stack="prod")


@pytest.fixture(scope="module")
def body(prod) -> dict:
    return json.loads(prod.one(DASHBOARD).inputs["dashboardBody"])


def metric_lines(body: dict) -> list[list]:
    return [m for w in body["widgets"] for m in w["properties"]["metrics"]]


def dimensions(line: list) -> dict[str, str]:
    parts = [p for p in line[2:] if not isinstance(p, dict)]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def resource_values(prod) -> set[str]:
    """Every name, id and ARN the mocked stack declared."""
    values: set[str] = set()
    for r in prod.resources:
        for key in ("name", "id", "arn", "bucket"):
            if isinstance(r.state.get(key), str):
                values.add(r.state[key])
    return values


def test_every_widget_metric_names_a_resource_of_the_stack(prod, body):
    known = resource_values(prod) | {"live", "AllTraffic"}
    for line in metric_lines(body):
        for dimension, value in dimensions(line).items():
            if dimension in APP_DIMENSIONS:
                continue
            assert value in known, f"{line[1]} names {dimension}={value}, not in the stack"


def test_the_dashboard_draws_what_the_issue_asks_for(body):
    titles = {w["properties"]["title"] for w in body["widgets"]}
    assert {
        "Chat latency (ms)",
        "Turns and errors",
        "Cost per hour (USD)",
        "Per-model latency p95 (ms)",
        "Per-model retries, throttles, breaker openings",
        "Queue depth",
        "Age of oldest message (s)",
        "Dead-letter queues",
        "Lambda Errors",
        "Lambda Throttles",
        "Lambda Duration",
        "Lambda ConcurrentExecutions",
        "HTTP API",
        "WebSocket API",
        "Step Functions failures",
        "DynamoDB consumed capacity",
        "DynamoDB throttles",
        "Aurora ACU and connections",
        "SageMaker endpoints",
    } <= titles


def test_every_lambda_function_of_the_chat_path_is_drawn(prod, body):
    drawn = {dimensions(m)["FunctionName"] for m in metric_lines(body) if m[1] == "Errors"}
    functions = {
        f.state["name"]
        for f in prod.of_type("aws:lambda/function:Function")
        if f.name.startswith("chat-")
    }
    assert drawn == functions


def test_per_model_widgets_cover_every_configured_model(body):
    settings = load_stack_file(ROOT / "Pulumi.prod.yaml")
    lines = [m for m in metric_lines(body) if m[:2] == ["chorus", "ModelLatency"]]
    drawn = {dimensions(m)["Model"] for m in lines}
    assert drawn == {"extractive", *answer_models(settings)}


def test_widgets_tile_two_columns_without_overlap(body):
    places = [(w["x"], w["y"]) for w in body["widgets"]]
    assert len(places) == len(set(places))
    assert {x for x, _ in places} == {0, 12}


def test_a_stack_without_aurora_or_sagemaker_draws_neither():
    minimal = dashboard_body({"region": "eu-west-1", "queues": {"chat": "q"}})
    titles = {w["properties"]["title"] for w in minimal["widgets"]}
    assert "Aurora ACU and connections" not in titles and "SageMaker endpoints" not in titles
    assert "Queue depth" in titles
