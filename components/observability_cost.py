"""What observability costs a stack: alarms, the dashboard, custom metrics, logs.

Pure Python (no Pulumi), like ``chorus cost``: the alarm figure comes from the same plan
``ChatAlarms`` declares (``alarms.planned_alarms``), fed with the stack's shape, so adding an
alarm moves the estimate. ``chorus cost`` adds ``idle_lines`` to its idle items and
``per_thousand_chats_lines`` to its per-1,000-chats items.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import prices as p
from .alarms import ChatAlarmsArgs, alarm_metric_count, has_chat_down
from .settings import StackSettings
from .stack import sagemaker_endpoint_labels

OBSERVABILITY_PRICES = {
    "composite_alarm_month": 0.50,
    "dashboard_month": 3.00,
    "custom_metric_month": 0.30,
}
"""USD, CloudWatch list prices (eu-west-1, 2026-12): a composite alarm, a dashboard beyond the
three free ones, a custom metric (each namespace + name + dimensions) for a month of data."""
FREE_DASHBOARDS = 3
"""Dashboards of up to 50 metrics each are always free per account (we assume none used)."""
EMF_BYTES_PER_TURN = 1_700
"""EMF log bytes one single-model turn writes (5 lines; ``python bench/emf_bytes_per_turn.py``
prints 1,688 bytes, 2,793 for a three-model consensus)."""

PLACEHOLDER = "x"
"""Names in the cost plan: only the shape (which alarms exist) matters for the count."""


@dataclass(frozen=True)
class CostLine:
    """One line of the estimate (``cost.Item`` has the same fields)."""

    name: str
    detail: str
    usd: float


def alarm_args_for(settings: StackSettings) -> ChatAlarmsArgs:
    """The ``ChatAlarms`` inputs ``ChatOrchestrator`` passes for these settings, with
    placeholder names (what the stack's alarm set looks like, not what it is called)."""
    obs, orch, paths = settings.observability, settings.orchestrator, settings.event_paths
    # as ChatOrchestrator._operations: the async chat path shares one dead-letter queue and has
    # no queue to age; EventBridge ingestion keeps a dead-letter queue but no source queue;
    # sync_sources keeps its failed hand-overs in one of its own
    dead_letter_queues = ["chat", "ingest"]
    queues, async_functions = [], []
    if paths.chat == "queue":
        dead_letter_queues.append("cache-invalidation")
        queues.append("chat")
    else:
        async_functions.append("chat")
    (queues if paths.ingestion == "queue" else async_functions).append("ingest")
    if settings.sources.enabled:
        dead_letter_queues.append("sources")
    args: ChatAlarmsArgs = {
        "alarm_set": obs.alarm_set,
        "dead_letter_queues": dict.fromkeys(dead_letter_queues, PLACEHOLDER),
        "queues": dict.fromkeys(queues, PLACEHOLDER),
        "async_functions": dict.fromkeys(async_functions, PLACEHOLDER),
        "functions": dict.fromkeys(
            FUNCTION_LABELS + (("sync_sources",) if settings.sources.enabled else ()), PLACEHOLDER
        ),
        "lambda_error_alarms": orch.lambda_error_alarms,
        "http_api_id": PLACEHOLDER,
        "websocket_api_id": PLACEHOLDER,
        "state_machines": dict.fromkeys(("fanout", "reindex"), PLACEHOLDER),
        "sagemaker_endpoints": dict.fromkeys(sagemaker_endpoint_labels(settings), PLACEHOLDER),
    }
    if settings.vector_store.aurora.enabled:
        args["aurora_cluster_id"] = PLACEHOLDER
    return args


FUNCTION_LABELS = (
    "ws_authorizer",
    "ws_connect",
    "ws_disconnect",
    "ws_message",
    "fanout_model",
    "fanout_agreement",
    "ingest_worker",
    "reindex_document",
    "chat_worker",
    "rest_api",
)
"""``ChatOrchestrator``'s handler functions (the ones a per-function Errors alarm watches);
``sync_sources`` too when ``chorus:sources.enabled``."""


def idle_lines(settings: StackSettings) -> tuple[list[CostLine], list[CostLine]]:
    """(lines, always-free credits) of an idle month: alarms and the dashboard.

    Custom metrics and logs cost nothing idle: EMF metrics are billed per hour they receive
    data, logs per GB written.
    """
    P, prices = p.PRICES, OBSERVABILITY_PRICES
    args = alarm_args_for(settings)
    metrics = alarm_metric_count(args)
    lines = [
        CostLine(
            "CloudWatch alarms",
            f"{metrics} alarm metrics ({settings.observability.alarm_set} set)",
            metrics * P["alarm_month"],
        )
    ]
    if has_chat_down(args):
        lines.append(
            CostLine(
                "CloudWatch composite alarm", '"chat is down"', prices["composite_alarm_month"]
            )
        )
    if settings.observability.dashboard:
        lines.append(CostLine("CloudWatch dashboard", "1 dashboard", prices["dashboard_month"]))
    free_alarms = min(metrics, p.FREE_TIER["alarms"])
    free = [CostLine("always-free: 10 alarm metrics", "", free_alarms * P["alarm_month"])]
    if settings.observability.dashboard:
        free.append(CostLine("always-free: 3 dashboards", "", prices["dashboard_month"]))
    return lines, free


def active_metric_series(settings: StackSettings) -> int:
    """Custom metric series (name + dimensions) a stack in use publishes in a month."""
    models = len(settings.models.bedrock) + len(settings.models.openai_models)
    models += len(settings.models.llms) + 1  # + the extractive answerer
    modes, outcomes = 3, 4  # single/cascade/consensus; answered, cached, two error codes
    turn = (1 + modes + outcomes) + 1 + 2 * (1 + modes) + 1  # Turns, TurnErrors, latencies, cost
    per_model = 9 * models
    retrieval = 1  # RetrievalLatency of the default store
    cache = 2 if settings.semantic_cache.enabled else 0
    ingest = (1 + 3) + 1 + 1 + (1 + 2)  # documents by outcome, chunks, seconds, failures
    return turn + per_model + retrieval + cache + ingest


def per_thousand_chats_lines(settings: StackSettings) -> list[CostLine]:
    """What 1,000 chats add: their EMF lines in CloudWatch Logs."""
    gb = 1000 * EMF_BYTES_PER_TURN / 1e9
    return [
        CostLine(
            "CloudWatch EMF metrics (log ingestion)",
            f"{EMF_BYTES_PER_TURN / 1000:g} KB per turn",
            gb * p.PRICES["logs_ingest_gb"],
        )
    ]


def metrics_month_line(settings: StackSettings) -> CostLine:
    """The custom metrics of a month in use (all series receiving data all month)."""
    series = active_metric_series(settings)
    return CostLine(
        "CloudWatch custom metrics (in use)",
        f"~{series} series × $0.30 (none billed while idle)",
        series * OBSERVABILITY_PRICES["custom_metric_month"],
    )
