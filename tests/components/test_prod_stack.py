"""Pulumi.prod.yaml: the production stack builds under mocks with what the architecture names
switched on, passes the policy pack, and ``chorus cost --stack prod`` prices it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from components.orchestrator import AURORA_CLIENTS
from components.settings import load_stack_file
from components.stack import missing_vpc_endpoints

from .test_stack import _deploy, _violations

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "Pulumi.prod.yaml"


@pytest.fixture(scope="module")
def prod():
    return _deploy(load_stack_file(PROD), stack="prod")


def test_prod_has_a_nat_gateway_per_az_and_the_sagemaker_and_secrets_endpoints(prod):
    assert len(prod.of_type("aws:ec2/natGateway:NatGateway")) == 2
    interface = {
        e.inputs["serviceName"]
        for e in prod.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Interface"
    }
    assert interface == {
        "com.amazonaws.eu-west-1.sagemaker.runtime",
        "com.amazonaws.eu-west-1.secretsmanager",
    }
    assert missing_vpc_endpoints(load_stack_file(PROD)) == []  # the NAT covers the rest


def test_prod_workers_run_in_the_private_subnets(prod):
    private = {s.state["id"] for s in prod.of_type("aws:ec2/subnet:Subnet") if "private" in s.name}
    for module in AURORA_CLIENTS:
        fn = prod.one("aws:lambda/function:Function", f"chat-{module.replace('_', '-')}")
        assert set(fn.inputs["vpcConfig"]["subnetIds"]) == private, module


def test_prod_has_the_external_api_keys_secret_under_the_customer_key(prod):
    key = prod.one("aws:kms/key:Key").state["arn"]
    secret = prod.one("aws:secretsmanager/secret:Secret", "api-keys")
    assert secret.inputs["kmsKeyId"] == key
    assert prod.one("aws:kms/alias:Alias").inputs["name"] == "alias/chorus-prod-shared-key"


def test_prod_aurora_keeps_backups_and_a_final_snapshot(prod):
    cluster = prod.one("aws:rds/cluster:Cluster").inputs
    assert cluster["backupRetentionPeriod"] == 14
    assert cluster["skipFinalSnapshot"] is False
    assert cluster["finalSnapshotIdentifier"] == "chorus-prod-vectors-aurora-final"
    assert cluster["deletionProtection"] is True
    scaling = cluster["serverlessv2ScalingConfiguration"]
    assert (scaling["minCapacity"], scaling["maxCapacity"]) == (0.5, 8)


def test_prod_hosts_the_embedding_and_the_cross_encoder_on_sagemaker(prod):
    endpoints = prod.of_type("aws:sagemaker/endpoint:Endpoint")
    assert sorted(e.name for e in endpoints) == [
        "models-cross-encoder-endpoint",
        "models-embedding-endpoint",
    ]
    config = json.loads(prod.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert set(config["models"]["endpoints"]) == {"embedding", "cross_encoder"}


def test_prod_tags_every_taggable_resource_with_the_environment(prod):
    vpc = prod.one("aws:ec2/vpc:Vpc").inputs["tags"]
    assert vpc["environment"] == "production"


def test_prod_passes_the_policy_pack_with_the_customer_key_required(prod):
    assert _violations(prod, {"requireCustomerManagedKey": True}) == []


def test_chorus_cost_prices_the_prod_stack():
    from chorus.components.cost_command import cost

    result = CliRunner().invoke(cost, ["--stack", "prod", "--project-dir", str(ROOT), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    items = {item["name"]: item for item in report["idle"]}
    assert any(name.startswith("NAT gateways") for name in items), sorted(items)
    assert report["stack"] == "prod"
    assert report["idleTotal"] > 100
