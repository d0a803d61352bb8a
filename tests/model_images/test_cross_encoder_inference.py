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
from support.nli_classifier import save_classifier

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


def test_a_single_logit_model_answers_scores_and_model_id_only(cross_encoder_code, model):
    body = json.dumps({"pairs": [[QUERY, PASSAGES[0]]]})
    prediction = cross_encoder_code.predict_fn(
        cross_encoder_code.input_fn(body, "application/json"), model
    )
    assert set(prediction) == {"scores", "model_id"}
    assert model.labels is None


# --- NLI models: softmax probabilities keyed by entailment / neutral / contradiction --------

PREMISES = [
    "Aurora Serverless v2 can pause at zero capacity when idle.",
    "Bees turn nectar into honey.",
    "",
    "The cross-encoder reads both texts together. " * 6,
] + [f"Source sentence {i} about tides and the moon." * (1 + i % 3) for i in range(20)]
HYPOTHESES = [
    "Aurora cannot pause.",
    "Bees make honey out of nectar.",
    "Nothing.",
    "It reads them together.",
] + [f"Claim {i}: the moon drives the tides." for i in range(20)]
NLI_PAIRS = [[p, h] for p, h in zip(PREMISES, HYPOTHESES, strict=True)]


def classify(code: ModuleType, model: Any, body: dict[str, Any]) -> list[dict[str, float]]:
    """One request through the toolkit contract, as the container runs it."""
    request = code.input_fn(json.dumps(body), "application/json")
    answer = json.loads(code.output_fn(code.predict_fn(request, model), "application/json"))
    assert set(answer) == {"labels", "model_id"}
    return answer["labels"]


@pytest.fixture(scope="module")
def nli_model(cross_encoder_code: ModuleType, nli_classifier: Path) -> Any:
    settings = cross_encoder_code.Settings(batch_size=INTERNAL_BATCH)
    return cross_encoder_code.load(nli_classifier, settings)


def test_nli_probabilities_are_what_sentence_transformers_gives_with_softmax(
    cross_encoder_code, nli_model, nli_classifier
):
    from sentence_transformers import CrossEncoder

    assert len(NLI_PAIRS) > 5 * INTERNAL_BATCH
    local = CrossEncoder(str(nli_classifier), device="cpu", max_length=512)
    expected = local.predict(
        [tuple(pair) for pair in NLI_PAIRS],
        batch_size=INTERNAL_BATCH,
        apply_softmax=True,
        show_progress_bar=False,
    )
    names = [local.model.config.id2label[i] for i in range(3)]

    got = classify(cross_encoder_code, nli_model, {"pairs": NLI_PAIRS})

    assert len(got) == len(NLI_PAIRS)
    got_matrix = np.asarray([[row[name] for name in names] for row in got], dtype=np.float32)
    np.testing.assert_allclose(got_matrix, np.asarray(expected, dtype=np.float32), atol=1e-6)


def test_nli_probabilities_sum_to_one_per_pair_keyed_by_the_three_labels(
    cross_encoder_code, nli_model
):
    got = classify(cross_encoder_code, nli_model, {"pairs": NLI_PAIRS})

    for row in got:
        assert set(row) == {"entailment", "neutral", "contradiction"}
        assert all(0.0 <= p <= 1.0 for p in row.values())
        assert sum(row.values()) == pytest.approx(1.0, abs=1e-6)


def test_nli_answers_come_in_the_order_sent_whatever_the_internal_batching(
    cross_encoder_code, nli_model
):
    forward = classify(cross_encoder_code, nli_model, {"pairs": NLI_PAIRS})
    backward = classify(cross_encoder_code, nli_model, {"pairs": NLI_PAIRS[::-1]})
    one_by_one = [classify(cross_encoder_code, nli_model, {"pairs": [p]})[0] for p in NLI_PAIRS[:6]]

    for a, b in zip(forward, backward[::-1], strict=True):
        assert a == pytest.approx(b, abs=1e-6)
    for a, b in zip(forward[:6], one_by_one, strict=True):
        assert a == pytest.approx(b, abs=1e-5)
    assert len({round(row["entailment"], 6) for row in forward}) > 8  # pairs told apart


