"""Deployments that roll back: versions behind ``live``, CodeDeploy groups watching the alarms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.deployments import LambdaDeployments, lambda_appspec
from components.orchestrator import ROLLED_OUT_FUNCTIONS
from components.settings import load_stack_file
from components.validation import ComponentInputError

from .conftest import deploy
from .test_stack import _deploy

ROOT = Path(__file__).resolve().parents[2]
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
ALIAS = "aws:lambda/alias:Alias"


@pytest.fixture(scope="module")
def prod():
    return _deploy(load_stack_file(ROOT / "Pulumi.prod.yaml"), stack="prod")


@pytest.fixture(scope="module")
def dev():
    return _deploy(load_stack_file(ROOT / "Pulumi.dev.yaml"))


def test_prod_publishes_the_workers_and_api_functions_behind_live(prod):
    published = {
        f.name for f in prod.of_type("aws:lambda/function:Function") if f.inputs.get("publish")
    }
    # and sync_sources, whose asynchronous callers invoke its alias (no deployment group)
    rolled_out = {f"chat-{m.replace('_', '-')}" for m in ROLLED_OUT_FUNCTIONS}
    assert published == rolled_out | {"chat-sync-sources"}
    aliases = {a.name: a.inputs for a in prod.of_type(ALIAS)}
    assert set(aliases) == {f"{name}-live" for name in published}
    assert {a["name"] for a in aliases.values()} == {"live"}


def test_prod_shifts_by_canary_and_rolls_back_on_any_alarm(prod):
    config = prod.one("aws:codedeploy/deploymentConfig:DeploymentConfig").inputs
    assert config["trafficRoutingConfig"]["type"] == "TimeBasedCanary"
    assert config["trafficRoutingConfig"]["timeBasedCanary"] == {"percentage": 10, "interval": 5}
    alarms = {a.state["name"] for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    groups = prod.of_type(GROUP)
    assert len(groups) == len(ROLLED_OUT_FUNCTIONS)
    for group in groups:
        inputs = group.inputs
        assert inputs["deploymentConfigName"] == config["deploymentConfigName"]
        assert inputs["deploymentStyle"] == {
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
            "deploymentType": "BLUE_GREEN",
        }
        assert set(inputs["autoRollbackConfiguration"]["events"]) == {
            "DEPLOYMENT_FAILURE",
            "DEPLOYMENT_STOP_ON_ALARM",
        }
        assert inputs["alarmConfiguration"]["enabled"] is True
        assert set(inputs["alarmConfiguration"]["alarms"]) == alarms


def test_dev_shifts_all_at_once(dev):
    assert dev.of_type("aws:codedeploy/deploymentConfig:DeploymentConfig") == []
    groups = dev.of_type(GROUP)
    assert groups and {g.inputs["deploymentConfigName"] for g in groups} == {
        "CodeDeployDefault.LambdaAllAtOnce"
    }


def test_codedeploy_assumes_a_role_with_the_lambda_deploy_policy(prod):
    role = prod.named("chat-codedeploy", "aws:iam/role:Role").inputs
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert role["managedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"
    ]


def test_a_linear_strategy_steps_by_its_percent():
    d = deploy(
        lambda: LambdaDeployments(
            "api",
            {
                "functions": {"rest_api": {"function_name": "f", "alias_name": "live"}},
                "strategy": "linear",
                "percent": 25,
                "interval_minutes": 2,
            },
        )
    )
    config = d.one("aws:codedeploy/deploymentConfig:DeploymentConfig").inputs
    assert config["trafficRoutingConfig"]["timeBasedLinear"] == {"percentage": 25, "interval": 2}
    assert "alarmConfiguration" not in d.one(GROUP).inputs  # no alarms given: failure only


def test_a_percent_out_of_range_is_refused():
    with pytest.raises(ComponentInputError, match="percent"):
        deploy(
            lambda: LambdaDeployments(
                "api",
                {
                    "functions": {"a": {"function_name": "f", "alias_name": "live"}},
                    "strategy": "canary",
                    "percent": 100,
                },
            )
        )


def test_the_appspec_shifts_the_alias_between_versions():
    spec = json.loads(lambda_appspec("chat-worker", "live", "3", "4"))
    [resource] = spec["Resources"]
    assert resource["chat-worker"]["Properties"] == {
        "Name": "chat-worker",
        "Alias": "live",
        "CurrentVersion": "3",
        "TargetVersion": "4",
    }
