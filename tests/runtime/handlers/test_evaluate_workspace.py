"""runtime/handlers/evaluate_workspace.py: a scheduled evaluation run on a moto stack.

The workspace table (its ``evalcase#`` items and the opt-in item), the results bucket and the
sessions are moto's; retrieval runs on the real embedded PostgreSQL with the real MiniLM; the
answers are the extractive answerer's (no LLM configured), so every figure is deterministic.
Latency is read on a clock that moves 0.1 s per reading; the run's time is pinned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chorus.runtime.adapters.inprocess_metrics import InProcessMetrics
from chorus.runtime.cloud.wiring.base import install
from chorus.runtime.cloud.wiring.evaluation import EvaluationConfig, EvaluationWiring
from chorus.runtime.cloud.wiring.ingest import IngestWiring
from chorus.runtime.core.errors import BadRequest, NotFound
from chorus.runtime.core.eval_cases import EvalCase
from chorus.runtime.core.evaluation import load_corpus
from chorus.runtime.core.metrics import OperationsMetrics
from chorus.runtime.core.models import ChunkingSettings, Workspace
from chorus.runtime.handlers import evaluate_workspace

SET = Path(__file__).resolve().parents[2] / "data" / "answer_set"
RESULTS = "chorus-eval-results-test"
RUN_AT = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
QL88 = "Form QL-88 is the request to carry unused vacation days into the next calendar year."

CASES = (
    EvalCase("right", "What is form QL-88 for?", ("ql88",), reference_answer=QL88),
    EvalCase("wrong", "What is form QL-38 for?", ("ql38",)),
    EvalCase("contradicted", "How many hours a day do cats sleep?", ("cats",)),
    EvalCase("refused", "Who won the 1998 chess olympiad?", answerable=False),
    EvalCase("pending", "What is the capital of Atlantis?", answerable=False,
             origin="feedback", status="candidate"),
)  # fmt: skip


class SteppingClock:
    """Each reading is 0.1 s after the previous one (a turn reads it at its start, its first
    token and its end)."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        self.t += 0.1
        return self.t

    def next_finished(self, finished, timeout, running):
        return finished.get(timeout=timeout)


class StackWiring(EvaluationWiring, IngestWiring):
    """The evaluation function's wiring, plus the ingestor the test fills the store with."""


@pytest.fixture
def wiring(stack, embedder, module_dsn, schema_path, with_settings) -> Iterator[StackWiring]:
    stack.client("s3").create_bucket(Bucket=RESULTS)
    built = StackWiring(
        stack.settings,
        session=stack.session,
        embedder=embedder,
        database_dsn=with_settings(module_dsn, schema_path),
        metrics=OperationsMetrics(InProcessMetrics()),
    )
    built.evaluation_config = EvaluationConfig(RESULTS, margin=0.05)
    built.eval_clock = SteppingClock()
    built.run_time = lambda: RUN_AT
    install(built)
    yield built
    install(None)
    built.close()


def _workspace(wiring: StackWiring, workspace_id: str = "hr") -> Workspace:
    """``workspace_id`` with the bundled corpus indexed and the eval set of ``CASES``."""
    workspace = wiring.metadata.create_workspace(
        Workspace(workspace_id, workspace_id.upper(), wiring.embedder.model_id, 384,
                  ChunkingSettings(200, 40))
    )  # fmt: skip
    for doc_id, doc in load_corpus(SET / "corpus.jsonl").items():
        text = f"{doc.title}\n\n{doc.text}".encode()
        wiring.ingestor.ingest(workspace, f"{doc_id}.txt", text, document_id=doc_id)
    for case in CASES:
        wiring.eval_cases.put_case(workspace.id, case)
    return workspace


def _object(stack, key: str) -> bytes:
    return stack.client("s3").get_object(Bucket=RESULTS, Key=key)["Body"].read()


FIGURES = {
    "EvalCitationPrecision": 1.0,
    "EvalCitationRecall": 1.0,
    "EvalGroundingSupported": 1.0,
    "EvalRefusalAccuracy": 1.0,
    "EvalQuality": 1.0,
    "EvalLatencyP95": 200.0,
}
"""The extractive answerer quotes the top chunk of the right document for the three answerable
cases and declines the unanswerable one; every answer takes 200 ms on the stepping clock."""


def test_a_run_keeps_its_json_and_html_report_under_the_workspace_and_run_time(
    stack, wiring, context
):
    _workspace(wiring)
    out = evaluate_workspace.handler({"workspaceId": "hr"}, context)
    assert out["resultKey"] == "workspaces/hr/runs/20261201T060000Z/result.json"
    assert out["reportKey"] == "workspaces/hr/runs/20261201T060000Z/report.html"
    report = json.loads(_object(stack, out["resultKey"]))
    assert (report["kind"], report["workspace_id"], report["eval_set"]) == (
        "chorus.eval.answers",
        "hr",
        "workspace",
    )
    # the candidate case waits for review: only the four accepted ones were asked
    assert sorted(q["id"] for q in report["questions"]) == [
        "contradicted", "refused", "right", "wrong"
    ]  # fmt: skip
    html = _object(stack, out["reportKey"]).decode()
    assert html.startswith("<!doctype html>") and "What is form QL-38 for?" in html


