"""The VPC chorus runs in: three subnet tiers, VPC endpoints, tight security groups."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .naming import tagged
from .rules import (
    INTERFACE_ENDPOINTS,
    AzCount,
    InterfaceEndpoint,
    NatGatewayCount,
    Port,
    cidr_problem,
    nat_problem,
)
from .validation import check_args

DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = ()
"""No interface endpoint unless asked: functions run outside the VPC by default
(``ChatOrchestrator.subnet_ids`` unset), and each endpoint costs ~$7.30/month per AZ. A stack
with VPC-attached workers lists what they call (``components.stack.VPC_WORKER_ENDPOINTS``)."""

OPTIONAL_INTERFACE_ENDPOINTS = frozenset(INTERFACE_ENDPOINTS)
"""Service names ``interface_endpoints`` accepts (``com.amazonaws.<region>.<service>``)."""


def _network_rules(args) -> str | None:
    az_count = args.get("availability_zone_count", 2)
    if not isinstance(az_count, int):
        return None
    nat = args.get("nat_gateways", 0)
    if isinstance(nat, int) and (problem := nat_problem(nat, az_count)):
        return f"'nat_gateways': {problem}"
    cidr = args.get("cidr_block", "10.42.0.0/16")
    if isinstance(cidr, str) and (problem := cidr_problem(cidr, az_count)):
        return f"'cidr_block': {problem}"
    zones = args.get("availability_zones")
    if zones and isinstance(zones, list | tuple) and len(zones) < az_count:
        return f"'availability_zones': {az_count} AZs asked, {len(zones)} given"
    return None


class NetworkArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    cidr_block: str
    """IPv4 CIDR of the VPC; split into /20 subnets (3 per AZ). Default: ``10.42.0.0/16``."""
    availability_zone_count: AzCount
    """How many AZs get one public, one private and one isolated subnet. Default: 2."""
    availability_zones: Sequence[str]
    """Explicit AZ names instead of the region's first available AZs. Default: none."""
    nat_gateways: NatGatewayCount
    """NAT gateways (each ~$33/month + data): 0 = private subnets have no internet route,
    1 = one shared gateway, N = one per AZ up to the AZ count. Default: 0."""
    interface_endpoints: Sequence[InterfaceEndpoint]
    """Interface VPC endpoints (each ~$7.30/month per AZ), from ``OPTIONAL_INTERFACE_ENDPOINTS``;
    needed only by VPC-attached functions without a NAT gateway. Default: none."""
    database_port: Port
    """Port the database security group opens to the Lambda security group. Default: 5432."""


