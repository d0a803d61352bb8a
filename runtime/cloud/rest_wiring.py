"""What the ``rest_api`` Lambda needs, built on first use: the application layer's ``Backend``.

A request that lists workspaces builds the DynamoDB records and nothing else; the vector stores
(and the database pool, numpy, the store adapters) load only when a request deletes chunks. No
client or model is created at import.

``get_rest_wiring()`` is what the handler calls; tests build ``RestWiring`` over moto and the
embedded PostgreSQL and install it with ``set_rest_wiring``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..application.ports import Offer
from .settings import CloudSettings, ConfigurationError, load_settings

if TYPE_CHECKING:
    from ..adapters.dynamodb_api_keys import DynamoDBApiKeys
    from ..adapters.dynamodb_eval_cases import DynamoDBEvalCases
    from ..adapters.dynamodb_metadata import DynamoDBMetadataStore
    from ..adapters.s3_documents import DocumentBucket
    from ..adapters.stepfunctions_reindex import StepFunctionsReindexer
    from ..application.ports import ChunkStore, DocumentIndex, EmbeddingModel
    from ..core.chat import ChatService
    from ..core.ports import Embedder, VectorStore
    from .bulk_ingest import StepFunctionsBulkIngestions
    from .sources import CloudSources
    from .wiring.chat import ChatWiring
    from .wiring.ingest import IngestWiring


@dataclass(frozen=True)
class DeployedEmbedding:
    """The stack's embedding model by name and dimension: enough to create a workspace, with no
    client built (the embedder itself runs in the ingest and chat workers)."""

    model_id: str
    dimension: int


def _retries() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 5})


class RestWiring:
    """The ``Backend`` of the REST API in one Lambda container.

    Parameters
    ----------
    settings:
        The resolved configuration.
    session:
        boto3 session every client comes from (tests pass one bound to moto).
    embedder, store, database_dsn:
        Ready-made parts for tests (the loaded MiniLM, the embedded PostgreSQL), as for the
        workers' wiring.
    """

    def __init__(
        self,
        settings: CloudSettings,
        *,
        session: Any = None,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        database_dsn: str | None = None,
    ) -> None:
        self.settings = settings
        self._session = session
        self._embedder = embedder
        self._store = store
        self._database_dsn = database_dsn

    @cached_property
    def session(self) -> Any:
        import boto3

        return self._session or boto3.session.Session(region_name=self.settings.region)

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, config=_retries(), **kwargs)

    # -- Backend ---------------------------------------------------------------------------

    @cached_property
    def offer(self) -> Offer:
        vs = self.settings.vector_store
        return Offer(
            tuple(vs.stores),
            vs.default_store,
            self.settings.max_upload_bytes,
            knowledge_bases=vs.knowledge_bases,
        )

    @cached_property
    def records(self) -> DynamoDBMetadataStore:
        from ..adapters.dynamodb_metadata import DynamoDBMetadataStore

        ttl = self.settings.session_ttl_days
        return DynamoDBMetadataStore(
            self.session.resource("dynamodb", config=_retries()),
            self.settings.tables,
            session_ttl_seconds=ttl * 86400 if ttl else None,
        )

    @cached_property
    def eval_cases(self) -> DynamoDBEvalCases:
        """Workspaces' eval sets: items of the workspace table (no table of their own)."""
        from ..adapters.dynamodb_eval_cases import DynamoDBEvalCases

        return DynamoDBEvalCases(
            self.session.resource("dynamodb", config=_retries()), self.settings.tables.workspace
        )

    @cached_property
    def sources(self) -> CloudSources:
        """Sites, feeds, text and Q&A: recorded in the workspace table and handed to the
        ``sync_sources`` function (``runtime/cloud/sources.py``); no fetch runs here."""
        from ..adapters.dynamodb_sources import DynamoDBSourceLedger
        from .sources import CloudSources

        ledger = DynamoDBSourceLedger(
            self.session.resource("dynamodb", config=_retries()), self.settings.tables.workspace
        )
        function = self.settings.sources_sync_function
        sender = None
        if function:
            from ..adapters.work_senders import LambdaAsyncWorkSender

            sender = LambdaAsyncWorkSender(self.client("lambda"), function)
        return CloudSources(ledger, sender)

    @cached_property
    def api_keys(self) -> DynamoDBApiKeys:
        """The public API's keys: items of the workspace table (no table of their own)."""
        from ..adapters.dynamodb_api_keys import DynamoDBApiKeys

        return DynamoDBApiKeys(
            self.session.resource("dynamodb", config=_retries()), self.settings.tables.workspace
        )

    @cached_property
    def _chat_plane(self) -> ChatWiring:
        """The chat worker's wiring (retrieval, models, grounding), built only by a public API
        question: the ``ChatService`` that answers it."""
        from .wiring.chat import ChatWiring

        return ChatWiring(
            self.settings,
            session=self.session,
            embedder=self._embedder,
            store=self._store,
            database_dsn=self._database_dsn,
        )

    @property
    def answers(self) -> ChatService:
        return self._chat_plane.chat

    @cached_property
    def embedding(self) -> EmbeddingModel:
        if self._embedder is not None:
            return self._embedder
        models = self.settings.models
        model_id = models.bedrock_embedding or models.endpoints.get("embedding")
        if not model_id:
            raise ConfigurationError(
                "no embedding model: set models.embedding.modelId or models.endpoints.embedding"
            )
        return DeployedEmbedding(model_id, self.settings.vector_store.embedding_dimension)

    @cached_property
    def files(self) -> DocumentBucket:
        from botocore.config import Config

        from ..adapters.s3_documents import DocumentBucket

        s3 = self.session.client("s3", config=_retries().merge(Config(signature_version="s3v4")))
        return DocumentBucket(
            s3, self.settings.documents_bucket, max_upload_bytes=self.settings.max_upload_bytes
        )

    @cached_property
    def reindexer(self) -> StepFunctionsReindexer | None:
        arn = self.settings.reindex_state_machine_arn
        if not arn:
            return None
        from ..adapters.stepfunctions_reindex import StepFunctionsReindexer

        return StepFunctionsReindexer(self.client("stepfunctions"), arn)

    @cached_property
    def bulk_ingestions(self) -> StepFunctionsBulkIngestions | None:
        """The bulk ingestion workflow and its progress records; None when not deployed."""
        arn = self.settings.bulk_state_machine_arn
        if not arn:
            return None
        from ..adapters.dynamodb_bulk_jobs import DynamoBulkProgress
        from .bulk_ingest import StepFunctionsBulkIngestions

        dynamodb = self.session.resource("dynamodb", config=_retries())
        progress = DynamoBulkProgress(dynamodb, self.settings.tables.workspace)
        return StepFunctionsBulkIngestions(
            self.client("stepfunctions"), self.client("s3"), progress, arn
        )

    @cached_property
    def _data_plane(self) -> IngestWiring:
        """The deployed vector stores and the ingestor's delete path (document-changed events
        included), built only by a request that deletes chunks: the ingest workers' wiring."""
        from .wiring.ingest import IngestWiring

        return IngestWiring(
            self.settings,
            session=self.session,
            embedder=self._embedder,
            store=self._store,
            database_dsn=self._database_dsn,
        )

    @property
    def chunks(self) -> ChunkStore:
        return self._data_plane.store

    @property
    def index(self) -> DocumentIndex:
        return self._data_plane.ingestor

    def forget_workspace(self, workspace_id: str) -> None:
        """Tell the chat workers (``document-changed`` on SNS) to drop the workspace's cached
        answers and loaded chunks: a workspace made later under the same id starts clean."""
        arn = self.settings.document_changed_topic_arn
        if arn:
            from ..adapters.sns_events import DocumentChangedPublisher

            DocumentChangedPublisher(self.client("sns"), arn)(workspace_id)

    # -- the CDN check ----------------------------------------------------------------------

    @cached_property
    def cdn_secret(self) -> str | None:
        """The CDN's shared secret header value (SSM SecureString), when the stack needs it."""
        if not self.settings.require_cdn_header:
            return None
        name = self.settings.cdn_secret_parameter
        if not name:
            raise ConfigurationError("CHORUS_CDN_SECRET_PARAMETER is required with the CDN header")
        parameter = self.client("ssm").get_parameter(Name=name, WithDecryption=True)
        return parameter["Parameter"]["Value"]

    def close(self) -> None:
        """Close the database pool if a delete opened one (tests; a container just ends)."""
        if "_data_plane" in vars(self):
            self._data_plane.close()
        if "_chat_plane" in vars(self):
            self._chat_plane.close()


_lock = threading.Lock()
_wiring: RestWiring | None = None


def get_rest_wiring() -> RestWiring:
    """This container's REST wiring, built from the environment and SSM on first call."""
    global _wiring
    with _lock:
        if _wiring is None:
            import boto3

            session = boto3.session.Session()
            settings = load_settings(session.client("ssm", config=_retries()), os.environ)
            _wiring = RestWiring(settings, session=session)
        return _wiring


def set_rest_wiring(wiring: RestWiring | None) -> None:
    """Install a ready-made wiring (tests), or None to rebuild from the environment."""
    global _wiring
    with _lock:
        _wiring = wiring
