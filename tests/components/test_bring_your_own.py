"""Bring your own VPC, documents bucket and user pool: chorus creates what is missing only."""

from __future__ import annotations

import json

import pytest

from components.auth import Auth
from components.network import Network
from components.settings import ConfigError, parse_settings
from components.stack import build_stack
from components.validation import ComponentInputError
from components.vector_store import VectorStore

from .conftest import ACCOUNT, REGION, deploy
from .test_stack import CODE

VPC = {
    "existing_vpc_id": "vpc-0abc",
    "existing_private_subnet_ids": ["subnet-p1", "subnet-p2"],
    "existing_isolated_subnet_ids": ["subnet-i1", "subnet-i2"],
}
POOL = f"{REGION}_Existing1"


def test_an_existing_vpc_gets_only_chorus_security_groups_and_endpoints():
    def program():
        net = Network("net", {**VPC, "interface_endpoints": ["secretsmanager"]})
        return {"private": net.private_subnet_ids, "isolated": net.isolated_subnet_ids,
                "vpc": net.vpc_id}  # fmt: skip

    d = deploy(program)
    for created in (
        "vpc:Vpc",
        "subnet:Subnet",
        "natGateway:NatGateway",
        "routeTable:RouteTable",
        "internetGateway:InternetGateway",
        "defaultSecurityGroup:DefaultSecurityGroup",
    ):
        assert d.of_type(f"aws:ec2/{created}") == [], created  # fmt: skip
    groups = d.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert len(groups) == 3 and {g.inputs["vpcId"] for g in groups} == {"vpc-0abc"}
    endpoint = d.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["subnetIds"] == ["subnet-p1", "subnet-p2"]
    assert d.outputs == {"private": ["subnet-p1", "subnet-p2"],
                         "isolated": ["subnet-i1", "subnet-i2"], "vpc": "vpc-0abc"}  # fmt: skip


def test_functions_in_an_existing_vpc_may_reach_https_through_its_routing():
    d = deploy(lambda: Network("net", VPC).vpc_id)
    egress = {
        r.name: r.inputs
        for r in d.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    }
    assert egress["net-lambda-to-internet"]["cidrIpv4"] == "0.0.0.0/0"
    assert egress["net-lambda-to-internet"]["fromPort"] == 443


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({**VPC, "nat_gateways": 1}, "'nat_gateways' only shape a new VPC"),
        ({"existing_vpc_id": "vpc-0abc"}, "'existing_vpc_id' needs 'existing_private_subnet_ids'"),
        ({"existing_private_subnet_ids": ["s"]}, "need 'existing_vpc_id'"),
    ],
)
def test_an_existing_vpc_is_refused_with_inputs_that_shape_a_new_one(args, message):
    with pytest.raises(ComponentInputError, match=message):
        Network("bad", args)


def test_an_existing_documents_bucket_is_notified_not_created():
    def program():
        store = VectorStore("v", {"enable_aurora": False, "existing_documents_bucket": "corp-docs",
                                  "cors_allowed_origins": ["https://app.example.com"]})  # fmt: skip
        return {"arn": store.documents_bucket_arn, "name": store.documents_bucket_name}

    d = deploy(program)
    assert d.of_type("aws:s3/bucket:Bucket") == []
    assert d.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration") == []
    notification = d.one("aws:s3/bucketNotification:BucketNotification").inputs
    assert notification["bucket"] == "corp-docs"
    assert notification["queues"][0]["filterPrefix"] == "workspaces/"
    assert d.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").inputs["bucket"] == (
        "corp-docs"
    )
    queue_policy = json.loads(
        d.one("aws:sqs/queuePolicy:QueuePolicy", "ingest-policy").inputs["policy"]
    )
    senders = [s for s in queue_policy["Statement"] if s["Effect"] == "Allow"]
    assert senders[0]["Condition"]["ArnEquals"]["aws:SourceArn"] == "arn:aws:s3:::corp-docs"
    assert d.outputs == {"arn": "arn:aws:s3:::corp-docs", "name": "corp-docs"}


