"""The scheduled evaluation's operations, on the evaluation function's wiring.

``scheduled_workspaces`` (the workflow's first step) lists the workspaces opted in;
``evaluate_workspace`` (one ``Map`` item) asks a workspace's accepted eval set through the
chat service, keeps the JSON and HTML report in the results bucket, compares the headline
figures with the accepted baseline and publishes them; ``accept_baseline`` makes a run the
baseline; ``set_scheduled`` opts a workspace in or out.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from ..core.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from .wiring.evaluation import EvaluationWiring


def scheduled_workspaces(wiring: EvaluationWiring) -> list[dict[str, str]]:
    """The opted-in workspaces as ``Map`` items (``{"workspaceId": ...}``)."""
    return [{"workspaceId": w} for w in wiring.eval_cases.scheduled_workspaces()]


def evaluate_workspace(wiring: EvaluationWiring, workspace_id: str) -> dict[str, Any]:
    """Run the workspace's accepted eval set; returns where the result went, the headline
    figures, the regressions against the baseline (none without one).

    Raises
    ------
    NotFound
        No such workspace.
    BadRequest
        The workspace has no accepted case (``no_eval_cases``), or the configured mode or
        models are not what the chat service offers.
    """
    from ..core.answer_evaluation import AnswerSimilarity, evaluate_answers
    from ..core.answer_report import render_report
    from ..core.scheduled_evaluation import headline_figures, regressions

    workspace = wiring.metadata.get_workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist; opt it out (set_scheduled)")
    cases = wiring.eval_cases.list_cases(workspace_id, status="accepted")
    if not cases:
        raise BadRequest(
            f"workspace {workspace_id!r} has no accepted eval cases: add or accept some, or "
            "opt it out of scheduled evaluation",
            code="no_eval_cases",
        )
    config = wiring.config
    run_at = wiring.run_time()
    report = evaluate_answers(
        wiring.chat,
        workspace_id,
        cases,
        mode=config.mode,
        models=config.models,
        k=config.k,
        similarity=AnswerSimilarity(wiring.turn_embedder),
        clock=wiring.eval_clock,
    )
    report["workspace"] = workspace.name
    report["workspace_id"] = workspace_id
    report["eval_set"] = "workspace"
    report["run_at"] = run_at.isoformat()
    figures = headline_figures(report)
    baseline = wiring.results.baseline(workspace_id)
    regressed = [] if baseline is None else regressions(report, baseline, config.margin)
    report["scheduled"] = {
        "margin": config.margin,
        "baseline": None if baseline is None else baseline.get("accepted_from"),
        "regressions": regressed,
    }
    plots = importlib.util.find_spec("matplotlib") is not None
    keys = wiring.results.save_run(workspace_id, run_at, report, render_report(report, plots=plots))
    wiring.metrics.evaluation(workspace_id, figures, len(regressed))
    wiring.metrics.flush()
    return {
        "workspaceId": workspace_id,
        "resultKey": keys.result,
        "reportKey": keys.report,
        "cases": report["cases"],
        "figures": figures,
        "baseline": baseline is not None,
        "regressions": regressed,
    }


def accept_baseline(
    wiring: EvaluationWiring, workspace_id: str, result_key: str | None = None
) -> dict[str, str]:
    """Make a run (the newest when ``result_key`` is None) the workspace's baseline."""
    from ..core.scheduled_evaluation import baseline_key

    accepted = wiring.results.accept(workspace_id, result_key)
    return {
        "workspaceId": workspace_id,
        "accepted": accepted,
        "baseline": baseline_key(workspace_id),
    }


def set_scheduled(wiring: EvaluationWiring, workspace_id: str, enabled: bool) -> dict[str, Any]:
    """Opt a workspace into (or out of) the schedule; ``NotFound`` for an unknown one."""
    if enabled and wiring.metadata.get_workspace(workspace_id) is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist")
    wiring.eval_cases.set_scheduled(workspace_id, enabled)
    return {"workspaceId": workspace_id, "scheduledEvaluation": enabled}