def test_nli_query_and_passages_make_the_query_every_pairs_premise(cross_encoder_code, nli_model):
    premise = PREMISES[0]
    by_query = classify(
        cross_encoder_code, nli_model, {"query": premise, "passages": HYPOTHESES[:5]}
    )
    by_pairs = classify(
        cross_encoder_code, nli_model, {"pairs": [[premise, h] for h in HYPOTHESES[:5]]}
    )
    assert by_query == by_pairs


def test_nli_labels_are_mapped_by_name_whatever_their_order_or_case(cross_encoder_code, tmp_path):
    # Same seed, same head weights: class i gives the same logit in both models, so renaming
    # the classes must move each probability to the new name.
    first = save_classifier(tmp_path / "first", ["contradiction", "entailment", "neutral"])
    second = save_classifier(tmp_path / "second", ["ENTAILMENT", "Neutral", "CONTRADICTION"])
    settings = cross_encoder_code.Settings(batch_size=INTERNAL_BATCH)
    pairs = {"pairs": NLI_PAIRS[:8]}

    a = classify(cross_encoder_code, cross_encoder_code.load(first, settings), pairs)
    b = classify(cross_encoder_code, cross_encoder_code.load(second, settings), pairs)

    renamed = {"contradiction": "entailment", "entailment": "neutral", "neutral": "contradiction"}
    for row_a, row_b in zip(a, b, strict=True):
        assert {renamed[k]: v for k, v in row_a.items()} == pytest.approx(row_b, abs=1e-6)
    assert any(row["entailment"] != pytest.approx(row["contradiction"], abs=1e-4) for row in a)


@pytest.mark.parametrize(
    "labels",
    [["LABEL_0", "LABEL_1", "LABEL_2"], ["entailment", "neutral"], ["positive", "negative"]],
)
def test_a_multi_label_model_without_entailment_and_contradiction_is_refused(
    cross_encoder_code, tmp_path, labels
):
    folder = save_classifier(tmp_path / "plain", labels)
    with pytest.raises(ValueError, match="names entailment and contradiction") as caught:
        cross_encoder_code.load(folder, cross_encoder_code.Settings())
    assert str(labels[0]) in str(caught.value)


def test_sigmoid_is_a_client_error_for_an_nli_model(cross_encoder_code, nli_model):
    body = json.dumps({"pairs": NLI_PAIRS[:2], "sigmoid": True})
    with pytest.raises(cross_encoder_code.ClientError) as caught:
        cross_encoder_code.predict_fn(
            cross_encoder_code.input_fn(body, "application/json"), nli_model
        )
    assert caught.value.code == "bad_request"
    assert "NLI" in caught.value.message


def test_an_oversize_nli_batch_is_a_client_error(cross_encoder_code, nli_model):
    small = dataclasses.replace(nli_model, max_batch=3)
    body = json.dumps({"pairs": NLI_PAIRS[:4]})
    with pytest.raises(cross_encoder_code.ClientError) as caught:
        cross_encoder_code.predict_fn(cross_encoder_code.input_fn(body, "application/json"), small)
    assert caught.value.code == "batch_too_large"


@pytest.mark.parametrize(
    "name",
    [
        "entailment",
        "ENTAILMENT",
        "Entailed",
        "contradiction",
        "CONTRADICTION",
        "contradicts",
        "neutral",
        "NEUTRAL",
        "LABEL_0",
        "not_entailment",
        "",
        "positive",
    ],
)
def test_the_label_rule_is_the_runtime_adapters_rule(cross_encoder_code, name):
    from chorus.runtime.adapters.nli_cross_encoder import nli_label

    assert cross_encoder_code.nli_label(name) == nli_label(name)
