"""model_images/embedding/inference.py: vectors equal sentence-transformers', requests validated."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

TEXTS = [
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "",
    "Tokyo",
    "A cross-encoder reads the query and the passage together. " * 12,
    "Aurora Serverless v2 pauses when idle, so the dev stack costs almost nothing.",
    "pgvector adds HNSW indexes to PostgreSQL. " * 3,
    "naïve café — unicode déjà vu 東京",
] + [f"Sentence number {i} about retrieval augmented generation." * (1 + i % 4) for i in range(15)]


def embed(code: ModuleType, model: Any, body: dict[str, Any]) -> np.ndarray:
    """One request through the toolkit contract, as the container runs it."""
    request = code.input_fn(json.dumps(body), "application/json")
    answer = json.loads(code.output_fn(code.predict_fn(request, model), "application/json"))
    return np.asarray(answer["vectors"], dtype=np.float32)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def model(embedding_code: ModuleType, minilm_path: Path) -> Any:
    # A small internal batch so that TEXTS spans several forward passes.
    return embedding_code.load(minilm_path, embedding_code.Settings(batch_size=4))


@pytest.fixture(scope="module")
def prefixed(embedding_code: ModuleType, minilm_path: Path) -> Any:
    settings = embedding_code.Settings(query_prefix="query: ", passage_prefix="passage: ")
    return embedding_code.load(minilm_path, settings)


def test_vectors_equal_sentence_transformers_encode(embedding_code, model, sentence_transformer):
    expected = sentence_transformer.encode(TEXTS, normalize_embeddings=True, batch_size=32)
    got = embed(embedding_code, model, {"inputs": TEXTS})
    assert got.shape == (len(TEXTS), 384)
    assert cosines(got, expected).min() > 0.999


def test_batch_and_single_requests_agree(embedding_code, model):
    batch = embed(embedding_code, model, {"inputs": TEXTS})
    singles = np.vstack([embed(embedding_code, model, {"inputs": [t]}) for t in TEXTS[:6]])
    assert cosines(batch[:6], singles).min() > 0.99999


def test_vectors_are_unit_length_by_default(embedding_code, model):
    norms = np.linalg.norm(embed(embedding_code, model, {"inputs": TEXTS[:4]}), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_normalize_false_returns_the_mean_pooled_vectors(embedding_code, model):
    raw = embed(embedding_code, model, {"inputs": TEXTS[:4], "normalize": False})
    unit = embed(embedding_code, model, {"inputs": TEXTS[:4]})
    assert np.all(np.abs(np.linalg.norm(raw, axis=1) - 1.0) > 1e-3)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), unit, atol=1e-6)


def test_no_prefix_is_added_when_none_is_configured(embedding_code, model):
    query = embed(embedding_code, model, {"inputs": TEXTS[:3], "input_type": "query"})
    passage = embed(embedding_code, model, {"inputs": TEXTS[:3], "input_type": "passage"})
    np.testing.assert_array_equal(query, passage)


def test_configured_prefixes_are_added_per_input_type(
    embedding_code, prefixed, sentence_transformer
):
    texts = ["how do tides work", "The moon's gravity pulls the oceans."]
    query = embed(embedding_code, prefixed, {"inputs": texts, "input_type": "query"})
    passage = embed(embedding_code, prefixed, {"inputs": texts, "input_type": "passage"})
    want_query = sentence_transformer.encode([f"query: {t}" for t in texts])
    want_passage = sentence_transformer.encode([f"passage: {t}" for t in texts])
    assert cosines(query, want_query).min() > 0.999
    assert cosines(passage, want_passage).min() > 0.999
    assert cosines(query, passage).max() < 0.999


def test_prefixes_default_to_the_models_sentence_transformers_prompts(
    embedding_code, minilm_path, tmp_path
):
    # Link the weights but write a fresh config: writing through a link would edit the package.
    for item in minilm_path.iterdir():
        if item.name != "config_sentence_transformers.json":
            (tmp_path / item.name).symlink_to(item)
    (tmp_path / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: ", "document": "passage: "}})
    )
    loaded = embedding_code.load(tmp_path, embedding_code.Settings())
    assert loaded.prefixes == {"query": "query: ", "passage": "passage: "}


def test_texts_are_truncated_at_the_models_max_length(embedding_code, model):
    assert model.max_length == 256  # from the model's sentence_bert_config.json
    long_text = "retrieval " * 400
    a = embed(embedding_code, model, {"inputs": [long_text]})
    b = embed(embedding_code, model, {"inputs": [long_text + "an entirely different ending " * 50]})
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_response_carries_dimension_and_model_id(embedding_code, model):
    request = embedding_code.input_fn(json.dumps({"inputs": ["x"]}), "application/json")
    answer = json.loads(embedding_code.output_fn(embedding_code.predict_fn(request, model), None))
    assert answer["dimension"] == 384
    assert answer["model_id"] == model.model_id


def test_settings_come_from_the_container_environment(embedding_code):
    settings = embedding_code.Settings.from_env(
        {
            "CHORUS_MODEL_ID": "e5-small",
            "CHORUS_QUERY_PREFIX": "query: ",
            "CHORUS_MAX_BATCH": "16",
            "CHORUS_BATCH_SIZE": "4",
        }
    )
    assert (settings.model_id, settings.query_prefix, settings.passage_prefix) == (
        "e5-small",
        "query: ",
        None,
    )
    assert (settings.max_batch, settings.batch_size) == (16, 4)
    with pytest.raises(ValueError, match="CHORUS_BATCH_SIZE"):
        embedding_code.Settings.from_env({"CHORUS_BATCH_SIZE": "0"})


BAD_REQUESTS = [
    ("not json", "application/json", "invalid_json"),
    (b"\xff\xfe", "application/json", "invalid_json"),
    (json.dumps({"inputs": ["a"]}), "text/plain", "unsupported_media_type"),
    (json.dumps({"inputs": ["a"]}), None, "unsupported_media_type"),
    (json.dumps(["a"]), "application/json", "bad_request"),
    (json.dumps({"inputs": []}), "application/json", "empty_batch"),
    (json.dumps({"inputs": "a"}), "application/json", "bad_request"),
    (json.dumps({"inputs": ["a", 3]}), "application/json", "bad_request"),
    (json.dumps({"inputs": ["a"], "input_type": "question"}), "application/json", "bad_request"),
    (json.dumps({"inputs": ["a"], "normalize": "yes"}), "application/json", "bad_request"),
    (json.dumps({"inputs": ["a"], "normalise": False}), "application/json", "bad_request"),
]


@pytest.mark.parametrize(("body", "content_type", "code"), BAD_REQUESTS)
def test_bad_requests_raise_a_client_error_with_a_code(embedding_code, body, content_type, code):
    with pytest.raises(embedding_code.ClientError) as caught:
        embedding_code.input_fn(body, content_type)
    assert caught.value.code == code
    assert json.loads(str(caught.value)) == {"code": code, "message": caught.value.message}


def test_oversize_batch_is_a_client_error(embedding_code, model):
    small = dataclasses.replace(model, max_batch=2)
    request = embedding_code.input_fn(json.dumps({"inputs": ["a", "b", "c"]}), "application/json")
    with pytest.raises(embedding_code.ClientError) as caught:
        embedding_code.predict_fn(request, small)
    assert caught.value.code == "batch_too_large"


def test_only_json_answers_are_offered(embedding_code):
    with pytest.raises(embedding_code.ClientError) as caught:
        embedding_code.output_fn({"vectors": []}, "text/csv")
    assert caught.value.code == "unsupported_accept"
