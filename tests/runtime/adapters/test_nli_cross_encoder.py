"""The NLI adapter on a real (untrained, tiny) CrossEncoder saved in a folder: no trained NLI
weights are installable here, so this checks the wiring — labels, softmax, errors."""

from __future__ import annotations

import pytest
from chorus.runtime.adapters.nli_cross_encoder import (
    CrossEncoderEntailment,
    NLIModelError,
    nli_label,
)
from chorus.runtime.adapters.sentence_transformers import default_embedding_model_path

pytestmark = pytest.mark.slow


def save_classifier(folder, labels):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    source = default_embedding_model_path()
    id2label = dict(enumerate(labels))
    model = AutoModelForSequenceClassification.from_pretrained(
        source,
        num_labels=len(labels),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def test_probabilities_come_keyed_by_the_three_nli_labels(tmp_path):
    folder = save_classifier(tmp_path / "nli", ["CONTRADICTION", "ENTAILMENT", "NEUTRAL"])
    model = CrossEncoderEntailment(folder)

    [probs] = model.predict([("Aurora can pause when idle.", "Aurora cannot pause.")])

    assert set(probs) == {"contradiction", "entailment", "neutral"}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_a_model_without_nli_labels_is_refused_with_what_to_do(tmp_path):
    folder = save_classifier(tmp_path / "plain", ["LABEL_0", "LABEL_1"])

    with pytest.raises(NLIModelError, match="CHORUS_NLI_MODEL"):
        CrossEncoderEntailment(folder)


@pytest.mark.parametrize(
    ("name", "label"),
    [("entailment", "entailment"), ("CONTRADICTION", "contradiction"), ("Neutral", "neutral")],
)
def test_label_names_map_whatever_their_case(name, label):
    assert nli_label(name) == label


def test_a_configured_nli_folder_joins_the_word_level_judge(tmp_path, embedder):
    from chorus.runtime.core.model_judges import CombinedGroundingJudge
    from chorus.runtime.local.services import grounding_judge
    from chorus.runtime.local.settings import LocalSettings

    folder = save_classifier(tmp_path / "nli", ["CONTRADICTION", "ENTAILMENT", "NEUTRAL"])
    settings = LocalSettings(home=tmp_path)
    settings.nli_model_path = folder

    judge = grounding_judge(embedder, settings)

    assert isinstance(judge, CombinedGroundingJudge)
    assert [type(j).__name__ for j in judge.judges] == [
        "EmbeddingGroundingJudge",
        "NLIGroundingJudge",
    ]
