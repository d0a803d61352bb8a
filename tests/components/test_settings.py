"""Stack settings: one validated object; a bad key or value is named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.settings import ConfigError, StackSettings, load_stack_file, parse_settings

ROOT = Path(__file__).resolve().parents[2]


def test_dev_stack_file_is_valid_and_cheap():
    settings = load_stack_file(ROOT / "Pulumi.dev.yaml")
    assert settings.network.nat_gateways == 0
    assert settings.network.interface_endpoints == []
    assert settings.vector_store.aurora.min_capacity == 0
    assert settings.models.embedding.hosting == "serverless"
    assert settings.encryption.customer_managed_key is False


def test_defaults_are_safe_for_a_component_consumer():
    settings = StackSettings()
    assert settings.encryption.customer_managed_key is True
    assert settings.network.nat_gateways == 0
    assert settings.models.cross_encoder.hosting == "none"


def test_values_from_pulumi_config_arrive_as_json_strings():
    settings = parse_settings(
        {"chorus:network": '{"azCount": 3, "natGateways": 1}', "chorus:logRetentionDays": "30"}
    )
    assert (settings.network.az_count, settings.network.nat_gateways) == (3, 1)
    assert settings.log_retention_days == 30


def test_other_namespaces_are_ignored():
    assert parse_settings({"aws:region": "eu-west-1"}) == StackSettings()


def _guardrail(**fields):
    return {"chorus:models": {"guardrail": {"id": "abc123def456", "version": "1", **fields}}}


def test_guardrail_is_off_by_default():
    assert StackSettings().models.guardrail is None
    assert load_stack_file(ROOT / "Pulumi.dev.yaml").models.guardrail is None


def test_guardrail_fails_closed_and_checks_only_answers_by_default():
    guardrail = parse_settings(_guardrail()).models.guardrail
    assert guardrail is not None
    assert (guardrail.fail_open, guardrail.check_input) == (False, False)


@pytest.mark.parametrize("version", [1, "1", "12", "DRAFT"])
def test_guardrail_version_is_a_published_number_or_draft(version):
    guardrail = parse_settings(_guardrail(version=version)).models.guardrail
    assert guardrail is not None and guardrail.version == str(version)


def test_guardrail_may_be_named_by_its_arn():
    arn = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/abc123def456"
    guardrail = parse_settings(_guardrail(id=arn)).models.guardrail
    assert guardrail is not None and guardrail.id == arn


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"chorus:network": {"natGateways": 3, "azCount": 2}}, "'chorus:network'"),
        ({"chorus:network": {"natGateway": 1}}, "'chorus:network.natGateway'"),
        ({"chorus:logRetentionDays": 10}, "'chorus:logRetentionDays'"),
        ({"chorus:models": {"embedding": {"hosting": "gpu"}}}, "'chorus:models.embedding.hosting'"),
        ({"chorus:lambda": {"architecture": "sparc"}}, "'chorus:lambda.architecture'"),
        ({"chorus:models": {"guardrail": {"id": "gr1"}}}, "'chorus:models.guardrail.version'"),
        ({"chorus:models": {"guardrail": {"version": 1}}}, "'chorus:models.guardrail.id'"),
        (_guardrail(version="latest"), "'chorus:models.guardrail.version'"),
        (_guardrail(version=0), "'chorus:models.guardrail.version'"),
        (_guardrail(version="1.0"), "'chorus:models.guardrail.version'"),
        (_guardrail(version=True), "'chorus:models.guardrail.version'"),
        (_guardrail(id="My Guardrail"), "'chorus:models.guardrail.id'"),
        (_guardrail(failOpen="sometimes"), "'chorus:models.guardrail.failOpen'"),
        (_guardrail(checkInputs=True), "'chorus:models.guardrail.checkInputs'"),
    ],
)
def test_bad_values_name_their_key(config, named):
    with pytest.raises(ConfigError) as error:
        parse_settings(config)
    assert named in str(error.value)
