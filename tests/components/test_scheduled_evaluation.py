"""components/scheduled_evaluation.py under Pulumi mocks: the schedule, its role, the workflow,
the function's grants, the results bucket and the regression alarm, on the inputs the engine
would send."""

from __future__ import annotations

import json

from statelint.linter import Linter

from components.scheduled_evaluation import ScheduledEvaluation

from .conftest import ACCOUNT, REGION, deploy

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/chorus-workspace"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:chorus-alarms"
MODEL = f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"


def _program(**extra):
    def program():
        evaluation = ScheduledEvaluation("chat", {
            "code": __import__("pulumi").AssetArchive({}),
            "workspace_table_arn": TABLE,
            "statements": [{"Sid": "InvokeBedrock", "Effect": "Allow",
                            "Action": ["bedrock:InvokeModel"], "Resource": [MODEL]}],
            "schedule": "cron(30 5 ? * MON-FRI *)",
            "schedule_timezone": "Europe/Paris",
            "margin": 0.05,
            "max_concurrency": 3,
            "alarm_topic_arn": TOPIC,
            **extra,
        })  # fmt: skip
        return {"bucket": evaluation.results_bucket_name, "machine": evaluation.state_machine_arn}

    return program


def _statements(d, name: str) -> dict[str, dict]:
    policy = json.loads(d.named(name, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def test_the_schedule_starts_the_workflow_with_the_configured_cron():
    d = deploy(_program())
    schedule = d.one("aws:scheduler/schedule:Schedule").inputs
    machine = d.one("aws:sfn/stateMachine:StateMachine")
    assert schedule["scheduleExpression"] == "cron(30 5 ? * MON-FRI *)"
    assert schedule["scheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["target"]["arn"] == machine.state["arn"]
    role = d.named("chat-evaluation-schedule-role", "aws:iam/role:Role")
    assert schedule["target"]["roleArn"] == role.state["arn"]


def test_the_schedules_role_may_only_start_that_workflow():
    d = deploy(_program())
    machine = d.one("aws:sfn/stateMachine:StateMachine").state["arn"]
    statements = _statements(d, "chat-evaluation-schedule-policy")
    assert statements == {
        "StartEvaluation": {
            "Sid": "StartEvaluation",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": [machine],
        }
    }
    trust = json.loads(d.named("chat-evaluation-schedule-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_the_workflow_maps_over_workspaces_with_the_configured_concurrency_and_valid_asl():
    d = deploy(_program())
    machine = d.one("aws:sfn/stateMachine:StateMachine").inputs
    asl = json.loads(machine["definition"])
    assert machine["type"] == "STANDARD"
    assert Linter.validate(asl) == []
    states = asl["States"]
    assert states["EvaluateWorkspaces"]["MaxConcurrency"] == 3
    task = states["EvaluateWorkspaces"]["ItemProcessor"]["States"]["EvaluateWorkspace"]
    fn = d.one("aws:lambda/function:Function").state["arn"]
    assert task["Parameters"]["FunctionName"] == fn
    assert states["ListWorkspaces"]["Parameters"]["FunctionName"] == fn
    assert task["Retry"][0]["BackoffRate"] == 2.0
    assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    invoke = _statements(d, "chat-scheduled-evaluation-policy")["InvokeEvaluation"]
    assert invoke["Resource"] == [fn, f"{fn}:*"]


def test_the_function_is_granted_its_table_items_its_bucket_prefix_and_the_chat_path_only():
    d = deploy(_program())
    bucket = d.one("aws:s3/bucket:Bucket").state["arn"]
    fn = d.one("aws:lambda/function:Function").inputs
    statements = _statements(d, "chat-evaluate-workspace-policy")
    assert statements["ReadEvalSets"]["Action"] == ["dynamodb:GetItem", "dynamodb:Query"]
    assert statements["ReadEvalSets"]["Resource"] == [TABLE, f"{TABLE}/index/by_object_type"]
    assert statements["OptWorkspacesIn"]["Resource"] == [TABLE]
    assert statements["KeepResults"] == {
        "Sid": "KeepResults",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": [f"{bucket}/workspaces/*"],
    }
    assert statements["ListRuns"]["Resource"] == [bucket]
    assert statements["ListRuns"]["Condition"] == {"StringLike": {"s3:prefix": ["workspaces/*"]}}
    assert statements["InvokeBedrock"]["Resource"] == [MODEL]
    wildcards = [s["Sid"] for s in statements.values() if "*" in s["Resource"]]
    assert wildcards in ([], ["XRayWrite"])  # X-Ray takes no resource-level permission
    env = fn["environment"]["variables"]
    assert env["CHORUS_EVAL_RESULTS_BUCKET"] == d.one("aws:s3/bucket:Bucket").state["bucket"]
    assert (env["CHORUS_EVAL_MARGIN"], env["CHORUS_EVAL_MODE"]) == ("0.05", "single")
    assert fn["handler"] == "runtime.handlers.evaluate_workspace.handler"


def test_the_results_bucket_is_encrypted_private_and_expires_runs():
    d = deploy(_program(result_expiry_days=30))
    block = d.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = d.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    rule = d.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs[
        "rules"
    ][0]
    assert (rule["filter"]["prefix"], rule["expiration"]["days"]) == ("workspaces/", 30)


def test_a_customer_managed_key_encrypts_the_bucket_and_is_granted():
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k-1"
    d = deploy(_program(kms_key_arn=key))
    sse = d.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert (default["sseAlgorithm"], default["kmsMasterKeyId"]) == ("aws:kms", key)
    assert _statements(d, "chat-evaluate-workspace-policy")["EncryptWithKmsKey"]["Resource"] == [
        key
    ]


def test_the_alarm_fires_on_any_regression_into_the_alarm_topic():
    d = deploy(_program())
    alarm = d.one("aws:cloudwatch/metricAlarm:MetricAlarm").inputs
    assert (alarm["namespace"], alarm["metricName"]) == ("chorus", "EvalRegressions")
    assert alarm["dimensions"] == {"service": "chorus"}
    assert (alarm["statistic"], alarm["comparisonOperator"], alarm["threshold"]) == (
        "Maximum",
        "GreaterThanOrEqualToThreshold",
        1.0,
    )
    assert alarm["alarmActions"] == [TOPIC]
    assert alarm["treatMissingData"] == "notBreaching"
