"""Deployments that roll back on their own: CodeDeploy shifts each function's ``live`` alias to
its new version (canary, linear or all at once) and rolls back when an alarm fires.

A deployment group per function, all in one CodeDeploy application, all watching the same
alarms (``ChatAlarms.alarm_names``). A new version is published by ``pulumi up``; a CodeDeploy
deployment (``lambda_appspec``: alias, current and target version) shifts traffic to it. In
dev, ``all_at_once`` shifts immediately and still rolls back on alarm.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Literal, TypedDict

import pulumi
import pulumi_aws as aws

from .iam import policy_json
from .validation import check_args

DeploymentStrategy = Literal["all_at_once", "canary", "linear"]
CODEDEPLOY_LAMBDA_POLICY = "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"


class FunctionAlias(TypedDict):
    function_name: pulumi.Input[str]
    alias_name: pulumi.Input[str]


class LambdaDeploymentsArgs(TypedDict, total=False):
    functions: Mapping[str, FunctionAlias]
    """Label → the function and the alias CodeDeploy shifts. Required."""
    strategy: DeploymentStrategy
    """``all_at_once``, ``canary`` (``percent`` first, the rest after ``interval_minutes``) or
    ``linear`` (``percent`` more every ``interval_minutes``). Default: ``all_at_once``."""
    percent: int
    """Traffic share of a canary's first step, or of each linear step (1..99). Default: 10."""
    interval_minutes: int
    """Minutes between steps (1..60). Default: 5."""
    alarm_names: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Alarms that stop and roll back a deployment (``ChatAlarms.alarm_names``). Default: none
    (rollback on a failed deployment only)."""


def deployment_config_name(strategy: DeploymentStrategy) -> str | None:
    """AWS's predefined config for all-at-once; None when chorus defines its own."""
    return "CodeDeployDefault.LambdaAllAtOnce" if strategy == "all_at_once" else None


def lambda_appspec(function_name: str, alias: str, current: str, target: str) -> str:
    """The AppSpec of a Lambda deployment: shift ``alias`` from ``current`` to ``target``."""
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    function_name: {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": function_name,
                            "Alias": alias,
                            "CurrentVersion": current,
                            "TargetVersion": target,
                        },
                    }
                }
            ],
        }
    )


def _percent_rule(args: LambdaDeploymentsArgs) -> str | None:
    percent = args.get("percent", 10)
    if not 1 <= percent <= 99:
        return f"'percent' must be 1..99, got {percent}"
    minutes = args.get("interval_minutes", 5)
    if not 1 <= minutes <= 60:
        return f"'interval_minutes' must be 1..60, got {minutes}"
    return None


class LambdaDeployments(pulumi.ComponentResource):
    """``<name>-deploy`` (CodeDeploy application), its service role, the traffic-shifting config
    and one deployment group per function with automatic rollback on failure and on alarm.

    Example::

        from chorus.components import LambdaDeployments

        LambdaDeployments("chat", {
            "functions": {"chat_worker": {"function_name": "chorus-chat-worker",
                                          "alias_name": "live"}},
            "strategy": "canary",
            "percent": 10,
            "interval_minutes": 5,
            "alarm_names": ["chorus-chat-error-rate"],
        })
    """

    application_name: pulumi.Output[str]
    """The CodeDeploy application."""
    deployment_group_names: pulumi.Output[dict[str, str]]
    """Label → deployment group name (``aws deploy create-deployment --deployment-group-name``)."""
    deployment_config_name: pulumi.Output[str]
    """The traffic-shifting config the groups use."""

    def __init__(
        self, name: str, args: LambdaDeploymentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "LambdaDeployments",
            name,
            LambdaDeploymentsArgs,
            args,
            required=("functions",),
            rules=[_percent_rule],
        )
        super().__init__("chorus:index:LambdaDeployments", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        app = aws.codedeploy.Application(f"{name}-deploy", compute_platform="Lambda", opts=child)
        role = aws.iam.Role(
            f"{name}-codedeploy",
            assume_role_policy=policy_json(
                [
                    {
                        "Sid": "CodeDeployShiftsAliases",
                        "Effect": "Allow",
                        "Principal": {"Service": "codedeploy.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
            managed_policy_arns=[CODEDEPLOY_LAMBDA_POLICY],
            opts=child,
        )
        strategy = args.get("strategy", "all_at_once")
        config_name: pulumi.Input[str] | None = deployment_config_name(strategy)
        if config_name is None:
            percent, minutes = args.get("percent", 10), args.get("interval_minutes", 5)
            routing = (
                aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs(
                    type="TimeBasedCanary",
                    time_based_canary=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedCanaryArgs(
                        percentage=percent, interval=minutes
                    ),
                )
                if strategy == "canary"
                else aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs(
                    type="TimeBasedLinear",
                    time_based_linear=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedLinearArgs(
                        percentage=percent, interval=minutes
                    ),
                )
            )
            config = aws.codedeploy.DeploymentConfig(
                f"{name}-{strategy}",
                deployment_config_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-"
                f"{strategy}-{percent}pct-{minutes}min",
                compute_platform="Lambda",
                traffic_routing_config=routing,
                opts=child,
            )
            config_name = config.deployment_config_name
        alarm_names = args.get("alarm_names")
        groups: dict[str, pulumi.Output[str]] = {}
        self.targets: dict[str, FunctionAlias] = dict(args["functions"])
        """Label → the function and alias a deployment of that group shifts (its AppSpec)."""
        for label in self.targets:
            group = aws.codedeploy.DeploymentGroup(
                f"{name}-{label.replace('_', '-')}-deploy",
                app_name=app.name,
                deployment_group_name=label.replace("_", "-"),
                service_role_arn=role.arn,
                deployment_config_name=config_name,
                deployment_style=aws.codedeploy.DeploymentGroupDeploymentStyleArgs(
                    deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
                ),
                auto_rollback_configuration=aws.codedeploy.DeploymentGroupAutoRollbackConfigurationArgs(
                    enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
                ),
                alarm_configuration=(
                    aws.codedeploy.DeploymentGroupAlarmConfigurationArgs(
                        enabled=True, alarms=alarm_names
                    )
                    if alarm_names is not None
                    else None
                ),
                opts=child,
            )
            groups[label] = group.deployment_group_name
        self.application_name = app.name
        self.deployment_group_names = pulumi.Output.all(**groups)
        self.deployment_config_name = pulumi.Output.from_input(config_name)
        self.register_outputs(
            {
                "application_name": self.application_name,
                "deployment_group_names": self.deployment_group_names,
                "deployment_config_name": self.deployment_config_name,
            }
        )
