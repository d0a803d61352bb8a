"""The VectorStore contract: every adapter that can run here passes the same specification.

Parametrized over pgvector (the real embedded PostgreSQL; and "pgvector-data-api", the same
store over ``DataApiDatabase`` through a real boto3 ``rds-data`` client against the local Data
API server, ``tests/support/rds_data_server.py``), DynamoDB (under moto), a LangChain
``InMemoryVectorStore`` and OpenSearch through the real opensearch-py client against a FAKE
OpenSearch server ("opensearch-fake", ``tests/support/opensearch_server.py``: in-memory exact
cosine and a simplified BM25; it proves requests and parsing, not OpenSearch's own ranking).
S3 Vectors and Kendra have no local server, so they are shape-tested with botocore's Stubber in
their own files (test_s3vectors_store.py, test_kendra_retriever.py).

Embeddings are seeded random unit vectors, so vector results can be checked against brute-force
cosine similarity in numpy.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import numpy as np
import pytest
from chorus.runtime.adapters.dynamodb_store import DynamoDBVectorStore, create_table
from chorus.runtime.adapters.langchain_store import ChorusEmbeddings, LangChainVectorStore
from chorus.runtime.adapters.opensearch_store import OpenSearchStore
from chorus.runtime.adapters.pgvector_store import PgVectorStore
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.adapters.rds_data import DataApiDatabase
from chorus.runtime.core.models import Chunk, SearchHit
from chorus.runtime.core.ports import VectorStore
from chorus.runtime.core.retrieval import RetrievalSettings, RetrievalTrace, Retriever
from langchain_core.vectorstores import InMemoryVectorStore
from moto import mock_aws
from opensearchpy import OpenSearch, RequestsHttpConnection
from support.chunks import ids, make_chunk
from support.chunks import unit_vectors as _unit_vectors
from support.opensearch_server import FakeOpenSearch
from support.rds_data_server import RdsDataServer

DIM = 384
ADAPTERS = ["pgvector", "pgvector-data-api", "dynamodb", "langchain", "opensearch-fake"]


def unit_vectors(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    return _unit_vectors(n, seed, dim)


def chunk(workspace: str, document: str, ordinal: int, text: str = "", **kw: Any) -> Chunk:
    return make_chunk(workspace, document, ordinal, text, dim=DIM, **kw)


def document(workspace: str, name: str, texts: Sequence[str]) -> list[Chunk]:
    return [chunk(workspace, name, i, text) for i, text in enumerate(texts)]


def everything(store: VectorStore, workspace: str, k: int = 200) -> list[SearchHit]:
    """Every chunk of the workspace, through the one read every adapter has."""
    return store.vector_search(workspace, unit_vectors(1, seed=99)[0], k=k)


class HashEmbedder:
    """A deterministic stand-in for a model: each text maps to a fixed random unit vector."""

    model_id = "hash"
    dimension = DIM

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        return np.vstack([unit_vectors(1, zlib.crc32(t.encode()))[0] for t in texts])


# -- adapters -----------------------------------------------------------------------------------


@pytest.fixture
def pgvector_store(request: pytest.FixtureRequest) -> Iterator[PgVectorStore]:
    module_dsn = request.getfixturevalue("module_dsn")
    schema_path = request.getfixturevalue("schema_path")
    with_settings = request.getfixturevalue("with_settings")
    db = PostgresDatabase(with_settings(module_dsn, schema_path))
    yield PgVectorStore(db, DIM)
    db.close()


@pytest.fixture(scope="module")
def data_api_server(module_dsn: str) -> Iterator[RdsDataServer]:
    with RdsDataServer(module_dsn) as server:
        yield server


@pytest.fixture
def pgvector_data_api_store(data_api_server: RdsDataServer, schema_path: str) -> PgVectorStore:
    """The pgvector store on Aurora's Data API: a real boto3 client against the local server."""
    db = DataApiDatabase(
        data_api_server.client(),
        cluster_arn=data_api_server.cluster_arn,
        secret_arn=data_api_server.secret_arn,
        database=data_api_server.database,
        schema=schema_path.removeprefix("search_path=").split(",")[0],
    )
    return PgVectorStore(db, DIM)


@pytest.fixture
def dynamodb_store() -> Iterator[DynamoDBVectorStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "chunks")
        yield DynamoDBVectorStore(client, "chunks")


