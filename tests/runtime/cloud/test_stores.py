"""runtime/cloud/stores.py: each workspace's chunks go to, and come from, the store it picked.

Under moto (DynamoDB, S3) with the real embedded PostgreSQL for pgvector and the real MiniLM;
S3 Vectors and Kendra through botocore's Stubber (moto has neither).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from chorus.runtime.adapters.dynamodb_metadata import TableNames, create_tables
from chorus.runtime.adapters.dynamodb_store import DynamoDBVectorStore
from chorus.runtime.adapters.dynamodb_store import create_table as create_chunk_table
from chorus.runtime.application import Caller
from chorus.runtime.application import workspaces as workspace_ops
from chorus.runtime.application.requests import CreateWorkspace
from chorus.runtime.cloud.cache_invalidation import invalidate_on_document_changed
from chorus.runtime.cloud.rest_wiring import RestWiring
from chorus.runtime.cloud.services import CloudServices
from chorus.runtime.cloud.settings import settings_from
from chorus.runtime.cloud.stores import (
    CAPABILITIES,
    KendraDocumentStore,
    UnsupportedStore,
    WorkspaceRetriever,
    WorkspaceStores,
)
from chorus.runtime.core.errors import NotFound
from chorus.runtime.core.models import Workspace
from chorus.runtime.core.ports import VectorStore
from chorus.runtime.core.retrieval import RetrievalTrace
from support.chunks import make_chunk

REGION = "us-east-1"
BUCKET = "chorus-documents"
TABLES = TableNames("chorus-workspace", "chorus-document", "chorus-sessions", "chorus-conns")
KENDRA_INDEX = "0123abcd-0123-4567-89ab-0123456789ab"
MANAGER = Caller("alice", frozenset({"workspace_manager"}))

REFUNDS = "Refunds are paid within 30 days of the return.\n\nShipping is free above 50 euros."
PASSWORDS = "Passwords rotate every 90 days.\n\nThe VPN needs a hardware token."


def rest(services: CloudServices) -> RestWiring:
    """The REST API's wiring over the same stack and the test's stores."""
    return RestWiring(
        services.settings,
        session=services.session,
        embedder=services.embedder,
        store=services.store,
    )


def create_workspace(services: CloudServices, caller: Caller, body: CreateWorkspace) -> Workspace:
    return workspace_ops.add_workspace(rest(services), caller, body)


def delete_workspace(services: CloudServices, caller: Caller, workspace_id: str) -> None:
    assert workspace_ops.delete_workspace(rest(services), caller, workspace_id).status == 204


def config(stores: dict[str, Any], default: str) -> dict[str, Any]:
    return {
        "region": REGION,
        "tables": {
            "workspace": TABLES.workspace,
            "document": TABLES.document,
            "sessions": TABLES.sessions,
            "connections": TABLES.connections,
        },
        "documentsBucket": BUCKET,
        "vectorStore": {"embeddingDimension": 384, "defaultStore": default, "stores": stores},
        "models": {"endpoints": {}},
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        create_tables(session.client("dynamodb"), TABLES)
        create_chunk_table(session.client("dynamodb"), "chorus-chunks")
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


@pytest.fixture
def two_stores(aws, embedder, module_dsn, schema_path, with_settings) -> Iterator[CloudServices]:
    """DynamoDB (the default) and pgvector (the embedded PostgreSQL, direct access)."""
    stores = {"dynamodb": {"table": "chorus-chunks"}, "pgvector": {"schema": "chorus"}}
    built = CloudServices(
        settings_from(config(stores, "dynamodb"), {}),
        session=aws,
        embedder=embedder,
        database_dsn=with_settings(module_dsn, schema_path),
    )
    yield built
    built.close()


@pytest.fixture
def dev_shaped(aws, embedder, module_dsn, schema_path, monkeypatch) -> Iterator[CloudServices]:
    """What the dev stack deploys: DynamoDB (the default) and Aurora reached through the RDS
    Data API from outside the VPC — here the local Data API server on the embedded PostgreSQL,
    found through boto3's per-service endpoint variable, as any rds-data client would."""
    from support.rds_data_server import RdsDataServer

    with RdsDataServer(module_dsn) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_RDS_DATA", server.url)
        schema = schema_path.removeprefix("search_path=").split(",")[0]
        stores = {
            "dynamodb": {"table": "chorus-chunks"},
            "pgvector": {
                "clusterArn": server.cluster_arn,
                "secretArn": server.secret_arn,
                "database": server.database,
                "schema": schema,
            },
        }
        built = CloudServices(
            settings_from(config(stores, "dynamodb"), {}), session=aws, embedder=embedder
        )
        yield built
        built.close()
        assert "Execute" in server.operations()  # it went through the Data API


