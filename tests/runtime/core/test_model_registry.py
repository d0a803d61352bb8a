"""runtime/core/model_registry.py: model specs from config, and the provider-building seam."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from chorus.runtime.core.errors import NotFound
from chorus.runtime.core.model_registry import (
    ModelConfigError,
    ModelRegistry,
    ModelSpec,
    build_providers,
)
from chorus.runtime.core.models import ChatMessage, LLMDelta, TokenUsage
from chorus.runtime.core.resilience import ResilientProvider

CONFIG = {
    "models": [
        {
            "name": "haiku",
            "provider": "bedrock",
            "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
            "context_window": 200000,
            "price_per_1k_input": 0.00025,
            "price_per_1k_output": 0.00125,
            "rate_limit": {"rps": 2, "burst": 4},
            "region": "us-east-1",
            "timeout": 20,
        },
        {
            "name": "mistral-tgi",
            "provider": "sagemaker_tgi",
            "endpoint": "chorus-dev-mistral",
            "context_window": 32768,
            "options": {"template": "llama3"},
        },
        {"name": "gpt", "provider": "openai", "model_id": "gpt-4o-mini"},
        {"name": "smol", "provider": "local"},
        {"name": "extractive", "provider": "extractive"},
    ]
}

YAML = """
models:
  - name: haiku
    provider: bedrock
    model_id: anthropic.claude-3-haiku-20240307-v1:0
    context_window: 200000
    price_per_1k_input: 0.00025
    price_per_1k_output: 0.00125
    rate_limit: {rps: 2, burst: 4}
  - name: ollama
    provider: openai
    model_id: llama3.1:8b
    base_url: http://127.0.0.1:11434/v1
"""


class Named:
    """A provider a factory builds: remembers the spec it came from."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.name = spec.name

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 512
    ) -> Iterator[LLMDelta]:
        yield LLMDelta(text=f"from {self.spec.model_id or self.name}")
        yield LLMDelta(usage=TokenUsage(1, 1))


FACTORIES = {kind: Named for kind in ("bedrock", "openai", "sagemaker_tgi", "local", "extractive")}


def broken(config: dict, index: int, **changes: object) -> dict:
    models = [dict(m) for m in config["models"]]
    models[index].update(changes)
    return {"models": models}


# -- parsing ----------------------------------------------------------------------------------


def test_a_dict_config_gives_every_model_in_order_with_its_settings():
    registry = ModelRegistry.from_dict(CONFIG)

    assert registry.names == ["haiku", "mistral-tgi", "gpt", "smol", "extractive"]
    haiku = registry.get("haiku")
    assert haiku.provider == "bedrock"
    assert haiku.context_window == 200000
    assert haiku.rate_limit is not None and (haiku.rate_limit.rps, haiku.rate_limit.burst) == (2, 4)
    assert haiku.timeout == 20
    assert registry.get("mistral-tgi").options == {"template": "llama3"}


def test_defaults_are_free_unlimited_and_sixty_seconds():
    smol = ModelRegistry.from_dict(CONFIG).get("smol")

    assert (smol.price_per_1k_input, smol.price_per_1k_output) == (0.0, 0.0)
    assert smol.rate_limit is None
    assert smol.timeout == 60.0
    assert smol.context_window == 8192


def test_yaml_and_json_give_the_same_registry_as_the_dict():
    from_yaml = ModelRegistry.from_yaml(YAML)
    from_json = ModelRegistry.from_json(json.dumps(CONFIG))

    same = {k: v for k, v in CONFIG["models"][0].items() if k not in ("region", "timeout")}
    assert from_yaml.get("haiku") == ModelRegistry.from_dict({"models": [same]}).get("haiku")
    assert from_yaml.get("ollama").base_url == "http://127.0.0.1:11434/v1"
    assert from_json.names == ModelRegistry.from_dict(CONFIG).names


def test_a_file_is_read_by_its_suffix(tmp_path):
    (tmp_path / "models.yaml").write_text(YAML)
    (tmp_path / "models.json").write_text(json.dumps(CONFIG))

    assert ModelRegistry.from_file(tmp_path / "models.yaml").names == ["haiku", "ollama"]
    assert len(ModelRegistry.from_file(tmp_path / "models.json")) == 5


def test_models_may_be_a_mapping_keyed_by_name():
    registry = ModelRegistry.from_dict(
        {"models": {"gpt": {"provider": "openai", "model_id": "gpt-4o-mini"}}}
    )

    assert registry.get("gpt").model_id == "gpt-4o-mini"


