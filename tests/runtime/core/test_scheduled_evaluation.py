"""runtime/core/scheduled_evaluation.py: what a scheduled run publishes and when it regressed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from chorus.runtime.core.answer_evaluation import REPORT_KIND
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.scheduled_evaluation import (
    baseline_key,
    headline_figures,
    regressions,
    run_keys,
)


def report(**overall) -> dict:
    base = {
        "citation_precision": 0.8,
        "citation_recall": 0.7,
        "grounding": {"supported": 0.9, "unsupported": 0.1, "contradicted": 0.0},
        "refusal": {"accuracy": 1.0},
        "quality": 0.85,
        "latency_ms": {"final_p95": 1200.0},
    }
    return {"kind": REPORT_KIND, "overall": {**base, **overall}}


def test_headline_figures_are_named_by_metric_and_read_from_the_overall_figures():
    assert headline_figures(report()) == {
        "EvalCitationPrecision": 0.8,
        "EvalCitationRecall": 0.7,
        "EvalGroundingSupported": 0.9,
        "EvalRefusalAccuracy": 1.0,
        "EvalQuality": 0.85,
        "EvalLatencyP95": 1200.0,
    }


def test_a_figure_that_does_not_apply_is_not_published_as_zero():
    figures = headline_figures(report(citation_precision=None))
    assert "EvalCitationPrecision" not in figures and figures["EvalQuality"] == 0.85


def test_regressions_are_the_gated_figures_below_the_baseline_by_more_than_the_margin():
    now = report(citation_precision=0.7, citation_recall=0.69, quality=0.5)
    assert regressions(now, report(), margin=0.05) == ["citation_precision", "quality"]


def test_latency_and_figures_outside_the_headline_never_regress():
    now = report(latency_ms={"final_p95": 99_000.0}, grounding={"supported": 0.9,
                 "unsupported": 0.9, "contradicted": 0.0})  # fmt: skip
    assert regressions(now, report(), margin=0.0) == []


def test_a_baseline_that_is_no_report_is_refused():
    with pytest.raises(BadRequest) as raised:
        regressions(report(), {"overall": {}}, margin=0.02)
    assert raised.value.code == "not_a_report"


def test_run_keys_sort_by_utc_run_time_under_the_workspace():
    paris = timezone(timedelta(hours=1))
    keys = run_keys("hr", datetime(2026, 12, 1, 7, 0, 5, tzinfo=paris))
    assert keys.result == "workspaces/hr/runs/20261201T060005Z/result.json"
    assert keys.report == "workspaces/hr/runs/20261201T060005Z/report.html"
    later = run_keys("hr", datetime(2026, 12, 2, 0, 0, tzinfo=UTC))
    assert later.result > keys.result
    assert baseline_key("hr") == "workspaces/hr/baseline.json"
