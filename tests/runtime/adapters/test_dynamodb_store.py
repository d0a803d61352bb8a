"""runtime/adapters/dynamodb_store.py under moto: what the contract suite cannot see.

The shared behaviour (writes, isolation, filters, top-k order, keyword search) is specified in
test_store_contract.py. Here: the per-container cache and its invalidation, paginated loads,
the binary embedding encoding, batch-write retries and the item size limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from chorus.runtime.adapters.dynamodb_store import (
    DynamoDBVectorStore,
    StoreUnavailable,
    create_table,
    metadata_matches,
)
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.models import Chunk
from moto import mock_aws

DIM = 384


def unit_vectors(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def chunk(workspace: str, document: str, ordinal: int, text: str = "", **kw: Any) -> Chunk:
    chunk_id = f"{workspace}/{document}/{ordinal}"
    embedding = kw.pop("embedding", None)
    if embedding is None:
        embedding = unit_vectors(1, zlib.crc32(chunk_id.encode()))[0]
    return Chunk(
        id=chunk_id,
        workspace_id=workspace,
        document_id=document,
        ordinal=ordinal,
        text=text or f"chunk {ordinal} of {document}",
        embedding=embedding,
        **kw,
    )


class CountingClient:
    """A DynamoDB client that counts Query pages and can leave batch writes unprocessed."""

    def __init__(self, client: Any, unprocessed_rounds: int = 0) -> None:
        self._client = client
        self.queries = 0
        self.batch_writes: list[int] = []
        self.unprocessed_rounds = unprocessed_rounds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **params: Any) -> dict[str, Any]:
        self.queries += 1
        return self._client.query(**params)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, requests), *_ = RequestItems.items()
        self.batch_writes.append(len(requests))
        if self.unprocessed_rounds > 0:
            # Throttled: DynamoDB applies the first request and hands the rest back.
            self.unprocessed_rounds -= 1
            self._client.batch_write_item(RequestItems={table: requests[:1]})
            return {"UnprocessedItems": {table: requests[1:]} if requests[1:] else {}}
        return self._client.batch_write_item(RequestItems=RequestItems)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="us-east-1")
        create_table(raw, "chunks")
        yield raw


def ids(hits: Any) -> list[str]:
    return [h.chunk_id for h in hits]


# -- the table ----------------------------------------------------------------------------------


def test_create_table_is_on_demand_and_idempotent(client):
    create_table(client, "chunks")

    table = client.describe_table(TableName="chunks")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "workspace_id": "HASH",
        "sk": "RANGE",
    }


def test_a_documents_chunks_share_one_sort_key_prefix(client):
    store = DynamoDBVectorStore(client, "chunks")
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0), chunk("ws", "doc", 1)])

    items = client.scan(TableName="chunks")["Items"]
    assert sorted(i["sk"]["S"] for i in items) == ["doc#doc#ws/doc/0", "doc#doc#ws/doc/1"]


def test_a_document_id_that_extends_another_never_shares_its_chunks(client):
    store = DynamoDBVectorStore(client, "chunks")
    store.replace_document_chunks("ws", "a", [chunk("ws", "a", 0)])
    store.replace_document_chunks("ws", "a#b", [chunk("ws", "a#b", 0)])
    store.replace_document_chunks("ws", "a%23b", [chunk("ws", "a%23b", 0)])

    assert store.delete_document("ws", "a") == 1
    assert store.count_chunks("ws", "a#b") == 1
    assert store.count_chunks("ws", "a%23b") == 1


# -- binary embeddings --------------------------------------------------------------------------


def test_float32_embeddings_are_stored_as_4_bytes_per_dimension_and_round_trip_exactly(client):
    store = DynamoDBVectorStore(client, "chunks")
    vector = unit_vectors(1, seed=1)[0]
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, embedding=vector)])

    (item,) = client.scan(TableName="chunks")["Items"]
    assert len(item["embedding"]["B"]) == DIM * 4
    assert item["dtype"]["S"] == "f4"
    np.testing.assert_array_equal(store.chunk_embeddings("ws", ["ws/doc/0"])["ws/doc/0"], vector)


def test_float16_halves_the_bytes_and_keeps_cosine_scores_within_a_thousandth(client):
    store = DynamoDBVectorStore(client, "chunks", embedding_dtype="float16")
    vectors = unit_vectors(50, seed=2)
    store.replace_document_chunks(
        "ws", "doc", [chunk("ws", "doc", i, embedding=v) for i, v in enumerate(vectors)]
    )
    query = unit_vectors(1, seed=3)[0]

    hits = store.vector_search("ws", query, k=5)

    item = client.scan(TableName="chunks", Limit=1)["Items"][0]
    assert len(item["embedding"]["B"]) == DIM * 2
    exact = {f"ws/doc/{i}": s for i, s in enumerate(vectors @ query)}
    assert all(abs(h.score - exact[h.chunk_id]) < 1e-3 for h in hits)


def test_a_store_reads_chunks_written_in_either_encoding(client):
    DynamoDBVectorStore(client, "chunks", embedding_dtype="float16").replace_document_chunks(
        "ws", "half", [chunk("ws", "half", 0)]
    )
    store = DynamoDBVectorStore(client, "chunks")
    store.replace_document_chunks("ws", "full", [chunk("ws", "full", 0)])

    assert sorted(store.chunk_embeddings("ws", ["ws/half/0", "ws/full/0"])) == [
        "ws/full/0",
        "ws/half/0",
    ]


def test_a_nan_embedding_is_refused_before_anything_is_written(client):
    store = DynamoDBVectorStore(client, "chunks")
    bad = np.full(DIM, np.nan, dtype=np.float32)

    with pytest.raises(BadRequest, match="NaN"):
        store.replace_document_chunks(
            "ws", "doc", [chunk("ws", "doc", 0), chunk("ws", "doc", 1, embedding=bad)]
        )

    assert store.count_chunks("ws") == 0


def test_a_query_of_another_dimension_fails_with_a_clear_message(client):
    store = DynamoDBVectorStore(client, "chunks")
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0)])

    with pytest.raises(BadRequest, match="768 dimensions but workspace 'ws' stores 384"):
        store.vector_search("ws", np.ones(768), k=3)


# -- item size ----------------------------------------------------------------------------------


def test_a_long_text_is_compressed_to_fit_the_400_kb_item_limit(client):
    store = DynamoDBVectorStore(client, "chunks")
    text = "refund policy 返金 " * 40_000  # ~800 KB of UTF-8
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, text)])

    (item,) = client.scan(TableName="chunks")["Items"]
    assert "text" not in item and len(item["text_z"]["B"]) < 400_000
    assert store.document_chunks("ws", "doc")[0].text == text


def test_a_chunk_that_cannot_fit_even_compressed_is_refused_with_what_to_do(client):
    store = DynamoDBVectorStore(client, "chunks")
    noise = np.random.default_rng(0).integers(0x4E00, 0x9FFF, size=300_000)
    text = "".join(map(chr, noise))  # ~900 KB of random CJK: compresses poorly

    with pytest.raises(BadRequest, match=r"400 KB limit.*smaller chunk size"):
        store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, text)])


# -- batch writes -------------------------------------------------------------------------------


def test_writes_go_in_batches_of_at_most_25(client):
    counting = CountingClient(client)
    store = DynamoDBVectorStore(counting, "chunks")

    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(60)])
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(3)])

    assert counting.batch_writes == [25, 25, 10, 3, 25, 25, 7]
    assert store.count_chunks("ws") == 3


def test_unprocessed_items_are_retried_with_backoff_until_written(client):
    counting = CountingClient(client, unprocessed_rounds=3)
    sleeps: list[float] = []
    store = DynamoDBVectorStore(counting, "chunks", sleep=sleeps.append)

    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(10)])

    assert store.count_chunks("ws") == 10
    assert counting.batch_writes == [10, 9, 8, 7]
    assert sleeps == [0.05, 0.1, 0.2]


def test_writes_still_unprocessed_after_every_attempt_raise_store_unavailable(client):
    counting = CountingClient(client, unprocessed_rounds=100)
    store = DynamoDBVectorStore(counting, "chunks", max_write_attempts=3, sleep=lambda s: None)

    with pytest.raises(StoreUnavailable, match="unprocessed after 3 attempts") as caught:
        store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(10)])

    assert caught.value.code == "store_unavailable"


# -- pagination ---------------------------------------------------------------------------------


def test_a_partition_loads_across_query_pages(client):
    counting = CountingClient(client)
    store = DynamoDBVectorStore(counting, "chunks", page_size=7)
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(30)])
    counting.queries = 0

    hits = store.vector_search("ws", unit_vectors(1, seed=4)[0], k=100)

    assert len(hits) == 30
    assert counting.queries == 5  # 7 + 7 + 7 + 7 + 2


def test_a_partition_larger_than_one_megabyte_is_read_in_several_pages(client):
    counting = CountingClient(client)
    store = DynamoDBVectorStore(counting, "chunks")
    # 40 chunks of ~30 KB (below the compression threshold): ~1.2 MB, more than one page.
    store.replace_document_chunks(
        "ws", "doc", [chunk("ws", "doc", i, f"{i} " + "x" * 30_000) for i in range(40)]
    )
    counting.queries = 0

    hits = store.vector_search("ws", unit_vectors(1, seed=5)[0], k=100)

    assert len(hits) == 40
    assert counting.queries >= 2


# -- the cache ----------------------------------------------------------------------------------


def test_searches_are_served_from_the_cache_after_the_first_load(client):
    store = DynamoDBVectorStore(client, "chunks")
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "refund")])

    store.vector_search("ws", unit_vectors(1, seed=6)[0], k=3)
    store.keyword_search("ws", "refund", k=3)
    store.chunk_embeddings("ws", ["ws/doc/0"])

    assert store.partition_loads == 1


def test_another_containers_write_is_invisible_until_invalidate(client):
    reader = DynamoDBVectorStore(client, "chunks")
    writer = DynamoDBVectorStore(client, "chunks")  # another Lambda container
    writer.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "old text")])
    query = unit_vectors(1, seed=7)[0]
    assert ids(reader.vector_search("ws", query, k=5)) == ["ws/doc/0"]

    writer.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 1, "new refund text")])
    stale = reader.vector_search("ws", query, k=5)
    reader.invalidate("ws")  # what the document-changed handler does
    fresh = reader.vector_search("ws", query, k=5)

    assert ids(stale) == ["ws/doc/0"]
    assert ids(fresh) == ["ws/doc/1"]
    assert ids(reader.keyword_search("ws", "refund", k=5)) == ["ws/doc/1"]


def test_invalidating_one_workspace_keeps_the_others_cached(client):
    store = DynamoDBVectorStore(client, "chunks")
    for ws in ("a", "b"):
        store.replace_document_chunks(ws, "doc", [chunk(ws, "doc", 0)])
        store.vector_search(ws, unit_vectors(1, seed=8)[0], k=1)
    loads = store.partition_loads

    store.invalidate("a")
    store.vector_search("a", unit_vectors(1, seed=8)[0], k=1)
    store.vector_search("b", unit_vectors(1, seed=8)[0], k=1)

    assert store.partition_loads == loads + 1


def test_a_cached_partition_expires_after_its_ttl(client):
    clock = Clock()
    reader = DynamoDBVectorStore(client, "chunks", cache_ttl_seconds=60, clock=clock)
    writer = DynamoDBVectorStore(client, "chunks")
    writer.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0)])
    query = unit_vectors(1, seed=9)[0]
    reader.vector_search("ws", query, k=5)
    writer.replace_document_chunks("ws", "doc", [])

    clock.now += 59
    before_ttl = reader.vector_search("ws", query, k=5)
    clock.now += 2
    after_ttl = reader.vector_search("ws", query, k=5)

    assert ids(before_ttl) == ["ws/doc/0"]
    assert after_ttl == []


def test_a_stores_own_writes_are_visible_to_its_next_search(client):
    store = DynamoDBVectorStore(client, "chunks")
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0)])
    store.vector_search("ws", unit_vectors(1, seed=10)[0], k=5)

    store.delete_document("ws", "doc")

    assert store.vector_search("ws", unit_vectors(1, seed=10)[0], k=5) == []


# -- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "filters", "expected"),
    [
        ({"n": 1}, {"n": 1.0}, True),
        ({"flag": True}, {"flag": 1}, False),  # jsonb: true is not 1
        ({"flag": 1}, {"flag": True}, False),
        ({"tags": ["a", "b"]}, {"tags": []}, True),
        ({"tags": "a"}, {"tags": []}, False),
        ({"x": {"y": [1, {"z": 2}]}}, {"x": {"y": [{"z": 2}]}}, True),
        ({"x": None}, {"x": None}, True),
        ({}, {"x": None}, False),
    ],
)
def test_metadata_filters_follow_jsonb_containment(metadata, filters, expected):
    assert metadata_matches(metadata, filters) is expected