def test_the_dev_stack_reaches_aurora_through_the_data_api(dev_shaped):
    from chorus.runtime.adapters.rds_data import DataApiDatabase

    services = dev_shaped
    assert services.settings.vector_store.access == "dataApi"
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="IT", store="pgvector"))
    ingest(services, workspace, "passwords.txt", PASSWORDS)

    assert isinstance(services.database, DataApiDatabase)
    hits = services.retriever.retrieve(workspace.id, "how often do passwords rotate?")
    assert hits and "90 days" in hits[0].text
    assert services.stores.of_kind("pgvector").count_chunks(workspace.id) > 0
    delete_workspace(services, MANAGER, workspace.id)
    assert services.stores.of_kind("pgvector").count_chunks(workspace.id) == 0


def ingest(services: CloudServices, workspace: Workspace, name: str, text: str) -> str:
    key = f"workspaces/{workspace.id}/{name}-id/{name}"
    result = services.ingestor.ingest(
        workspace, name, text.encode(), document_id=f"{name}-id", metadata={"s3Key": key}
    )
    assert result.outcome == "indexed", result.reason
    return key


def test_each_workspace_writes_to_and_retrieves_from_its_own_store(two_stores):
    services = two_stores
    on_dynamodb = create_workspace(services, MANAGER, CreateWorkspace(name="Support"))
    on_pgvector = create_workspace(services, MANAGER, CreateWorkspace(name="IT", store="pgvector"))
    assert (on_dynamodb.store, on_pgvector.store) == ("dynamodb", "pgvector")  # default first

    ingest(services, on_dynamodb, "refunds.txt", REFUNDS)
    ingest(services, on_pgvector, "passwords.txt", PASSWORDS)

    dynamodb, pgvector = services.stores.of_kind("dynamodb"), services.stores.of_kind("pgvector")
    assert dynamodb.count_chunks(on_dynamodb.id) > 0 and pgvector.count_chunks(on_dynamodb.id) == 0
    assert pgvector.count_chunks(on_pgvector.id) > 0 and dynamodb.count_chunks(on_pgvector.id) == 0
    assert isinstance(services.retriever, WorkspaceRetriever)
    refunds = services.retriever.retrieve(on_dynamodb.id, "how long until I get my refund?")
    passwords = services.retriever.retrieve(on_pgvector.id, "how often do passwords rotate?")
    assert {h.document_id for h in refunds} == {"refunds.txt-id"}
    assert {h.document_id for h in passwords} == {"passwords.txt-id"}
    assert "30 days" in refunds[0].text and "90 days" in passwords[0].text


def test_deleting_a_workspace_clears_its_own_store_and_leaves_the_other(two_stores):
    services = two_stores
    on_dynamodb = create_workspace(services, MANAGER, CreateWorkspace(name="Support"))
    on_pgvector = create_workspace(services, MANAGER, CreateWorkspace(name="IT", store="pgvector"))
    ingest(services, on_dynamodb, "refunds.txt", REFUNDS)
    ingest(services, on_pgvector, "passwords.txt", PASSWORDS)
    before = services.stores.of_kind("pgvector").count_chunks(on_pgvector.id)
    assert services.stores.of_kind("dynamodb").count_chunks(on_dynamodb.id) > 0

    delete_workspace(services, MANAGER, on_dynamodb.id)

    assert services.stores.of_kind("dynamodb").count_chunks(on_dynamodb.id) == 0
    assert services.stores.of_kind("pgvector").count_chunks(on_pgvector.id) == before
    assert services.metadata.get_workspace(on_dynamodb.id) is None
    # A late S3 delete event for the gone workspace deletes nothing and does not fail.
    assert services.store.delete_document(on_dynamodb.id, "refunds.txt-id") == 0


