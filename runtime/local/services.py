"""Wire the core to the embedded adapters: one object the server and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..adapters.inprocess_metrics import InProcessMetrics
from ..adapters.pgvector_store import PgVectorStore
from ..adapters.postgres import PostgresDatabase
from ..adapters.postgres_api_keys import PostgresApiKeys
from ..adapters.postgres_cache import PostgresSemanticCache
from ..adapters.postgres_eval_cases import PostgresEvalCases
from ..adapters.postgres_metadata import PostgresMetadataStore
from ..adapters.sentence_transformers import CrossEncoderReranker, SentenceTransformerEmbedder
from ..application.caller import local_caller
from ..application.ports import Offer
from ..application.requests import CreateWorkspace, validate_request
from ..application.workspaces import add_workspace, delete_workspace
from ..core.agreement import EmbeddingAgreementScorer
from ..core.answering import Answerer, ExtractiveAnswerer, LLMAnswerer
from ..core.chat import ChatService, ModelPrice
from ..core.conversation import LLMCondenser, QueryCondenser
from ..core.embedding_cache import CachedEmbedder
from ..core.errors import BadRequest, Conflict, NotFound
from ..core.grounding import EmbeddingGroundingJudge, GroundingJudge
from ..core.ingestion import Ingestor
from ..core.metrics import OperationsMetrics
from ..core.model_judges import CombinedGroundingJudge, NLIGroundingJudge
from ..core.models import ChunkingSettings, Workspace
from ..core.ports import Embedder, Reranker
from ..core.relevance import EmbeddingRelevanceScorer
from ..core.retrieval import Retriever
from ..core.source_sync import SourceIngest
from .embedded_postgres import start_embedded_postgres
from .settings import LocalSettings

LOCAL_STORE = "pgvector"
LOCAL_USER = "local"
"""Who the CLI acts as (and a local request that names nobody)."""


@dataclass
class LocalServices:
    """Everything a local process needs, built once."""

    settings: LocalSettings
    db: PostgresDatabase
    metadata: PostgresMetadataStore
    store: PgVectorStore
    embedder: Embedder
    reranker: Reranker | None
    ingestor: Ingestor
    retriever: Retriever
    chat: ChatService
    cache: PostgresSemanticCache | None = None
    server: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: InProcessMetrics = field(default_factory=InProcessMetrics)
    """The figures the cloud would emit as EMF, counted in this process (``chorus stats``)."""

    def find_workspace(self, name_or_id: str) -> Workspace:
        """A workspace by id, else by name; ``NotFound`` when neither exists."""
        workspace = self.metadata.get_workspace(name_or_id) or self.metadata.find_workspace_by_name(
            name_or_id
        )
        if workspace is None:
            raise NotFound(
                f"workspace {name_or_id!r} does not exist; create it or ingest into it first"
            )
        return workspace

    @property
    def backend(self) -> LocalBackend:
        """These services as the application layer's ``Backend`` (what the REST routes use)."""
        return LocalBackend(self)

    def create_workspace(self, name: str, chunking: ChunkingSettings | None = None) -> Workspace:
        """Create a workspace for this process's embedding model (the REST API's rules: id from
        the name's slug); ``Conflict`` if the name exists."""
        chunking = chunking or ChunkingSettings()
        body = validate_request(
            CreateWorkspace,
            {
                "name": name,
                "chunkSize": chunking.chunk_size,
                "chunkOverlap": chunking.chunk_overlap,
                "titleMode": chunking.title_mode,
                "splitOnHeadings": chunking.split_on_headings,
            },
        )
        return add_workspace(self.backend, local_caller(LOCAL_USER), body)

    def ensure_workspace(self, name_or_id: str) -> Workspace:
        try:
            return self.find_workspace(name_or_id)
        except NotFound:
            try:
                return self.create_workspace(name_or_id)
            except Conflict:
                return self.find_workspace(name_or_id)

    def check_embedding_model(self, workspace: Workspace) -> None:
        if workspace.embedding_model != self.embedder.model_id:
            raise BadRequest(
                f"workspace {workspace.name!r} was indexed with {workspace.embedding_model}, "
                f"but this process embeds with {self.embedder.model_id}; re-index it or "
                "start chorus with that model"
            )

    def delete_workspace(self, workspace_id: str) -> None:
        """Delete a workspace (by id or name) with its chunks and documents."""
        workspace = self.find_workspace(workspace_id)
        delete_workspace(self.backend, local_caller(LOCAL_USER), workspace.id)

    def sources(self, *, allow_private: bool | None = None) -> SourceIngest:
        """Web, feed, text and Q&A sources into this process's index (built once per policy).
        ``allow_private`` defaults to the setting (``CHORUS_SOURCES_ALLOW_PRIVATE``)."""
        from .sources import open_source_ingest

        private = self.settings.sources_allow_private if allow_private is None else allow_private
        key = f"sources:{private}"
        if key not in self.extras:
            self.extras[key] = open_source_ingest(self, allow_private=private)
        return self.extras[key]

    def close(self) -> None:
        for key, value in list(self.extras.items()):
            if key.startswith("sources:"):
                value.fetcher.close()
        self.db.close()


