"""Scheduled evaluation: EventBridge Scheduler → a Standard workflow that evaluates every
opted-in workspace's eval set, the results bucket, and the alarm on regressions.

The function (``runtime.handlers.evaluate_workspace``) lists the opted-in workspaces, then the
workflow's ``Map`` asks it to evaluate each one (``MaxConcurrency`` from the config; a failing
workspace is caught and recorded, the others go on). Each run writes its JSON and HTML report
under ``workspaces/<id>/runs/<time>/`` of the results bucket and publishes its headline
figures as EMF metrics (namespace ``chorus``, dimension ``Workspace``); ``EvalRegressions``
counts the figures below the workspace's accepted baseline by more than the margin, and the
alarm fires when any run of the period regressed. docs/evaluation.md, "Scheduled evaluation".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .alarms import METRICS_NAMESPACE, RUNBOOK, SERVICE_DIMENSION
from .buckets import private_bucket
from .function import LambdaFunction, LambdaFunctionArgs
from .iam import Statement, allow, assume_role_policy, kms_statements, policy_json
from .naming import tagged
from .rules import LogRetentionDays
from .statemachines import definition
from .validation import check_args
from .workflows import DEFAULT_STATEMACHINE_DIR, logged_workflow

HANDLER = "runtime.handlers.evaluate_workspace.handler"
ASL_FILE = "scheduled_evaluation.asl.json"
RESULTS_PREFIX = "workspaces/"
"""Every object the function reads or writes is under this prefix (runs and baselines)."""
REGRESSION_METRIC = "EvalRegressions"
"""``runtime.core.metrics.MetricName.EVAL_REGRESSIONS``, spelled out here: components/ does not
depend on the runtime package."""
READ_ITEMS = ["dynamodb:GetItem", "dynamodb:Query"]
OPT_IN_ITEMS = ["dynamodb:DeleteItem", "dynamodb:PutItem"]


class ScheduledEvaluationArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource. Default: none."""
    code: pulumi.Input[pulumi.Archive]
    """The handlers package (holds ``runtime.handlers.evaluate_workspace``). Required."""
    layers: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Layer version ARNs of the function. Default: none."""
    environment: Mapping[str, pulumi.Input[str]]
    """The functions' common environment (app config parameter, tables). Default: none."""
    statements: Sequence[Statement]
    """What the chat path needs (read the app config, invoke the models, read the vector
    stores, store the turns a run asks): the chat worker's grants. Default: none."""
    workspace_table_arn: pulumi.Input[str]
    """The workspace table: eval cases and opt-in items are read (and opt-ins written) there.
    Required."""
    schedule: pulumi.Input[str]
    """EventBridge Scheduler expression. Default: ``cron(0 6 ? * MON *)`` (Mondays 06:00)."""
    schedule_timezone: pulumi.Input[str]
    """Time zone of the expression. Default: ``UTC``."""
    margin: float
    """How far (absolute, 0–1 scale) a headline figure may fall below the baseline before it
    counts as a regression. Default: 0.02."""
    max_concurrency: int
    """Workspaces evaluated at once (the ``Map``'s ``MaxConcurrency``). Default: 2."""
    mode: str
    """Answer mode of the runs. Default: ``single``."""
    models: Sequence[str]
    """Models of the runs. Default: the mode's default."""
    result_expiry_days: int
    """Days a run's files are kept (baselines are kept). Default: 90."""
    alarm_topic_arn: pulumi.Input[str]
    """Topic the regression alarm notifies. Default: no alarm actions (alarm only)."""
    timeout: int
    """Seconds one workspace's evaluation may take. Default: 900."""
    memory_size: int
    """MB of the function. Default: 1024 (as the chat worker)."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """VPC subnets (when the vector store needs them). Default: not in a VPC."""
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups with ``subnet_ids``. Default: none."""
    statemachine_dir: str
    """Folder holding ``scheduled_evaluation.asl.json``. Default: ``runtime/statemachines``."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the bucket, logs and execution data. Default: AWS keys."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Retention of the function's and workflow's logs. Default: 14."""


