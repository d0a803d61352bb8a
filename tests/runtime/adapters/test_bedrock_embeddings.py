"""BedrockEmbedder through the real boto3 ``bedrock-runtime`` client and the documented bodies.

There is no Bedrock here. A botocore ``before-call`` hook answers ``InvokeModel`` the way the
model family documents it (Titan: one ``embedding`` per request; Cohere: ``embeddings.float``
per batch), with vectors derived from each text so a misplaced answer shows; error paths use
botocore's ``Stubber``.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from typing import Any
from urllib.parse import unquote

import boto3
import numpy as np
import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from botocore.stub import Stubber
from chorus.runtime.adapters.bedrock_embeddings import (
    COHERE_BATCH,
    COHERE_MAX_CHARS,
    BedrockEmbedder,
    default_dimension,
)
from chorus.runtime.core.errors import ProviderError, Throttled


def text_vector(text: str, dimension: int) -> list[float]:
    """A deterministic, not normalised vector for a text."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    return (np.random.default_rng(seed).normal(size=dimension) * 3.0).tolist()


class FakeBedrock:
    """Answers InvokeModel for embedding models in their documented shapes; records bodies."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.client.meta.events.register("before-call.bedrock-runtime.InvokeModel", self._answer)

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        model_id = unquote(params["url_path"].split("/")[2])
        body = json.loads(params["body"])
        with self.lock:
            self.requests.append((model_id, body))
        if "inputText" in body:  # Titan
            dimension = body.get("dimensions", 1536)
            vector = text_vector(body["inputText"], dimension)
            if body.get("normalize"):
                vector = (np.asarray(vector) / np.linalg.norm(vector)).tolist()
            answer = {"embedding": vector, "inputTextTokenCount": len(body["inputText"].split())}
        else:  # Cohere
            dimension = body.get("output_dimension", 1536 if "v4" in model_id else 1024)
            vectors = [text_vector(t, dimension) for t in body["texts"]]
            answer = {
                "id": "e7c1",
                "response_type": "embeddings_by_type",
                "texts": body["texts"],
                "embeddings": {"float": vectors},
            }
        data = json.dumps(answer).encode()
        parsed = {
            "body": StreamingBody(io.BytesIO(data), len(data)),
            "contentType": "application/json",
        }
        return AWSResponse(None, 200, {}, None), parsed


@pytest.fixture
def bedrock() -> FakeBedrock:
    return FakeBedrock()


def expected(texts: list[str], dimension: int) -> np.ndarray:
    vectors = np.asarray([text_vector(t, dimension) for t in texts], dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_titan_v2_embeds_each_text_in_its_own_request_concurrently_and_in_order(bedrock):
    texts = [f"passage number {i} about lava" for i in range(20)]
    embedder = BedrockEmbedder("amazon.titan-embed-text-v2:0", dimension=512, client=bedrock.client)

    vectors = embedder.embed(texts)

    assert vectors.shape == (20, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected(texts, 512), atol=1e-6)
    assert len(bedrock.requests) == 20
    assert {m for m, _ in bedrock.requests} == {"amazon.titan-embed-text-v2:0"}
    bodies = sorted((b for _, b in bedrock.requests), key=lambda b: b["inputText"])
    assert bodies[0] == {"inputText": texts[0], "dimensions": 512, "normalize": True}
    # Titan has no query/passage distinction: a query is the same request.
    np.testing.assert_allclose(embedder.embed([texts[3]], kind="query")[0], vectors[3], atol=1e-6)


def test_titan_v1_is_1536_dimensions_and_takes_no_options(bedrock):
    embedder = BedrockEmbedder("amazon.titan-embed-text-v1", client=bedrock.client)
    vectors = embedder.embed(["one text"])
    assert vectors.shape == (1, 1536)
    assert bedrock.requests == [("amazon.titan-embed-text-v1", {"inputText": "one text"})]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_cohere_batches_96_texts_marks_queries_and_normalises(bedrock):
    texts = [f"document {i}" for i in range(200)]
    texts[5] = "x" * (COHERE_MAX_CHARS + 500)
    embedder = BedrockEmbedder("cohere.embed-multilingual-v3", client=bedrock.client)

    vectors = embedder.embed(texts)

    assert [len(b["texts"]) for _, b in bedrock.requests] == [COHERE_BATCH, COHERE_BATCH, 8]
    first = bedrock.requests[0][1]
    assert first["input_type"] == "search_document" and first["truncate"] == "END"
    assert first["embedding_types"] == ["float"] and "output_dimension" not in first
    assert len(first["texts"][5]) == COHERE_MAX_CHARS
    sent = [t for _, b in bedrock.requests for t in b["texts"]]
    np.testing.assert_allclose(vectors, expected(sent, 1024), atol=1e-6)

    embedder.embed(["what is lava?"], kind="query")
    assert bedrock.requests[-1][1]["input_type"] == "search_query"


def test_cohere_v4_asks_for_the_configured_dimension(bedrock):
    embedder = BedrockEmbedder("cohere.embed-v4:0", dimension=256, client=bedrock.client)
    assert embedder.embed(["a", "b"]).shape == (2, 256)
    assert bedrock.requests[0][1]["output_dimension"] == 256
    assert default_dimension("cohere.embed-v4:0") == 1536


def test_an_inference_profile_arn_is_recognised_by_its_model_id(bedrock):
    arn = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.cohere.embed-v4:0"
    assert BedrockEmbedder(arn, client=bedrock.client).dimension == 1536


def test_unknown_models_and_impossible_dimensions_are_refused_at_construction(bedrock):
    with pytest.raises(ValueError, match="not a Bedrock embedding model"):
        BedrockEmbedder("anthropic.claude-3-haiku-20240307-v1:0", client=bedrock.client)
    with pytest.raises(ValueError, match="256 or 512 or 1024"):
        BedrockEmbedder("amazon.titan-embed-text-v2:0", dimension=384, client=bedrock.client)
    with pytest.raises(ValueError, match="kind"):
        BedrockEmbedder("amazon.titan-embed-text-v1", client=bedrock.client).embed(["x"], kind="q")


def _stubbed(model_id: str, **kwargs: Any) -> tuple[BedrockEmbedder, Stubber]:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return BedrockEmbedder(model_id, client=client, **kwargs), Stubber(client)


def test_throttling_and_refusals_become_provider_errors():
    embedder, stub = _stubbed("cohere.embed-english-v3")
    with stub:
        stub.add_client_error("invoke_model", "ThrottlingException", "slow down", 429)
        with pytest.raises(Throttled):
            embedder.embed(["a"])
        stub.add_client_error("invoke_model", "ValidationException", "bad input", 400)
        with pytest.raises(ProviderError) as refused:
            embedder.embed(["a"])
    assert refused.value.retryable is False


def test_a_wrong_sized_or_malformed_answer_is_a_provider_error():
    embedder, stub = _stubbed("amazon.titan-embed-text-v2:0", dimension=256)
    with stub:
        for answer in (b'{"embedding": [0.1, 0.2]}', b"not json", b'{"message": "?"}'):
            stub.add_response(
                "invoke_model",
                {"body": StreamingBody(io.BytesIO(answer), len(answer)), "contentType": "json"},
            )
            with pytest.raises(ProviderError):
                embedder.embed(["a"])


def test_no_texts_make_no_request(bedrock):
    embedder = BedrockEmbedder("cohere.embed-english-v3", client=bedrock.client)
    assert embedder.embed([]).shape == (0, 1024) and bedrock.requests == []
