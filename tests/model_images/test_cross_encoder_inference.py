"""model_images/cross_encoder/inference.py: scores equal sentence-transformers' CrossEncoder."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

QUERY = "how does a cross-encoder rerank passages"
PASSAGES = [
    "A cross-encoder reads the query and passage together and outputs one relevance score.",
    "Bi-encoders embed queries and passages separately.",
    "",
    "Paris",
    "Reranking reorders the retrieved candidates by a more precise model. " * 4,
] + [f"Passage {i} on an unrelated topic: the weather in spring." * (1 + i % 3) for i in range(20)]

INTERNAL_BATCH = 4


def rerank(code: ModuleType, model: Any, body: dict[str, Any]) -> np.ndarray:
    """One request through the toolkit contract, as the container runs it."""
    request = code.input_fn(json.dumps(body), "application/json")
    answer = json.loads(code.output_fn(code.predict_fn(request, model), "application/json"))
    return np.asarray(answer["scores"], dtype=np.float32)


@pytest.fixture(scope="module")
def model(cross_encoder_code: ModuleType, seeded_cross_encoder: Path) -> Any:
    settings = cross_encoder_code.Settings(batch_size=INTERNAL_BATCH)
    return cross_encoder_code.load(seeded_cross_encoder, settings)


def test_scores_are_exactly_what_sentence_transformers_cross_encoder_returns(
    cross_encoder_code, model, st_cross_encoder
):
    assert len(PASSAGES) > 5 * INTERNAL_BATCH
    expected = st_cross_encoder.predict(
        [(QUERY, p) for p in PASSAGES], batch_size=INTERNAL_BATCH, show_progress_bar=False
    )
    got = rerank(cross_encoder_code, model, {"query": QUERY, "passages": PASSAGES})
    np.testing.assert_array_equal(got, np.asarray(expected, dtype=np.float32))


def test_scores_do_not_depend_on_the_request_order(cross_encoder_code, model):
    passages = PASSAGES[:12]
    forward = rerank(cross_encoder_code, model, {"query": QUERY, "passages": passages})
    backward = rerank(cross_encoder_code, model, {"query": QUERY, "passages": passages[::-1]})
    np.testing.assert_allclose(backward[::-1], forward, atol=1e-6)
    assert len(set(forward.round(6).tolist())) > 8  # a seeded head still tells passages apart


def test_pairs_score_like_query_and_passages(cross_encoder_code, model):
    by_query = rerank(cross_encoder_code, model, {"query": QUERY, "passages": PASSAGES[:6]})
    by_pairs = rerank(cross_encoder_code, model, {"pairs": [[QUERY, p] for p in PASSAGES[:6]]})
    np.testing.assert_array_equal(by_pairs, by_query)


def test_sigmoid_false_returns_the_raw_logits(cross_encoder_code, model, st_cross_encoder):
    expected = st_cross_encoder.predict(
        [(QUERY, p) for p in PASSAGES[:10]],
        batch_size=INTERNAL_BATCH,
        activation_fn=torch.nn.Identity(),
        show_progress_bar=False,
    )
    got = rerank(
        cross_encoder_code, model, {"query": QUERY, "passages": PASSAGES[:10], "sigmoid": False}
    )
    np.testing.assert_array_equal(got, np.asarray(expected, dtype=np.float32))
    assert got.min() < 0 or got.max() > 1 or not np.allclose(got, 1 / (1 + np.exp(-got)))


def test_default_activation_follows_the_saved_config_like_sentence_transformers(
    cross_encoder_code,
):
    choose = cross_encoder_code._default_sigmoid
    assert choose(SimpleNamespace()) is True
    identity = "torch.nn.modules.linear.Identity"
    assert choose(SimpleNamespace(sentence_transformers={"activation_fn": identity})) is False
    assert choose(SimpleNamespace(sbert_ce_default_activation_function=identity)) is False
    with pytest.raises(ValueError, match="unsupported activation"):
        choose(SimpleNamespace(sentence_transformers={"activation_fn": "my.Custom"}))


BAD_REQUESTS = [
    ("{", "application/json", "invalid_json"),
    (
        json.dumps({"query": "q", "passages": ["p"]}),
        "application/x-www-form-urlencoded",
        "unsupported_media_type",
    ),
    (json.dumps({"query": "q", "passages": []}), "application/json", "empty_batch"),
    (json.dumps({"pairs": []}), "application/json", "empty_batch"),
    (json.dumps({"query": "q", "passages": ["p", None]}), "application/json", "bad_request"),
    (json.dumps({"query": 7, "passages": ["p"]}), "application/json", "bad_request"),
    (json.dumps({"passages": ["p"]}), "application/json", "bad_request"),
    (json.dumps({"pairs": [["q", "p", "x"]]}), "application/json", "bad_request"),
    (json.dumps({"pairs": [["q", "p"]], "query": "q"}), "application/json", "bad_request"),
    (
        json.dumps({"query": "q", "passages": ["p"], "sigmoid": 1}),
        "application/json",
        "bad_request",
    ),
    (json.dumps({"query": "q", "documents": ["p"]}), "application/json", "bad_request"),
]


@pytest.mark.parametrize(("body", "content_type", "code"), BAD_REQUESTS)
def test_bad_requests_raise_a_client_error_with_a_code(
    cross_encoder_code, body, content_type, code
):
    with pytest.raises(cross_encoder_code.ClientError) as caught:
        cross_encoder_code.input_fn(body, content_type)
    assert caught.value.code == code
    assert json.loads(str(caught.value))["code"] == code


def test_oversize_batch_is_a_client_error(cross_encoder_code, model):
    small = dataclasses.replace(model, max_batch=3)
    body = json.dumps({"query": "q", "passages": ["a", "b", "c", "d"]})
    with pytest.raises(cross_encoder_code.ClientError) as caught:
        cross_encoder_code.predict_fn(cross_encoder_code.input_fn(body, "application/json"), small)
    assert caught.value.code == "batch_too_large"