def test_a_store_the_stack_did_not_deploy_is_refused_naming_the_deployed_ones(two_stores):
    with pytest.raises(UnsupportedStore, match="dynamodb, pgvector") as refused:
        create_workspace(two_stores, MANAGER, CreateWorkspace(name="x", store="kendra"))
    assert (refused.value.code, refused.value.http_status) == ("unsupported_store", 400)


def test_a_workspace_whose_store_is_gone_or_that_has_no_record_is_a_clear_error(two_stores):
    services = two_stores
    services.metadata.create_workspace(
        Workspace("old", "Old", "all-MiniLM-L6-v2", 384, store="opensearch"), owner_id="alice"
    )
    with pytest.raises(UnsupportedStore, match=r"'opensearch'.*deployed: dynamodb, pgvector"):
        services.store.count_chunks("old")
    with pytest.raises(NotFound, match="'nowhere'"):
        services.retriever.retrieve("nowhere", "refunds")


def test_a_workspace_record_is_read_once_per_container(two_stores, aws):
    services = two_stores
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="IT", store="pgvector"))
    assert services.store.count_chunks(workspace.id) == 0
    # The record goes behind the container's back: the store it named is remembered.
    aws.client("dynamodb").delete_item(
        TableName=TABLES.workspace,
        Key={"workspace_id": {"S": workspace.id}, "object_type": {"S": "settings"}},
    )
    aws.client("dynamodb").delete_item(
        TableName=TABLES.workspace,
        Key={"workspace_id": {"S": workspace.id}, "object_type": {"S": "workspace"}},
    )
    assert services.metadata.get_workspace(workspace.id) is None
    assert services.stores.kind_of(workspace.id) == "pgvector"
    assert services.store.count_chunks(workspace.id) == 0


def test_document_changed_drops_the_dynamodb_partition_cached_through_the_routing(two_stores):
    services = two_stores
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="Support"))
    ingest(services, workspace, "refunds.txt", REFUNDS)
    dynamodb = services.stores.of_kind("dynamodb")
    services.retriever.retrieve(workspace.id, "refund")
    loads = dynamodb.partition_loads
    # Another container (the ingest worker) writes a new document into the same table.
    elsewhere = DynamoDBVectorStore(services.client("dynamodb"), "chorus-chunks")
    vector = services.embedder.embed(["Gift cards are never refunded."])[0]
    chunk = make_chunk(workspace.id, "gift", 0, "Gift cards are never refunded.", dim=384)
    elsewhere.replace_document_chunks(workspace.id, "gift", [replace(chunk, embedding=vector)])
    services.retriever.retrieve(workspace.id, "refund")
    assert dynamodb.partition_loads == loads  # still the cached partition

    body = json.dumps({"type": "document-changed", "workspaceId": workspace.id})
    outcome = invalidate_on_document_changed(services, body)

    assert outcome["invalidated"] is None  # no semantic cache configured
    hits = services.retriever.retrieve(workspace.id, "are gift cards refunded?")
    assert dynamodb.partition_loads == loads + 1
    assert "gift" in {h.document_id for h in hits}


def test_the_capability_table_matches_the_adapters():
    from chorus.runtime.adapters.bedrock_knowledge_base import KnowledgeBaseRetriever
    from chorus.runtime.adapters.dynamodb_store import DynamoDBVectorStore
    from chorus.runtime.adapters.kendra_retriever import KendraRetriever
    from chorus.runtime.adapters.opensearch_store import OpenSearchStore
    from chorus.runtime.adapters.pgvector_store import PgVectorStore
    from chorus.runtime.adapters.s3vectors_store import S3VectorsStore

    classes = {
        "pgvector": PgVectorStore,
        "dynamodb": DynamoDBVectorStore,
        "opensearch": OpenSearchStore,
        "s3vectors": S3VectorsStore,
        "kendra": KendraRetriever,
        "knowledgebase": KnowledgeBaseRetriever,
    }
    for kind, cls in classes.items():
        flags = (getattr(cls, "supports_vector_search", True), cls.supports_keyword_search)
        assert CAPABILITIES[kind] == flags, kind


