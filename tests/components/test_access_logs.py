"""Access logs of the API stages and the CDN, as the prod stack declares them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.settings import load_stack_file

from .test_stack import _deploy

ROOT = Path(__file__).resolve().parents[2]
STAGE = "aws:apigatewayv2/stage:Stage"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@pytest.fixture(scope="module")
def prod():
    return _deploy(load_stack_file(ROOT / "Pulumi.prod.yaml"), stack="prod")


def log_line_keys(stage) -> set[str]:
    """The JSON keys of a stage's access-log format (its ``$context`` values are strings)."""
    return set(json.loads(stage.inputs["accessLogSettings"]["format"]))


@pytest.mark.parametrize("stage_name", ["chat-ws-stage", "chat-http-stage"])
def test_each_api_stage_logs_request_route_status_latency_and_integration_error(prod, stage_name):
    stage = prod.named(stage_name, STAGE)
    assert {"requestId", "routeKey", "status", "latency", "integrationError"} <= log_line_keys(
        stage
    )


@pytest.mark.parametrize(
    ("stage_name", "group_name"),
    [("chat-ws-stage", "chat-ws-access-logs"), ("chat-http-stage", "chat-http-access-logs")],
)
def test_access_logs_go_to_a_log_group_kept_as_long_as_the_stack_says(prod, stage_name, group_name):
    group = prod.named(group_name, LOG_GROUP)
    stage = prod.named(stage_name, STAGE)
    assert stage.inputs["accessLogSettings"]["destinationArn"] == group.state["arn"]
    assert group.inputs["retentionInDays"] == 90  # Pulumi.prod.yaml's logRetentionDays
    assert group.inputs["kmsKeyId"] == prod.one("aws:kms/key:Key").state["arn"]


def test_websocket_logging_sets_the_accounts_api_gateway_role(prod):
    account = prod.one("aws:apigateway/account:Account")
    role = prod.named("chat-apigateway-logs", "aws:iam/role:Role")
    assert account.inputs["cloudwatchRoleArn"] == role.state["arn"]
    assert role.inputs["managedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    ]


def test_the_cdn_logs_to_a_private_bucket_that_expires_them(prod):
    distribution = prod.one("aws:cloudfront/distribution:Distribution").inputs
    bucket = prod.named("web-cdn-logs", "aws:s3/bucket:Bucket")
    assert distribution["loggingConfig"]["bucket"] == bucket.state["bucketDomainName"]
    assert distribution["loggingConfig"]["includeCookies"] is False
    block = prod.named(
        "web-cdn-logs-public-block", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    )
    assert all(block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy",
                                         "ignorePublicAcls", "restrictPublicBuckets"))  # fmt: skip
    [rule] = prod.named("web-cdn-logs-lifecycle").inputs["rules"]
    assert rule["expiration"]["days"] == 90 and rule["status"] == "Enabled"
    [sse] = prod.named("web-cdn-logs-sse").inputs["rules"]
    by_default = sse["applyServerSideEncryptionByDefault"]
    assert by_default["kmsMasterKeyId"] == prod.one("aws:kms/key:Key").state["arn"]
    policy = json.loads(prod.named("web-cdn-logs-policy").inputs["policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_dev_keeps_no_cdn_logs():
    dev = _deploy(load_stack_file(ROOT / "Pulumi.dev.yaml"))
    assert "loggingConfig" not in dev.one("aws:cloudfront/distribution:Distribution").inputs
    assert [b for b in dev.of_type("aws:s3/bucket:Bucket") if "cdn-logs" in b.name] == []
