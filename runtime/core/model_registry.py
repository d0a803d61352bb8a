"""The model registry: which chat models chorus may use, and what each costs and allows.

A registry is config (a dict, JSON or YAML), validated with pydantic so a mistake names the key
that is wrong. Each ``ModelSpec`` says which provider kind serves the model, its id there, its
context window, its price per 1,000 input and output tokens, its rate limit and its timeout.

The core never builds an adapter itself: ``build_providers(registry, factories)`` takes one
factory per provider kind (the wiring module outside the core maps ``"bedrock"`` to a function
that builds a ``BedrockProvider`` from a spec, and so on) and wraps every provider in a
``ResilientProvider`` with the spec's deadline and rate limit.

Example
-------
    registry = ModelRegistry.from_yaml('''
    models:
      - name: haiku
        provider: bedrock
        model_id: anthropic.claude-3-haiku-20240307-v1:0
        context_window: 200000
        price_per_1k_input: 0.00025
        price_per_1k_output: 0.00125
        rate_limit: {rps: 2, burst: 4}
      - name: local
        provider: extractive
    ''')
    providers = build_providers(registry, {"bedrock": bedrock_from_spec, "extractive": ...})
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ChorusError, NotFound
from .metrics import OperationsMetrics
from .models import TokenUsage
from .ports import LLMProvider
from .resilience import (
    DEFAULT_BREAKER,
    DEFAULT_RETRY,
    BreakerPolicy,
    ResilientProvider,
    RetryPolicy,
    TokenBucket,
)

ProviderKind = Literal["bedrock", "openai", "sagemaker_tgi", "local", "extractive"]
PROVIDER_KINDS: tuple[str, ...] = ProviderKind.__args__  # type: ignore[attr-defined]


class ModelConfigError(ChorusError):
    """The model registry's config is invalid; the message names the key and what is wrong."""

    code = "invalid_model_config"
    http_status = 500


class RateLimit(BaseModel):
    """Requests a second chorus sends the model, and how many may go at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rps: float = Field(gt=0, description="Sustained requests per second.")
    burst: int = Field(default=1, ge=1, description="Requests allowed at once after idling.")


class ModelSpec(BaseModel):
    """One chat model chorus may use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="How chorus, the API and the UI name the model.")
    provider: ProviderKind = Field(description="Which adapter serves it.")
    model_id: str = Field(
        default="",
        description="The id at the provider: a Bedrock model id or inference profile, an "
        "OpenAI model name, a local model folder; unused for sagemaker_tgi and extractive.",
    )
    context_window: int = Field(default=8192, gt=0, description="Tokens in + out the model takes.")
    price_per_1k_input: float = Field(default=0.0, ge=0, description="USD per 1,000 input tokens.")
    price_per_1k_output: float = Field(
        default=0.0, ge=0, description="USD per 1,000 output tokens."
    )
    rate_limit: RateLimit | None = Field(default=None, description="None: no limit of our own.")
    endpoint: str | None = Field(default=None, description="SageMaker endpoint (sagemaker_tgi).")
    base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL; None means OpenAI itself."
    )
    region: str | None = Field(default=None, description="AWS region (bedrock, sagemaker_tgi).")
    timeout: float = Field(default=60.0, gt=0, description="Deadline of one call, in seconds.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Kind-specific extras the factory understands."
    )

    @model_validator(mode="after")
    def _kind_needs(self) -> ModelSpec:
        if self.provider in ("bedrock", "openai") and not self.model_id:
            raise ValueError(f"model_id is required for provider {self.provider!r}")
        if self.provider == "sagemaker_tgi" and not self.endpoint:
            raise ValueError("endpoint (the SageMaker endpoint name) is required for sagemaker_tgi")
        return self

    def cost(self, usage: TokenUsage) -> float:
        """USD for ``usage`` at this model's prices."""
        return (
            usage.input_tokens * self.price_per_1k_input
            + usage.output_tokens * self.price_per_1k_output
        ) / 1000.0


class _RegistryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelSpec]