@pytest.fixture
def langchain_store() -> LangChainVectorStore:
    return LangChainVectorStore(InMemoryVectorStore(ChorusEmbeddings()))


@pytest.fixture(scope="module")
def fake_opensearch() -> Iterator[FakeOpenSearch]:
    with FakeOpenSearch() as server:
        yield server


@pytest.fixture
def opensearch_fake_store(fake_opensearch: FakeOpenSearch) -> OpenSearchStore:
    """The real adapter and client against the fake server, on a fresh index per test."""
    fake_opensearch.indices.clear()
    client = OpenSearch(hosts=[fake_opensearch.url], connection_class=RequestsHttpConnection)
    store = OpenSearchStore(client, "chunks", DIM)
    store.ensure_index()
    return store


@pytest.fixture(params=ADAPTERS)
def store(request: pytest.FixtureRequest) -> VectorStore:
    return request.getfixturevalue(f"{request.param.replace('-', '_')}_store")


# -- the port -----------------------------------------------------------------------------------


def test_the_adapter_satisfies_the_vector_store_port(store):
    assert isinstance(store, VectorStore)
    assert isinstance(store.supports_keyword_search, bool)


def test_an_empty_workspace_has_no_chunks_and_no_hits(store):
    assert store.count_chunks("nobody") == 0
    assert everything(store, "nobody") == []
    assert store.chunk_embeddings("nobody", ["x"]) == {}


# -- writes -------------------------------------------------------------------------------------


def test_writing_the_same_chunks_twice_keeps_one_copy_of_each(store):
    chunks = document("ws", "doc", ["one", "two", "three"])
    store.replace_document_chunks("ws", "doc", chunks)
    first = everything(store, "ws")

    store.replace_document_chunks("ws", "doc", chunks)

    assert store.count_chunks("ws") == 3
    assert everything(store, "ws") == first


def test_an_upsert_by_chunk_id_updates_text_and_metadata_in_place(store):
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "old", metadata={"v": 1})])

    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "new", metadata={"v": 2})])

    (hit,) = everything(store, "ws")
    assert (hit.chunk_id, hit.text, dict(hit.metadata)) == ("ws/doc/0", "new", {"v": 2})


def test_replacing_a_document_leaves_no_stale_chunk(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b", "c", "d", "e"]))
    store.replace_document_chunks("ws", "other", document("ws", "other", ["keep me"]))

    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["A", "B"]))

    assert store.count_chunks("ws", "doc") == 2
    assert sorted(ids(everything(store, "ws"))) == ["ws/doc/0", "ws/doc/1", "ws/other/0"]
    assert {h.text for h in everything(store, "ws")} == {"A", "B", "keep me"}


def test_replacing_a_document_with_no_chunks_removes_it(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b"]))

    store.replace_document_chunks("ws", "doc", [])

    assert store.count_chunks("ws", "doc") == 0
    assert everything(store, "ws") == []


def test_a_chunk_of_another_document_is_refused_and_nothing_changes(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a"]))

    with pytest.raises(ValueError, match="must belong to the document"):
        store.replace_document_chunks("ws", "doc", [chunk("ws", "elsewhere", 0)])

    assert ids(everything(store, "ws")) == ["ws/doc/0"]


def test_delete_document_removes_only_that_document_and_counts_it(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b", "c"]))
    store.replace_document_chunks("ws", "other", document("ws", "other", ["d"]))

    assert store.delete_document("ws", "doc") == 3
    assert store.delete_document("ws", "doc") == 0
    assert ids(everything(store, "ws")) == ["ws/other/0"]


def test_delete_workspace_removes_only_that_workspace_and_counts_it(store):
    store.replace_document_chunks("ws", "a", document("ws", "a", ["1", "2"]))
    store.replace_document_chunks("ws", "b", document("ws", "b", ["3"]))
    store.replace_document_chunks("ws2", "a", document("ws2", "a", ["4"]))

    assert store.delete_workspace("ws") == 3

    assert store.count_chunks("ws") == 0
    assert ids(everything(store, "ws2")) == ["ws2/a/0"]


def test_count_chunks_counts_by_workspace_and_document(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b", "c"]))
    store.replace_document_chunks("ws", "other", document("ws", "other", ["d"]))
    store.replace_document_chunks("ws2", "doc", document("ws2", "doc", ["e"]))

    assert store.count_chunks("ws") == 4
    assert store.count_chunks("ws", "doc") == 3
    assert store.count_chunks("ws", "missing") == 0
    assert store.count_chunks("ws2") == 1


def test_batches_past_the_services_write_limits_are_written_and_replaced_whole(store):
    # 60 chunks: more than DynamoDB's 25-item BatchWriteItem, in three uneven batches.
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(60)])
    assert store.count_chunks("ws", "doc") == 60

    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(10, 37)])

    assert store.count_chunks("ws", "doc") == 27
    assert sorted(ids(everything(store, "ws"))) == sorted(f"ws/doc/{i}" for i in range(10, 37))


