"""runtime/adapters/bedrock_knowledge_base.py against botocore's Stubber on the service model.

moto has no Bedrock, so this is shape testing: botocore validates every ``Retrieve`` request
against the ``bedrock-agent-runtime`` model it ships (``expected_params`` pins each one) and the
Stubber checks each canned response against the model's output shape. The knowledge base's
ranking is not exercised; what is specified is how chorus asks and what it makes of the answer,
including through the unchanged core Retriever.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import Stubber
from chorus.runtime.adapters.bedrock_knowledge_base import (
    KnowledgeBaseAccessDenied,
    KnowledgeBaseNotFound,
    KnowledgeBaseRetriever,
    retrieval_filter,
    valid_knowledge_base_id,
)
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.errors import BadRequest, ProviderError, ReadOnlyStore, Throttled
from chorus.runtime.core.models import Chunk
from chorus.runtime.core.ports import VectorStore
from chorus.runtime.core.retrieval import RetrievalSettings, Retriever

KB = "ABCDE12345"


def request(text: str, n: int, token: str | None = None, **search: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "knowledgeBaseId": KB,
        "retrievalQuery": {"text": text},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": n, **search}},
    }
    if token:
        body["nextToken"] = token
    return body


def s3_result(key: str, text: str, score: float = 0.8, **metadata: Any) -> dict[str, Any]:
    return {
        "content": {"text": text, "type": "TEXT"},
        "location": {"type": "S3", "s3Location": {"uri": f"s3://kb-docs/{key}"}},
        "score": score,
        "metadata": {"x-amz-bedrock-kb-source-uri": f"s3://kb-docs/{key}", **metadata},
    }


def web_result(url: str, text: str, score: float = 0.5) -> dict[str, Any]:
    return {
        "content": {"text": text},
        "location": {"type": "WEB", "webLocation": {"url": url}},
        "score": score,
    }


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "bedrock-agent-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubbed(client) -> Iterator[tuple[KnowledgeBaseRetriever, Stubber]]:
    with Stubber(client) as stubber:
        yield KnowledgeBaseRetriever(client, lambda workspace: (KB, None)), stubber
        stubber.assert_no_pending_responses()


def test_a_knowledge_base_satisfies_the_port_as_a_text_only_store(stubbed):
    kb, _ = stubbed
    assert isinstance(kb, VectorStore)
    assert (kb.supports_keyword_search, kb.supports_vector_search) == (True, False)
    assert kb.vector_search("ws", np.ones(384), k=5) == []
    assert kb.chunk_embeddings("ws", ["x"]) == {}


def test_search_retrieves_from_the_workspaces_knowledge_base_with_k_results(stubbed):
    kb, stubber = stubbed
    stubber.add_response(
        "retrieve",
        {"retrievalResults": [s3_result("policies/refunds.pdf", "Refunds take 30 days.")]},
        request("how do refunds work?", 8),
    )
    [hit] = kb.search("ws", "  how do refunds work?  ", k=8)
    assert hit.text == "Refunds take 30 days."
    assert hit.score == pytest.approx(0.8)


def test_a_result_names_its_document_by_its_location(stubbed):
    kb, stubber = stubbed
    stubber.add_response(
        "retrieve",
        {
            "retrievalResults": [
                s3_result("policies/refund%20rules.pdf", "Refunds take 30 days.", page=3),
                web_result("https://example.com/help/shipping", "Shipping is free."),
            ]
        },
        request("refunds", 5),
    )
    s3, web = kb.search("ws", "refunds", k=5)
    assert s3.metadata["document_name"] == "refund rules.pdf"
    assert s3.metadata["source_url"] == "s3://kb-docs/policies/refund%20rules.pdf"
    assert s3.metadata["location_type"] == "S3"
    assert s3.metadata["attributes"]["page"] == 3
    assert web.metadata["document_name"] == "shipping"
    assert web.metadata["source_url"] == "https://example.com/help/shipping"
    assert s3.document_id != web.document_id
    assert s3.document_id.startswith("kb-") and s3.chunk_id.startswith(s3.document_id)


def test_the_same_passage_keeps_its_ids_across_queries(client):
    answer = {"retrievalResults": [s3_result("a.pdf", "Refunds take 30 days.")]}
    with Stubber(client) as stubber:
        stubber.add_response("retrieve", answer, request("refunds", 3))
        stubber.add_response("retrieve", answer, request("refund window", 3))
        kb = KnowledgeBaseRetriever(client, lambda w: (KB, None))
        first, second = kb.search("ws", "refunds", 3)[0], kb.search("ws", "refund window", 3)[0]
    assert (first.document_id, first.chunk_id) == (second.document_id, second.chunk_id)


def test_search_type_and_filters_are_sent_as_the_api_spells_them(client):
    with Stubber(client) as stubber:
        stubber.add_response(
            "retrieve",
            {"retrievalResults": []},
            request(
                "refunds",
                4,
                overrideSearchType="HYBRID",
                filter={
                    "andAll": [
                        {"equals": {"key": "team", "value": "support"}},
                        {"listContains": {"key": "tags", "value": "faq"}},
                    ]
                },
            ),
        )
        kb = KnowledgeBaseRetriever(client, lambda w: (KB, "HYBRID"))
        assert kb.search("ws", "refunds", 4, {"team": "support", "tags": ["faq"]}) == []
        stubber.assert_no_pending_responses()


def test_one_filter_is_sent_without_and_all_which_needs_two_clauses():
    assert retrieval_filter({"year": 2024}) == {"equals": {"key": "year", "value": 2024}}


def test_a_filter_the_api_cannot_express_is_a_bad_request():
    with pytest.raises(BadRequest, match="'nested'"):
        retrieval_filter({"nested": {"a": 1}})


def test_more_than_a_page_follows_next_token_until_k_results(stubbed):
    kb, stubber = stubbed
    first = [s3_result(f"d{i}.txt", f"passage {i}", 1 - i / 200) for i in range(100)]
    second = [s3_result(f"d{i}.txt", f"passage {i}", 1 - i / 200) for i in range(100, 120)]
    stubber.add_response(
        "retrieve", {"retrievalResults": first, "nextToken": "page-2"}, request("q", 100)
    )
    stubber.add_response(
        "retrieve", {"retrievalResults": second, "nextToken": "page-3"}, request("q", 20, "page-2")
    )
    hits = kb.search("ws", "q", k=120)
    assert [h.text for h in hits] == [f"passage {i}" for i in range(120)]


def test_a_short_last_page_ends_the_search(stubbed):
    kb, stubber = stubbed
    stubber.add_response(
        "retrieve",
        {"retrievalResults": [web_result("https://e.com/a", "only one")]},
        request("q", 50),
    )
    assert len(kb.search("ws", "q", k=50)) == 1


def test_results_without_text_are_skipped_and_unscored_ones_ranked_by_position(stubbed):
    kb, stubber = stubbed
    image = {
        "content": {"type": "IMAGE", "byteContent": "data:image/png;base64,AAAA"},
        "location": {"type": "S3", "s3Location": {"uri": "s3://kb-docs/figure.png"}},
    }
    custom = {
        "content": {"text": "From a custom source."},
        "location": {"type": "CUSTOM", "customDocumentLocation": {"id": "doc-17"}},
    }
    stubber.add_response("retrieve", {"retrievalResults": [image, custom]}, request("q", 5))
    [hit] = kb.search("ws", "q", k=5)
    assert hit.metadata["document_name"] == "doc-17"
    assert hit.score == pytest.approx(1.0)


def test_an_empty_question_asks_nothing(stubbed):
    kb, _ = stubbed
    assert kb.search("ws", "   ", k=5) == []


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("ResourceNotFoundException", KnowledgeBaseNotFound, "existing knowledge base"),
        ("AccessDeniedException", KnowledgeBaseAccessDenied, "chorus:knowledgeBases"),
        ("ThrottlingException", Throttled, "try again"),
        ("ValidationException", ProviderError, "refused the request"),
    ],
)
def test_service_errors_become_typed_chorus_errors(stubbed, code, error, message):
    kb, stubber = stubbed
    stubber.add_client_error("retrieve", code, "no", http_status_code=400)
    with pytest.raises(error, match=message) as caught:
        kb.search("ws", "refunds", k=3)
    assert KB in str(caught.value)


def test_missing_and_forbidden_knowledge_bases_are_not_retried(stubbed):
    kb, stubber = stubbed
    stubber.add_client_error("retrieve", "ResourceNotFoundException", "gone", http_status_code=404)
    with pytest.raises(KnowledgeBaseNotFound) as caught:
        kb.search("ws", "refunds", k=3)
    assert caught.value.retryable is False
    assert caught.value.code == "knowledge_base_not_found"


def test_writes_are_refused_because_the_knowledge_base_syncs_itself(stubbed):
    kb, _ = stubbed
    chunk = Chunk("c", "ws", "d", 0, "text", np.zeros(3, dtype=np.float32), {})
    with pytest.raises(ReadOnlyStore, match="StartIngestionJob"):
        kb.replace_document_chunks("ws", "d", [chunk])
    with pytest.raises(ReadOnlyStore, match=KB):
        kb.delete_document("ws", "d")


def test_deleting_a_workspace_leaves_its_knowledge_base_alone(stubbed):
    kb, _ = stubbed
    assert kb.delete_workspace("ws") == 0


def test_knowledge_base_ids_are_ten_upper_case_letters_and_digits():
    assert valid_knowledge_base_id("ABCDE12345") == "ABCDE12345"
    for bad in ("abcde12345", "ABCDE1234", "ABCDE123456", "ABCDE-2345"):
        with pytest.raises(BadRequest, match="10 upper-case"):
            valid_knowledge_base_id(bad)


def test_the_core_retriever_uses_the_knowledge_base_ranking_without_embedding(stubbed):
    kb, stubber = stubbed

    class NoEmbedder:
        model_id, dimension = "none", 3

        def embed(self, texts, *, kind="passage"):
            raise AssertionError("a knowledge base workspace must not embed the query")

    stubber.add_response(
        "retrieve",
        {
            "retrievalResults": [
                s3_result("a.pdf", "Refunds take 30 days.", 0.9),
                s3_result("b.pdf", "Shipping is free.", 0.4),
            ]
        },
        {
            **request("how do refunds work?", 40),
        },
    )
    settings = RetrievalSettings(mode="hybrid", k=2, candidates=40)
    hits = Retriever(NoEmbedder(), kb).retrieve("ws", "how do refunds work?", settings=settings)
    assert [h.text for h in hits] == ["Refunds take 30 days.", "Shipping is free."]
    context = assemble_context(hits, budget_tokens=1000)
    assert [c.document_name for c in context.citations] == ["a.pdf", "b.pdf"]
