"""The VPC chorus runs in: three subnet tiers, VPC endpoints, tight security groups."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


NEW_VPC_ONLY = ("cidr_block", "availability_zone_count", "availability_zones", "nat_gateways")
EXISTING_VPC_NEEDS = ("existing_private_subnet_ids", "existing_isolated_subnet_ids")


def _network_rules(args) -> str | None:
    if args.get("existing_vpc_id") is not None:
        clashing = [k for k in NEW_VPC_ONLY if args.get(k) is not None]
        missing = [k for k in EXISTING_VPC_NEEDS if args.get(k) is None]
        if clashing:
            return (
                f"'existing_vpc_id' brings its own subnets and routes; "
                f"{', '.join(map(repr, clashing))} only shape a new VPC: leave them out"
            )
        if missing:
            return f"'existing_vpc_id' needs {', '.join(map(repr, missing))}"
        return None
    stray = [k for k in EXISTING_VPC_NEEDS if args.get(k) is not None]
    if stray:
        return f"{', '.join(map(repr, stray))} need 'existing_vpc_id'"
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
    existing_vpc_id: pulumi.Input[str]
    """Bring your own VPC: create no VPC, subnets, routes, NAT or gateway endpoints, only
    chorus's security groups (and ``interface_endpoints``) in this VPC. Its routing (a NAT
    gateway, endpoints) is yours. Needs ``existing_private_subnet_ids`` and
    ``existing_isolated_subnet_ids``. Default: create a VPC."""
    existing_private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """With ``existing_vpc_id``: subnets for VPC-attached functions and interface endpoints."""
    existing_isolated_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """With ``existing_vpc_id``: subnets of the database (they may be the private ones)."""


class Network(pulumi.ComponentResource):
    """A VPC with three subnet tiers per AZ, S3/DynamoDB gateway endpoints and interface
    endpoints, or chorus's security groups in a VPC you already have (``existing_vpc_id``).

    Security groups: ``lambda`` (egress HTTPS to the endpoints, the gateway prefix lists and the
    internet only if a NAT exists; egress to the database port), ``database`` (ingress from
    ``lambda`` only) and ``endpoints`` (HTTPS from ``lambda`` only). The VPC's default security
    group is emptied (a new VPC only).

    Example::

        from chorus.components import Network

        network = Network("network", {"availability_zone_count": 2, "nat_gateways": 1})
        # or in an existing VPC:
        network = Network("network", {
            "existing_vpc_id": "vpc-0abc",
            "existing_private_subnet_ids": ["subnet-1", "subnet-2"],
            "existing_isolated_subnet_ids": ["subnet-3", "subnet-4"],
        })
    """

    vpc_id: pulumi.Output[str]
    """The VPC id."""
    availability_zones: pulumi.Output[list[str]]
    """AZ names used, in subnet order (empty for an existing VPC)."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Subnets routed to the internet gateway (NAT gateways live here; empty for an existing
    VPC)."""
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
        self._name = name
        self._region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        if args.get("existing_vpc_id") is not None:
            vpc = _Vpc(
                vpc_id=pulumi.Output.from_input(args["existing_vpc_id"]),
                azs=pulumi.Output.from_input([]),
                public=pulumi.Output.from_input([]),
                private=pulumi.Output.from_input(args["existing_private_subnet_ids"]),
                isolated=pulumi.Output.from_input(args["existing_isolated_subnet_ids"]),
                gateway_prefix_lists=[],
                nat_ids=[],
            )
        else:
            vpc = self._new_vpc(name, args)
        groups = self._security_groups(name, vpc, args.get("database_port", 5432))
        for service in args.get("interface_endpoints", DEFAULT_INTERFACE_ENDPOINTS):
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.vpc_id,
                service_name=pulumi.Output.concat("com.amazonaws.", self._region, f".{service}"),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=vpc.private,
                security_group_ids=[groups["endpoints"].id],
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.vpc_id = vpc.vpc_id
        self.availability_zones = vpc.azs
        self.public_subnet_ids = vpc.public
        self.private_subnet_ids = vpc.private
        self.isolated_subnet_ids = vpc.isolated
        self.lambda_security_group_id = groups["lambda"].id
        self.database_security_group_id = groups["database"].id
        self.endpoint_security_group_id = groups["endpoints"].id
        self.nat_gateway_ids = pulumi.Output.all(*vpc.nat_ids)
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

    # -- pieces ---------------------------------------------------------------------------------

    def _new_vpc(self, name: str, args: NetworkArgs) -> _Vpc:
        child = pulumi.ResourceOptions(parent=self)
        cidr = args.get("cidr_block", "10.42.0.0/16")
        az_count = args.get("availability_zone_count", 2)
        blocks = list(ipaddress.ip_network(cidr).subnets(new_prefix=20))
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

        public: list[aws.ec2.Subnet] = []
        private: list[aws.ec2.Subnet] = []
        isolated: list[aws.ec2.Subnet] = []
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
        for i in range(args.get("nat_gateways", 0)):
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
            (
                service,
                aws.ec2.VpcEndpoint(
                    f"{name}-{service}",
                    vpc_id=vpc.id,
                    service_name=pulumi.Output.concat(
                        "com.amazonaws.", self._region, f".{service}"
                    ),
                    vpc_endpoint_type="Gateway",
                    route_table_ids=[rt.id for rt in [*private_rts, isolated_rt]],
                    opts=child,
                ).prefix_list_id,
            )
            for service in ("s3", "dynamodb")
        ]
        return _Vpc(
            vpc_id=vpc.id,
            azs=pulumi.Output.all(*az_names),
            public=pulumi.Output.all(*[s.id for s in public]),
            private=pulumi.Output.all(*[s.id for s in private]),
            isolated=pulumi.Output.all(*[s.id for s in isolated]),
            gateway_prefix_lists=gateway_endpoints,
            nat_ids=[n.id for n in nats],
        )

    def _security_groups(
        self, name: str, vpc: _Vpc, db_port: pulumi.Input[int]
    ) -> dict[str, aws.ec2.SecurityGroup]:
        """The lambda, database and endpoints groups and the rules between them."""
        child = pulumi.ResourceOptions(parent=self)
        groups = {
            label: aws.ec2.SecurityGroup(
                f"{name}-{slug}-sg", vpc_id=vpc.vpc_id, description=description, opts=child
            )
            for label, slug, description in (
                ("lambda", "lambda", "VPC-attached chorus Lambdas"),
                ("database", "database", "chorus database: PostgreSQL from the Lambda group only"),
                (
                    "endpoints",
                    "endpoint",
                    "chorus interface endpoints: HTTPS from the Lambda group only",
                ),
            )
        }
        lambda_sg = groups["lambda"]
        for target, port, protocol, destination in (
            ("database", db_port, "PostgreSQL", "the database"),
            ("endpoints", 443, "HTTPS", "interface endpoints"),
        ):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{target}-from-lambda",
                security_group_id=groups[target].id,
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
                referenced_security_group_id=groups[target].id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{protocol} to {destination}",
                opts=child,
            )
        for service, prefix_list in vpc.gateway_prefix_lists:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-lambda-to-{service}",
                security_group_id=lambda_sg.id,
                prefix_list_id=prefix_list,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="HTTPS to a gateway endpoint",
                opts=child,
            )
        if vpc.nat_ids or not vpc.gateway_prefix_lists:
            # a NAT gateway of ours, or a VPC whose routing is its owner's: HTTPS anywhere
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
        return groups


@dataclass(frozen=True)
class _Vpc:
    """What the security groups and outputs need of a VPC, new or existing."""

    vpc_id: pulumi.Output[str]
    azs: pulumi.Output[list[str]]
    public: pulumi.Output[list[str]]
    private: pulumi.Output[list[str]]
    isolated: pulumi.Output[list[str]]
    gateway_prefix_lists: list[tuple[str, pulumi.Output[str]]]
    nat_ids: list[pulumi.Output[str]]