# -- isolation ----------------------------------------------------------------------------------


def test_workspaces_never_see_each_others_chunks(store):
    shared = unit_vectors(1, seed=3)[0]
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "refund", embedding=shared)])
    store.replace_document_chunks(
        "ws2",
        "doc",
        [chunk("ws2", "doc", i, "refund refund", embedding=shared) for i in range(5)],
    )

    assert ids(store.vector_search("ws", shared, k=10)) == ["ws/doc/0"]
    assert store.vector_search("nobody", shared, k=10) == []
    if store.supports_keyword_search:
        assert ids(store.keyword_search("ws", "refund", k=10)) == ["ws/doc/0"]
        assert store.keyword_search("nobody", "refund", k=10) == []
    assert set(store.chunk_embeddings("ws", ["ws/doc/0", "ws2/doc/0"])) == {"ws/doc/0"}


# -- vector search ------------------------------------------------------------------------------


def test_vector_top_k_order_matches_brute_force_cosine(store):
    vectors = unit_vectors(200, seed=7)
    store.replace_document_chunks(
        "ws", "doc", [chunk("ws", "doc", i, embedding=v) for i, v in enumerate(vectors)]
    )

    for query in unit_vectors(10, seed=8):
        hits = store.vector_search("ws", query, k=10)

        similarities = vectors @ query
        expected = np.argsort(-similarities, kind="stable")[:10]
        assert ids(hits) == [f"ws/doc/{i}" for i in expected]
        np.testing.assert_allclose([h.score for h in hits], similarities[expected], atol=1e-5)


def test_vector_search_returns_the_whole_workspace_when_k_exceeds_it(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b", "c"]))

    assert sorted(ids(everything(store, "ws", k=50))) == ["ws/doc/0", "ws/doc/1", "ws/doc/2"]


def test_chunk_embeddings_returns_the_stored_vectors(store):
    chunks = document("ws", "doc", ["a", "b"])
    store.replace_document_chunks("ws", "doc", chunks)

    found = store.chunk_embeddings("ws", [c.id for c in chunks] + ["missing"])

    assert set(found) == {c.id for c in chunks}
    for c in chunks:
        np.testing.assert_allclose(np.asarray(found[c.id]), c.embedding, atol=1e-6)


# -- metadata -----------------------------------------------------------------------------------


@pytest.fixture
def tagged(store: VectorStore) -> VectorStore:
    metadata = [
        {"lang": "en", "tags": ["faq", "billing"], "source": {"kind": "pdf", "page": 1}},
        {"lang": "en", "tags": ["guide"], "source": {"kind": "html"}},
        {"lang": "fr", "tags": ["faq"], "source": {"kind": "pdf", "page": 2}},
        {},
    ]
    store.replace_document_chunks(
        "ws",
        "doc",
        [chunk("ws", "doc", i, "refund policy", metadata=m) for i, m in enumerate(metadata)],
    )
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lang": "en"}, {0, 1}),
        ({"tags": ["faq"]}, {0, 2}),
        ({"tags": ["faq", "billing"]}, {0}),
        ({"source": {"kind": "pdf"}}, {0, 2}),
        ({"lang": "en", "source": {"kind": "pdf"}}, {0}),
        ({"lang": "de"}, set()),
        ({"tags": "faq"}, set()),  # containment: a string does not match a list
        ({}, {0, 1, 2, 3}),
        (None, {0, 1, 2, 3}),
    ],
)
def test_metadata_filters_match_by_containment(tagged, filters, expected):
    by_vector = tagged.vector_search("ws", unit_vectors(1, seed=21)[0], k=10, filters=filters)

    want = {f"ws/doc/{i}" for i in expected}
    assert set(ids(by_vector)) == want
    if tagged.supports_keyword_search:
        assert set(ids(tagged.keyword_search("ws", "refund", k=10, filters=filters))) == want


