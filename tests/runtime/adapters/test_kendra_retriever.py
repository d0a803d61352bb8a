"""runtime/adapters/kendra_retriever.py against botocore's Stubber: request shapes and parsing.

moto has no Kendra, so this is shape testing: botocore validates each Retrieve request against
the ``kendra`` service model it ships and the Stubber checks the canned responses against it.
Kendra's ranking itself is not exercised; what is specified is how chorus asks and what it makes
of the answer, including through the unchanged core Retriever.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber
from chorus.runtime.adapters.kendra_retriever import KendraRetriever, ReadOnlyStore
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.models import Chunk
from chorus.runtime.core.ports import VectorStore
from chorus.runtime.core.retrieval import RetrievalSettings, RetrievalTrace, Retriever

INDEX_ID = "0123abcd-0123-abcd-0123-0123456789ab"


def workspace_only(workspace: str) -> dict[str, Any]:
    return {
        "AndAllFilters": [
            {"EqualsTo": {"Key": "workspace_id", "Value": {"StringValue": workspace}}}
        ]
    }


def item(document_id: str, content: str, workspace: str = "ws", **extra: Any) -> dict[str, Any]:
    return {
        "Id": f"result-{document_id}-{len(content)}",
        "DocumentId": document_id,
        "DocumentTitle": f"Title of {document_id}",
        "Content": content,
        "DocumentURI": f"s3://bucket/{document_id}",
        "DocumentAttributes": [
            {"Key": "workspace_id", "Value": {"StringValue": workspace}},
            {"Key": "_category", "Value": {"StringListValue": ["faq"]}},
        ],
        "ScoreAttributes": {"ScoreConfidence": extra.pop("confidence", "HIGH")},
        **extra,
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[KendraRetriever, Stubber]]:
    client = boto3.client(
        "kendra",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield KendraRetriever(client, INDEX_ID), stubber
        stubber.assert_no_pending_responses()


def test_kendra_satisfies_the_port_as_a_text_only_store(stubbed):
    kendra, _ = stubbed
    assert isinstance(kendra, VectorStore)
    assert kendra.supports_keyword_search is True
    assert kendra.supports_vector_search is False
    assert kendra.vector_search("ws", np.ones(384), k=5) == []
    assert kendra.chunk_embeddings("ws", ["x"]) == {}


def test_search_calls_retrieve_with_the_workspace_attribute_filter(stubbed):
    kendra, stubber = stubbed
    stubber.add_response(
        "retrieve",
        {"QueryId": "q1", "ResultItems": [item("a.pdf", "Refunds take 30 days.")]},
        {
            "IndexId": INDEX_ID,
            "QueryText": "how do refunds work?",
            "AttributeFilter": workspace_only("ws"),
            "PageSize": 8,
        },
    )

    (hit,) = kendra.search("ws", "  how do refunds work?  ", k=8)

    assert (hit.document_id, hit.text, hit.ordinal) == ("a.pdf", "Refunds take 30 days.", 0)
    assert hit.metadata["title"] == "Title of a.pdf"
    assert hit.metadata["uri"] == "s3://bucket/a.pdf"
    assert hit.metadata["confidence"] == "HIGH"
    assert hit.metadata["attributes"] == {"workspace_id": "ws", "_category": ["faq"]}


def test_chorus_filters_become_kendra_attribute_filters(stubbed):
    kendra, stubber = stubbed
    stubber.add_response(
        "retrieve",
        {"ResultItems": []},
        {
            "IndexId": INDEX_ID,
            "QueryText": "refund",
            "AttributeFilter": {
                "AndAllFilters": [
                    {"EqualsTo": {"Key": "workspace_id", "Value": {"StringValue": "ws"}}},
                    {"EqualsTo": {"Key": "lang", "Value": {"StringValue": "en"}}},
                    {"EqualsTo": {"Key": "year", "Value": {"LongValue": 2024}}},
                    {"ContainsAll": {"Key": "tags", "Value": {"StringListValue": ["faq", "x"]}}},
                ]
            },
            "PageSize": 5,
        },
    )

    kendra.search("ws", "refund", k=5, filters={"lang": "en", "year": 2024, "tags": ["faq", "x"]})


@pytest.mark.parametrize(
    "filters",
    [{"source": {"kind": "pdf"}}, {"score": 0.5}, {"flag": True}, {"workspace_id": "other"}],
)
def test_filters_kendra_cannot_express_are_refused_before_any_call(stubbed, filters):
    kendra, _ = stubbed
    with pytest.raises(BadRequest):
        kendra.search("ws", "refund", k=5, filters=filters)


def test_page_size_is_capped_at_kendras_100_and_long_questions_are_cut_to_1000_chars(stubbed):
    kendra, stubber = stubbed
    stubber.add_response(
        "retrieve",
        {"ResultItems": []},
        {"IndexId": INDEX_ID, "QueryText": "q" * 1000, "AttributeFilter": ANY, "PageSize": 100},
    )

    assert kendra.search("ws", "q" * 5000, k=500) == []


def test_an_empty_question_makes_no_call(stubbed):
    kendra, _ = stubbed
    assert kendra.search("ws", "   ", k=5) == []


def test_hits_keep_kendras_order_with_strictly_decreasing_scores(stubbed):
    kendra, stubber = stubbed
    items = [item("a", "first", confidence="VERY_HIGH"), item("b", "second"), item("a", "third")]
    stubber.add_response("retrieve", {"ResultItems": items}, None)

    hits = kendra.search("ws", "refund", k=10)

    assert [h.text for h in hits] == ["first", "second", "third"]
    assert [h.score for h in hits] == [1.0, 0.5, pytest.approx(1 / 3)]


def test_chunk_ids_are_stable_across_queries_and_distinct_per_passage(stubbed):
    kendra, stubber = stubbed
    first = item("a", "same passage")
    again = {**item("a", "same passage"), "Id": "another-per-query-id"}
    stubber.add_response("retrieve", {"ResultItems": [first, item("a", "other passage")]}, None)
    stubber.add_response("retrieve", {"ResultItems": [again]}, None)

    one, two = kendra.search("ws", "refund", k=5)
    (three,) = kendra.search("ws", "policy", k=5)

    assert one.chunk_id == three.chunk_id
    assert one.chunk_id != two.chunk_id
    assert one.chunk_id.startswith("kendra:a:")


def test_a_passage_of_another_workspace_is_dropped_even_if_kendra_returned_it(stubbed):
    kendra, stubber = stubbed
    stubber.add_response(
        "retrieve", {"ResultItems": [item("x", "theirs", workspace="ws2"), item("a", "ours")]}, None
    )
    assert [h.text for h in kendra.search("ws", "refund", k=5)] == ["ours"]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("replace_document_chunks", ("ws", "doc", [])),
        ("delete_document", ("ws", "doc")),
        ("delete_workspace", ("ws",)),
        ("count_chunks", ("ws",)),
    ],
)
def test_writes_raise_read_only_and_say_kendra_is_fed_by_its_data_source(stubbed, call, args):
    kendra, _ = stubbed
    with pytest.raises(ReadOnlyStore) as caught:
        getattr(kendra, call)(*args)
    assert caught.value.code == "read_only_store"
    if call != "count_chunks":
        assert "fed by its data source" in caught.value.message


def test_an_ingested_chunk_is_refused_the_same_way(stubbed):
    kendra, _ = stubbed
    chunk = Chunk("ws/doc/0", "ws", "doc", 0, "text", np.ones(4))
    with pytest.raises(ReadOnlyStore, match="S3 prefix"):
        kendra.replace_document_chunks("ws", "doc", [chunk])


# -- through the core Retriever, unchanged -------------------------------------------------------


class CountingEmbedder:
    model_id = "counting"
    dimension = 4

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Any, *, kind: str = "passage") -> np.ndarray:
        self.calls += 1
        return np.ones((len(texts), 4), dtype=np.float32)


@pytest.mark.parametrize("mode", ["hybrid", "keyword"])
def test_the_retriever_returns_kendras_ranking_in_hybrid_and_keyword_modes(stubbed, mode):
    kendra, stubber = stubbed
    items = [item("a", "first"), item("b", "second"), item("c", "third")]
    stubber.add_response(
        "retrieve",
        {"ResultItems": items},
        {"IndexId": INDEX_ID, "QueryText": "refund", "AttributeFilter": ANY, "PageSize": 40},
    )
    embedder = CountingEmbedder()
    trace = RetrievalTrace()

    hits = Retriever(embedder, kendra).retrieve(
        "ws", "refund", settings=RetrievalSettings(mode=mode, k=3), trace=trace
    )

    assert [h.text for h in hits] == ["first", "second", "third"]
    assert trace.used_keyword is True
    # Kendra declares supports_vector_search = False: no mode spends an embedding on it.
    assert embedder.calls == 0


def test_vector_mode_on_kendra_returns_nothing_rather_than_failing(stubbed):
    kendra, _ = stubbed
    hits = Retriever(CountingEmbedder(), kendra).retrieve(
        "ws", "refund", settings=RetrievalSettings(mode="vector")
    )
    assert hits == []
