"""BedrockReranker through the real boto3 ``bedrock-agent-runtime`` client and botocore's Stubber.

There is no Bedrock here: the Stubber checks each request against the service model (so a
malformed request fails) and answers with the documented ``Rerank`` response shape — results
best first, each naming its passage by ``index``.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from chorus.runtime.adapters.bedrock_rerank import BedrockReranker, model_arn
from chorus.runtime.core.errors import ProviderError, Throttled
from chorus.runtime.core.ports import Reranker

COHERE = "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0"
PASSAGES = ["WPA3 is off by default.", "The Aurora 2 has no WPA3.", "Reboot with the button."]


@pytest.fixture
def client():
    return boto3.client(
        "bedrock-agent-runtime",
        region_name="us-west-2",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def expected_request(query: str, passages: list[str], arn: str = COHERE) -> dict[str, Any]:
    return {
        "queries": [{"type": "TEXT", "textQuery": {"text": query}}],
        "sources": [
            {
                "type": "INLINE",
                "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": p}},
            }
            for p in passages
        ],
        "rerankingConfiguration": {
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": {
                "numberOfResults": len(passages),
                "modelConfiguration": {"modelArn": arn},
            },
        },
    }


def test_scores_come_back_in_the_order_the_passages_were_given(client):
    stub = Stubber(client)
    stub.add_response(
        "rerank",
        {
            "results": [
                {"index": 1, "relevanceScore": 0.91},
                {"index": 0, "relevanceScore": 0.40},
                {"index": 2, "relevanceScore": 0.02},
            ]
        },
        expected_request("Does the Aurora 2 do WPA3?", PASSAGES),
    )
    with stub:
        scores = BedrockReranker(COHERE, client=client).score(
            "Does the Aurora 2 do WPA3?", PASSAGES
        )
    assert scores == [0.40, 0.91, 0.02]
    stub.assert_no_pending_responses()


def test_is_a_reranker_named_after_its_model(client):
    reranker = BedrockReranker(COHERE, client=client)
    assert isinstance(reranker, Reranker)
    assert reranker.model_id == "cohere.rerank-v3-5:0"


def test_a_bare_model_id_becomes_a_foundation_model_arn_in_the_clients_region(client):
    reranker = BedrockReranker("amazon.rerank-v1:0", client=client)
    assert reranker.model_arn == "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"
    assert model_arn(COHERE, "eu-central-1") == COHERE


def test_results_over_several_pages_are_gathered_with_the_next_token(client):
    stub = Stubber(client)
    stub.add_response(
        "rerank",
        {"results": [{"index": 2, "relevanceScore": 0.7}], "nextToken": "page-2"},
        expected_request("q", PASSAGES),
    )
    stub.add_response(
        "rerank",
        {
            "results": [
                {"index": 0, "relevanceScore": 0.5},
                {"index": 1, "relevanceScore": 0.1},
            ]
        },
        {**expected_request("q", PASSAGES), "nextToken": "page-2"},
    )
    with stub:
        assert BedrockReranker(COHERE, client=client).score("q", PASSAGES) == [0.5, 0.1, 0.7]


def test_no_passages_make_no_request(client):
    with Stubber(client):
        assert BedrockReranker(COHERE, client=client).score("q", []) == []


def test_a_passage_left_unscored_is_a_provider_error(client):
    stub = Stubber(client)
    stub.add_response("rerank", {"results": [{"index": 0, "relevanceScore": 0.5}]})
    with stub, pytest.raises(ProviderError, match="scored 1 of 3"):
        BedrockReranker(COHERE, client=client).score("q", PASSAGES)


def test_throttling_becomes_the_typed_throttled_error(client):
    stub = Stubber(client)
    stub.add_client_error("rerank", service_error_code="ThrottlingException", http_status_code=429)
    with stub, pytest.raises(Throttled):
        BedrockReranker(COHERE, client=client).score("q", PASSAGES)