def test_the_routing_store_claims_only_what_every_deployed_store_can_do(aws):
    stores = WorkspaceStores({"dynamodb": object, "s3vectors": object}, metadata=None)
    assert isinstance(stores, VectorStore)
    assert stores.supports_vector_search is True and stores.supports_keyword_search is False


# -- S3 Vectors --------------------------------------------------------------------------------


def s3vectors_services(aws, embedder) -> CloudServices:
    stores = {
        "dynamodb": {"table": "chorus-chunks"},
        "s3vectors": {"vectorBucketName": "chorus-vectors", "indexName": "chunks"},
    }
    return CloudServices(
        settings_from(config(stores, "dynamodb"), {}), session=aws, embedder=embedder
    )


def test_an_s3_vectors_workspace_is_searched_by_vector_only_in_its_index(aws, embedder):
    services = s3vectors_services(aws, embedder)
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="Big", store="s3vectors"))
    store = services.stores.of_kind("s3vectors")
    assert (store.vector_bucket_name, store.index_name, store.dimension) == (
        "chorus-vectors",
        "chunks",
        384,
    )
    returned = {
        "key": f"{workspace.id}/doc/0",
        "distance": 0.2,
        "metadata": {
            "workspace_id": workspace.id,
            "document_id": "doc",
            "ordinal": 0,
            "text": "Refunds take 30 days.",
        },
    }
    trace = RetrievalTrace()
    with Stubber(store.client) as stubber:
        stubber.add_response(
            "query_vectors",
            {"vectors": [returned], "distanceMetric": "cosine"},
            {
                "vectorBucketName": "chorus-vectors",
                "indexName": "chunks",
                "topK": 40,
                "queryVector": ANY,
                "filter": {"workspace_id": {"$eq": workspace.id}},
                "returnMetadata": True,
                "returnDistance": True,
            },
        )
        (hit,) = services.retriever.retrieve(workspace.id, "refund delay?", trace=trace)
        stubber.assert_no_pending_responses()
    assert (hit.document_id, hit.text) == ("doc", "Refunds take 30 days.")
    assert trace.used_keyword is False  # S3 Vectors has no keyword leg: hybrid is vector-only


# -- Kendra ------------------------------------------------------------------------------------


def kendra_services(aws, embedder, **kendra: str) -> CloudServices:
    stores = {"dynamodb": {"table": "chorus-chunks"}, "kendra": {"indexId": KENDRA_INDEX, **kendra}}
    return CloudServices(
        settings_from(config(stores, "dynamodb"), {}), session=aws, embedder=embedder
    )


def metadata_files(aws) -> dict[str, Any]:
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="kendra-metadata/").get("Contents", [])
    return {
        o["Key"]: json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
        for o in listed
    }


class CountingEmbedder:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.model_id, self.dimension = embedder.model_id, embedder.dimension
        self.texts = 0

    def embed(self, texts: Any, *, kind: str = "passage") -> Any:
        self.texts += len(texts)
        return self.embedder.embed(texts, kind=kind)


def test_ingesting_into_a_kendra_workspace_writes_the_data_sources_metadata_file(aws, embedder):
    counting = CountingEmbedder(embedder)
    services = kendra_services(aws, counting)
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="Wiki", store="kendra"))

    key = ingest(services, workspace, "refunds.txt", REFUNDS)

    assert counting.texts == 0  # Kendra ranks the text itself: nothing is embedded for it
    ingest(
        services, create_workspace(services, MANAGER, CreateWorkspace(name="S")), "a.txt", REFUNDS
    )
    assert counting.texts > 0  # a DynamoDB workspace's chunks are

    assert isinstance(services.stores.of_kind("kendra"), KendraDocumentStore)
    assert metadata_files(aws) == {
        f"kendra-metadata/{key}.metadata.json": {
            "Title": "refunds.txt",
            "Attributes": {"workspace_id": workspace.id},
        }
    }
    assert services.metadata.get_document(workspace.id, "refunds.txt-id").chunk_count > 0