def with_max_concurrency(template: str, max_concurrency: int) -> str:
    """The ASL with the ``Map``'s ``MaxConcurrency`` set (a number: no string placeholder)."""
    document = json.loads(template)
    document["States"]["EvaluateWorkspaces"]["MaxConcurrency"] = max_concurrency
    return json.dumps(document, indent=2)


class ScheduledEvaluation(pulumi.ComponentResource):
    """``<name>-evaluate-workspace`` (the function), ``<name>-scheduled-evaluation`` (Standard
    workflow), ``<name>-evaluation-schedule`` (EventBridge Scheduler, its own role that may
    only start that workflow), ``<name>-eval-results`` (private, encrypted, runs expire) and
    the ``<name>-eval-regression`` alarm.

    Example::

        import pulumi
        from chorus.components import ScheduledEvaluation

        evaluation = ScheduledEvaluation("chat", {
            "code": pulumi.FileArchive("build/handlers.zip"),
            "workspace_table_arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/ws",
            "schedule": "cron(0 6 ? * MON *)",
        })
        pulumi.export("results", evaluation.results_bucket_name)
    """

    results_bucket_name: pulumi.Output[str]
    """Bucket of the runs' JSON and HTML reports and the baselines."""
    state_machine_arn: pulumi.Output[str]
    """The Standard workflow a schedule starts."""
    function_name: pulumi.Output[str]
    """The evaluation function (also how operators accept a baseline or opt a workspace in)."""
    function_role_arn: pulumi.Output[str]
    """The function's role (it reads the vector stores: data access policies must name it)."""
    schedule_name: pulumi.Output[str]
    """The EventBridge Scheduler schedule."""
    alarm_name: pulumi.Output[str]
    """The alarm on ``EvalRegressions``."""

    def __init__(
        self, name: str, args: ScheduledEvaluationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "ScheduledEvaluation",
            name,
            ScheduledEvaluationArgs,
            args,
            required=("code", "workspace_table_arn"),
        )
        super().__init__(
            "chorus:index:ScheduledEvaluation", name, {}, tagged(opts, args.get("tags"))
        )
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        kms = args.get("kms_key_arn")
        results = private_bucket(
            f"{name}-eval-results",
            parent=self,
            encryption="aws:kms" if kms is not None else "AES256",
            kms_key_arn=kms,
            versioning=False,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-eval-results-lifecycle",
            bucket=results.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-runs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=RESULTS_PREFIX),
                    # baselines are rewritten when accepted; runs are what piles up
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.get("result_expiry_days", 90)
                    ),
                )
            ],
            opts=child,
        )
        function = self._function(results.bucket)
        machine = self._state_machine(function)
        schedule = self._schedule(machine)
        alarm = self._alarm()
        self.results_bucket_name = results.bucket.bucket
        self.state_machine_arn = machine.arn
        self.function_name = function.function_name
        self.function_role_arn = function.role_arn
        self.schedule_name = schedule.name
        self.alarm_name = alarm.name
        self.register_outputs(
            {
                "results_bucket_name": self.results_bucket_name,
                "state_machine_arn": self.state_machine_arn,
                "function_name": self.function_name,
                "function_role_arn": self.function_role_arn,
                "schedule_name": self.schedule_name,
                "alarm_name": self.alarm_name,
            }
        )

    def _function(self, bucket: aws.s3.Bucket) -> LambdaFunction:
        args = self._args
        table = args["workspace_table_arn"]
        objects = pulumi.Output.concat(bucket.arn, f"/{RESULTS_PREFIX}*")
        statements = [
            *args.get("statements", []),
            allow(
                "ReadEvalSets",
                READ_ITEMS,
                [table, pulumi.Output.concat(table, "/index/by_object_type")],
            ),
            allow("OptWorkspacesIn", OPT_IN_ITEMS, [table]),
            allow("KeepResults", ["s3:GetObject", "s3:PutObject"], [objects]),
            allow(
                "ListRuns",
                ["s3:ListBucket"],
                [bucket.arn],
                {"StringLike": {"s3:prefix": [f"{RESULTS_PREFIX}*"]}},
            ),
            *kms_statements(args.get("kms_key_arn"), encrypt=True),
        ]
        environment = {
            **args.get("environment", {}),
            "CHORUS_EVAL_RESULTS_BUCKET": bucket.bucket,
            "CHORUS_EVAL_MARGIN": str(args.get("margin", 0.02)),
            "CHORUS_EVAL_MODE": args.get("mode", "single"),
            "CHORUS_EVAL_MODELS": ",".join(args.get("models", [])),
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        fn_args: LambdaFunctionArgs = {
            "handler": HANDLER,
            "code": args["code"],
            "layers": args.get("layers", []),
            "environment": environment,
            "statements": statements,
            "timeout": args.get("timeout", 900),
            "memory_size": args.get("memory_size", 1024),
            "kms_key_arn": args.get("kms_key_arn"),
            "log_retention_days": args.get("log_retention_days", 14),
            "description": "Scheduled evaluation of the opted-in workspaces' eval sets",
        }
        if args.get("subnet_ids") is not None:
            fn_args["subnet_ids"] = args["subnet_ids"]
            fn_args["security_group_ids"] = args.get("security_group_ids", [])
        return LambdaFunction(
            f"{self._name}-evaluate-workspace", fn_args, opts=pulumi.ResourceOptions(parent=self)
        )

    def _state_machine(self, function: LambdaFunction) -> aws.sfn.StateMachine:
        args = self._args
        folder = Path(args.get("statemachine_dir", DEFAULT_STATEMACHINE_DIR))
        asl = definition(
            folder / ASL_FILE, {"EvaluateWorkspaceFunctionArn": function.target_arn}
        ).apply(lambda text: with_max_concurrency(text, args.get("max_concurrency", 2)))
        invoke = allow(
            "InvokeEvaluation",
            ["lambda:InvokeFunction"],
            [function.target_arn, pulumi.Output.concat(function.target_arn, ":*")],
        )
        return logged_workflow(
            self,
            f"{self._name}-scheduled-evaluation",
            description="Execution role of the scheduled evaluation workflow only",
            statements=[invoke],
            definition=asl,
            workflow_type="STANDARD",
            log_level="ERROR",
            kms_key_arn=args.get("kms_key_arn"),
            log_retention_days=args.get("log_retention_days", 14),
        ).machine

    def _schedule(self, machine: aws.sfn.StateMachine) -> aws.scheduler.Schedule:
        args, name = self._args, f"{self._name}-evaluation-schedule"
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("scheduler.amazonaws.com", account),
            description="Lets EventBridge Scheduler start the scheduled evaluation, nothing else",
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=policy_json(
                [allow("StartEvaluation", ["states:StartExecution"], [machine.arn])]
            ),
            opts=child,
        )
        return aws.scheduler.Schedule(
            name,
            schedule_expression=args.get("schedule", "cron(0 6 ? * MON *)"),
            schedule_expression_timezone=args.get("schedule_timezone", "UTC"),
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            state="ENABLED",
            description="Evaluates the opted-in workspaces' eval sets (docs/evaluation.md)",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=machine.arn,
                role_arn=role.arn,
                input="{}",
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _alarm(self) -> aws.cloudwatch.MetricAlarm:
        topic = self._args.get("alarm_topic_arn")
        actions = [topic] if topic is not None else []
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-eval-regression",
            alarm_description=(
                "A scheduled evaluation scored a workspace below its accepted baseline by more "
                f"than the margin (runbook: {RUNBOOK}#eval-regression; the run's report is in "
                "the results bucket)"
            ),
            namespace=METRICS_NAMESPACE,
            metric_name=REGRESSION_METRIC,
            dimensions=SERVICE_DIMENSION,
            statistic="Maximum",
            period=3600,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1.0,
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            opts=pulumi.ResourceOptions(parent=self),
        )
