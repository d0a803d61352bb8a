"""The components as a Pulumi component provider: the schema other languages generate their
SDKs from is built in-process and holds every component, input and output."""

from __future__ import annotations

import typing
from pathlib import Path

import pulumi
import pytest
from pulumi.provider.experimental.util import camel_case

import components
from components.provider import COMPONENTS, ChorusComponentProvider, schema
from components.validation import hints

from .conftest import deploy

REPO = Path(__file__).resolve().parents[2]
LEFT_OUT = {("Frontend", "waf_provider")}
"""Inputs other languages set differently: a provider goes in resource options."""


@pytest.fixture(scope="module")
def package():
    return schema()


def _args_type(component):
    args = typing.get_type_hints(component.__init__, localns={"Output": pulumi.Output})["args"]
    return next((a for a in typing.get_args(args) if a is not type(None)), args)


def _outputs(component) -> set[str]:
    return {k for k in component.__annotations__ if not k.startswith("_")}


def test_every_exported_component_is_offered(package):
    exported = {
        name for name in components.__all__
        if isinstance(getattr(components, name), type)
        and issubclass(getattr(components, name), pulumi.ComponentResource)
    }  # fmt: skip
    assert {c.__name__ for c in COMPONENTS} == exported
    assert set(package["resources"]) == {f"chorus:index:{name}" for name in exported}
    assert all(r["isComponent"] for r in package["resources"].values())


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_input_and_output_is_in_the_schema(package, component):
    resource = package["resources"][f"chorus:index:{component.__name__}"]
    inputs = {camel_case(k) for k in hints(_args_type(component))
              if (component.__name__, k) not in LEFT_OUT}  # fmt: skip
    assert set(resource["inputProperties"]) == inputs
    assert set(resource["properties"]) == {camel_case(k) for k in _outputs(component)}
    documented = [k for k, v in resource["inputProperties"].items() if v.get("description")]
    assert sorted(documented) == sorted(inputs)  # the Args' docstrings travel along


def test_nested_input_types_keep_every_key(package):
    from components.chat_apis import LambdaTargetArgs
    from components.model_host import HostedModelArgs, LlmArgs

    for args in (LlmArgs, HostedModelArgs, LambdaTargetArgs):
        properties = package["types"][f"chorus:index:{args.__name__}"]["properties"]
        assert set(properties) == {camel_case(k) for k in hints(args)}


def test_input_types_are_what_other_languages_can_send(package):
    network = package["resources"]["chorus:index:Network"]["inputProperties"]
    assert network["natGateways"]["type"] == "integer"  # Annotated[int, 0..5]
    assert network["interfaceEndpoints"]["items"]["type"] == "string"  # Literal[...]
    assert network["tags"]["additionalProperties"]["type"] == "string"
    shared = package["resources"]["chorus:index:Shared"]["inputProperties"]
    assert shared["coreLayer"]["$ref"] == "pulumi.json#/Asset"
    model = package["types"]["chorus:index:HostedModelArgs"]["properties"]["modelData"]
    assert model["type"] == "string"  # an S3 URL


def test_a_construct_call_from_another_language_builds_the_component():
    provider = ChorusComponentProvider()

    def program():
        result = provider.construct(
            "net", "chorus:index:Network",
            {"availabilityZoneCount": 2, "natGateways": 1, "tags": {"team": "x"}},
            pulumi.ResourceOptions(),
        )  # fmt: skip
        return result.state["vpcId"]

    d = deploy(program)
    assert len(d.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert d.one("aws:ec2/vpc:Vpc").inputs["tags"] == {"team": "x", "Name": "net"}


def test_a_bad_input_from_another_language_fails_naming_the_key():
    with pytest.raises(Exception, match="'nat_gateways' must be an int"):
        ChorusComponentProvider().construct(
            "net", "chorus:index:Network", {"natGateways": "2"}, pulumi.ResourceOptions()
        )


def test_the_plugin_folder_serves_this_provider():
    main = (REPO / "infra" / "__main__.py").read_text()
    assert "from chorus.components.provider import main" in main
    assert "runtime:\n  name: python" in (REPO / "infra" / "PulumiPlugin.yaml").read_text()


def test_the_allowed_values_of_a_choice_are_in_its_description(package):
    auth = package["resources"]["chorus:index:Auth"]["inputProperties"]
    assert auth["mfa"]["description"].endswith("One of: ``OFF``, ``OPTIONAL``, ``ON``.")
    endpoints = package["resources"]["chorus:index:Network"]["inputProperties"]
    assert "``sagemaker.runtime``" in endpoints["interfaceEndpoints"]["description"]
