"""Where chunks live: the Aurora database and every deployed vector store, routed per workspace.

Each store adapter (and psycopg2, opensearch-py ...) is imported when its store is first built.
"""

from __future__ import annotations

from functools import cached_property, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..settings import ConfigurationError
from .metadata import MetadataWiring

if TYPE_CHECKING:
    from ...core.ports import VectorStore
    from ..stores import WorkspaceStores


class StoreWiring(MetadataWiring):
    """The database, the deployed stores and the chunk store the core uses."""

    def database_dsn(self) -> str:
        """The Aurora URI: from the database secret (``dsn``, or username/password + host)."""
        if self._database_dsn:
            return self._database_dsn
        vs = self.settings.vector_store
        if not vs.secret_arn:
            raise ConfigurationError("vectorStore.secretArn is missing from the app config")
        secret = self._secret(vs.secret_arn)
        if secret.get("dsn"):
            return str(secret["dsn"])
        host = secret.get("host") or vs.host
        if not host:
            raise ConfigurationError(
                "the database secret has no host and vectorStore.host is not configured"
            )
        user, password = quote(secret["username"], safe=""), quote(secret["password"], safe="")
        port = secret.get("port") or vs.port
        database = secret.get("dbname") or vs.database
        return f"postgresql://{user}:{password}@{host}:{port}/{database}?sslmode=require"

    def connection_dsn(self) -> str:
        """What connections use: ``database_dsn()`` with the configured schema first on the
        ``search_path`` (the explicit ``database_dsn`` argument is used as it is)."""
        from ..dsn import with_search_path

        if self._database_dsn:
            return self._database_dsn
        return with_search_path(self.database_dsn(), self.settings.vector_store.schema)

    @cached_property
    def database(self) -> Any:
        """The Aurora database the pgvector store and the semantic cache share: a psycopg2 pool
        (``access: direct``, or the ``database_dsn`` argument) or the RDS Data API
        (``access: dataApi``)."""
        vs = self.settings.vector_store
        if "pgvector" not in vs.stores:
            raise ConfigurationError(
                f"no PostgreSQL database: the pgvector store is not deployed (stores: "
                f"{', '.join(vs.stores)})"
            )
        if vs.access == "dataApi" and not self._database_dsn:
            from ...adapters.rds_data import DataApiDatabase

            if not vs.cluster_arn or not vs.secret_arn:
                raise ConfigurationError(
                    "vectorStore.stores.pgvector: the Data API needs clusterArn and secretArn"
                )
            return DataApiDatabase(
                self.client("rds-data"),
                cluster_arn=vs.cluster_arn,
                secret_arn=vs.secret_arn,
                database=vs.database,
                schema=vs.schema,
            )
        from ...adapters.postgres import PostgresDatabase

        return PostgresDatabase(self.connection_dsn(), max_connections=2)

    def build_store(self, kind: str) -> VectorStore:
        """Build the deployed store of this kind (``stores`` keeps one per container)."""
        vs = self.settings.vector_store
        dimension = vs.embedding_dimension
        if kind == "pgvector":
            from ...adapters.pgvector_store import PgVectorStore

            return PgVectorStore(self.database, dimension, table=vs.chunk_table)
        if kind == "dynamodb" and vs.dynamodb is not None:
            from ...adapters.dynamodb_store import DynamoDBVectorStore

            return DynamoDBVectorStore(self.client("dynamodb"), vs.dynamodb.table)
        if kind == "s3vectors" and vs.s3vectors is not None:
            from ...adapters.s3vectors_store import S3VectorsStore

            config = vs.s3vectors
            return S3VectorsStore(
                self.client("s3vectors"), config.vector_bucket_name, config.index_name, dimension
            )
        if kind == "opensearch" and vs.opensearch is not None:
            from ...adapters.opensearch_store import OpenSearchStore, connect

            config = vs.opensearch
            client = connect(
                config.collection_endpoint,
                self.settings.region,
                config.service,
                credentials=self.session.get_credentials(),
            )
            return OpenSearchStore(
                client,
                config.index,
                dimension,
                serverless=config.service == "aoss",
                create_index=True,
            )
        if kind == "kendra" and vs.kendra is not None:
            from ...adapters.kendra_retriever import KendraRetriever
            from ..stores import KendraDocumentStore

            return KendraDocumentStore(
                KendraRetriever(self.client("kendra"), vs.kendra.index_id),
                self.client("s3"),
                self.settings.documents_bucket,
                vs.kendra.metadata_prefix,
            )
        if kind == "knowledgebase" and vs.knowledgebase is not None:
            from ...adapters.bedrock_knowledge_base import KnowledgeBaseRetriever

            return KnowledgeBaseRetriever(
                self.client("bedrock-agent-runtime"), self.knowledge_base_of
            )
        raise ConfigurationError(
            f"vector store {kind!r} is deployed but vectorStore.stores.{kind} has no settings; "
            "check the AppConfig parameter"
        )

    def knowledge_base_of(self, workspace_id: str) -> tuple[str, str | None]:
        """The Bedrock knowledge base (id, search type) the workspace's record points at."""
        from ...core.errors import NotFound

        known: dict[str, tuple[str, str | None]] = self.__dict__.setdefault("_kb_of", {})
        if workspace_id not in known:  # a workspace never changes knowledge base: read once
            workspace = self.metadata.get_workspace(workspace_id)
            if workspace is None or not workspace.knowledge_base_id:
                raise NotFound(f"workspace {workspace_id!r} points at no Bedrock knowledge base")
            known[workspace_id] = (
                workspace.knowledge_base_id,
                workspace.knowledge_base_search_type,
            )
        return known[workspace_id]

    @cached_property
    def stores(self) -> WorkspaceStores:
        """Every deployed store, built on first use, routed by the workspace's record."""
        from ..stores import WorkspaceStores

        vs = self.settings.vector_store
        if self._store is not None:
            store = self._store
            return WorkspaceStores({vs.default_store: lambda: store}, self.metadata)
        factories = {kind: partial(self.build_store, kind) for kind in vs.stores}
        return WorkspaceStores(factories, self.metadata)

    @property
    def routes_stores(self) -> bool:
        """True when several stores are deployed and each workspace is routed to its own."""
        return len(self.stores.kinds) > 1

    @cached_property
    def store(self) -> VectorStore:
        """The chunk store: the one deployed store itself, or ``stores`` (routing by workspace)
        when the stack deploys several."""
        if self.routes_stores:
            return self.stores
        return self.stores.of_kind(self.stores.kinds[0])