def test_cost_uses_the_prices_per_thousand_tokens():
    haiku = ModelRegistry.from_dict(CONFIG).get("haiku")

    assert haiku.cost(TokenUsage(2000, 1000)) == pytest.approx(0.0005 + 0.00125)


# -- clear errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "names"),
    [
        (broken(CONFIG, 0, provider="anthropic"), "models[0] (haiku).provider"),
        (broken(CONFIG, 0, rate_limit={"rps": 0}), "models[0] (haiku).rate_limit.rps"),
        (broken(CONFIG, 2, price_per_1k_input=-1), "models[2] (gpt).price_per_1k_input"),
        (broken(CONFIG, 3, timeout="soon"), "models[3] (smol).timeout"),
        (broken(CONFIG, 3, context_windw=4096), "models[3] (smol).context_windw"),
        ({"models": [{"provider": "local"}]}, "models[0].name"),
        ({"modles": []}, "modles"),
    ],
)
def test_an_invalid_value_names_the_key_that_is_wrong(config, names):
    with pytest.raises(ModelConfigError) as caught:
        ModelRegistry.from_dict(config)

    assert names in caught.value.message
    assert caught.value.code == "invalid_model_config"


def test_a_provider_missing_its_required_setting_says_which():
    with pytest.raises(ModelConfigError, match="model_id is required for provider 'bedrock'"):
        ModelRegistry.from_dict({"models": [{"name": "x", "provider": "bedrock"}]})
    with pytest.raises(ModelConfigError, match=r"models\[0\] \(y\).*endpoint"):
        ModelRegistry.from_dict({"models": [{"name": "y", "provider": "sagemaker_tgi"}]})


def test_a_name_used_twice_is_refused():
    with pytest.raises(ModelConfigError, match="'gpt' is used twice"):
        ModelRegistry.from_dict({"models": [CONFIG["models"][2], CONFIG["models"][2]]})


def test_broken_yaml_or_json_is_a_config_error():
    with pytest.raises(ModelConfigError, match="YAML"):
        ModelRegistry.from_yaml("models: [unclosed")
    with pytest.raises(ModelConfigError, match="JSON"):
        ModelRegistry.from_json("{models")


def test_an_unknown_model_lists_the_configured_ones():
    with pytest.raises(NotFound) as caught:
        ModelRegistry.from_dict(CONFIG).get("gpt-5")

    assert "unknown model 'gpt-5'" in caught.value.message
    assert "haiku, mistral-tgi, gpt, smol, extractive" in caught.value.message


# -- building providers -----------------------------------------------------------------------


def test_each_model_is_built_by_the_factory_of_its_kind_and_made_resilient():
    providers = build_providers(ModelRegistry.from_dict(CONFIG), FACTORIES)

    assert list(providers) == ["haiku", "mistral-tgi", "gpt", "smol", "extractive"]
    haiku = providers["haiku"]
    assert isinstance(haiku, ResilientProvider)
    assert haiku.name == "haiku"
    assert haiku.deadline == 20
    assert haiku.rate_limit is not None
    assert (haiku.rate_limit.rate, haiku.rate_limit.burst) == (2, 4)
    assert providers["smol"].rate_limit is None
    assert haiku.provider.spec.model_id == "anthropic.claude-3-haiku-20240307-v1:0"
    text = "".join(d.text for d in haiku.stream_chat([ChatMessage("user", "hi")]))
    assert text == "from anthropic.claude-3-haiku-20240307-v1:0"


def test_every_model_gets_its_own_circuit_breaker():
    providers = build_providers(ModelRegistry.from_dict(CONFIG), FACTORIES)

    assert providers["haiku"].breaker is not providers["gpt"].breaker


def test_only_the_named_models_are_built_and_can_be_left_bare():
    providers = build_providers(
        ModelRegistry.from_dict(CONFIG), FACTORIES, names=["gpt"], resilient=False
    )

    assert list(providers) == ["gpt"]
    assert isinstance(providers["gpt"], Named)


def test_a_kind_without_a_factory_names_the_kinds_that_have_one():
    with pytest.raises(ModelConfigError) as caught:
        build_providers(ModelRegistry.from_dict(CONFIG), {"openai": Named, "local": Named})

    assert "'haiku' uses provider 'bedrock'" in caught.value.message
    assert "available: local, openai" in caught.value.message
