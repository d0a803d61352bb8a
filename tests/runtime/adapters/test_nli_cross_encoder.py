"""The NLI adapter on a real (untrained, tiny) CrossEncoder saved in a folder: no trained NLI
weights are installable here, so this checks the wiring — labels, softmax, errors."""

from __future__ import annotations

import pytest
from chorus.runtime.adapters.nli_cross_encoder import (
    CrossEncoderEntailment,
    NLIModelError,
    nli_label,
)
from support.nli_classifier import save_classifier

pytestmark = pytest.mark.slow


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


def test_eval_grounding_measures_the_nli_model_alone_or_as_a_turn_combines_it(tmp_path, embedder):
    from chorus.runtime.commands.eval_grounding import build_judge, judge_item
    from chorus.runtime.local.settings import LocalSettings

    settings = LocalSettings(home=tmp_path)
    settings.nli_model_path = save_classifier(
        tmp_path / "nli", ["CONTRADICTION", "ENTAILMENT", "NEUTRAL"]
    )
    item = {
        "id": "aurora",
        "sources": [{"id": "s1", "text": "Aurora can pause at zero capacity when idle."}],
        "claims": ["Aurora cannot pause at zero capacity when idle."],
    }

    alone = judge_item(item, build_judge("nli", lambda: embedder, settings))
    as_a_turn = judge_item(item, build_judge("embedding", lambda: embedder, settings))

    [nli] = alone["verdicts"]
    assert nli["source"] == "s1" and 1 / 3 <= nli["score"] <= 1.0  # the winning probability
    [turn] = as_a_turn["verdicts"]
    assert turn["verdict"] == "contradicted"  # the word-level judge sees the "not"


def test_eval_grounding_with_the_nli_judge_needs_a_model(tmp_path, monkeypatch):
    from chorus.runtime.commands.eval_grounding import grounding
    from click.testing import CliRunner

    monkeypatch.delenv("CHORUS_NLI_MODEL", raising=False)
    claims = tmp_path / "claims.jsonl"
    claims.write_text('{"id": "x", "sources": [], "claims": []}\n')

    result = CliRunner().invoke(grounding, ["--claims", str(claims), "--judge", "nli"])

    assert result.exit_code == 2 and "CHORUS_NLI_MODEL" in result.output
