"""Shared: the optional KMS key, the API-keys secret, the CDN origin secret, layers, app config."""

from __future__ import annotations

import json

import pulumi

from components.shared import CDN_SECRET_HEADER, AppConfig, Shared

from .conftest import ACCOUNT, REGION, deploy

LAYER = pulumi.AssetArchive({"python/x.py": pulumi.StringAsset("")})


def _shared(**args):
    def program():
        shared = Shared("shared", args)
        return {"layers": shared.layer_arns, "key": shared.kms_key_arn}

    return deploy(program)


def test_key_rotates_and_lets_logs_use_it_only_for_this_accounts_log_groups():
    d = _shared()
    key = d.one("aws:kms/key:Key").inputs
    assert key["enableKeyRotation"] is True
    policy = json.loads(key["policy"])
    logs = next(s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogs")
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"
    }


def test_without_a_key_everything_falls_back_to_aws_managed_keys():
    d = _shared(create_kms_key=False)
    assert d.of_type("aws:kms/key:Key") == []
    assert d.outputs["key"] is None
    assert "kmsKeyId" not in d.one("aws:secretsmanager/secret:Secret").inputs


def test_api_keys_secret_holds_no_value_unless_given():
    assert _shared().of_type("aws:secretsmanager/secretVersion:SecretVersion") == []
    d = _shared(api_keys={"OPENAI_API_KEY": "sk-test"})
    version = d.one("aws:secretsmanager/secretVersion:SecretVersion").inputs
    assert json.loads(version["secretString"]) == {"OPENAI_API_KEY": "sk-test"}


def test_cdn_origin_secret_is_a_secure_string_generated_once():
    d = _shared()
    parameter = d.one("aws:ssm/parameter:Parameter", "cdn-secret").inputs
    assert parameter["type"] == "SecureString"
    assert len(parameter["value"]) >= 40
    assert CDN_SECRET_HEADER in parameter["description"]


def test_layers_are_built_for_python_312_dependencies_first():
    d = _shared(dependencies_layer=LAYER, core_layer=LAYER)
    dependencies = d.named("shared-dependencies", "aws:lambda/layerVersion:LayerVersion")
    core = d.named("shared-core", "aws:lambda/layerVersion:LayerVersion")
    for layer in (dependencies, core):
        assert layer.inputs["compatibleRuntimes"] == ["python3.12"]
    assert d.outputs["layers"] == [dependencies.state["arn"], core.state["arn"]]


def test_a_public_powertools_layer_comes_before_the_other_wheels():
    arn = (
        f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7"
    )
    d = _shared(powertools_layer_arn=arn, dependencies_layer=LAYER)
    built = d.one("aws:lambda/layerVersion:LayerVersion", "dependencies").state["arn"]
    assert d.outputs["layers"][:2] == [arn, built]


def test_app_config_is_one_json_secure_string():
    def program():
        cfg = AppConfig("cfg", {"parameter_name": "/chorus/dev/config", "config": {"a": 1}})
        return {"name": cfg.parameter_name}

    d = deploy(program)
    parameter = d.one("aws:ssm/parameter:Parameter").inputs
    assert parameter["name"] == "/chorus/dev/config"
    assert parameter["type"] == "SecureString"
    assert json.loads(parameter["value"]) == {"a": 1}
