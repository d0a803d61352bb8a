"""What scheduled evaluation (``chorus:evaluation``) costs a month, for ``chorus cost``.

Pure Python (no Pulumi), like ``observability_cost``: runs a month from the schedule
expression, then per run the Scheduler invocation, the Standard workflow's transitions, the
function's GB-seconds and requests, the answering model's tokens, the turns' DynamoDB items and
the results in S3; the metrics (per workspace) and the regression alarm are monthly. Off: one
line at $0 (nothing is deployed).
"""

from __future__ import annotations

import re

from . import prices as p
from .observability_cost import OBSERVABILITY_PRICES, CostLine
from .settings import StackSettings

DAYS_PER_MONTH = p.HOURS_PER_MONTH / 24
_DAY_NAMES = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_RATE = re.compile(r"^rate\((\d+)\s+(minutes?|hours?|days?)\)$")


def _count(field: str, size: int) -> float:
    """How many values a cron field takes out of ``size`` (``*``, ``a/b``, ``a-b``, lists)."""
    if field in ("*", "?"):
        return float(size)
    total = 0.0
    for part in field.split(","):
        start, _, step = part.partition("/")
        if step:
            first = 0 if start in ("*", "") else int(_DAY_NAMES.get(start, start))
            total += max(1, (size - first + int(step) - 1) // int(step))
        elif "-" in part:
            a, b = (int(_DAY_NAMES.get(x, x)) for x in part.split("-", 1))
            total += b - a + 1
        else:
            total += 1
    return total


def runs_per_month(expression: str) -> float:
    """Executions a month of an EventBridge Scheduler ``cron(...)`` or ``rate(...)``
    expression (an estimate: 30.4 days, weeks of 7)."""
    rate = _RATE.match(expression)
    if rate:
        every, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        minutes = {"minute": 1, "hour": 60, "day": 1440}[unit] * every
        return DAYS_PER_MONTH * 1440 / minutes
    fields = expression[len("cron(") : -1].split()
    if len(fields) != 6:
        raise ValueError(f"not a Scheduler cron expression (6 fields): {expression}")
    minute, hour, dom, month, dow, _year = fields
    per_day = _count(minute, 60) * _count(hour, 24)
    if dow not in ("*", "?"):
        days = _count(dow.split("#")[0].replace("L", ""), 7) * DAYS_PER_MONTH / 7
        if "#" in dow or "L" in dow:
            days = _count(dow.split("#")[0].replace("L", ""), 7)
    elif dom not in ("*", "?"):
        days = 1.0 if dom in ("L", "LW") or dom.endswith("W") else _count(dom, 31)
    else:
        days = DAYS_PER_MONTH
    return per_day * days * _count(month, 12) / 12


def _token_price(s: StackSettings) -> tuple[str, float, float]:
    m = s.models
    answerers = [b for b in m.bedrock if "embed" not in b] + list(m.openai_models)
    model = (s.evaluation.models or answerers or ["extractive"])[0]
    inp, out = p.TOKENS_PER_THOUSAND.get(model, (0.0, 0.0))
    return model, inp, out


def evaluation_lines(s: StackSettings) -> list[CostLine]:
    """The monthly lines of scheduled evaluation (``chorus:evaluation``)."""
    e = s.evaluation
    if not e.enabled:
        return [CostLine("Scheduled evaluation", "off (chorus:evaluation.enabled: false)", 0.0)]
    P, A, C = p.PRICES, p.EVALUATION_ASSUMPTIONS, p.CHAT_ASSUMPTIONS
    runs, workspaces, cases = runs_per_month(e.schedule), e.workspaces, e.cases_per_workspace
    turns = runs * workspaces * cases
    transitions = runs * (A["transitions_per_run"] + A["transitions_per_workspace"] * workspaces)
    gb_seconds = (
        runs * A["memory_gb"] * (A["list_seconds"] + workspaces * cases * A["seconds_per_case"])
    )
    requests = runs * (1 + workspaces)
    model, inp, out = _token_price(s)
    tokens = turns * (C["input_tokens"] * inp + C["output_tokens"] * out) / 1000
    dynamodb = (
        turns
        * (
            C["dynamodb_writes"] * P["dynamodb_write_million"]
            + C["dynamodb_reads"] * P["dynamodb_read_million"]
        )
        / 1e6
    )
    run_gb = (cases * A["result_kb_per_case"] + A["report_kb"]) / 1e6
    kept = runs * e.result_expiry_days / DAYS_PER_MONTH  # runs stored in steady state
    s3 = (
        runs * workspaces * (2 * P["s3_put_thousand"] + 2 * P["s3_get_thousand"]) / 1000
        + kept * workspaces * run_gb * P["s3_storage_gb_month"]
    )
    compute = (
        runs * P["scheduler_invocation_million"] / 1e6
        + transitions * P["standard_transition_thousand"] / 1000
        + gb_seconds * P["lambda_gb_second"]
        + requests * P["lambda_request_million"] / 1e6
    )
    metrics = workspaces * A["metrics_per_workspace"] + 1
    return [
        CostLine(
            "Scheduled evaluation runs",
            f"{runs:.1f} runs × {workspaces} workspaces × {cases} cases ({e.schedule}): "
            f"{transitions:,.0f} transitions, {gb_seconds:,.0f} GB-s, {model} tokens "
            f"${tokens:.2f}, DynamoDB ${dynamodb:.2f}, S3 ${s3:.3f}",
            compute + tokens + dynamodb + s3,
        ),
        CostLine(
            "Scheduled evaluation metrics + alarm",
            f"{metrics:.0f} custom metrics (Workspace dimension) + 1 alarm",
            metrics * OBSERVABILITY_PRICES["custom_metric_month"] + P["alarm_month"],
        ),
    ]