def test_a_run_returns_and_publishes_its_headline_figures_per_workspace(stack, wiring, context):
    _workspace(wiring)
    out = evaluate_workspace.handler({"workspaceId": "hr"}, context)
    assert out["figures"] == FIGURES
    assert (out["baseline"], out["regressions"], out["cases"]) == (False, [], 4)
    sink = wiring.metrics.sink
    published = {
        name: sink.series(name, Workspace="hr")["sum"] for name in (*FIGURES, "EvalRegressions")
    }
    assert published == {**FIGURES, "EvalRegressions": 0.0}
    assert sink.series("EvalLatencyP95", Workspace="hr")["unit"] == "Milliseconds"
    assert sink.series("EvalRegressions")["count"] == 1  # rolled up: what the alarm watches


def test_figures_below_the_accepted_baseline_by_more_than_the_margin_are_regressions(
    stack, wiring, context
):
    _workspace(wiring)
    first = evaluate_workspace.handler({"workspaceId": "hr"}, context)
    accepted = evaluate_workspace.handler({"action": "accept", "workspaceId": "hr"}, context)
    assert accepted == {
        "workspaceId": "hr",
        "accepted": first["resultKey"],
        "baseline": "workspaces/hr/baseline.json",
    }
    # A fifth case names the wrong document: its answer cites ql88, the case expects ql38.
    wiring.eval_cases.put_case("hr", EvalCase("mislabelled", "What is form QL-88 for?", ("ql38",)))
    wiring.run_time = lambda: datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    wiring.metrics.sink.reset()

    second = evaluate_workspace.handler({"workspaceId": "hr"}, context)

    # citations: 3 of 4 cited documents relevant, 3 of 4 relevant documents cited
    assert second["figures"]["EvalCitationPrecision"] == 0.75
    assert second["figures"]["EvalCitationRecall"] == 0.75
    assert second["figures"]["EvalGroundingSupported"] == 1.0  # a true quote, wrong document
    assert second["baseline"] is True
    assert second["regressions"] == ["citation_precision", "citation_recall", "quality"]
    assert second["figures"]["EvalQuality"] < 1.0 - 0.05
    assert wiring.metrics.sink.series("EvalRegressions", Workspace="hr")["sum"] == 3.0
    assert wiring.metrics.sink.series("EvalRegressions")["max"] == 3.0
    stored = json.loads(_object(stack, second["resultKey"]))
    assert stored["scheduled"] == {
        "margin": 0.05,
        "baseline": first["resultKey"],
        "regressions": ["citation_precision", "citation_recall", "quality"],
    }


def test_a_drop_within_the_margin_is_not_a_regression(stack, wiring, context):
    _workspace(wiring)
    evaluate_workspace.handler({"workspaceId": "hr"}, context)
    evaluate_workspace.handler({"action": "accept", "workspaceId": "hr"}, context)
    wiring.eval_cases.put_case("hr", EvalCase("mislabelled", "What is form QL-88 for?", ("ql38",)))
    wiring.evaluation_config = EvaluationConfig(RESULTS, margin=0.3)
    vars(wiring).pop("config", None)
    wiring.run_time = lambda: datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert evaluate_workspace.handler({"workspaceId": "hr"}, context)["regressions"] == []


def test_only_a_run_of_the_workspace_can_become_its_baseline(stack, wiring, context):
    _workspace(wiring)
    with pytest.raises(NotFound, match="has no scheduled run to accept yet"):
        evaluate_workspace.handler({"action": "accept", "workspaceId": "hr"}, context)
    stack.client("s3").put_object(
        Bucket=RESULTS, Key="workspaces/other/runs/x/result.json", Body=b"{}"
    )
    with pytest.raises(NotFound, match="is not a run of workspace 'hr'"):
        evaluate_workspace.handler(
            {"action": "accept", "workspaceId": "hr",
             "resultKey": "workspaces/other/runs/x/result.json"},
            context,
        )  # fmt: skip


def test_only_opted_in_workspaces_are_listed_for_the_schedule(stack, wiring, context):
    _workspace(wiring, "hr")
    _workspace(wiring, "ops")
    assert evaluate_workspace.handler({"action": "list"}, context) == {"workspaces": []}
    for workspace in ("ops", "hr"):
        evaluate_workspace.handler(
            {"action": "schedule", "workspaceId": workspace, "enabled": True}, context
        )
    evaluate_workspace.handler(
        {"action": "schedule", "workspaceId": "ops", "enabled": False}, context
    )
    assert evaluate_workspace.handler({"action": "list"}, context) == {
        "workspaces": [{"workspaceId": "hr"}]
    }
    assert wiring.metadata.get_workspace("hr") is not None  # the opt-in item is not a record


