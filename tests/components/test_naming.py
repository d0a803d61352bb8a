"""Two stacks share an account: physical names carry the stack; tags reach every taggable
resource of every component."""

from __future__ import annotations

import importlib
import inspect

import pytest

from components.naming import physical_name
from components.settings import parse_settings
from components.stack import build_stack

from .conftest import deploy
from .test_stack import CODE, EVERYTHING_ON

NAME_KEYS = (
    "name",
    "layerName",
    "vectorBucketName",
    "finalSnapshotIdentifier",
)
"""Inputs that set a physical name AWS makes unique per account (and region)."""
SCOPED_NAMES = {
    # unique only inside their parent, which is per stack
    "aws:apigatewayv2/stage:Stage",
    "aws:apigatewayv2/authorizer:Authorizer",
    "aws:cognito/userGroup:UserGroup",
    "aws:lambda/alias:Alias",  # ``live``, of the function (sync_sources publishes in every stack)
}
EVERYTHING_AND_THE_CDN = {
    **EVERYTHING_ON,
    "chorus:vectorStore": {
        **EVERYTHING_ON["chorus:vectorStore"],
        "aurora": {"enabled": True, "finalSnapshot": True, "backupRetentionDays": 7},
    },
    "chorus:frontend": {"enabled": True},
    "chorus:tags": {"team": "search", "cost-center": "42"},
}


def _stack(stack: str):
    settings = parse_settings(EVERYTHING_AND_THE_CDN)
    return deploy(lambda: build_stack(settings, CODE, stack), stack=stack)


@pytest.fixture(scope="module")
def dev():
    return _stack("dev")


@pytest.fixture(scope="module")
def prod():
    return _stack("prod")


def _physical_names(deployment) -> dict[tuple[str, str], str]:
    names = {}
    for r in deployment.resources:
        if r.type in SCOPED_NAMES:
            continue
        for key in NAME_KEYS:
            value = r.inputs.get(key)
            if isinstance(value, str):
                names[(r.type, value)] = r.name
    return names


def test_two_stacks_in_one_account_share_no_physical_name(dev, prod):
    dev_names, prod_names = _physical_names(dev), _physical_names(prod)
    assert len(dev_names) > 20  # the named resources are all there
    assert set(dev_names) & set(prod_names) == set()


def test_named_resources_carry_project_and_stack(dev):
    alias = dev.one("aws:kms/alias:Alias").inputs["name"]
    assert alias == "alias/chorus-dev-shared-key"
    parameter = dev.one("aws:ssm/parameter:Parameter", "cdn-secret").inputs["name"]
    assert parameter == "/chorus/dev/shared/cdn-origin-secret"
    collection = dev.one("aws:opensearch/serverlessCollection:ServerlessCollection")
    assert collection.inputs["name"] == "chorus-dev-vectors-vectors"
    cluster = dev.one("aws:rds/cluster:Cluster").inputs
    assert cluster["finalSnapshotIdentifier"] == "chorus-dev-vectors-aurora-final"
    assert cluster["skipFinalSnapshot"] is False
    assert cluster["backupRetentionPeriod"] == 7


def test_a_long_name_is_cut_to_the_limit_and_stays_unique():
    def program():
        first = physical_name("vectors", "access", "x" * 40, max_length=32, lower=True)
        second = physical_name("vectors", "access", "y" * 40, max_length=32, lower=True)
        assert len(first) == len(second) == 32
        assert first != second
        assert first.startswith("chorus-t-vectors-access-")

    deploy(program, stack="t")


def _taggable(resource_type: str) -> bool:
    """Whether the pulumi_aws class of a type token takes a ``tags`` input."""
    package, module_and_class = resource_type.split(":", 1)
    module, cls = module_and_class.split(":")
    module = module.split("/")[0]
    if package != "aws":
        return False
    imported = importlib.import_module(f"pulumi_aws.{module}_" if module == "lambda" else
                                       f"pulumi_aws.{module}")  # fmt: skip
    return "tags" in inspect.signature(getattr(imported, cls)._internal_init).parameters


def test_tags_reach_every_taggable_resource_of_every_component(dev):
    taggable = [r for r in dev.resources if _taggable(r.type)]
    assert len({r.type for r in taggable}) > 25
    untagged = [
        (r.type, r.name) for r in taggable if (r.inputs.get("tags") or {}).get("team") != "search"
    ]
    assert untagged == []


def test_a_resources_own_tags_win_over_the_components(dev):
    vpc = dev.one("aws:ec2/vpc:Vpc").inputs["tags"]
    assert vpc == {"team": "search", "cost-center": "42", "Name": "network"}


def test_resources_that_take_no_tags_get_none(dev):
    policies = dev.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policies and all("tags" not in p.inputs for p in policies)
