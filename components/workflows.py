"""The two Step Functions workflows of the chat path: the consensus fan-out (Express) and the
workspace re-index (Standard), from the ASL files in ``runtime/statemachines``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .function import XRAY_ACTIONS
from .iam import Statement, allow, assume_role_policy, policy_json
from .naming import tagged
from .rules import LogRetentionDays
from .statemachines import definition
from .validation import check_args

DEFAULT_STATEMACHINE_DIR = Path(__file__).resolve().parent.parent / "runtime" / "statemachines"

SFN_LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]
"""Step Functions log delivery; AWS documents these with Resource "*" only."""


@dataclass(frozen=True)
class Workflow:
    """A state machine and its execution role (``role`` for grants that name it)."""

    machine: aws.sfn.StateMachine
    role: aws.iam.Role


def logged_workflow(
    parent: pulumi.Resource,
    name: str,
    *,
    description: str,
    statements: Sequence[Statement],
    definition: pulumi.Input[str],
    workflow_type: str,
    log_level: str,
    kms_key_arn: pulumi.Input[str] | None,
    log_retention_days: pulumi.Input[int],
    machine_name: pulumi.Input[str] | None = None,
) -> Workflow:
    """One chorus workflow: ``<name>-logs`` (its log group), ``<name>-role`` (assumed only by
    Step Functions; ``statements`` plus log delivery, X-Ray and, with a key, encrypting its
    state) and the state machine ``<name>``, traced, logging at ``log_level`` without execution
    data, encrypted with ``kms_key_arn`` when given. Every workflow of the stack is built here,
    so none of them can lack its logs, tracing or key."""
    child = pulumi.ResourceOptions(parent=parent)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs", retention_in_days=log_retention_days, kms_key_id=kms_key_arn, opts=child
    )
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=assume_role_policy("states.amazonaws.com"),
        description=description,
        opts=child,
    )
    granted = [
        *statements,
        allow("DeliverLogs", SFN_LOG_DELIVERY_ACTIONS, ["*"]),
        allow(
            "XRayWrite", [*XRAY_ACTIONS, "xray:GetSamplingRules", "xray:GetSamplingTargets"], ["*"]
        ),
    ]
    if kms_key_arn is not None:
        granted.append(allow("EncryptState", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn]))
    policy = aws.iam.RolePolicy(
        f"{name}-policy", role=role.id, policy=policy_json(granted), opts=child
    )
    machine = aws.sfn.StateMachine(
        name,
        name=machine_name,
        type=workflow_type,
        role_arn=role.arn,
        definition=definition,
        logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
            log_destination=pulumi.Output.concat(log_group.arn, ":*"),
            include_execution_data=False,
            level=log_level,
        ),
        tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
        encryption_configuration=aws.sfn.StateMachineEncryptionConfigurationArgs(
            type="CUSTOMER_MANAGED_KMS_KEY",
            kms_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
        )
        if kms_key_arn is not None
        else None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
    return Workflow(machine, role)


class ChatWorkflowsArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for the state machines, roles and log groups. Default: none."""
    fanout_model_arn: pulumi.Input[str]
    """Function asking one model (``runtime.handlers.fanout_model``). Required."""
    fanout_agreement_arn: pulumi.Input[str]
    """Function scoring agreement (``runtime.handlers.fanout_agreement``). Required."""
    reindex_document_arn: pulumi.Input[str]
    """Function re-indexing one document (``runtime.handlers.reindex_document``). Required."""
    statemachine_dir: str
    """Folder holding ``consensus_fanout.asl.json`` and ``reindex_workspace.asl.json``.
    Default: ``runtime/statemachines`` next to this package."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the execution data and logs. Default: AWS-owned keys."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Retention of the workflows' logs. Default: 14."""


class ChatWorkflows(pulumi.ComponentResource):
    """``<name>-consensus-fanout`` (Express, ERROR logs) and ``<name>-reindex-workspace``
    (Standard, ALL logs), each with its own role invoking only its tasks, X-Ray tracing and
    optional CMK encryption.

    Example::

        import pulumi
        from chorus.components import ChatWorkflows

        task = "arn:aws:lambda:eu-west-1:123456789012:function:{}"
        workflows = ChatWorkflows("chat", {
            "fanout_model_arn": task.format("fanout-model"),
            "fanout_agreement_arn": task.format("fanout-agreement"),
            "reindex_document_arn": task.format("reindex-document"),
        })
        pulumi.export("reindex", workflows.reindex_state_machine_arn)
    """

    fanout_state_machine_arn: pulumi.Output[str]
    """Express workflow of the multi-model fan-out."""
    reindex_state_machine_arn: pulumi.Output[str]
    """Standard workflow re-indexing a workspace."""

    def __init__(
        self, name: str, args: ChatWorkflowsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "ChatWorkflows",
            name,
            ChatWorkflowsArgs,
            args,
            required=("fanout_model_arn", "fanout_agreement_arn", "reindex_document_arn"),
        )
        super().__init__("chorus:index:ChatWorkflows", name, {}, tagged(opts, args.get("tags")))
        self._name = name
        self._args = args
        fanout = self._state_machine(
            "consensus-fanout",
            "consensus_fanout.asl.json",
            {
                "FanoutModelFunctionArn": args["fanout_model_arn"],
                "AgreementFunctionArn": args["fanout_agreement_arn"],
            },
            [args["fanout_model_arn"], args["fanout_agreement_arn"]],
            workflow_type="EXPRESS",
        )
        reindex = self._state_machine(
            "reindex-workspace",
            "reindex_workspace.asl.json",
            {"ReindexDocumentFunctionArn": args["reindex_document_arn"]},
            [args["reindex_document_arn"]],
            workflow_type="STANDARD",
        )
        self.fanout_state_machine_arn = fanout.arn
        self.reindex_state_machine_arn = reindex.arn
        self.register_outputs(
            {
                "fanout_state_machine_arn": self.fanout_state_machine_arn,
                "reindex_state_machine_arn": self.reindex_state_machine_arn,
            }
        )

    def _state_machine(
        self,
        label: str,
        filename: str,
        values: Mapping[str, pulumi.Input[str]],
        task_arns: Sequence[pulumi.Input[str]],
        *,
        workflow_type: str,
    ) -> aws.sfn.StateMachine:
        folder = Path(self._args.get("statemachine_dir", DEFAULT_STATEMACHINE_DIR))
        invokable: list[pulumi.Input[str]] = []
        for arn in task_arns:
            invokable += [arn, pulumi.Output.concat(arn, ":*")]
        return logged_workflow(
            self,
            f"{self._name}-{label}",
            description=f"Execution role of the {label} workflow only",
            statements=[allow("InvokeTasks", ["lambda:InvokeFunction"], invokable)],
            definition=definition(folder / filename, values),
            workflow_type=workflow_type,
            log_level="ERROR" if workflow_type == "EXPRESS" else "ALL",
            kms_key_arn=self._args.get("kms_key_arn"),
            log_retention_days=self._args.get("log_retention_days", 14),
        ).machine
