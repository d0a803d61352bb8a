"""``chat_worker``: retrieval, the models, the semantic cache, the fan-out workflow and the
frames back to the connection; and the cache invalidations of ``document-changed``."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..settings import ConfigurationError
from .base import current, from_environment
from .connections import ConnectionWiring
from .models import ModelWiring
from .storage import StoreWiring

if TYPE_CHECKING:
    from ...core.chat import ChatService
    from ...core.orchestration import ModelFanOut
    from ...core.retrieval import Retriever
    from ...core.semantic_cache import SemanticCache

log = logging.getLogger(__name__)


class ChatWiring(ConnectionWiring, StoreWiring, ModelWiring):
    """The ``ChatService`` of a turn and what it runs on."""

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval on the workspace's store (its own capability flags)."""
        from ...core.retrieval import CachedOverrides, Retriever
        from ..stores import WorkspaceRetriever

        overrides = CachedOverrides(self._tuned_retrieval)
        if self.routes_stores:
            return WorkspaceRetriever(
                self.turn_embedder, self.stores, self.reranker, workspace_overrides=overrides
            )
        return Retriever(
            self.turn_embedder, self.store, self.reranker, workspace_overrides=overrides
        )

    def _tuned_retrieval(self, workspace_id: str) -> dict[str, Any]:
        """The workspace record's tuned retrieval overrides (``chorus tune retrieval``)."""
        workspace = self.metadata.get_workspace(workspace_id)
        return dict(workspace.retrieval) if workspace is not None else {}

    @cached_property
    def cache(self) -> SemanticCache | None:
        """The semantic cache when ``semanticCache.enabled``: on DynamoDB when
        ``semanticCache.table`` is set, else on Aurora (the pgvector store's database); None
        when neither is deployed.

        Invalidating it needs no embedder: the cache-invalidation path of the chat worker
        never loads one.
        """
        config = self.settings.semantic_cache
        if not config.enabled:
            return None
        dimension = self.settings.vector_store.embedding_dimension
        if config.table:
            from ...adapters.dynamodb_cache import DynamoDBSemanticCache

            return DynamoDBSemanticCache(
                self.dynamodb,
                config.table,
                dimension,
                max_entries_per_workspace=min(config.max_entries_per_workspace, 200),
            )
        if "pgvector" not in self.settings.vector_store.stores:
            log.warning(
                "semanticCache.enabled is ignored: no semanticCache.table and no pgvector "
                "store (Aurora) to keep it in"
            )
            return None
        from ...adapters.postgres_cache import PostgresSemanticCache

        return PostgresSemanticCache(
            self.database, dimension, max_entries_per_workspace=config.max_entries_per_workspace
        )

    @cached_property
    def fanout(self) -> ModelFanOut | None:
        """The Step Functions Express fan-out for consensus turns; None (ask in process) without
        ``fanoutStateMachineArn`` or with ``models.orchestration.fanout: inprocess``.

        ``StartSyncExecution`` answers when the execution ends, so the client's read timeout
        outlasts two model deadlines (a retried model) plus the agreement task.
        """
        arn = self.settings.fanout_state_machine_arn
        if not arn or self.settings.models.fanout != "workflow":
            return None
        from botocore.config import Config

        from ...adapters.stepfunctions_fanout import StepFunctionsFanOut

        model_timeout = self.settings.models.orchestration.model_timeout_s
        wait = Config(read_timeout=min(280, int(2 * model_timeout + 60)), connect_timeout=5)
        client = self.session.client(
            "stepfunctions",
            config=wait.merge(Config(retries={"mode": "standard", "total_max_attempts": 1})),
        )
        return StepFunctionsFanOut(client, arn)

    @cached_property
    def chat(self) -> ChatService:
        from ...core.chat import ChatService

        answerers = self.answerers()
        models = self.settings.models
        default = models.default_model
        if default not in answerers:
            default = "extractive"
        judge = models.orchestration.judge_model
        if judge is not None and judge not in answerers:
            raise ConfigurationError(
                f"models.orchestration.judgeModel {judge!r} is not a configured model "
                f"(configured: {', '.join(answerers)})"
            )
        return ChatService(
            self.metadata,
            self.retriever,
            answerers,
            default_model=default,
            prices=self.prices,
            grounding=self.grounding,
            agreement=self.agreement,
            relevance=self.relevance,
            orchestration=models.orchestration,
            cache=self.cache,
            cache_threshold=self.settings.semantic_cache.threshold,
            guardrail=self.guardrail,
            fanout=self.fanout,
            metrics=self.metrics,
        )

    def invalidate_workspace(self, workspace_id: str) -> int | None:
        """Forget what this container cached about the workspace after its documents changed:
        the chunks a built store keeps in memory (the DynamoDB store's partition) and the
        semantic cache's answers. Returns the number of answers dropped; None when no semantic
        cache is configured."""
        if "stores" in vars(self):
            self.stores.invalidate(workspace_id)
        cache = self.cache
        return None if cache is None else cache.invalidate_workspace(workspace_id)


def chat_wiring() -> ChatWiring:
    """The chat worker's wiring, from the app config on the first call."""
    return current(ChatWiring, lambda: from_environment(ChatWiring))