def test_deleting_a_kendra_document_or_workspace_deletes_its_metadata_files(aws, embedder):
    services = kendra_services(aws, embedder, metadataPrefix="meta/")
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="Wiki", store="kendra"))
    ingest(services, workspace, "refunds.txt", REFUNDS)
    ingest(services, workspace, "passwords.txt", PASSWORDS)
    s3 = aws.client("s3")

    def files() -> list[str]:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="meta/").get("Contents", [])
        return sorted(o["Key"].rsplit("/", 1)[-1] for o in listed)

    assert files() == ["passwords.txt.metadata.json", "refunds.txt.metadata.json"]
    assert services.ingestor.delete(workspace.id, "refunds.txt-id") == 1
    assert files() == ["passwords.txt.metadata.json"]
    delete_workspace(services, MANAGER, workspace.id)
    assert files() == []


def test_a_kendra_workspace_is_retrieved_by_text_without_embedding_the_query(aws, embedder):
    services = kendra_services(aws, embedder)
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="Wiki", store="kendra"))
    store = services.stores.of_kind("kendra")
    item = {
        "Id": "r1",
        "DocumentId": f"s3://{BUCKET}/workspaces/{workspace.id}/refunds.txt-id/refunds.txt",
        "DocumentTitle": "refunds.txt",
        "Content": "Refunds are paid within 30 days.",
        "DocumentURI": f"s3://{BUCKET}/workspaces/{workspace.id}/refunds.txt-id/refunds.txt",
        "DocumentAttributes": [{"Key": "workspace_id", "Value": {"StringValue": workspace.id}}],
        "ScoreAttributes": {"ScoreConfidence": "HIGH"},
    }
    trace = RetrievalTrace()
    with Stubber(store.retriever.client) as stubber:
        stubber.add_response(
            "retrieve",
            {"QueryId": "q", "ResultItems": [item]},
            {
                "IndexId": KENDRA_INDEX,
                "QueryText": "refund?",
                "AttributeFilter": ANY,
                "PageSize": 40,
            },
        )
        (hit,) = services.retriever.retrieve(workspace.id, "refund?", trace=trace)
    assert hit.document_id == "refunds.txt-id"  # chorus's id, read back from the object key
    assert "embed_query" not in trace.timings_ms and trace.used_keyword


def test_a_kendra_write_without_an_uploaded_object_is_refused(aws, embedder):
    services = kendra_services(aws, embedder)
    workspace = create_workspace(services, MANAGER, CreateWorkspace(name="Wiki", store="kendra"))
    chunk = make_chunk(workspace.id, "doc", 0, "text", dim=384)
    with pytest.raises(Exception, match="documents bucket") as refused:
        services.store.replace_document_chunks(workspace.id, "doc", [chunk])
    assert refused.value.code == "read_only_store"


# -- Bedrock knowledge bases ---------------------------------------------------------------------

KB = "KBREFUNDS1"


def kb_services(aws, embedder) -> CloudServices:
    stores = {
        "dynamodb": {"table": "chorus-chunks"},
        "knowledgebase": {"knowledgeBaseIds": [KB, "KBOTHER002"]},
    }
    return CloudServices(
        settings_from(config(stores, "dynamodb"), {}), session=aws, embedder=embedder
    )


def kb_workspace(services: CloudServices, **more: Any) -> Workspace:
    body = CreateWorkspace(name="Handbook", knowledgeBaseId=KB, **more)
    return create_workspace(services, MANAGER, body)


