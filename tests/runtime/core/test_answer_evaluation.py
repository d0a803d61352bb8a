"""runtime/core/answer_evaluation.py: the pure parts — citations, grounding shares, refusals,
summaries and the comparison CI gates on. (End to end through the chat service:
tests/runtime/local/test_answer_evaluation.py.)"""

from __future__ import annotations

import pytest
from chorus.runtime.core.answer_evaluation import (
    REPORT_KIND,
    TurnRecord,
    cited_documents,
    compare_reports,
    declines,
    grounding_shares,
    score_turn,
)
from chorus.runtime.core.answering import NO_ANSWER
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.eval_cases import EvalCase

SOURCES = [
    {"n": 1, "documentId": "a"},
    {"n": 2, "documentId": "b"},
    {"n": 3, "documentId": "a"},
]


def test_cited_documents_follow_the_answers_citation_numbers_each_once():
    assert cited_documents("x [2]. y [1, 3]. z [9].", SOURCES) == ["b", "a"]


def test_grounding_shares_split_the_unsupported_rest_by_words():
    final = {
        "grounding": 0.5,
        "unsupported": ["one two three"],
        "contradicted": [{"text": "four"}],
    }
    assert grounding_shares(final) == (0.5, 0.375, 0.125)
    assert grounding_shares({"grounding": None}) == (None, None, None)


@pytest.mark.parametrize(
    ("answer", "covered", "declined"),
    [
        (NO_ANSWER, False, True),
        ("I don't know.", True, True),
        ("The sources do not mention a winner.", True, True),
        ("", True, True),
        ("Cats sleep twelve hours [1].", True, False),
    ],
)
def test_what_counts_as_declining(answer, covered, declined):
    assert declines(answer, covered) is declined


def test_a_turn_that_ended_in_an_error_scores_zero_and_names_the_code():
    case = EvalCase("q", "?", ("a",))
    error = {"type": "error", "code": "all_models_failed", "message": "..."}
    result = score_turn(case, TurnRecord([error], None, 5.0), k=5)
    assert (result.error, result.quality, result.refusal_correct) == (
        "all_models_failed",
        0.0,
        False,
    )


def report(**overall):
    return {"kind": REPORT_KIND, "overall": overall}


def test_a_drop_beyond_the_tolerance_is_a_regression():
    compared = compare_reports(
        report(citation_precision=0.7, grounding={"contradicted": 0.2}),
        report(citation_precision=0.8, grounding={"contradicted": 0.1}),
        tolerance=0.05,
    )
    assert compared["regressions"] == ["citation_precision", "grounding.contradicted"]
    assert compared["deltas"]["citation_precision"]["delta"] == -0.1


def test_a_change_within_the_tolerance_or_for_the_better_is_not():
    compared = compare_reports(
        report(citation_precision=0.79, grounding={"contradicted": 0.0}),
        report(citation_precision=0.8, grounding={"contradicted": 0.1}),
        tolerance=0.02,
    )
    assert compared["regressions"] == []


def test_latency_and_cost_are_reported_but_never_gate():
    compared = compare_reports(
        report(latency_ms={"final_p95": 900.0}, cost=1.0),
        report(latency_ms={"final_p95": 100.0}, cost=0.0),
        tolerance=0.0,
    )
    assert compared["regressions"] == []
    assert compared["deltas"]["latency_ms.final_p95"]["delta"] == 800.0


def test_comparing_with_something_that_is_not_a_report_is_refused():
    with pytest.raises(BadRequest, match="not a `chorus eval answers` JSON report"):
        compare_reports(report(quality=1.0), {"ndcg@10": 0.5}, tolerance=0.02)