class Network(pulumi.ComponentResource):
    """A VPC with three subnet tiers per AZ, S3/DynamoDB gateway endpoints and interface endpoints.

    Security groups: ``lambda`` (egress HTTPS to the endpoints, the gateway prefix lists and the
    internet only if a NAT exists; egress to the database port), ``database`` (ingress from
    ``lambda`` only) and ``endpoints`` (HTTPS from ``lambda`` only). The VPC's default security
    group is emptied.
    """

    vpc_id: pulumi.Output[str]
    """The VPC id."""
    availability_zones: pulumi.Output[list[str]]
    """AZ names used, in subnet order."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Subnets routed to the internet gateway (NAT gateways live here)."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Subnets for Lambdas and endpoints; internet only through a NAT gateway."""
    isolated_subnet_ids: pulumi.Output[list[str]]
    """Subnets with no route out of the VPC (the database)."""
    lambda_security_group_id: pulumi.Output[str]
    """Security group for VPC-attached Lambdas."""
    database_security_group_id: pulumi.Output[str]
    """Security group for the database."""
    endpoint_security_group_id: pulumi.Output[str]
    """Security group on the interface endpoints."""
    nat_gateway_ids: pulumi.Output[list[str]]
    """NAT gateway ids (empty when ``nat_gateways`` is 0)."""

    def __init__(
        self, name: str, args: NetworkArgs | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args("Network", name, NetworkArgs, args, rules=[_network_rules])
        super().__init__("chorus:index:Network", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        cidr = args.get("cidr_block", "10.42.0.0/16")
        az_count = args.get("availability_zone_count", 2)
        nat_count = args.get("nat_gateways", 0)
        endpoints = list(args.get("interface_endpoints", DEFAULT_INTERFACE_ENDPOINTS))
        db_port = args.get("database_port", 5432)
        blocks = list(ipaddress.ip_network(cidr).subnets(new_prefix=20))

        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        if args.get("availability_zones"):
            az_names: list[pulumi.Input[str]] = list(args["availability_zones"])[:az_count]
        else:
            found = aws.get_availability_zones_output(
                state="available", opts=pulumi.InvokeOptions(parent=self)
            )
            az_names = [found.names[i] for i in range(az_count)]

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": name},
            opts=child,
        )
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        public, private, isolated = [], [], []
        for i, az in enumerate(az_names):
            for tier, bucket, offset, public_ip in (
                ("public", public, 0, True),
                ("private", private, az_count, False),
                ("isolated", isolated, 2 * az_count, False),
            ):
                bucket.append(
                    aws.ec2.Subnet(
                        f"{name}-{tier}-{i}",
                        vpc_id=vpc.id,
                        cidr_block=str(blocks[offset + i]),
                        availability_zone=az,
                        map_public_ip_on_launch=public_ip,
                        tags={"Name": f"{name}-{tier}-{i}", "chorus:tier": tier},
                        opts=child,
                    )
                )

        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", opts=child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=public[i].id,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

        private_rts = []
        for i in range(az_count):
            rt = aws.ec2.RouteTable(f"{name}-private-rt-{i}", vpc_id=vpc.id, opts=child)
            if nats:
                aws.ec2.Route(
                    f"{name}-private-default-{i}",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nats[i % len(nats)].id,
                    opts=child,
                )
            private_rts.append(rt)
        isolated_rt = aws.ec2.RouteTable(f"{name}-isolated-rt", vpc_id=vpc.id, opts=child)
        for tier, subnets, route_tables in (
            ("public", public, [public_rt] * az_count),
            ("private", private, private_rts),
            ("isolated", isolated, [isolated_rt] * az_count),
        ):
            for i, (subnet, route_table) in enumerate(zip(subnets, route_tables, strict=True)):
                aws.ec2.RouteTableAssociation(
                    f"{name}-{tier}-{i}",
                    subnet_id=subnet.id,
                    route_table_id=route_table.id,
                    opts=child,
                )

        gateway_endpoints = [
            aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=vpc.id,
                service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in [*private_rts, isolated_rt]],
                opts=child,
            )
            for service in ("s3", "dynamodb")
        ]

        lambda_sg = aws.ec2.SecurityGroup(
            f"{name}-lambda-sg",
            vpc_id=vpc.id,
            description="VPC-attached chorus Lambdas",
            opts=child,
        )
        database_sg = aws.ec2.SecurityGroup(
            f"{name}-database-sg",
            vpc_id=vpc.id,
            description="chorus database: PostgreSQL from the Lambda group only",
            opts=child,
        )
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoint-sg",
            vpc_id=vpc.id,
            description="chorus interface endpoints: HTTPS from the Lambda group only",
            opts=child,
        )
        for target, target_sg, port, protocol, destination in (
            ("database", database_sg, db_port, "PostgreSQL", "the database"),
            ("endpoints", endpoint_sg, 443, "HTTPS", "interface endpoints"),
        ):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{target}-from-lambda",
                security_group_id=target_sg.id,
                referenced_security_group_id=lambda_sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{protocol} from chorus Lambdas",
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-lambda-to-{target}",
                security_group_id=lambda_sg.id,
                referenced_security_group_id=target_sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{protocol} to {destination}",
                opts=child,
            )
        for service, endpoint in zip(("s3", "dynamodb"), gateway_endpoints, strict=True):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-lambda-to-{service}",
                security_group_id=lambda_sg.id,
                prefix_list_id=endpoint.prefix_list_id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="HTTPS to a gateway endpoint",
                opts=child,
            )
        if nats:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-lambda-to-internet",
                security_group_id=lambda_sg.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="HTTPS to external APIs through the NAT gateway",
                opts=child,
            )

        for service in endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private],
                security_group_ids=[endpoint_sg.id],
                opts=child,
            )

        self.vpc_id = vpc.id
        self.availability_zones = pulumi.Output.all(*az_names)
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.isolated_subnet_ids = pulumi.Output.all(*[s.id for s in isolated])
        self.lambda_security_group_id = lambda_sg.id
        self.database_security_group_id = database_sg.id
        self.endpoint_security_group_id = endpoint_sg.id
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats])
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "isolated_subnet_ids": self.isolated_subnet_ids,
                "lambda_security_group_id": self.lambda_security_group_id,
                "database_security_group_id": self.database_security_group_id,
                "endpoint_security_group_id": self.endpoint_security_group_id,
                "nat_gateway_ids": self.nat_gateway_ids,
            }
        )