def test_a_workspace_pointing_at_a_knowledge_base_gets_the_knowledgebase_store(aws, embedder):
    services = kb_services(aws, embedder)
    workspace = kb_workspace(services, knowledgeBaseSearchType="SEMANTIC")
    stored = services.metadata.get_workspace(workspace.id)
    assert (stored.store, stored.knowledge_base_id) == ("knowledgebase", KB)
    assert stored.knowledge_base_search_type == "SEMANTIC"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"store": "knowledgebase"}, "needs knowledgeBaseId"),
        ({"knowledgeBaseId": "NOTLISTED1"}, "chorus:knowledgeBases"),
        ({"store": "dynamodb", "knowledgeBaseId": KB}, "belongs to store"),
    ],
)
def test_a_knowledge_base_workspace_must_name_one_the_stack_may_retrieve_from(
    aws, embedder, body, message
):
    services = kb_services(aws, embedder)
    with pytest.raises(Exception, match=message) as refused:
        create_workspace(services, MANAGER, CreateWorkspace(name="Handbook", **body))
    assert refused.value.code == "invalid_knowledge_base"
    assert services.metadata.list_workspaces() == []


def test_a_malformed_knowledge_base_id_is_refused_by_the_request_model():
    from chorus.runtime.application.requests import read_request

    with pytest.raises(Exception, match="knowledgeBaseId") as refused:
        read_request(CreateWorkspace, b'{"name": "x", "knowledgeBaseId": "kb-lowercase"}')
    assert refused.value.code == "bad_request"


def test_a_knowledge_base_workspace_is_retrieved_from_its_knowledge_base(aws, embedder):
    services = kb_services(aws, embedder)
    workspace = kb_workspace(services)
    store = services.stores.of_kind("knowledgebase")
    trace = RetrievalTrace()
    with Stubber(store.client) as stubber:
        stubber.add_response(
            "retrieve",
            {
                "retrievalResults": [
                    {
                        "content": {"text": "Refunds are paid within 30 days."},
                        "location": {
                            "type": "S3",
                            "s3Location": {"uri": "s3://handbook/refunds.md"},
                        },
                        "score": 0.71,
                    }
                ]
            },
            {
                "knowledgeBaseId": KB,
                "retrievalQuery": {"text": "refund?"},
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 40}},
            },
        )
        (hit,) = services.retriever.retrieve(workspace.id, "refund?", trace=trace)
        stubber.assert_no_pending_responses()
    assert hit.metadata["document_name"] == "refunds.md"
    assert "embed_query" not in trace.timings_ms and trace.used_keyword


def test_uploading_into_a_knowledge_base_workspace_is_refused(aws, embedder):
    from chorus.runtime.application import documents
    from chorus.runtime.application.requests import UploadRequest

    services = kb_services(aws, embedder)
    workspace = kb_workspace(services)
    body = UploadRequest(name="a.txt", contentType="text/plain", sizeBytes=10)
    with pytest.raises(Exception, match="start a sync") as refused:
        documents.request_upload(rest(services), MANAGER, workspace.id, body)
    assert refused.value.code == "read_only_store"
    assert services.metadata.list_documents(workspace.id) == []


def test_deleting_a_knowledge_base_workspace_leaves_the_knowledge_base(aws, embedder):
    services = kb_services(aws, embedder)
    workspace = kb_workspace(services)
    delete_workspace(services, MANAGER, workspace.id)  # no Retrieve, no write: nothing stubbed
    assert services.metadata.get_workspace(workspace.id) is None


# -- OpenSearch ----------------------------------------------------------------------------------


def test_an_opensearch_serverless_store_is_signed_for_aoss(aws):
    from chorus.runtime.adapters.opensearch_store import OpenSearchStore

    endpoint = "https://abc123.us-east-1.aoss.amazonaws.com"
    stores = {"opensearch": {"collectionEndpoint": endpoint, "index": "chorus-chunks"}}
    services = CloudServices(settings_from(config(stores, "opensearch"), {}), session=aws)

    store = services.store  # one store deployed: no routing

    assert isinstance(store, OpenSearchStore) and store.serverless
    assert (store.index, store.dimension) == ("chorus-chunks", 384)
    auth = store.client.transport.get_connection().session.auth
    assert auth.service == "aoss"