@dataclass(frozen=True)
class LocalBackend:
    """The application layer's ``Backend`` over open local services: one pgvector store, files
    indexed as they arrive (no bucket, no re-index workflow)."""

    services: LocalServices

    @property
    def offer(self) -> Offer:
        return Offer((LOCAL_STORE,), LOCAL_STORE, self.services.settings.max_upload_bytes)

    @property
    def records(self) -> PostgresMetadataStore:
        return self.services.metadata

    @property
    def eval_cases(self) -> PostgresEvalCases:
        return PostgresEvalCases(self.services.db)

    @property
    def chunks(self) -> PgVectorStore:
        return self.services.store

    @property
    def index(self) -> Ingestor:
        return self.services.ingestor

    @property
    def embedding(self) -> Embedder:
        return self.services.embedder

    @property
    def files(self) -> None:
        return None

    @property
    def reindexer(self) -> None:
        return None

    @property
    def sources(self) -> SourceIngest:
        return self.services.sources()

    @property
    def api_keys(self) -> PostgresApiKeys:
        """The public API's keys (their table is created on first use)."""
        extras = self.services.extras
        if "api_keys" not in extras:
            extras["api_keys"] = PostgresApiKeys(self.services.db)
        return extras["api_keys"]

    @property
    def answers(self) -> ChatService:
        return self.services.chat

    def forget_workspace(self, workspace_id: str) -> None:
        if self.services.cache is not None:
            self.services.cache.invalidate_workspace(workspace_id)


def grounding_judge(embedder: Embedder, settings: LocalSettings) -> GroundingJudge:
    """The word-level judge, combined with an NLI cross-encoder when ``CHORUS_NLI_MODEL``
    names one (a sentence is then supported only if both say so)."""
    words = EmbeddingGroundingJudge(embedder)
    if settings.nli_model_path is None:
        return words
    from ..adapters.nli_cross_encoder import CrossEncoderEntailment

    nli = NLIGroundingJudge(CrossEncoderEntailment(settings.nli_model_path), words)
    return CombinedGroundingJudge([words, nli])


def _tuned_retrieval(metadata: PostgresMetadataStore):
    """A workspace's tuned retrieval overrides, read from its record at each retrieval (one
    indexed row on the local database: a tune takes effect on the next question)."""

    def overrides(workspace_id: str) -> dict[str, Any]:
        workspace = metadata.get_workspace(workspace_id)
        return dict(workspace.retrieval) if workspace is not None else {}

    return overrides


def open_services(
    settings: LocalSettings | None = None,
    *,
    embedder: Embedder | None = None,
    reranker: Reranker | None = None,
    dsn: str | None = None,
    answerers: dict[str, Answerer] | None = None,
    prices: dict[str, ModelPrice] | None = None,
    semantic_cache: bool = True,
) -> LocalServices:
    """Start (or join) the embedded PostgreSQL, load the models and wire the services.

    ``embedder``, ``reranker`` and ``dsn`` let tests and benchmarks share loaded models and
    an already-running database. ``answerers`` and ``prices`` add models (e.g. from the model
    registry) next to the extractive one; ``semantic_cache`` turns the PostgreSQL cache off.
    """
    settings = settings or LocalSettings()
    server = None
    if dsn is None:
        server, dsn = start_embedded_postgres(settings.pgdata)
    db = PostgresDatabase(dsn)
    if embedder is None:
        embedder = SentenceTransformerEmbedder(
            settings.embedding_model_path,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
        )
    if reranker is None and settings.rerank_model_path is not None:
        reranker = CrossEncoderReranker(settings.rerank_model_path)
    metadata = PostgresMetadataStore(db)
    store = PgVectorStore(db, embedder.dimension, table=f"chorus_chunks_{embedder.dimension}")
    # Query and sentence vectors recur within a turn and across turns; chunks do not.
    turn_embedder = CachedEmbedder(embedder)
    retriever = Retriever(
        turn_embedder, store, reranker, workspace_overrides=_tuned_retrieval(metadata)
    )
    models: dict[str, Answerer] = {"extractive": ExtractiveAnswerer(turn_embedder)}
    condenser: QueryCondenser | None = None
    if settings.openai_model:
        from ..adapters.openai_compatible import OpenAICompatibleProvider

        provider = OpenAICompatibleProvider(
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
        )
        models[settings.openai_model] = LLMAnswerer(provider)
        condenser = LLMCondenser(provider)
    models.update(answerers or {})
    default_model = settings.openai_model or "extractive"
    cache = PostgresSemanticCache(db, embedder.dimension) if semantic_cache else None
    figures = InProcessMetrics()
    operations = OperationsMetrics(figures)
    chat = ChatService(
        metadata,
        retriever,
        models,
        default_model=default_model,
        prices=prices,
        grounding=grounding_judge(turn_embedder, settings),
        agreement=EmbeddingAgreementScorer(turn_embedder),
        relevance=EmbeddingRelevanceScorer(turn_embedder),
        cache=cache,
        condenser=condenser,
        metrics=operations,
    )
    ingestor = Ingestor(
        embedder,
        store,
        metadata,
        on_document_changed=(
            (lambda workspace_id, _document_id: cache.invalidate_workspace(workspace_id))
            if cache is not None
            else None
        ),
        metrics=operations,
    )
    return LocalServices(
        settings=settings,
        db=db,
        metadata=metadata,
        store=store,
        embedder=embedder,
        reranker=reranker,
        ingestor=ingestor,
        retriever=retriever,
        chat=chat,
        cache=cache,
        server=server,
        metrics=figures,
    )