def test_metadata_round_trips_unchanged(store):
    metadata = {"source": "a/b.pdf", "page": 3, "score": 0.5, "tags": ["x", "東京"], "n": None}
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, metadata=metadata)])

    (hit,) = everything(store, "ws")
    assert dict(hit.metadata) == metadata
    assert (hit.document_id, hit.ordinal) == ("doc", 0)


# -- texts --------------------------------------------------------------------------------------

UNICODE_TEXTS = [
    "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
    "Emoji 🎉🚀👩🏽‍💻 and flags 🇫🇷 survive; so does the 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 of 4-byte letters.",
    "naïve café, Ωμέγα, עברית, العربية, e\u0301 (combining), zero\u200bwidth",
    "quotes ' \" ` and backslashes \\ \\\\ and a tab\tand a newline\nstay",
]


def test_unicode_texts_round_trip_unchanged(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", UNICODE_TEXTS))

    by_id = {h.chunk_id: h.text for h in everything(store, "ws")}
    assert [by_id[f"ws/doc/{i}"] for i in range(len(UNICODE_TEXTS))] == UNICODE_TEXTS


def test_a_very_long_text_round_trips_and_stays_searchable(store, request):
    if request.node.callspec.params["store"] == "pgvector-data-api":
        pytest.skip("the Data API returns rows of 64 KB at most; test_rds_data.py checks the error")
    text = " ".join(f"word{i % 5000}" for i in range(40_000)) + " 東京 🎉"  # ~330 KB
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, text), chunk("ws", "doc", 1)])

    by_id = {h.chunk_id: h.text for h in everything(store, "ws")}
    assert by_id["ws/doc/0"] == text
    if store.supports_keyword_search:
        assert ids(store.keyword_search("ws", "word4999", k=3)) == ["ws/doc/0"]


# -- keyword search and the capability flag -----------------------------------------------------


def test_keyword_search_finds_a_rare_identifier_where_supported(store):
    if not store.supports_keyword_search:
        pytest.skip("no keyword search: covered by the fallback test below")
    common = [
        "To fix an error in the ingest worker, restart the worker and check the logs.",
        "Fix the error by restarting: most errors in the worker go away after a restart.",
        "Error fix checklist: restart, check logs, fix configuration, restart again.",
    ]
    rare = "Error XK-4471 means the embedding endpoint is paused."
    store.replace_document_chunks("ws", "doc", document("ws", "doc", [*common, rare]))

    hits = store.keyword_search("ws", "how do I fix error XK-4471", k=10)

    assert hits[0].chunk_id == "ws/doc/3"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert store.keyword_search("ws", "", k=5) == []


def test_hybrid_retrieval_uses_keywords_only_where_the_store_says_it_can(store):
    texts = ["refund policy for returns", "shipping times", "XK-4471 error code", "careers"]
    embedder = HashEmbedder()
    store.replace_document_chunks(
        "ws",
        "doc",
        [chunk("ws", "doc", i, t, embedding=embedder.embed([t])[0]) for i, t in enumerate(texts)],
    )
    retriever = Retriever(embedder, store)
    hybrid_trace = RetrievalTrace()
    # A keyword weight high enough that the exact identifier wins whenever keywords are used.
    hybrid_settings = RetrievalSettings(mode="hybrid", k=2, keyword_weight=5.0)

    hybrid = retriever.retrieve("ws", "XK-4471", settings=hybrid_settings, trace=hybrid_trace)
    vector = retriever.retrieve("ws", "XK-4471", settings=RetrievalSettings(mode="vector", k=2))

    assert hybrid_trace.used_keyword is store.supports_keyword_search
    if store.supports_keyword_search:
        assert hybrid[0].chunk_id == "ws/doc/2"
        keyword = retriever.retrieve("ws", "XK-4471", settings=RetrievalSettings(mode="keyword"))
        assert ids(keyword) == ["ws/doc/2"]
    else:
        assert ids(hybrid) == ids(vector)
        assert retriever.retrieve("ws", "XK-4471", settings=RetrievalSettings(mode="keyword")) == []
