"""OpenSearchStore, contract-tested: exact request bodies and the parsing of documented responses.

No OpenSearch server is installable here. The real opensearch-py client talks HTTP to the FAKE
server in ``tests/support/opensearch_server.py``, which records every request and answers in
OpenSearch's documented shapes (or with a scripted failure). These tests pin what goes over the
wire; ``test_store_contract.py`` runs the same adapter through the shared behaviour suite.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from botocore.credentials import Credentials
from chorus.runtime.adapters.opensearch_store import (
    OpenSearchStore,
    connect,
    filters_are_exact,
    metadata_fragments,
)
from chorus.runtime.core.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    ProviderError,
    ProviderTimeout,
    Throttled,
)
from opensearchpy import ConnectionTimeout, OpenSearch, RequestsHttpConnection
from support.chunks import ids, make_chunk, unit_vectors
from support.opensearch_server import FakeOpenSearch

DIM = 4


def chunk(document: str, ordinal: int, text: str = "", workspace: str = "ws", **kw):
    return make_chunk(workspace, document, ordinal, text, dim=DIM, **kw)


def vector(seed: int) -> np.ndarray:
    return unit_vectors(1, seed, DIM)[0]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenSearch]:
    with FakeOpenSearch() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenSearch) -> FakeOpenSearch:
    server.indices.clear()
    server.requests.clear()
    server.item_failures.clear()
    server.serverless = False
    return server


def make_store(fake: FakeOpenSearch, **kw) -> OpenSearchStore:
    client = OpenSearch(hosts=[fake.url], connection_class=RequestsHttpConnection, max_retries=0)
    store = OpenSearchStore(client, "chunks", DIM, **kw)
    store.ensure_index()
    fake.requests.clear()
    return store


@pytest.fixture
def store(fake: FakeOpenSearch) -> OpenSearchStore:
    return make_store(fake)


def source_of(c, metadata_terms: list[str] | None = None) -> dict:
    return {
        "chunk_id": c.id,
        "workspace_id": c.workspace_id,
        "document_id": c.document_id,
        "ordinal": c.ordinal,
        "text": c.text,
        "metadata": dict(c.metadata),
        "metadata_terms": metadata_terms or [],
        "embedding": np.asarray(c.embedding, dtype=np.float32).tolist(),
    }


def search_answer(*hits: tuple[str, float, dict]) -> dict:
    """A documented ``_search`` response body holding these (id, score, source) hits."""
    return {
        "took": 3,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": len(hits), "relation": "eq"},
            "max_score": hits[0][1] if hits else None,
            "hits": [
                {"_index": "chunks", "_id": i, "_score": s, "_source": src} for i, s, src in hits
            ],
        },
    }


# -- the index --------------------------------------------------------------------------------


def test_ensure_index_creates_the_knn_index_with_the_exact_mapping(fake):
    store = OpenSearchStore(
        OpenSearch(hosts=[fake.url], connection_class=RequestsHttpConnection), "chunks", 384
    )

    assert store.ensure_index() is True

    head, put = fake.requests
    assert (head.method, head.path, put.method, put.path) == ("HEAD", "/chunks", "PUT", "/chunks")
    assert put.body == {
        "settings": {"index": {"knn": True}},
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "chunk_id": {"type": "keyword"},
                "workspace_id": {"type": "keyword"},
                "document_id": {"type": "keyword"},
                "ordinal": {"type": "integer"},
                "text": {"type": "text", "analyzer": "english"},
                "metadata": {"type": "object", "enabled": False},
                "metadata_terms": {"type": "keyword"},
                "embedding": {
                    "type": "knn_vector",
                    "dimension": 384,
                    "method": {
                        "name": "hnsw",
                        "engine": "faiss",
                        "space_type": "cosinesimil",
                        "parameters": {"m": 16, "ef_construction": 128},
                    },
                },
            },
        },
    }


def test_ensure_index_can_use_lucene_and_the_standard_analyzer(fake):
    client = OpenSearch(hosts=[fake.url], connection_class=RequestsHttpConnection)
    OpenSearchStore(client, "chunks", DIM, engine="lucene", analyzer="standard").ensure_index()

    mapping = fake.requests_to("/chunks")[-1].body["mappings"]["properties"]
    assert mapping["embedding"]["method"]["engine"] == "lucene"
    assert mapping["text"]["analyzer"] == "standard"
    with pytest.raises(ValueError, match="engine"):
        OpenSearchStore(client, "chunks", DIM, engine="nmslib")


def test_ensure_index_leaves_an_existing_index_alone(store, fake):
    assert store.ensure_index() is False
    assert [r.method for r in fake.requests] == ["HEAD"]


def test_ensure_index_tolerates_losing_the_creation_race(fake):
    fake.script(
        "/chunks",
        404,
        {},  # HEAD: not there yet
    )
    fake.script(
        "/chunks",
        400,
        {
            "error": {"type": "resource_already_exists_exception", "reason": "already exists"},
            "status": 400,
        },
    )
    client = OpenSearch(hosts=[fake.url], connection_class=RequestsHttpConnection)

    assert OpenSearchStore(client, "chunks", DIM).ensure_index() is False


# -- writes -----------------------------------------------------------------------------------


def test_replace_bulk_indexes_by_chunk_id_then_deletes_the_documents_other_chunks(store, fake):
    chunks = [chunk("doc", 0, "alpha", metadata={"lang": "en"}), chunk("doc", 1, "beta")]

    store.replace_document_chunks("ws", "doc", chunks)

    bulk, delete = fake.requests
    assert (bulk.method, bulk.path, bulk.params) == ("POST", "/_bulk", {"refresh": "wait_for"})
    assert bulk.headers["content-type"].startswith("application/json")
    assert bulk.body == [
        {"index": {"_index": "chunks", "_id": "ws/doc/0"}},
        source_of(chunks[0], ['{"lang":"en"}']),
        {"index": {"_index": "chunks", "_id": "ws/doc/1"}},
        source_of(chunks[1]),
    ]
    assert (delete.path, delete.params) == (
        "/chunks/_delete_by_query",
        {"conflicts": "proceed", "refresh": "true"},
    )
    assert delete.body == {
        "query": {
            "bool": {
                "filter": [
                    {"term": {"workspace_id": "ws"}},
                    {"term": {"document_id": "doc"}},
                ],
                "must_not": [{"ids": {"values": ["ws/doc/0", "ws/doc/1"]}}],
            }
        }
    }


def test_bulk_requests_are_split_at_500_documents(store, fake):
    store.replace_document_chunks("ws", "doc", [chunk("doc", i) for i in range(1100)])

    sizes = [len(r.body) // 2 for r in fake.requests_to("/_bulk")]
    assert sizes == [500, 500, 100]
    (delete,) = fake.requests_to("/_delete_by_query")
    assert len(delete.body["query"]["bool"]["must_not"][0]["ids"]["values"]) == 1100
    assert store.count_chunks("ws") == 1100


def test_bulk_requests_stay_under_8_mib(store, fake):
    big = "x" * 3_000_000
    store.replace_document_chunks("ws", "doc", [chunk("doc", i, big) for i in range(5)])

    assert [len(r.body) // 2 for r in fake.requests_to("/_bulk")] == [2, 2, 1]


@pytest.mark.parametrize(
    ("status", "error_type", "raised"),
    [
        (400, "mapper_parsing_exception", BadRequest),
        (429, "es_rejected_execution_exception", Throttled),
        (500, "internal_server_error", ProviderError),
    ],
)
def test_an_error_item_in_the_bulk_response_raises_and_deletes_nothing(
    store, fake, status, error_type, raised
):
    store.replace_document_chunks("ws", "doc", [chunk("doc", 0), chunk("doc", 5)])
    fake.requests.clear()
    fake.item_failures["ws/doc/1"] = (status, {"type": error_type, "reason": "no good"})

    with pytest.raises(raised, match=rf"1 of 2 chunks.*ws/doc/1.*{error_type}") as caught:
        store.replace_document_chunks("ws", "doc", [chunk("doc", 0), chunk("doc", 1)])

    assert type(caught.value) is raised
    assert fake.requests_to("/_delete_by_query") == []
    assert sorted(ids(store.vector_search("ws", vector(1), k=10))) == ["ws/doc/0", "ws/doc/5"]


def test_a_bulk_response_flagging_errors_without_details_still_raises(store, fake):
    fake.script("/_bulk", 200, {"took": 1, "errors": True, "items": []})

    with pytest.raises(ProviderError, match="answered a bulk request of 1 chunks with 0 items"):
        store.replace_document_chunks("ws", "doc", [chunk("doc", 0)])


def test_a_chunk_with_the_wrong_dimension_is_refused_before_any_request(store, fake):
    bad = chunk("doc", 0, embedding=np.ones(DIM + 1, dtype=np.float32))

    with pytest.raises(BadRequest, match="5 dimensions but index 'chunks' holds 4"):
        store.replace_document_chunks("ws", "doc", [bad])

    assert fake.requests == []


def test_a_chunk_id_over_512_bytes_is_refused(store):
    with pytest.raises(BadRequest, match="512-byte document id limit"):
        store.replace_document_chunks("ws", "d" * 600, [chunk("d" * 600, 0)])


def test_delete_document_and_workspace_send_delete_by_query_and_return_the_count(store, fake):
    fake.script("/_delete_by_query", 200, {"took": 5, "deleted": 7, "failures": []})
    fake.script("/_delete_by_query", 200, {"took": 5, "deleted": 12, "failures": []})

    assert store.delete_document("ws", "doc") == 7
    assert store.delete_workspace("ws") == 12

    by_document, by_workspace = fake.requests
    assert by_document.body == {
        "query": {
            "bool": {"filter": [{"term": {"workspace_id": "ws"}}, {"term": {"document_id": "doc"}}]}
        }
    }
    assert by_workspace.body == {"query": {"bool": {"filter": [{"term": {"workspace_id": "ws"}}]}}}


def test_delete_by_query_failures_raise(store, fake):
    fake.script(
        "/_delete_by_query",
        200,
        {"deleted": 3, "failures": [{"id": "x", "cause": {"type": "version_conflict"}}]},
    )

    with pytest.raises(ProviderError, match="deleted 3 chunks but failed"):
        store.delete_document("ws", "doc")


# -- reads ------------------------------------------------------------------------------------


def test_vector_search_sends_a_knn_query_with_the_filters_inside(store, fake):
    query = vector(1)

    store.vector_search("ws", query, k=3, filters={"lang": "en", "tags": ["faq"]})

    (search,) = fake.requests
    assert search.path == "/chunks/_search"
    assert search.body == {
        "size": 3,
        "_source": {"excludes": ["embedding"]},
        "query": {
            "knn": {
                "embedding": {
                    "vector": query.tolist(),
                    "k": 3,
                    "filter": {
                        "bool": {
                            "filter": [
                                {"term": {"workspace_id": "ws"}},
                                {"term": {"metadata_terms": '{"lang":"en"}'}},
                                {"term": {"metadata_terms": '{"tags":["faq"]}'}},
                                {"term": {"metadata_terms": '{"tags":[]}'}},
                            ]
                        }
                    },
                }
            }
        },
    }


def test_vector_search_turns_opensearch_cosine_scores_back_into_similarities(store, fake):
    c = chunk("doc", 2, "text", metadata={"page": 3})
    source = {k: v for k, v in source_of(c).items() if k != "embedding"}
    fake.script("/_search", 200, search_answer(("x1", 0.75, source), ("x2", 0.25, source)))

    hits = store.vector_search("ws", vector(1), k=2)

    assert [h.score for h in hits] == [0.5, -0.5]  # (1 + cos) / 2 → cos
    assert (hits[0].chunk_id, hits[0].document_id, hits[0].ordinal) == ("ws/doc/2", "doc", 2)
    assert (hits[0].text, dict(hits[0].metadata)) == ("text", {"page": 3})


def test_keyword_search_sends_a_bm25_match_with_the_same_filters(store, fake):
    c = chunk("doc", 0, "refund policy", metadata={"lang": "en"})
    source = {k: v for k, v in source_of(c).items() if k != "embedding"}
    fake.script("/_search", 200, search_answer(("x", 2.5, source)))

    hits = store.keyword_search("ws", "refund policy", k=5, filters={"lang": "en"})

    assert [(h.chunk_id, h.score) for h in hits] == [("ws/doc/0", 2.5)]
    assert fake.requests[0].body == {
        "size": 5,
        "_source": {"excludes": ["embedding"]},
        "query": {
            "bool": {
                "must": [{"match": {"text": {"query": "refund policy"}}}],
                "filter": [
                    {"term": {"workspace_id": "ws"}},
                    {"term": {"metadata_terms": '{"lang":"en"}'}},
                ],
            }
        },
    }


def test_blank_keyword_queries_send_nothing(store, fake):
    assert store.keyword_search("ws", "   ", k=5) == []
    assert fake.requests == []


def test_filters_with_objects_inside_lists_are_rechecked_after_the_fetch(store, fake):
    together = {"items": [{"a": 1, "b": 2}]}
    apart = {"items": [{"a": 1, "b": 9}, {"a": 9, "b": 2}]}  # every fragment, not one element
    store.replace_document_chunks(
        "ws",
        "doc",
        [chunk("doc", i, "same words", metadata=apart) for i in range(3)]
        + [chunk("doc", 3, "same words", metadata=together)],
    )
    fake.requests.clear()
    wanted = {"items": [{"a": 1, "b": 2}]}

    assert ids(store.vector_search("ws", vector(1), k=1, filters=wanted)) == ["ws/doc/3"]
    assert ids(store.keyword_search("ws", "words", k=1, filters=wanted)) == ["ws/doc/3"]
    assert [r.body["size"] for r in fake.requests] == [4, 4]  # widened for the re-check


def test_chunk_embeddings_uses_mget_and_drops_other_workspaces(store, fake):
    mine = chunk("doc", 0)
    theirs = chunk("doc", 0, workspace="other")
    fake.script(
        "/_mget",
        200,
        {
            "docs": [
                {"_index": "chunks", "_id": mine.id, "found": True, "_source": source_of(mine)},
                {"_index": "chunks", "_id": theirs.id, "found": True, "_source": source_of(theirs)},
                {"_index": "chunks", "_id": "ws/missing", "found": False},
            ]
        },
    )

    found = store.chunk_embeddings("ws", [mine.id, theirs.id, "ws/missing", mine.id])

    (mget,) = fake.requests
    assert mget.path == "/chunks/_mget"
    assert mget.body == {"ids": [mine.id, theirs.id, "ws/missing"]}
    assert mget.params == {"_source_includes": "chunk_id,workspace_id,embedding"}
    assert list(found) == [mine.id]
    assert found[mine.id].dtype == np.float32
    np.testing.assert_allclose(found[mine.id], mine.embedding)


def test_count_chunks_uses_count_with_the_scope(store, fake):
    fake.script("/_count", 200, {"count": 42, "_shards": {"total": 1}})

    assert store.count_chunks("ws", "doc") == 42

    assert fake.requests[0].body == {
        "query": {
            "bool": {"filter": [{"term": {"workspace_id": "ws"}}, {"term": {"document_id": "doc"}}]}
        }
    }


# -- metadata fragments -----------------------------------------------------------------------


def test_metadata_fragments_are_one_path_pieces_in_canonical_json():
    assert metadata_fragments(
        {"tags": ["faq", "billing"], "source": {"kind": "pdf", "page": 1.0}, "ok": True}
    ) == {
        '{"tags":[]}',
        '{"tags":["faq"]}',
        '{"tags":["billing"]}',
        '{"source":{}}',
        '{"source":{"kind":"pdf"}}',
        '{"source":{"page":1}}',
        '{"ok":true}',
    }
    assert metadata_fragments({"n": 1}) != metadata_fragments({"n": True})
    assert metadata_fragments({"n": "1"}) != metadata_fragments({"n": 1})


def test_long_metadata_values_are_indexed_as_hashes():
    (fragment,) = metadata_fragments({"title": "t" * 1000})
    assert fragment.startswith("sha256:") and len(fragment) == 71


def test_only_lists_holding_containers_make_a_filter_inexact():
    assert filters_are_exact({"lang": "en", "tags": ["a"], "source": {"kind": "pdf"}})
    assert filters_are_exact(None)
    assert not filters_are_exact({"items": [{"a": 1}]})
    assert not filters_are_exact({"nested": {"grid": [[1, 2]]}})


# -- OpenSearch Serverless --------------------------------------------------------------------


def test_on_serverless_documents_get_generated_ids_and_no_refresh(fake):
    fake.serverless = True  # refuses custom _id and ?refresh, as Serverless vector collections do
    store = make_store(fake, serverless=True)
    chunks = [chunk("doc", 0, "alpha"), chunk("doc", 1, "beta")]

    store.replace_document_chunks("ws", "doc", chunks)
    store.replace_document_chunks("ws", "doc", chunks[:1])

    first_bulk, _, second_bulk, delete = fake.requests
    assert first_bulk.params == {} and delete.params == {"conflicts": "proceed"}
    assert first_bulk.body[0] == {"index": {"_index": "chunks"}}
    written = fake.indices["chunks"].docs
    assert delete.body["query"]["bool"]["must_not"] == [{"ids": {"values": list(written)}}]
    assert [d["chunk_id"] for d in written.values()] == ["ws/doc/0"]
    assert second_bulk.body[1]["chunk_id"] == "ws/doc/0"


def test_on_serverless_chunk_embeddings_search_by_chunk_id(fake):
    fake.serverless = True
    store = make_store(fake, serverless=True)
    c = chunk("doc", 0)
    store.replace_document_chunks("ws", "doc", [c])
    fake.requests.clear()

    found = store.chunk_embeddings("ws", [c.id])

    assert fake.requests[0].body == {
        "size": 2,
        "_source": {"includes": ["chunk_id", "workspace_id", "embedding"]},
        "query": {
            "bool": {"filter": [{"term": {"workspace_id": "ws"}}, {"terms": {"chunk_id": [c.id]}}]}
        },
    }
    np.testing.assert_allclose(found[c.id], c.embedding)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "raised", "message"),
    [
        (429, "too_many_requests", Throttled, "throttling requests"),
        (403, "security_exception", Forbidden, "grant the caller's role access"),
        (401, "security_exception", Forbidden, "refused the request"),
        (404, "index_not_found_exception", NotFound, "ensure_index"),
        (400, "parsing_exception", BadRequest, "rejected the request .400 parsing_exception"),
        (500, "internal_server_error", ProviderError, "failed .500"),
    ],
)
def test_http_errors_become_typed_chorus_errors(store, fake, status, error_type, raised, message):
    body = {"error": {"type": error_type, "reason": "because"}, "status": status}
    fake.script("/_search", status, body)

    with pytest.raises(raised, match=message) as caught:
        store.vector_search("ws", vector(1), k=3)

    assert type(caught.value) is raised
    if raised is NotFound:
        assert caught.value.code == "store_not_ready"


def test_an_unreachable_endpoint_is_a_provider_error():
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OpenSearch(
        hosts=[f"http://127.0.0.1:{port}"],
        connection_class=RequestsHttpConnection,
        max_retries=0,
    )

    with pytest.raises(ProviderError, match="cannot reach OpenSearch index 'chunks'"):
        OpenSearchStore(client, "chunks", DIM).count_chunks("ws")


def test_a_timeout_is_a_provider_timeout():
    class TimingOut:
        def count(self, **_):
            raise ConnectionTimeout("TIMEOUT", "read timed out", TimeoutError())

    with pytest.raises(ProviderTimeout, match="did not answer in time"):
        OpenSearchStore(TimingOut(), "chunks", DIM).count_chunks("ws")


# -- connect ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["aoss", "es"])
def test_connect_signs_with_sigv4_over_verified_tls(service):
    credentials = Credentials("AKIDEXAMPLE", "secret")

    client = connect(
        "https://abc.eu-west-1.aoss.amazonaws.com/", "eu-west-1", service, credentials=credentials
    )

    connection = client.transport.get_connection()
    assert isinstance(connection, RequestsHttpConnection)
    assert connection.host == "https://abc.eu-west-1.aoss.amazonaws.com:443"
    assert connection.session.verify  # a CA bundle: certificates are verified
    signed = connection.session.auth(
        requests.Request("GET", connection.host + "/chunks/_count").prepare()
    )
    assert f"/eu-west-1/{service}/aws4_request" in signed.headers["Authorization"]


def test_connect_refuses_an_unknown_service():
    with pytest.raises(ValueError, match="aoss"):
        connect("host", "eu-west-1", "opensearch")


def test_a_store_told_to_create_its_index_does_so_before_its_first_write_only(fake):
    client = OpenSearch(hosts=[fake.url], connection_class=RequestsHttpConnection, max_retries=0)
    store = OpenSearchStore(client, "fresh", DIM, create_index=True)
    assert "fresh" not in fake.indices  # nothing is sent when the store is built

    store.replace_document_chunks("ws", "a", [chunk("a", 0, "first", embedding=vector(1))])
    store.replace_document_chunks("ws", "b", [chunk("b", 0, "second", embedding=vector(2))])

    creates = [r for r in fake.requests if r.method == "PUT" and r.path == "/fresh"]
    assert len(creates) == 1 and store.count_chunks("ws") == 2