def test_a_workspace_without_accepted_cases_fails_alone_with_a_stable_code(stack, wiring, context):
    wiring.metadata.create_workspace(
        Workspace("empty", "Empty", wiring.embedder.model_id, 384, ChunkingSettings(200, 40))
    )
    with pytest.raises(BadRequest) as raised:
        evaluate_workspace.handler({"workspaceId": "empty"}, context)
    assert raised.value.code == "no_eval_cases"
    with pytest.raises(NotFound):
        evaluate_workspace.handler({"workspaceId": "nowhere"}, context)


@pytest.mark.parametrize(
    "event",
    [{"action": "drop"}, {}, {"action": "schedule", "workspaceId": "hr"}, {"workspaceId": ""}],
)
def test_malformed_events_are_refused(wiring, context, event):
    with pytest.raises(BadRequest):
        evaluate_workspace.handler(event, context)


def test_the_cloud_sink_writes_the_figures_as_emf_with_the_workspace_dimension(capsys):
    from chorus.runtime.adapters.emf_metrics import EmfMetrics

    metrics = OperationsMetrics(EmfMetrics())
    metrics.evaluation("hr", {"EvalQuality": 0.5}, 2)
    metrics.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    quality = next(line for line in lines if "EvalQuality" in line)
    regressions = next(line for line in lines if "EvalRegressions" in line)
    assert (quality["Workspace"], quality["EvalQuality"]) == ("hr", [0.5])
    assert (regressions["Workspace"], regressions["EvalRegressions"]) == ("hr", [2.0])
    dimension_sets = regressions["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert sorted(map(sorted, dimension_sets)) == [["Workspace", "service"], ["service"]]


# -- the workflow ---------------------------------------------------------------------------------

ASL = (
    Path(__file__).resolve().parents[3]
    / "runtime"
    / "statemachines"
    / "scheduled_evaluation.asl.json"
)


def test_the_workflow_definition_is_valid_asl():
    from statelint.linter import Linter
    from support.stepfunctions import PLACEHOLDER

    text = ASL.read_text(encoding="utf-8")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:evaluate"
    assert Linter.validate(json.loads(text)) == []
    assert Linter.validate(json.loads(PLACEHOLDER.sub(arn, text))) == []
    retry = json.loads(text)["States"]["EvaluateWorkspaces"]["ItemProcessor"]["States"][
        "EvaluateWorkspace"
    ]["Retry"][0]
    assert retry["BackoffRate"] == 2.0 and isinstance(retry["BackoffRate"], float)


def test_the_workflow_evaluates_every_opted_in_workspace_and_one_failing_stops_no_other(
    stack, wiring, context, monkeypatch
):
    """moto's Step Functions interpreter runs the ASL; its Lambda tasks call the real handler
    in this process (moto cannot start a Python Lambda runtime without Docker)."""
    from support.stepfunctions import (
        deploy_state_machine,
        execute_in_running_mock,
        record_retry_waits,
        run_execution,
        run_lambdas_in_process,
    )

    execute_in_running_mock(monkeypatch)
    record_retry_waits(monkeypatch)
    calls: list[dict[str, Any]] = []

    def evaluate(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event)
        return evaluate_workspace.handler(event, context)

    run_lambdas_in_process(monkeypatch, {"evaluate_workspace": evaluate})
    _workspace(wiring, "hr")
    wiring.metadata.create_workspace(
        Workspace("empty", "Empty", wiring.embedder.model_id, 384, ChunkingSettings(200, 40))
    )
    _workspace(wiring, "ops")  # not opted in: never evaluated
    for workspace in ("hr", "empty"):
        wiring.eval_cases.set_scheduled(workspace, True)
    sfn, machine = deploy_state_machine(
        "scheduled-evaluation",
        ASL.read_text(encoding="utf-8"),
        {"EvaluateWorkspaceFunctionArn": "evaluate_workspace"},
    )

    done = run_execution(sfn, machine, {})

    assert done["status"] == "SUCCEEDED"
    results = {r["workspaceId"]: r for r in json.loads(done["output"])["results"]}
    assert sorted(results) == ["empty", "hr"]
    assert results["hr"]["figures"] == FIGURES
    assert results["empty"]["failed"] is True
    assert results["empty"]["error"]["Error"] == "BadRequest"
    assert "no accepted eval cases" in results["empty"]["error"]["Cause"]
    assert calls[0] == {"action": "list"}
    assert sorted(c.get("workspaceId", "") for c in calls[1:]) == ["empty", "hr"]
    _object(stack, results["hr"]["resultKey"])  # the run's result is in the bucket
