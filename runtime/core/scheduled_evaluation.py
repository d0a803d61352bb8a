"""Scheduled evaluation: what a run publishes, where it is kept, and when it regressed.

A scheduled run evaluates one workspace's accepted eval set (``answer_evaluation``) and keeps
the report under the workspace's prefix of the results bucket, keyed by the run's time
(``run_keys``); a run someone accepts becomes the workspace's ``baseline.json``. Each run
publishes its headline figures (``headline_figures``) and the number of them worse than the
baseline by more than the margin (``regressions``): the alarm fires on that count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .answer_evaluation import REPORT_KIND, compare_reports
from .errors import BadRequest
from .metrics import MetricName

__all__ = [
    "HEADLINE",
    "RunKeys",
    "baseline_key",
    "check_report",
    "headline_figures",
    "regressions",
    "run_keys",
    "runs_prefix",
]

HEADLINE: Mapping[MetricName, str] = {
    MetricName.EVAL_CITATION_PRECISION: "citation_precision",
    MetricName.EVAL_CITATION_RECALL: "citation_recall",
    MetricName.EVAL_GROUNDING_SUPPORTED: "grounding.supported",
    MetricName.EVAL_REFUSAL_ACCURACY: "refusal.accuracy",
    MetricName.EVAL_QUALITY: "quality",
    MetricName.EVAL_LATENCY_P95: "latency_ms.final_p95",
}
"""Metric → its figure in the report's ``overall`` (a dotted path)."""

GATED = tuple(path for name, path in HEADLINE.items() if name != MetricName.EVAL_LATENCY_P95)
"""The headline figures a regression is counted on: latency varies with the machine and the
provider, not with answer quality (``compare_reports`` never gates it either)."""


def _figure(overall: Mapping[str, Any], path: str) -> float | None:
    value: Any = overall
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def headline_figures(report: Mapping[str, Any]) -> dict[str, float]:
    """The headline figures a run publishes, by metric name; figures that do not apply to the
    set (no citation, no answerable question) are left out rather than published as 0."""
    overall = report["overall"]
    figures = {str(name): _figure(overall, path) for name, path in HEADLINE.items()}
    return {name: value for name, value in figures.items() if value is not None}


def check_report(report: Any) -> Mapping[str, Any]:
    """``report`` if it is a ``chorus eval answers`` report; ``BadRequest`` otherwise (a
    baseline must be one)."""
    if (
        not isinstance(report, Mapping)
        or report.get("kind") != REPORT_KIND
        or not isinstance(report.get("overall"), Mapping)
    ):
        raise BadRequest(
            f"not an answer-evaluation report (no 'kind': {REPORT_KIND!r} with an 'overall' "
            "object); accept the result.json of a scheduled run",
            code="not_a_report",
        )
    return report


def regressions(report: Mapping[str, Any], baseline: Mapping[str, Any], margin: float) -> list[str]:
    """The gated headline figures (dotted paths) worse than ``baseline`` by more than
    ``margin`` (absolute, on their 0–1 scale)."""
    compared = compare_reports(report, check_report(baseline), tolerance=margin)
    return [name for name in compared["regressions"] if name in GATED]


@dataclass(frozen=True)
class RunKeys:
    """Where one run's files go in the results bucket."""

    prefix: str
    result: str
    report: str


def runs_prefix(workspace_id: str) -> str:
    return f"workspaces/{workspace_id}/runs/"


def run_keys(workspace_id: str, run_at: datetime) -> RunKeys:
    """``workspaces/<id>/runs/<UTC time>/``: keys sort by run time, the newest last."""
    stamp = run_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = f"{runs_prefix(workspace_id)}{stamp}/"
    return RunKeys(prefix, f"{prefix}result.json", f"{prefix}report.html")


def baseline_key(workspace_id: str) -> str:
    return f"workspaces/{workspace_id}/baseline.json"
