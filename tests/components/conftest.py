"""Pulumi mock harness for the component tests.

``pulumi_aws`` is imported once per session (it is the slow part). ``deploy(program)`` runs a
program under ``set_mocks`` and returns the recorded resources with the exact inputs the engine
would have sent to the provider (camelCase property names, as a policy pack sees them).
"""

from __future__ import annotations

import importlib.resources
import json
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def _install_pkg_resources_shim() -> None:
    """parliament 1.6 imports ``pkg_resources`` (gone from setuptools >= 81) for two data paths."""
    if "pkg_resources" in sys.modules:
        return
    try:
        import pkg_resources  # noqa: F401

        return
    except ImportError:
        pass
    shim = types.ModuleType("pkg_resources")
    shim.resource_filename = lambda package, resource: str(  # type: ignore[attr-defined]
        importlib.resources.files(package) / resource
    )
    sys.modules["pkg_resources"] = shim


_install_pkg_resources_shim()


@dataclass
class Recorded:
    """One resource the mocks saw."""

    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    urn: str = ""


@dataclass
class Deployment:
    """Everything a mocked program registered."""

    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Recorded]:
        """Resources of one type, sorted by name: the mock engine registers them concurrently,
        so arrival order varies from run to run."""
        return sorted((r for r in self.resources if r.type == type_), key=lambda r: r.name)

    def one(self, type_: str, name_contains: str = "") -> Recorded:
        found = [r for r in self.of_type(type_) if name_contains in r.name]
        assert len(found) == 1, f"expected one {type_} named *{name_contains}*, got {found}"
        return found[0]

    def named(self, name: str, type_: str | None = None) -> Recorded:
        found = [r for r in self.resources if r.name == name and type_ in (None, r.type)]
        assert len(found) == 1, f"expected one resource named {name}, got {len(found)}"
        return found[0]

    def by_id(self, physical_id: str) -> Recorded:
        found = [r for r in self.resources if r.state.get("id") == physical_id]
        assert found, f"no resource with id {physical_id}"
        return found[0]

    def policies(self) -> list[tuple[str, str, str]]:
        """Every JSON policy document: (resource type, "<name>.<property>", JSON)."""
        docs = []
        for r in self.resources:
            for key in ("policy", "assumeRolePolicy"):
                value = r.inputs.get(key)
                if isinstance(value, str) and value.strip().startswith("{"):
                    docs.append((r.type, f"{r.name}.{key}", value))
        return docs


def _service_of(type_: str) -> str:
    module = type_.split(":")[1].split("/")[0]
    return {"lambda": "lambda", "cloudwatch": "logs", "apigatewayv2": "apigateway"}.get(
        module, module
    )


_SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _reveal(value: Any) -> Any:
    """Inputs marked secret arrive wrapped; tests assert on the plain value."""
    if isinstance(value, dict):
        if _SECRET_SIG in value and "value" in value:
            return _reveal(value["value"])
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs back, add the computed outputs chorus reads, and record everything."""

    def __init__(self) -> None:
        self.deployment = Deployment()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = _reveal(dict(args.inputs))
        name = args.name
        physical = inputs.get("name") or f"{name}-1a2b3c"
        state: dict[str, Any] = {"name": physical, **inputs}
        service = _service_of(args.typ)
        state.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}/{physical}")
        extra = {
            "aws:sqs/queue:Queue": {
                "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}",
                "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical}",
            },
            "aws:s3/bucket:Bucket": {
                "bucket": physical,
                "arn": f"arn:aws:s3:::{physical}",
                "bucketRegionalDomainName": f"{physical}.s3.{REGION}.amazonaws.com",
                "bucketDomainName": f"{physical}.s3.amazonaws.com",
            },
            "aws:dynamodb/table:Table": {
                "arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}",
                "streamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}/stream/1",
            },
            "aws:lambda/function:Function": {
                "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}",
                "version": "1" if inputs.get("publish") else "$LATEST",
                "invokeArn": (
                    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}/invocations"
                ),
            },
            "aws:lambda/alias:Alias": {
                "arn": (
                    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
                    f"{inputs.get('functionName')}:{inputs.get('name')}"
                )
            },
            "aws:s3/bucketObjectv2:BucketObjectv2": {"versionId": f"{name}-v1"},
            "aws:s3/vectorsVectorBucket:VectorsVectorBucket": {
                "vectorBucketArn": (
                    f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/{inputs.get('vectorBucketName')}"
                )
            },
            "aws:s3/vectorsIndex:VectorsIndex": {
                "indexArn": (
                    f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/"
                    f"{inputs.get('vectorBucketName')}/index/{inputs.get('indexName')}"
                )
            },
            "aws:lambda/layerVersion:LayerVersion": {
                "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{physical}:1"
            },
            "aws:iam/role:Role": {"arn": f"arn:aws:iam::{ACCOUNT}:role/{physical}"},
            "aws:iam/policy:Policy": {"arn": f"arn:aws:iam::{ACCOUNT}:policy/{physical}"},
            "aws:cloudwatch/logGroup:LogGroup": {
                "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}"
            },
            "aws:kms/key:Key": {
                "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}-0000",
                "keyId": f"{name}-0000",
            },
            "aws:sns/topic:Topic": {"arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{physical}"},
            "aws:rds/cluster:Cluster": {
                "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{physical}",
                "endpoint": f"{physical}.cluster-x.{REGION}.rds.amazonaws.com",
                "masterUserSecrets": [
                    {
                        "secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds-db",
                        "kmsKeyId": "aws/secretsmanager",
                        "secretStatus": "active",
                    }
                ],
            },
            "aws:secretsmanager/secret:Secret": {
                "arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{physical}"
            },
            "aws:ssm/parameter:Parameter": {
                "arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{physical.lstrip('/')}"
            },
            "aws:apigatewayv2/api:Api": {
                "apiEndpoint": f"wss://{name}.execute-api.{REGION}.amazonaws.com",
                "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{name}",
            },
            "aws:apigatewayv2/stage:Stage": {
                "invokeUrl": f"https://{name}.execute-api.{REGION}.amazonaws.com/{physical}",
            },
            "aws:cognito/userPool:UserPool": {
                "arn": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_abc",
                "endpoint": f"cognito-idp.{REGION}.amazonaws.com/{REGION}_abc",
            },
            "aws:sfn/stateMachine:StateMachine": {
                "arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{physical}"
            },
            "aws:ec2/vpcEndpoint:VpcEndpoint": {"prefixListId": f"pl-{name}"},
            "aws:sagemaker/endpoint:Endpoint": {
                "arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{physical}"
            },
            "aws:lambda/invocation:Invocation": {
                "result": json.dumps(
                    {"modelDataUrl": f"s3://artifacts/{name}/model.tar.gz", "status": "ok"}
                )
            },
            "aws:opensearch/serverlessCollection:ServerlessCollection": {
                "arn": f"arn:aws:aoss:{REGION}:{ACCOUNT}:collection/{name}",
                "collectionEndpoint": f"https://{name}.{REGION}.aoss.amazonaws.com",
            },
            "aws:codebuild/project:Project": {
                "arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{physical}"
            },
            "aws:kendra/index:Index": {"arn": f"arn:aws:kendra:{REGION}:{ACCOUNT}:index/{name}"},
            "aws:cloudfront/distribution:Distribution": {
                "domainName": f"{name}.cloudfront.net",
                "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{name}",
            },
        }.get(args.typ, {})
        state.update(extra)
        physical_id = state["bucket"] if args.typ == "aws:s3/bucket:Bucket" else f"{name}-id"
        state["id"] = physical_id
        self.deployment.resources.append(Recorded(args.typ, name, inputs, state))
        return physical_id, state

    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        if token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/t", "userId": "t"}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{REGION}{c}" for c in "abcdef"]
            return {"names": names, "zoneIds": [f"euw1-az{i}" for i in range(6)]}
        return {}


def deploy(program: Callable[[], Any], *, stack: str = "test") -> Deployment:
    """Run ``program`` under fresh mocks and return what it registered."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="chorus", stack=stack, preview=False)

    captured: dict[str, Any] = {}

    # Resolve the program's returned outputs into plain values for assertions.
    @pulumi.runtime.test
    def run_and_capture():
        result = program()
        if isinstance(result, dict) and result:
            return pulumi.Output.all(
                **{k: pulumi.Output.from_input(v) for k, v in result.items()}
            ).apply(captured.update)
        return None

    run_and_capture()
    monitor = pulumi.runtime.settings.SETTINGS.monitor
    urns = {}
    for urn in getattr(monitor, "resources", {}):
        qualified_type, name = urn.split("::")[2:4]
        urns[(qualified_type.split("$")[-1], name)] = urn
    for r in mocks.deployment.resources:
        r.urn = urns.get((r.type, r.name), "")
    mocks.deployment.outputs = captured
    return mocks.deployment


@pytest.fixture(scope="session", autouse=True)
def _pulumi_aws_loaded():
    import pulumi_aws  # noqa: F401  (import once; it is the slow part)

    yield
