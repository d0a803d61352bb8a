"""components/evaluation_cost.py: what scheduled evaluation adds to ``chorus cost``."""

from __future__ import annotations

import pytest

from components import prices as p
from components.cost import estimate
from components.evaluation_cost import runs_per_month
from components.observability_cost import OBSERVABILITY_PRICES
from components.settings import ConfigError, parse_settings

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _lines(config):
    report = estimate(parse_settings(config))
    return {i.name: i for i in report.idle if i.name.startswith("Scheduled evaluation")}, report


def test_off_by_default_the_line_is_zero():
    lines, _ = _lines({})
    assert list(lines) == ["Scheduled evaluation"]
    assert lines["Scheduled evaluation"].usd == 0.0
    assert "off" in lines["Scheduled evaluation"].detail


def test_dev_stack_file_keeps_it_off(tmp_path):
    from pathlib import Path

    from components.settings import load_stack_file

    dev = load_stack_file(Path(__file__).resolve().parents[2] / "Pulumi.dev.yaml")
    assert dev.evaluation.enabled is False


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("cron(0 6 ? * MON *)", 730 / 24 / 7),
        ("cron(30 5 ? * MON-FRI *)", 5 * 730 / 24 / 7),
        ("cron(0 4 * * ? *)", 730 / 24),
        ("cron(0 6 1 * ? *)", 1.0),
        ("cron(0 0/6 * * ? *)", 4 * 730 / 24),
        ("rate(7 days)", 730 / 24 / 7),
        ("rate(12 hours)", 730 / 12),
    ],
)
def test_runs_a_month_follow_the_schedule_expression(expression, runs):
    assert runs_per_month(expression) == pytest.approx(runs)


def test_a_run_is_priced_from_its_parts():
    config = {
        "chorus:models": {"bedrock": [HAIKU]},
        "chorus:evaluation": {"enabled": True, "schedule": "cron(0 6 1 * ? *)",
                              "workspaces": 2, "casesPerWorkspace": 10, "resultExpiryDays": 30},
    }  # fmt: skip
    lines, report = _lines(config)
    P, A, C = p.PRICES, p.EVALUATION_ASSUMPTIONS, p.CHAT_ASSUMPTIONS
    turns = 1 * 2 * 10
    inp, out = p.TOKENS_PER_THOUSAND[HAIKU]
    expected = (
        P["scheduler_invocation_million"] / 1e6
        + (4 + 3 * 2) * P["standard_transition_thousand"] / 1000
        + (1.0 + 2 * 10 * 4.0) * P["lambda_gb_second"]
        + 3 * P["lambda_request_million"] / 1e6
        + turns * (C["input_tokens"] * inp + C["output_tokens"] * out) / 1000
        + turns * (6 * P["dynamodb_write_million"] + 6 * P["dynamodb_read_million"]) / 1e6
        + 2 * (2 * P["s3_put_thousand"] + 2 * P["s3_get_thousand"]) / 1000
        # steady state: the runs of the last 30 days are stored
        + 30
        / (730 / 24)
        * 2
        * (10 * A["result_kb_per_case"] + A["report_kb"])
        / 1e6
        * P["s3_storage_gb_month"]
    )
    assert lines["Scheduled evaluation runs"].usd == pytest.approx(expected)
    metrics = 2 * 7 + 1
    assert lines["Scheduled evaluation metrics + alarm"].usd == pytest.approx(
        metrics * OBSERVABILITY_PRICES["custom_metric_month"] + P["alarm_month"]
    )
    assert "Scheduled evaluation" not in {i.name for i in report.idle}  # no "off" line


def test_turning_it_on_adds_exactly_its_lines_to_the_idle_total():
    off = estimate(parse_settings({})).idle_total
    lines, on = _lines({"chorus:evaluation": {"enabled": True}})
    assert on.idle_total == pytest.approx(off + sum(i.usd for i in lines.values()))
    assert sum(i.usd for i in lines.values()) > 0


def test_a_schedule_that_is_no_scheduler_expression_is_refused():
    with pytest.raises(ConfigError, match=r"chorus:evaluation\.schedule"):
        parse_settings({"chorus:evaluation": {"schedule": "0 6 * * 1"}})