def _location(loc: tuple[int | str, ...], raw_models: Any) -> str:
    """``models[1] (haiku).rate_limit.rps`` from pydantic's ``('models', 1, 'rate_limit', ...)``."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
            if i == 1 and isinstance(raw_models, list) and part < len(raw_models):
                entry = raw_models[part]
                if isinstance(entry, Mapping) and entry.get("name"):
                    text += f" ({entry['name']})"
        else:
            text += f".{part}" if text else str(part)
    return text


class ModelRegistry:
    """The configured models, by name, in the order the config lists them."""

    def __init__(self, models: Iterable[ModelSpec]) -> None:
        self._models: dict[str, ModelSpec] = {}
        for spec in models:
            if spec.name in self._models:
                raise ModelConfigError(
                    f"models: the name {spec.name!r} is used twice; model names must be unique"
                )
            self._models[spec.name] = spec

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> ModelRegistry:
        """From ``{"models": [...]}``, or ``{"models": {name: {...}}}`` (the key is the name)."""
        if not isinstance(config, Mapping):
            raise ModelConfigError(
                "the model config must be a mapping with a 'models' key, "
                f"not {type(config).__name__}"
            )
        raw = dict(config)
        models = raw.get("models")
        if isinstance(models, Mapping):
            for name, entry in models.items():
                if not isinstance(entry, Mapping):
                    raise ModelConfigError(
                        f"invalid model config — models.{name}: expected a mapping of settings"
                    )
            raw["models"] = [{"name": name, **entry} for name, entry in models.items()]
        try:
            parsed = _RegistryConfig.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{_location(error['loc'], raw.get('models'))}: {error['msg']}"
                for error in exc.errors()
            )
            raise ModelConfigError(f"invalid model config — {problems}") from None
        return cls(parsed.models)

    @classmethod
    def from_json(cls, text: str) -> ModelRegistry:
        try:
            config = json.loads(text)
        except ValueError as exc:
            raise ModelConfigError(f"the model config is not valid JSON: {exc}") from None
        return cls.from_dict(config)

    @classmethod
    def from_yaml(cls, text: str) -> ModelRegistry:
        import yaml

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ModelConfigError(f"the model config is not valid YAML: {exc}") from None
        return cls.from_dict(config or {})

    @classmethod
    def from_file(cls, path: str | Path) -> ModelRegistry:
        """From a ``.json``, ``.yaml`` or ``.yml`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelConfigError(f"cannot read the model config {path}: {exc}") from None
        if path.suffix.lower() == ".json":
            return cls.from_json(text)
        return cls.from_yaml(text)

    @property
    def names(self) -> list[str]:
        return list(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __iter__(self):
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def get(self, name: str) -> ModelSpec:
        """The spec named ``name``; ``NotFound`` listing the configured names otherwise."""
        try:
            return self._models[name]
        except KeyError:
            known = ", ".join(self._models) or "none"
            raise NotFound(f"unknown model {name!r}; configured models: {known}") from None


ProviderFactory = Callable[[ModelSpec], LLMProvider]


def resilient_provider(
    provider: LLMProvider,
    spec: ModelSpec,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    breaker: BreakerPolicy | None = DEFAULT_BREAKER,
    metrics: OperationsMetrics | None = None,
) -> ResilientProvider:
    """``provider`` wrapped with the spec's deadline (``timeout``) and rate limit; its retries
    and breaker openings counted in ``metrics``."""
    bucket = None
    if spec.rate_limit is not None:
        bucket = TokenBucket(rate=spec.rate_limit.rps, burst=spec.rate_limit.burst)
    return ResilientProvider(
        provider,
        name=spec.name,
        deadline=spec.timeout,
        retry=retry,
        breaker=breaker,
        rate_limit=bucket,
        metrics=metrics,
    )


def build_providers(
    registry: ModelRegistry,
    factories: Mapping[str, ProviderFactory],
    *,
    names: Iterable[str] | None = None,
    resilient: bool = True,
    retry: RetryPolicy = DEFAULT_RETRY,
    breaker: BreakerPolicy | None = DEFAULT_BREAKER,
    metrics: OperationsMetrics | None = None,
) -> dict[str, LLMProvider]:
    """Build a provider for each model (or each of ``names``) with ``factories[spec.provider]``.

    A factory takes the ``ModelSpec`` and returns the adapter (named ``spec.name``, built with
    ``spec.model_id``, ``spec.region`` ... and ``spec.timeout`` as its request timeout).

    Each is wrapped in a ``ResilientProvider`` (deadline = the spec's timeout, its rate limit,
    ``retry`` and one circuit breaker per model) unless ``resilient`` is False. A model whose kind
    has no factory raises ``ModelConfigError`` naming the kinds that do.
    """
    built: dict[str, LLMProvider] = {}
    for name in registry.names if names is None else names:
        spec = registry.get(name)
        factory = factories.get(spec.provider)
        if factory is None:
            available = ", ".join(sorted(factories)) or "none"
            raise ModelConfigError(
                f"model {spec.name!r} uses provider {spec.provider!r}, which this deployment "
                f"cannot build (available: {available})"
            )
        provider = factory(spec)
        built[spec.name] = (
            resilient_provider(provider, spec, retry=retry, breaker=breaker, metrics=metrics)
            if resilient
            else provider
        )
    return built