def test_an_existing_user_pool_and_client_are_used_as_they_are():
    def program():
        auth = Auth("auth", {"existing_user_pool_id": POOL, "existing_client_id": "client9"})
        return {"issuer": auth.issuer_url, "jwks": auth.jwks_url, "client": auth.client_id,
                "arn": auth.user_pool_arn, "groups": auth.group_names}  # fmt: skip

    d = deploy(program)
    assert [r.type for r in d.resources if r.type.startswith("aws:")] == []
    assert d.outputs == {
        "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}",
        "jwks": f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}/.well-known/jwks.json",
        "client": "client9",
        "arn": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{POOL}",
        "groups": [],
    }


def test_chorus_groups_can_be_added_to_an_existing_pool():
    args = {"existing_user_pool_id": POOL, "existing_client_id": "c", "create_groups": True}
    d = deploy(lambda: Auth("auth", args).group_names)
    groups = d.of_type("aws:cognito/userGroup:UserGroup")
    assert {g.inputs["userPoolId"] for g in groups} == {POOL}
    assert len(groups) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"existing_user_pool_id": POOL}, "needs 'existing_client_id'"),
        ({"existing_user_pool_id": POOL, "existing_client_id": "c", "mfa": "ON"},
         "'mfa' only shape a new user pool"),
    ],
)  # fmt: skip
def test_an_existing_pool_is_refused_without_its_client_or_with_new_pool_settings(args, message):
    with pytest.raises(ComponentInputError, match=message):
        Auth("bad", args)


BYO_STACK = {
    "chorus:network": {"vpcId": "vpc-0abc", "privateSubnetIds": ["subnet-p1", "subnet-p2"],
                       "isolatedSubnetIds": ["subnet-i1", "subnet-i2"], "lambdasInVpc": True,
                       "interfaceEndpoints": ["ssm", "secretsmanager", "sns", "states"]},
    "chorus:auth": {"userPoolId": POOL, "clientId": "client9"},
    "chorus:vectorStore": {"documentsBucket": "corp-docs"},
}  # fmt: skip


def test_a_whole_stack_runs_on_a_platform_teams_vpc_bucket_and_pool():
    settings = parse_settings(BYO_STACK)
    d = deploy(lambda: build_stack(settings, CODE, "dev"), stack="dev")
    assert d.of_type("aws:ec2/vpc:Vpc") == []
    assert d.of_type("aws:cognito/userPool:UserPool") == []
    buckets = [b.name for b in d.of_type("aws:s3/bucket:Bucket")]
    assert not any("documents" in b for b in buckets)
    subnet_group = d.one("aws:rds/subnetGroup:SubnetGroup").inputs
    assert subnet_group["subnetIds"] == ["subnet-i1", "subnet-i2"]
    worker = d.one("aws:lambda/function:Function", "chat-worker").inputs
    assert worker["vpcConfig"]["subnetIds"] == ["subnet-p1", "subnet-p2"]
    authorizer = d.one("aws:lambda/function:Function", "ws-authorizer").inputs
    assert authorizer["environment"]["variables"]["CHORUS_CLIENT_ID"] == "client9"
    assert d.outputs["documentsBucket"] == "corp-docs"
    assert d.outputs["userPoolId"] == POOL


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"chorus:network": {"vpcId": "vpc-1"}}, "vpcId needs privateSubnetIds"),
        ({"chorus:network": {"vpcId": "vpc-1", "privateSubnetIds": ["a"],
                             "isolatedSubnetIds": ["b"], "natGateways": 1}},
         "keeps its own routing"),
        ({"chorus:auth": {"userPoolId": POOL}}, "userPoolId and clientId go together"),
    ],
)  # fmt: skip
def test_the_stack_settings_refuse_half_brought_resources(config, message):
    with pytest.raises(ConfigError, match=message):
        parse_settings(config)
