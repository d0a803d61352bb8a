"""runtime/adapters/s3vectors_store.py against botocore's Stubber: request shapes and parsing.

moto has no S3 Vectors, so this is shape testing, not the contract suite: botocore validates every
request against the ``s3vectors`` service model it ships (names, types, required fields) and the
Stubber checks the canned responses against the same model. botocore does not enforce a list's
``max`` client-side, so the batch limits are asserted here, against the model's own numbers.
What the service would do with the requests (filtering, ranking) is not exercised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber
from chorus.runtime.adapters.s3vectors_store import (
    DELETE_LIMIT,
    GET_LIMIT,
    LIST_PAGE_LIMIT,
    PUT_LIMIT,
    S3VectorsStore,
    UnsupportedOperation,
    s3vectors_filter,
)
from chorus.runtime.core.errors import BadRequest, ChorusError
from chorus.runtime.core.models import Chunk
from chorus.runtime.core.ports import VectorStore
from chorus.runtime.core.retrieval import RetrievalSettings, RetrievalTrace, Retriever
from support.chunks import make_chunk, unit_vectors

DIM = 8
INDEX = {"vectorBucketName": "chorus-vectors", "indexName": "chunks"}


def unit(seed: int, dim: int = DIM) -> np.ndarray:
    return unit_vectors(1, seed, dim)[0]


def chunk(workspace: str, document: str, ordinal: int, text: str = "", **kw: Any) -> Chunk:
    return make_chunk(workspace, document, ordinal, text, dim=DIM, **kw)


def listed(key: str, workspace: str, document: str) -> dict[str, Any]:
    return {"key": key, "metadata": {"workspace_id": workspace, "document_id": document}}


@pytest.fixture
def stubbed() -> Iterator[tuple[S3VectorsStore, Stubber]]:
    client = boto3.client(
        "s3vectors",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield S3VectorsStore(client, "chorus-vectors", "chunks", DIM), stubber
        stubber.assert_no_pending_responses()


def test_the_store_satisfies_the_port_and_has_no_keyword_search(stubbed):
    store, _ = stubbed
    assert isinstance(store, VectorStore)
    assert store.supports_keyword_search is False
    with pytest.raises(UnsupportedOperation, match="supports_keyword_search") as caught:
        store.keyword_search("ws", "refund", k=5)
    assert caught.value.code == "unsupported_operation"


def test_the_batch_limits_are_the_ones_in_botocores_service_model(stubbed):
    store, _ = stubbed
    model = store.client.meta.service_model
    inputs = {
        op: model.operation_model(op).input_shape.members
        for op in ("PutVectors", "DeleteVectors", "GetVectors", "ListVectors")
    }

    assert inputs["PutVectors"]["vectors"].metadata["max"] == PUT_LIMIT == 500
    assert inputs["DeleteVectors"]["keys"].metadata["max"] == DELETE_LIMIT == 500
    assert inputs["GetVectors"]["keys"].metadata["max"] == GET_LIMIT == 100
    assert inputs["ListVectors"]["maxResults"].metadata["max"] == LIST_PAGE_LIMIT == 1000


# -- writes -------------------------------------------------------------------------------------


def sent_params(client: Any, operation: str) -> list[dict[str, Any]]:
    """Every parameter dict the client sends to ``operation`` (recorded before validation)."""
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        f"provide-client-params.s3vectors.{operation}",
        lambda params, **_: calls.append(params),
    )
    return calls


def test_a_put_carries_float32_data_and_workspace_document_and_text_metadata(stubbed):
    store, stubber = stubbed
    puts = sent_params(store.client, "PutVectors")
    c = chunk("ws", "doc", 0, "東京 🎉", metadata={"lang": "en", "tags": ["faq"], "n": {"a": 1}})
    stubber.add_response(
        "list_vectors", {"vectors": []}, {**INDEX, "maxResults": 1000, "returnMetadata": True}
    )
    stubber.add_response("put_vectors", {}, {**INDEX, "vectors": ANY})

    store.replace_document_chunks("ws", "doc", [c])

    ((vector,),) = [p["vectors"] for p in puts]
    assert vector["key"] == "ws/doc/0"
    np.testing.assert_allclose(vector["data"]["float32"], c.embedding, rtol=1e-6)
    metadata = vector["metadata"]
    assert metadata["workspace_id"] == "ws" and metadata["document_id"] == "doc"
    assert metadata["text"] == "東京 🎉" and metadata["ordinal"] == 0
    assert json.loads(metadata["chorus_metadata"]) == c.metadata
    # Flat scalars and scalar lists become filterable keys; nested objects stay in the JSON.
    assert metadata["lang"] == "en" and metadata["tags"] == ["faq"] and "n" not in metadata


def test_1200_chunks_are_put_in_batches_of_500_and_stale_keys_deleted_in_batches_of_500(stubbed):
    store, stubber = stubbed
    old = [listed(f"ws/doc/{i}", "ws", "doc") for i in range(1200, 2400)]
    others = [listed("ws/other/0", "ws", "other"), listed("ws2/doc/0", "ws2", "doc")]
    stubber.add_response(
        "list_vectors",
        {"vectors": old[:1000], "nextToken": "page-2"},
        {**INDEX, "maxResults": 1000, "returnMetadata": True},
    )
    stubber.add_response(
        "list_vectors",
        {"vectors": old[1000:] + others},
        {**INDEX, "maxResults": 1000, "returnMetadata": True, "nextToken": "page-2"},
    )
    puts = sent_params(store.client, "PutVectors")
    for _ in range(3):
        stubber.add_response("put_vectors", {}, {**INDEX, "vectors": ANY})
    for start in (1200, 1700, 2200):
        keys = [f"ws/doc/{i}" for i in range(start, min(start + 500, 2400))]
        stubber.add_response("delete_vectors", {}, {**INDEX, "keys": keys})
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(1200)])

    assert [len(p["vectors"]) for p in puts] == [500, 500, 200]
    assert [v["key"] for p in puts for v in p["vectors"]] == [f"ws/doc/{i}" for i in range(1200)]


def test_replacing_deletes_only_keys_that_are_no_longer_present(stubbed):
    store, stubber = stubbed
    stubber.add_response(
        "list_vectors",
        {"vectors": [listed(f"ws/doc/{i}", "ws", "doc") for i in range(4)]},
        {**INDEX, "maxResults": 1000, "returnMetadata": True},
    )
    stubber.add_response("put_vectors", {}, {**INDEX, "vectors": ANY})
    stubber.add_response("delete_vectors", {}, {**INDEX, "keys": ["ws/doc/2", "ws/doc/3"]})

    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0), chunk("ws", "doc", 1)])


def test_delete_document_and_workspace_list_then_delete_and_count(stubbed):
    store, stubber = stubbed
    page = {
        "vectors": [
            listed("ws/a/0", "ws", "a"),
            listed("ws/a/1", "ws", "a"),
            listed("ws/b/0", "ws", "b"),
            listed("ws2/a/0", "ws2", "a"),
        ]
    }
    params = {**INDEX, "maxResults": 1000, "returnMetadata": True}
    stubber.add_response("list_vectors", page, params)
    stubber.add_response("delete_vectors", {}, {**INDEX, "keys": ["ws/a/0", "ws/a/1"]})
    stubber.add_response("list_vectors", page, params)
    stubber.add_response("delete_vectors", {}, {**INDEX, "keys": ["ws/a/0", "ws/a/1", "ws/b/0"]})
    stubber.add_response("list_vectors", page, params)
    stubber.add_response("list_vectors", {"vectors": []}, params)

    assert store.delete_document("ws", "a") == 2
    assert store.delete_workspace("ws") == 3
    assert store.count_chunks("ws2") == 1
    assert store.delete_document("ws", "nothing") == 0  # no DeleteVectors call with no keys


@pytest.mark.parametrize(
    ("embedding", "message"),
    [(np.zeros(DIM), "zero or not finite"), (np.ones(4), "4 dimensions but the S3 Vectors")],
)
def test_a_vector_the_index_would_refuse_is_refused_before_any_call(stubbed, embedding, message):
    store, _ = stubbed
    with pytest.raises(BadRequest, match=message):
        store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, embedding=embedding)])


def test_a_chunk_over_the_40_kb_metadata_limit_is_refused_with_what_to_do(stubbed):
    store, _ = stubbed
    with pytest.raises(BadRequest, match=r"at most 40 KB per vector.*smaller chunk size"):
        store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "é" * 30_000)])


# -- queries ------------------------------------------------------------------------------------


def query_response(*vectors: dict[str, Any], metric: str = "cosine") -> dict[str, Any]:
    return {"vectors": list(vectors), "distanceMetric": metric}


def returned(key: str, distance: float, workspace: str = "ws", **metadata: Any) -> dict[str, Any]:
    return {
        "key": key,
        "distance": distance,
        "metadata": {
            "workspace_id": workspace,
            "document_id": key.split("/")[1],
            "ordinal": int(key.rsplit("/", 1)[1]),
            "text": f"text of {key}",
            **metadata,
        },
    }


def test_a_query_filters_by_workspace_and_asks_for_metadata_and_distance(stubbed):
    store, stubber = stubbed
    query = unit(1)
    stubber.add_response(
        "query_vectors",
        query_response(
            returned("ws/doc/1", 0.1, chorus_metadata=json.dumps({"lang": "en"})),
            returned("ws/doc/0", 0.25),
        ),
        {
            **INDEX,
            "topK": 40,
            "queryVector": {"float32": [float(x) for x in query]},
            "filter": {"workspace_id": {"$eq": "ws"}},
            "returnMetadata": True,
            "returnDistance": True,
        },
    )

    hits = store.vector_search("ws", query, k=40)

    assert [(h.chunk_id, h.document_id, h.ordinal) for h in hits] == [
        ("ws/doc/1", "doc", 1),
        ("ws/doc/0", "doc", 0),
    ]
    assert [h.score for h in hits] == pytest.approx([0.9, 0.75])  # 1 - cosine distance
    assert hits[0].text == "text of ws/doc/1" and hits[0].metadata == {"lang": "en"}


def test_k_above_the_services_top_k_limit_is_capped_at_100(stubbed):
    store, stubber = stubbed
    stubber.add_response(
        "query_vectors",
        query_response(),
        {
            **INDEX,
            "topK": 100,
            "queryVector": ANY,
            "filter": ANY,
            "returnMetadata": True,
            "returnDistance": True,
        },
    )
    assert store.vector_search("ws", unit(2), k=500) == []


def test_a_hit_from_another_workspace_is_dropped_even_if_the_service_returned_it(stubbed):
    store, stubber = stubbed
    stubber.add_response(
        "query_vectors",
        query_response(returned("ws2/doc/0", 0.0, workspace="ws2"), returned("ws/doc/0", 0.3)),
        None,
    )
    assert [h.chunk_id for h in store.vector_search("ws", unit(3), k=5)] == ["ws/doc/0"]


def test_an_index_with_euclidean_distance_is_reported_as_misconfigured(stubbed):
    store, stubber = stubbed
    stubber.add_response("query_vectors", query_response(metric="euclidean"), None)
    with pytest.raises(ChorusError, match="needs a cosine index") as caught:
        store.vector_search("ws", unit(4), k=5)
    assert caught.value.code == "store_misconfigured"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, {"workspace_id": {"$eq": "ws"}}),
        (
            {"lang": "en", "page": 3},
            {
                "$and": [
                    {"workspace_id": {"$eq": "ws"}},
                    {"lang": {"$eq": "en"}},
                    {"page": {"$eq": 3}},
                ]
            },
        ),
        (  # containment of every element: one $eq per element (any-element match), ANDed
            {"tags": ["faq", "billing"]},
            {
                "$and": [
                    {"workspace_id": {"$eq": "ws"}},
                    {"tags": {"$eq": "faq"}},
                    {"tags": {"$eq": "billing"}},
                ]
            },
        ),
        (
            {"tags": []},
            {"$and": [{"workspace_id": {"$eq": "ws"}}, {"tags": {"$exists": True}}]},
        ),
    ],
)
def test_chorus_filters_translate_to_s3_vectors_filter_documents(filters, expected):
    assert s3vectors_filter("ws", filters) == expected


@pytest.mark.parametrize(
    "filters", [{"source": {"kind": "pdf"}}, {"workspace_id": "other"}, {"tags": [{"a": 1}]}]
)
def test_filters_s3_vectors_cannot_express_are_refused(filters):
    with pytest.raises(BadRequest):
        s3vectors_filter("ws", filters)


def test_chunk_embeddings_get_vectors_in_batches_of_100_within_the_workspace(stubbed):
    store, stubber = stubbed
    wanted = [f"ws/doc/{i}" for i in range(150)]
    first = [
        {"key": k, "data": {"float32": [1.0] * DIM}, "metadata": {"workspace_id": "ws"}}
        for k in wanted[:100]
    ]
    second = [
        {"key": "ws/doc/100", "data": {"float32": [0.5] * DIM}, "metadata": {"workspace_id": "ws"}},
        {"key": "ws/doc/101", "data": {"float32": [0.5] * DIM}, "metadata": {"workspace_id": "x"}},
    ]
    for keys, vectors in ((wanted[:100], first), (wanted[100:], second)):
        stubber.add_response(
            "get_vectors",
            {"vectors": vectors},
            {**INDEX, "keys": keys, "returnData": True, "returnMetadata": True},
        )

    found = store.chunk_embeddings("ws", wanted)

    assert len(found) == 101 and "ws/doc/101" not in found
    assert found["ws/doc/100"].dtype == np.float32


# -- through the Retriever ------------------------------------------------------------------------


class FixedEmbedder:
    model_id = "fixed"
    dimension = DIM

    def embed(self, texts: Any, *, kind: str = "passage") -> np.ndarray:
        return np.vstack([unit(5)] * len(texts))


def test_hybrid_retrieval_falls_back_to_vector_only_on_s3_vectors(stubbed):
    store, stubber = stubbed
    stubber.add_response(
        "query_vectors", query_response(returned("ws/doc/0", 0.2), returned("ws/doc/1", 0.4)), None
    )
    trace = RetrievalTrace()

    hits = Retriever(FixedEmbedder(), store).retrieve(
        "ws", "refund", settings=RetrievalSettings(mode="hybrid"), trace=trace
    )

    assert [h.chunk_id for h in hits] == ["ws/doc/0", "ws/doc/1"]
    assert trace.used_keyword is False
