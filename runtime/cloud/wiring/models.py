"""The models: embedders, the reranker, the answerers of ``models.registry`` and the scorers
that judge their answers (grounding, agreement, relevance), plus the fan-out tasks' answerers.

``fanout_model`` and ``fanout_agreement`` run on this alone; the chat and ingest workers add it
to their own wiring.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from ...core.resilience import DEFAULT_RETRY, RetryPolicy
from ..settings import ConfigurationError
from .base import Wiring, current, from_environment

if TYPE_CHECKING:
    from ...core.agreement import AgreementScorer
    from ...core.answering import Answerer
    from ...core.chat import ModelPrice
    from ...core.grounding import EmbeddingGroundingJudge, GroundingJudge, GuardrailCheck
    from ...core.model_registry import ModelSpec, ProviderFactory
    from ...core.ports import Embedder, LLMProvider, Reranker
    from ...core.relevance import RelevanceScorer

SINGLE_ATTEMPT = RetryPolicy(attempts=1)
"""Retry policy of the fan-out workflow's model Lambda: its ASL ``Retry`` already retries
throttling and transient faults with full jitter, so the provider does not retry as well."""


class ModelWiring(Wiring):
    """Embedders, reranker, answerers and the answer scorers."""

    @cached_property
    def embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        dimension = self.settings.vector_store.embedding_dimension
        bedrock_model = self.settings.models.bedrock_embedding
        if bedrock_model:
            from ...adapters.bedrock_embeddings import BedrockEmbedder

            try:
                return BedrockEmbedder(
                    bedrock_model, dimension=dimension, client=self.client("bedrock-runtime")
                )
            except ValueError as exc:
                raise ConfigurationError(
                    f"models.embedding.modelId with vectorStore.embeddingDimension: {exc}"
                ) from None
        endpoint = self.settings.models.endpoints.get("embedding")
        if not endpoint:
            raise ConfigurationError("no embedding endpoint in models.endpoints of the app config")
        from ...adapters.sagemaker import SageMakerEmbedder

        return SageMakerEmbedder(
            endpoint, dimension=dimension, client=self.client("sagemaker-runtime")
        )

    @cached_property
    def turn_embedder(self) -> Embedder:
        """The embedder for queries and sentences of chat turns, remembered per container
        (every call to the SageMaker endpoint costs a round trip); ingestion uses ``embedder``."""
        from ...core.embedding_cache import CachedEmbedder

        return CachedEmbedder(self.embedder, max_entries=20_000)

    @cached_property
    def reranker(self) -> Reranker | None:
        """``models.rerank`` (Bedrock Rerank or a SageMaker cross-encoder), else the deployed
        ``cross_encoder`` endpoint, else none."""
        if self._reranker is not None:
            return self._reranker
        chosen = self.settings.models.rerank
        if chosen is not None and chosen.provider == "bedrock":
            from ...adapters.bedrock_rerank import BedrockReranker

            return BedrockReranker(chosen.model, client=self.client("bedrock-agent-runtime"))
        endpoint = chosen.model if chosen is not None else None
        endpoint = endpoint or self.settings.models.endpoints.get("cross_encoder")
        if not endpoint:
            return None
        from ...adapters.sagemaker import SageMakerReranker

        return SageMakerReranker(endpoint, client=self.client("sagemaker-runtime"))

    @cached_property
    def _api_keys(self) -> dict[str, Any]:
        arn = self.settings.api_keys_secret_arn
        return self._secret(arn) if arn else {}

    def _openai_key(self) -> str | None:
        keys = self._api_keys
        return keys.get("OPENAI_API_KEY") or keys.get("openai")

    def provider_factories(self) -> dict[str, ProviderFactory]:
        """How this runtime builds each provider kind of the model registry.

        ``local`` (a model inside the process) is not offered: a Lambda has no room for it.
        """

        def bedrock(spec: ModelSpec) -> LLMProvider:
            from ...adapters.bedrock import BedrockProvider

            client = self.client("bedrock-runtime", region_name=spec.region or self.settings.region)
            return BedrockProvider(model_id=spec.model_id, name=spec.name, client=client)

        def openai(spec: ModelSpec) -> LLMProvider:
            from ...adapters.openai_compatible import OpenAICompatibleProvider

            api_key = spec.options.get("apiKey") or self._openai_key()
            if not api_key and spec.base_url is None:
                raise ConfigurationError(
                    f"model {spec.name!r} needs an OpenAI key: store OPENAI_API_KEY in the "
                    "API-keys secret (apiKeysSecretArn)"
                )
            return OpenAICompatibleProvider(
                model=spec.model_id,
                base_url=spec.base_url,
                api_key=api_key,
                name=spec.name,
                timeout=spec.timeout,
            )

        def sagemaker_tgi(spec: ModelSpec) -> LLMProvider:
            from ...adapters.sagemaker_tgi import SageMakerTGIProvider

            client = self.client(
                "sagemaker-runtime", region_name=spec.region or self.settings.region
            )
            return SageMakerTGIProvider(
                str(spec.endpoint),
                name=spec.name,
                client=client,
                inference_component=spec.options.get("inferenceComponent"),
            )

        built_in: dict[str, ProviderFactory] = {
            "bedrock": bedrock,
            "openai": openai,
            "sagemaker_tgi": sagemaker_tgi,
        }
        return {**built_in, **self._provider_factories}

    def answerers(self, retry: RetryPolicy = DEFAULT_RETRY) -> dict[str, Answerer]:
        """The extractive answerer always; the models of ``models.registry`` (each wrapped in a
        ``ResilientProvider`` with its deadline and rate limit, retrying with ``retry``); the
        plain ``models.bedrock`` ids; OpenAI(-compatible) ``models.openai`` when their key is
        stored in the API-keys secret. A registry entry wins over a plain id of the same name.
        Plain entries get the same resilience (``model_timeout_s`` as their deadline, ``retry``,
        one circuit breaker each): no provider is ever called bare."""
        from ...core.answering import ExtractiveAnswerer, LLMAnswerer
        from ...core.model_registry import ModelConfigError, build_providers
        from ...core.resilience import ResilientProvider

        answerers: dict[str, Answerer] = {"extractive": ExtractiveAnswerer(self.turn_embedder)}
        models = self.settings.models
        deadline = models.orchestration.model_timeout_s

        def resilient(provider: LLMProvider) -> ResilientProvider:
            return ResilientProvider(provider, deadline=deadline, retry=retry, metrics=self.metrics)

        if models.bedrock:
            from ...adapters.bedrock import BedrockProvider

            bedrock = self.client("bedrock-runtime")
            for model_id in models.bedrock:
                if "embed" in model_id:  # an embedding model (access granted, not an answerer)
                    continue
                answerers[model_id] = LLMAnswerer(
                    resilient(BedrockProvider(model_id=model_id, client=bedrock))
                )
        if models.openai and self.settings.api_keys_secret_arn:
            from ...adapters.openai_compatible import OpenAICompatibleProvider

            api_key = self._openai_key()
            for model in models.openai:
                provider = OpenAICompatibleProvider(
                    model=model, base_url=models.openai_base_url, api_key=api_key
                )
                answerers[model] = LLMAnswerer(resilient(provider))
        registry = models.registry
        if registry is not None:
            extractive = [spec.name for spec in registry if spec.provider == "extractive"]
            for name in extractive:
                answerers[name] = ExtractiveAnswerer(self.turn_embedder)
            names = [spec.name for spec in registry if spec.provider != "extractive"]
            try:
                providers = build_providers(
                    registry,
                    self.provider_factories(),
                    names=names,
                    retry=retry,
                    metrics=self.metrics,
                )
            except ModelConfigError as exc:
                raise ConfigurationError(f"models.registry: {exc.message}") from None
            for name, provider in providers.items():
                answerers[name] = LLMAnswerer(provider)
        return answerers

    @cached_property
    def fanout_answerers(self) -> dict[str, Answerer]:
        """The answerers of the fan-out workflow's model task: the ASL retries, they do not."""
        return self.answerers(retry=SINGLE_ATTEMPT)

    @cached_property
    def prices(self) -> dict[str, ModelPrice]:
        """USD per 1k input/output tokens by model name, from ``models.registry``."""
        from ...core.orchestration import ModelPrice

        registry = self.settings.models.registry
        if registry is None:
            return {}
        return {
            spec.name: ModelPrice(spec.price_per_1k_input, spec.price_per_1k_output)
            for spec in registry
        }

    @cached_property
    def grounding(self) -> GroundingJudge:
        """Per-sentence support of answers by the sources: the word-level judge with the
        retrieval embedder, combined with the model judges ``models.grounding`` names."""
        from ...core.grounding import EmbeddingGroundingJudge

        words = EmbeddingGroundingJudge(self.turn_embedder)
        chosen = self.settings.models.grounding
        judges: list[GroundingJudge] = [words]
        if chosen.llm_judge is not None:
            judges.append(self._llm_judge(chosen.llm_judge, words))
        if chosen.nli_endpoint is not None:
            from ...adapters.sagemaker import SageMakerEntailment
            from ...core.model_judges import NLIGroundingJudge

            model = SageMakerEntailment(
                chosen.nli_endpoint, client=self.client("sagemaker-runtime")
            )
            judges.append(NLIGroundingJudge(model, words))
        if len(judges) == 1:
            return words
        from ...core.model_judges import CombinedGroundingJudge

        return CombinedGroundingJudge(judges)

    def _llm_judge(self, name: str, words: EmbeddingGroundingJudge) -> GroundingJudge:
        """``LLMGroundingJudge`` on the configured answer model ``name`` (its resilience, its
        deadline); an unknown or extractive model is a configuration error."""
        from ...core.answering import LLMAnswerer
        from ...core.model_judges import LLMGroundingJudge

        answerers = self.answerers()
        answerer = answerers.get(name)
        if not isinstance(answerer, LLMAnswerer):
            configured = [n for n, a in answerers.items() if isinstance(a, LLMAnswerer)]
            raise ConfigurationError(
                f"models.grounding.llmJudge {name!r} is not a configured LLM "
                f"(configured: {', '.join(configured) or 'none'})"
            )
        return LLMGroundingJudge(answerer.provider, words)

    @cached_property
    def agreement(self) -> AgreementScorer:
        """Pairwise agreement of the models' answers, with the retrieval embedder."""
        from ...core.agreement import EmbeddingAgreementScorer

        return EmbeddingAgreementScorer(self.turn_embedder)

    @cached_property
    def relevance(self) -> RelevanceScorer:
        """Whether each answer addresses the question, with the retrieval embedder."""
        from ...core.relevance import EmbeddingRelevanceScorer

        return EmbeddingRelevanceScorer(self.turn_embedder)

    @cached_property
    def guardrail(self) -> GuardrailCheck | None:
        """The Bedrock guardrail of ``models.guardrail`` (ApplyGuardrail after each answer);
        None when not configured. The chat worker's role needs ``bedrock:ApplyGuardrail`` on it.
        """
        config = self.settings.models.guardrail
        if config is None:
            return None
        from ...adapters.bedrock_guardrails import BedrockGuardrail

        return BedrockGuardrail(
            config.id,
            config.version,
            client=self.client("bedrock-runtime"),
            check_input=config.check_input,
            fail_open=config.fail_open,
        )


def model_wiring() -> ModelWiring:
    """The fan-out tasks' wiring, from the app config on the first call."""
    return current(ModelWiring, lambda: from_environment(ModelWiring))
