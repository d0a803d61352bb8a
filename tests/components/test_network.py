"""Network: subnet tiers per AZ, NAT count from config, endpoints, security groups."""

from __future__ import annotations

import pytest

from components.network import Network

from .conftest import deploy


def _network(**args):
    def program():
        net = Network("net", args)
        return {"private": net.private_subnet_ids, "nats": net.nat_gateway_ids}

    return deploy(program)


def test_dev_defaults_have_no_nat_gateway_and_two_azs():
    d = _network()
    assert d.of_type("aws:ec2/natGateway:NatGateway") == []
    assert d.of_type("aws:ec2/eip:Eip") == []
    subnets = d.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 6
    assert {s.inputs["availabilityZone"] for s in subnets} == {"eu-west-1a", "eu-west-1b"}
    routes = d.of_type("aws:ec2/route:Route")
    assert [r.name for r in routes] == ["net-public-default"]


@pytest.mark.parametrize(("azs", "nats"), [(3, 1), (3, 3), (2, 2)])
def test_nat_and_az_counts_follow_args(azs, nats):
    d = _network(availability_zone_count=azs, nat_gateways=nats)
    assert len(d.of_type("aws:ec2/natGateway:NatGateway")) == nats
    assert len(d.of_type("aws:ec2/subnet:Subnet")) == 3 * azs
    private_routes = [r for r in d.of_type("aws:ec2/route:Route") if "private" in r.name]
    assert len(private_routes) == azs
    assert all(r.inputs["natGatewayId"] for r in private_routes)
    assert len(d.outputs["nats"]) == nats


def test_isolated_subnets_have_no_route_out():
    d = _network(nat_gateways=1)
    isolated_rt = d.named("net-isolated-rt")
    routes = d.of_type("aws:ec2/route:Route")
    assert all(r.inputs["routeTableId"] != isolated_rt.state["id"] for r in routes)


def test_by_default_only_the_free_gateway_endpoints_exist():
    d = _network()
    endpoints = d.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert {e.inputs["vpcEndpointType"] for e in endpoints} == {"Gateway"}
    assert len(endpoints) == 2


def test_gateway_and_interface_endpoints_exist():
    d = _network(interface_endpoints=["sagemaker.runtime", "secretsmanager"])
    endpoints = {
        e.inputs["serviceName"]: e.inputs for e in d.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert endpoints["com.amazonaws.eu-west-1.s3"]["vpcEndpointType"] == "Gateway"
    assert endpoints["com.amazonaws.eu-west-1.dynamodb"]["vpcEndpointType"] == "Gateway"
    for service in ("sagemaker.runtime", "secretsmanager"):
        ep = endpoints[f"com.amazonaws.eu-west-1.{service}"]
        assert ep["vpcEndpointType"] == "Interface"
        assert ep["privateDnsEnabled"] is True
    assert len(endpoints) == 4


def test_optional_interface_endpoints_can_be_added_or_removed():
    d = _network(interface_endpoints=["bedrock-runtime", "sqs"])
    services = {e.inputs["serviceName"] for e in d.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert "com.amazonaws.eu-west-1.bedrock-runtime" in services
    assert "com.amazonaws.eu-west-1.secretsmanager" not in services
    with pytest.raises(ValueError, match=r"interface_endpoints\[0\]. must be one of .*sagemaker"):
        Network("bad", {"interface_endpoints": ["ec2messages"]})


def test_database_accepts_postgres_only_from_the_lambda_group():
    d = _network()
    lambda_sg = d.named("net-lambda-sg").state["id"]
    database_sg = d.named("net-database-sg").state["id"]
    ingress = [
        r.inputs
        for r in d.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == database_sg
    ]
    assert ingress == [
        {
            "securityGroupId": database_sg,
            "referencedSecurityGroupId": lambda_sg,
            "ipProtocol": "tcp",
            "fromPort": 5432,
            "toPort": 5432,
            "description": "PostgreSQL from chorus Lambdas",
        }
    ]


def test_lambda_group_reaches_the_internet_only_through_a_nat():
    def cidr_egress(d):
        return [
            r
            for r in d.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
            if r.inputs.get("cidrIpv4")
        ]

    assert cidr_egress(_network()) == []
    assert [r.inputs["cidrIpv4"] for r in cidr_egress(_network(nat_gateways=1))] == ["0.0.0.0/0"]


def test_the_default_security_group_is_emptied():
    d = _network()
    default = d.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")
