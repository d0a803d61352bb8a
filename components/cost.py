"""``chorus cost``: the idle monthly cost and the cost per 1,000 chats of a stack's config.

Pure Python (no Pulumi): reads ``Pulumi.<stack>.yaml``, validates it with the same
``StackSettings`` the program uses, multiplies by the dated table in ``prices.py``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from . import prices as p
from .alarms import has_chat_down, planned_alarms
from .evaluation_cost import evaluation_lines
from .observability_cost import alarm_args_for, idle_lines, per_thousand_chats_lines
from .settings import STORE_KINDS, StackSettings, load_stack_file

EVENTS_PER_DAY = (0, 1_000, 1_000_000)
"""The rates each event path is priced at."""


@dataclass(frozen=True)
class Item:
    """One line of the estimate."""

    name: str
    detail: str
    usd: float


@dataclass(frozen=True)
class StoreOption:
    """What one vector store kind costs and how fast it answers, for one workspace."""

    kind: str
    idle_usd: float
    """Per month with no queries (its floor: compute kept up, storage of the workspace)."""
    idle_detail: str
    per_thousand_queries_usd: float
    """The store's share of 1,000 retrievals (not embedding, reranking or the LLM)."""
    per_thousand_detail: str
    latency: str
    latency_source: str
    fits: str
    deployed: bool
    default: bool


@dataclass(frozen=True)
class EventPathCost:
    """What moving events costs on one path in one mode, per month, at several daily rates."""

    path: str
    """``ingestion`` or ``chat``."""
    mode: str
    """``queue``, ``eventbridge`` or ``async``."""
    detail: str
    usd_by_rate: tuple[tuple[int, float], ...]
    """(events a day, USD a month) for each of ``EVENTS_PER_DAY``."""
    selected: bool
    """The mode the stack deploys."""


@dataclass
class CostReport:
    stack: str
    idle: list[Item] = field(default_factory=list)
    free_tier_credit: list[Item] = field(default_factory=list)
    per_thousand_chats: list[Item] = field(default_factory=list)
    chat_model: str = ""
    mode: str = ""
    stores: list[StoreOption] = field(default_factory=list)
    event_paths: list[EventPathCost] = field(default_factory=list)

    @property
    def idle_total(self) -> float:
        return sum(i.usd for i in self.idle)

    @property
    def idle_after_free_tier(self) -> float:
        return max(0.0, self.idle_total - sum(i.usd for i in self.free_tier_credit))

    @property
    def per_thousand_total(self) -> float:
        return sum(i.usd for i in self.per_thousand_chats)

    def dominant(self, count: int = 2) -> list[Item]:
        return sorted(self.idle, key=lambda i: i.usd, reverse=True)[:count]


def alarm_count(s: StackSettings) -> int:
    """Alarms the stack deploys (``MetricAlarm`` + ``CompositeAlarm``): the plan ``ChatAlarms``
    declares for the stack's alarm set and event paths (``observability_cost.alarm_args_for``)."""
    args = alarm_args_for(s)
    return len(planned_alarms(args)) + int(has_chat_down(args))


def polled_queues(s: StackSettings) -> int:
    """SQS queues a Lambda event source long-polls (billed even when nothing arrives)."""
    return (2 if s.event_paths.chat == "queue" else 0) + (
        1 if s.event_paths.ingestion == "queue" else 0
    )


def _idle_poll_requests(queues: int) -> float:
    """ReceiveMessage requests a month of ``queues`` idle event sources."""
    return queues * p.SQS_POLLERS_PER_EVENT_SOURCE * 3 * 60 * p.HOURS_PER_MONTH


def _queue_path_usd(per_day: float, queues: int, batch: float) -> float:
    """Monthly SQS + Lambda request charges of a queued path at ``per_day`` events."""
    P, A = p.PRICES, p.EVENT_PATH_ASSUMPTIONS
    events = per_day * A["days_per_month"]
    b = batch if per_day >= A["busy_events_per_day"] else 1
    requests = _idle_poll_requests(queues) + events * (1 + 2 / b)
    return (
        requests * P["sqs_request_million"] / 1e6 + events / b * P["lambda_request_million"] / 1e6
    )


def _async_path_usd(per_day: float, event_price_million: float = 0.0) -> float:
    """Monthly charges of an asynchronously invoked path: one Lambda request per event (and
    the event's own price, e.g. an EventBridge event: $0 for AWS service events)."""
    events = per_day * p.EVENT_PATH_ASSUMPTIONS["days_per_month"]
    return events * (p.PRICES["lambda_request_million"] + event_price_million) / 1e6


def event_path_costs(s: StackSettings) -> list[EventPathCost]:
    """Both modes of each event path at 0 / 1k / 1M events a day (transport only: the workers'
    compute is the same on either path)."""
    A, P = p.EVENT_PATH_ASSUMPTIONS, p.PRICES
    paths = s.event_paths

    def rates(cost) -> tuple[tuple[int, float], ...]:
        return tuple((n, cost(n)) for n in EVENTS_PER_DAY)

    batch_ingest, batch_chat = A["ingest_batch"], A["chat_batch"]
    return [
        EventPathCost(
            "ingestion",
            "queue",
            f"S3 → SQS → event source ({p.SQS_POLLERS_PER_EVENT_SOURCE} pollers), batches of "
            f"{batch_ingest:g}",
            rates(lambda n: _queue_path_usd(n, 1, batch_ingest)),
            paths.ingestion == "queue",
        ),
        EventPathCost(
            "ingestion",
            "eventbridge",
            "S3 → EventBridge rule → async invoke (AWS service events: no EventBridge charge)",
            rates(lambda n: _async_path_usd(n, P["eventbridge_aws_service_event_million"])),
            paths.ingestion == "eventbridge",
        ),
        EventPathCost(
            "chat",
            "queue",
            "message → chat queue → event source; + the cache-invalidation queue's pollers",
            rates(lambda n: _queue_path_usd(n, 2, batch_chat)),
            paths.chat == "queue",
        ),
        EventPathCost(
            "chat",
            "async",
            "message → async invoke of the chat worker; SNS invokes it for document-changed",
            rates(_async_path_usd),
            paths.chat == "async",
        ),
    ]


def _answer_models(settings: StackSettings) -> list[str]:
    m = settings.models
    answerers = [b for b in m.bedrock if "embed" not in b] + list(m.openai_models)
    return answerers or [llm.name for llm in m.llms]


def _token_price(model: str) -> tuple[float, float]:
    if model in p.TOKENS_PER_THOUSAND:
        return p.TOKENS_PER_THOUSAND[model]
    return (0.0, 0.0)  # SageMaker-hosted: paid by the hour, counted in idle


def _instance_hour(instance_type: str) -> float:
    if instance_type not in p.INSTANCE_HOUR:
        raise KeyError(
            f"no price for {instance_type} in components/prices.py (INSTANCE_HOUR); add it with "
            "the figure from https://aws.amazon.com/sagemaker/pricing/"
        )
    return p.INSTANCE_HOUR[instance_type]


def idle_items(s: StackSettings) -> tuple[list[Item], list[Item]]:
    """Monthly cost of the deployed stack with no traffic, and what always-free tiers cover."""
    P, H = p.PRICES, p.HOURS_PER_MONTH
    items: list[Item] = []
    net, vs, m = s.network, s.vector_store, s.models

    if s.encryption.customer_managed_key:
        items.append(Item("KMS customer-managed key", "1 key", P["kms_key_month"]))
    secrets = [
        name
        for name, wanted in (
            ("external API keys", bool(m.openai_models)),
            ("Aurora credentials", vs.aurora.enabled),
        )
        if wanted
    ]
    if secrets:
        items.append(
            Item(
                "Secrets Manager",
                " + ".join(secrets),
                len(secrets) * P["secret_month"],
            )
        )
    if net.nat_gateways:
        items.append(
            Item(
                "NAT gateways",
                f"{net.nat_gateways} × 730 h (+ public IPv4), before data",
                net.nat_gateways * H * (P["nat_gateway_hour"] + P["public_ipv4_hour"]),
            )
        )
    if net.interface_endpoints:
        count = len(net.interface_endpoints) * net.az_count
        items.append(
            Item(
                "Interface VPC endpoints",
                f"{len(net.interface_endpoints)} services × {net.az_count} AZs × 730 h",
                count * H * P["interface_endpoint_az_hour"],
            )
        )
    if vs.aurora.enabled:
        if vs.aurora.min_capacity == 0:
            items.append(Item("Aurora Serverless v2 compute", "paused at 0 ACU when idle", 0.0))
        else:
            items.append(
                Item(
                    "Aurora Serverless v2 compute",
                    f"{vs.aurora.min_capacity} ACU minimum × 730 h",
                    vs.aurora.min_capacity * H * P["aurora_acu_hour"],
                )
            )
        items.append(
            Item(
                "Aurora storage",
                f"{vs.aurora.storage_gb:g} GB assumed",
                vs.aurora.storage_gb * P["aurora_storage_gb_month"],
            )
        )
    if vs.opensearch.enabled:
        ocus = 2.0 if vs.opensearch.standby_replicas else 1.0
        items.append(
            Item(
                "OpenSearch Serverless",
                f"{ocus:g} OCU minimum (indexing + search) × 730 h",
                ocus * H * P["opensearch_ocu_hour"],
            )
        )
    if vs.kendra.enabled:
        hourly = (
            P["kendra_developer_hour"]
            if vs.kendra.edition == "DEVELOPER_EDITION"
            else P["kendra_enterprise_hour"]
        )
        items.append(Item("Kendra index", f"{vs.kendra.edition} × 730 h", hourly * H))
    for label, hosted in (("embedding", m.embedding), ("cross-encoder", m.cross_encoder)):
        if hosted.hosting == "instance":
            price = _instance_hour(hosted.instance_type)
            items.append(
                Item(
                    f"SageMaker {label} endpoint",
                    f"{hosted.instance_count} × {hosted.instance_type} × 730 h",
                    hosted.instance_count * price * H,
                )
            )
        elif hosted.hosting == "serverless":
            items.append(
                Item(f"SageMaker {label} endpoint", "Serverless Inference, scales to zero", 0.0)
            )
    for llm in m.llms:
        if llm.source == "jumpstart" and llm.model_package_arn:
            detail = f"{llm.instance_count} × {llm.instance_type} × 730 h (+ model package fee)"
        else:
            detail = f"{llm.instance_count} × {llm.instance_type} × 730 h"
        items.append(
            Item(
                f"SageMaker LLM {llm.name}",
                detail,
                llm.instance_count * _instance_hour(llm.instance_type) * H,
            )
        )
    observed, observed_free = idle_lines(s)
    items.extend(Item(line.name, line.detail, line.usd) for line in observed)
    items.extend(Item(line.name, line.detail, line.usd) for line in evaluation_lines(s))
    sources = polled_queues(s)
    polls = _idle_poll_requests(sources)
    if sources:
        items.append(
            Item(
                "SQS long polling by Lambda",
                f"{sources} sources × {p.SQS_POLLERS_PER_EVENT_SOURCE} pollers × "
                f"3 req/min = {polls / 1e6:.2f} M req",
                polls / 1e6 * P["sqs_request_million"],
            )
        )
    else:
        items.append(
            Item(
                "Event paths: EventBridge, asynchronous invocation",
                "nothing polls; pay per event",
                0.0,
            )
        )
    model_gb = 0.1 * sum(h.hosting != "none" for h in (m.embedding, m.cross_encoder))
    items.append(
        Item(
            "S3 storage",
            f"~{model_gb:g} GB model archives + ~0.05 GB Lambda layers, no documents",
            (model_gb + 0.05) * P["s3_storage_gb_month"],
        )
    )
    if s.frontend.enabled:
        items.append(
            Item(
                "CloudFront + web app bucket",
                "no idle charge; requests and transfer pay per use",
                0.0,
            )
        )
    items.append(Item("DynamoDB, SNS, SSM, Step Functions, API Gateway", "pay per use", 0.0))
    items.append(Item("VPC, subnets, gateway endpoints, security groups", "no charge", 0.0))

    free: list[Item] = [
        *(Item(line.name, line.detail, line.usd) for line in observed_free),
        Item(
            "always-free: 1 M SQS requests",
            "",
            min(polls, p.FREE_TIER["sqs_requests"]) / 1e6 * P["sqs_request_million"],
        ),
    ]
    return items, free


def _aurora_wakeups(s: StackSettings, queries: float) -> tuple[str, float]:
    """Aurora paused at 0 ACU resumes for a session of queries and stays up for the session
    plus the auto-pause delay; with a minimum capacity the idle cost already pays for it."""
    P, A, aurora = p.PRICES, p.CHAT_ASSUMPTIONS, s.vector_store.aurora
    if aurora.min_capacity > 0:
        return "within the always-on minimum capacity (idle cost)", 0.0
    sessions = queries / A["chats_per_session"]
    minutes = A["session_minutes"] + aurora.auto_pause_seconds / 60
    acu = A["aurora_active_acu"]
    return (
        f"{sessions:g} sessions × {acu:g} ACU awake {minutes:.0f} min",
        sessions * minutes / 60 * acu * P["aurora_acu_hour"],
    )


def store_options(s: StackSettings) -> list[StoreOption]:
    """Every store kind a workspace can pick, priced for the workspace of
    ``prices.STORE_ASSUMPTIONS`` (10,000 chunks), with its measured or quoted latency."""
    P, S, H = p.PRICES, p.STORE_ASSUMPTIONS, p.HOURS_PER_MONTH
    vs, n = s.vector_store, 1000
    chunks = S["workspace_chunks"]
    deployed, default = vs.enabled_stores(), vs.default_store
    figures: dict[str, tuple[float, str, float, str]] = {}

    table_gb = chunks * S["chunk_item_kb"] / 1e6
    cold_rru = chunks * S["chunk_item_kb"] / 4  # strongly consistent: 1 RRU per 4 KB
    cold_loads = n * S["dynamodb_cold_load_share"]
    figures["dynamodb"] = (
        table_gb * P["dynamodb_storage_gb_month"],
        f"on-demand, no compute; {table_gb * 1000:g} MB stored",
        cold_loads * cold_rru * P["dynamodb_read_million"] / 1e6,
        f"{cold_loads:g} cold loads × {cold_rru:,.0f} RRU (warm: none)",
    )

    aurora = vs.aurora
    compute = aurora.min_capacity * H * P["aurora_acu_hour"]
    direct = s.network.lambdas_in_vpc
    api_calls = 0 if direct else n * S["data_api_calls_per_query"]
    wake_detail, wake_usd = _aurora_wakeups(s, n)
    figures["pgvector"] = (
        compute + aurora.storage_gb * P["aurora_storage_gb_month"] + P["secret_month"],
        (
            "paused at 0 ACU"
            if aurora.min_capacity == 0
            else f"{aurora.min_capacity:g} ACU minimum × 730 h"
        )
        + f" + {aurora.storage_gb:g} GB storage + credentials secret",
        wake_usd + api_calls * P["rds_data_api_request_million"] / 1e6,
        wake_detail + ("" if direct else f" + {api_calls:g} Data API calls"),
    )

    ocus = 2.0 if vs.opensearch.standby_replicas else 1.0
    figures["opensearch"] = (
        ocus * H * P["opensearch_ocu_hour"],
        f"Serverless: {ocus:g} OCU minimum × 730 h",
        0.0,
        "included in the OCUs",
    )

    vectors_gb = chunks * S["s3vectors_vector_kb"] / 1e6
    figures["s3vectors"] = (
        vectors_gb * P["s3vectors_storage_gb_month"],
        f"no compute; {vectors_gb * 1000:g} MB stored",
        n * P["s3vectors_query_million"] / 1e6
        + n * vectors_gb / 1000 * P["s3vectors_query_tb_processed"],
        f"{n:g} QueryVectors + {n * vectors_gb / 1000:g} TB processed",
    )

    developer = vs.kendra.edition == "DEVELOPER_EDITION"
    figures["kendra"] = (
        H * P["kendra_developer_hour" if developer else "kendra_enterprise_hour"],
        f"{vs.kendra.edition} × 730 h",
        0.0,
        "included up to the edition's query capacity",
    )

    return [
        StoreOption(
            kind,
            *figures[kind],
            *p.STORE_LATENCY[kind],
            p.STORE_FITS[kind],
            deployed=kind in deployed,
            default=kind == default,
        )
        for kind in STORE_KINDS
    ]


def chat_items(s: StackSettings) -> tuple[list[Item], str, str]:
    """Cost of 1,000 chats in the stack's default mode with its first answering model."""
    P, A = p.PRICES, p.CHAT_ASSUMPTIONS
    n = 1000
    mode = s.orchestrator.default_mode
    answerers = _answer_models(s)
    model = answerers[0] if answerers else "none"
    models_asked = len(answerers) if mode == "consensus" else (1.5 if mode == "cascade" else 1)
    items: list[Item] = []

    tokens_in, tokens_out = _token_price(model)
    if mode == "consensus":
        token_cost = sum(
            A["input_tokens"] / 1000 * _token_price(x)[0]
            + A["output_tokens"] / 1000 * _token_price(x)[1]
            for x in answerers
        )
        detail = f"{len(answerers)} models × {A['input_tokens']:g} in / {A['output_tokens']:g} out"
    else:
        token_cost = models_asked * (
            A["input_tokens"] / 1000 * tokens_in + A["output_tokens"] / 1000 * tokens_out
        )
        detail = f"{model}: {A['input_tokens']:g} in / {A['output_tokens']:g} out tokens"
    items.append(Item("LLM tokens", detail, n * token_cost))

    embedder = next((b for b in s.models.bedrock if "embed" in b), None)
    if s.models.embedding.hosting == "instance":
        items.append(Item("Query embedding", "on the always-on endpoint (idle cost)", 0.0))
    elif s.models.embedding.hosting == "serverless":
        gb_s = s.models.embedding.memory_mb / 1024 * A["embedding_seconds"]
        items.append(
            Item(
                "Query embedding",
                f"SageMaker Serverless {gb_s:.2f} GB-s",
                n * gb_s * P["sagemaker_serverless_gb_second"],
            )
        )
    elif embedder:
        items.append(
            Item(
                "Query embedding",
                f"{embedder} {A['query_tokens']:g} tokens",
                n * A["query_tokens"] / 1000 * _token_price(embedder)[0],
            )
        )
    if s.models.cross_encoder.hosting == "serverless":
        gb_s = s.models.cross_encoder.memory_mb / 1024 * A["rerank_seconds"]
        items.append(
            Item(
                "Rerank",
                f"SageMaker Serverless {gb_s:.2f} GB-s",
                n * gb_s * P["sagemaker_serverless_gb_second"],
            )
        )

    lambda_gb_s = 0.5 * A["message_handler_seconds"] + 1.0 * A["worker_seconds"]
    invocations = 2
    if mode == "consensus":
        lambda_gb_s += 0.5 * (
            A["fanout_seconds_per_model"] * len(answerers) + A["agreement_seconds"]
        )
        invocations += len(answerers) + 1
        items.append(
            Item(
                "Step Functions Express",
                "1 execution per chat",
                n * P["express_request_million"] / 1e6
                + n * 0.064 * A["fanout_seconds_per_model"] * P["express_gb_second"],
            )
        )
    items.append(
        Item(
            "Lambda",
            f"{invocations} invocations, {lambda_gb_s:.2f} GB-s per chat",
            n
            * (
                lambda_gb_s * P["lambda_gb_second"]
                + invocations * P["lambda_request_million"] / 1e6
            ),
        )
    )
    frames = 1 + A["websocket_frames_out"]
    items.append(
        Item(
            "API Gateway WebSocket",
            f"{frames:g} messages + {A['connection_minutes']:g} connection-minutes per chat",
            n
            * (
                frames * P["websocket_message_million"]
                + A["connection_minutes"] * P["websocket_connection_minute_million"]
            )
            / 1e6,
        )
    )
    if s.event_paths.chat == "queue":
        items.append(
            Item(
                "SQS",
                f"{A['sqs_requests']:g} requests per chat",
                n * A["sqs_requests"] * P["sqs_request_million"] / 1e6,
            )
        )
    else:
        items.append(
            Item("Asynchronous invocation", "no queue: the worker's request is under Lambda", 0.0)
        )
    items.append(
        Item(
            "DynamoDB",
            f"{A['dynamodb_writes']:g} writes + {A['dynamodb_reads']:g} reads per chat",
            n
            * (
                A["dynamodb_writes"] * P["dynamodb_write_million"]
                + A["dynamodb_reads"] * P["dynamodb_read_million"]
            )
            / 1e6,
        )
    )
    # One retrieval per chat, in the default store of new workspaces.
    [store] = [o for o in store_options(s) if o.default]
    items.append(
        Item(
            f"Retrieval: {store.kind} (the default store)",
            store.per_thousand_detail,
            store.per_thousand_queries_usd,
        )
    )
    items.append(
        Item(
            "CloudWatch Logs + X-Ray",
            f"{A['log_kb']:g} KB logs + 1 trace per chat",
            n * (A["log_kb"] / 1e6 * P["logs_ingest_gb"] + P["xray_trace_million"] / 1e6),
        )
    )
    return items, model, mode


def estimate(settings: StackSettings, stack: str = "") -> CostReport:
    """Idle and per-1,000-chats estimates of a configuration."""
    idle, free = idle_items(settings)
    chats, model, mode = chat_items(settings)
    emf = per_thousand_chats_lines(settings)
    chats.extend(Item(line.name, line.detail, line.usd) for line in emf)
    return CostReport(
        stack, idle, free, chats, model, mode, store_options(settings), event_path_costs(settings)
    )


def estimate_stack(stack: str, project_dir: str | Path = ".") -> CostReport:
    """Estimate from ``<project_dir>/Pulumi.<stack>.yaml``."""
    path = Path(project_dir) / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; run from the Pulumi project folder or pass --project-dir"
        )
    return estimate(load_stack_file(path), stack)


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"


def format_report(report: CostReport) -> str:
    """Item-by-item text for the terminal."""
    width = 78
    lines = [
        f"chorus cost — stack {report.stack or '?'}: {p.REGION} list prices as of {p.AS_OF} "
        "(components/prices.py)",
        "",
        "Idle, per month (deployed, no traffic)",
    ]
    for item in report.idle:
        label = f"  {item.name}: {item.detail}" if item.detail else f"  {item.name}"
        lines.append(f"{label:<{width}}{_money(item.usd):>10}")
    lines.append(f"{'  total (list price)':<{width}}{_money(report.idle_total):>10}")
    lines.append(
        f"{'  total after AWS always-free tiers (10 alarms, 1 M SQS requests)':<{width}}"
        f"{_money(report.idle_after_free_tier):>10}"
    )
    top = ", ".join(f"{i.name} ({_money(i.usd)})" for i in report.dominant() if i.usd > 0)
    lines.append(f"  dominated by: {top or 'nothing'}")
    lines += ["", f"Per 1,000 chats (mode {report.mode}, {report.chat_model})"]
    for item in report.per_thousand_chats:
        label = f"  {item.name}: {item.detail}"
        lines.append(f"{label:<{width}}{_money(item.usd):>10}")
    lines.append(f"{'  total':<{width}}{_money(report.per_thousand_total):>10}")
    if report.event_paths:
        lines += ["", *format_event_paths(report.event_paths)]
    if report.stores:
        lines += ["", *format_store_comparison(report.stores)]
    lines.append("")
    lines.append(
        "Assumptions (tokens, durations, pollers) are in components/prices.py; data transfer, "
        "taxes and support plans are not included."
    )
    return "\n".join(lines)


def format_store_comparison(stores: list[StoreOption]) -> list[str]:
    """The store comparison, one block per store kind."""
    chunks = p.STORE_ASSUMPTIONS["workspace_chunks"]
    lines = [
        f"Vector stores for a {chunks:,.0f}-chunk workspace (store only; * deployed, "
        "> default for new workspaces)",
        f"  {'store':<14}{'idle/month':>12}{'per 1k queries':>16}  fits",
    ]
    for o in stores:
        mark = (">" if o.default else "*") if o.deployed else " "
        lines.append(
            f"{mark} {o.kind:<14}{_money(o.idle_usd):>12}{_money(o.per_thousand_queries_usd):>16}"
            f"  {o.fits}"
        )
        lines += textwrap.wrap(
            f"latency: {o.latency} [{o.latency_source}]",
            width=88,
            initial_indent="      ",
            subsequent_indent="        ",
        )
    return lines


def _per_day(n: int) -> str:
    return f"{n // 1_000_000}M/day" if n >= 1_000_000 else (f"{n // 1000}k/day" if n else "0/day")


def format_event_paths(paths: list[EventPathCost]) -> list[str]:
    """One line per event path and mode: its monthly transport cost at each daily rate."""
    rates = [n for n, _ in paths[0].usd_by_rate] if paths else []
    header = f"  {'path':<12}{'mode':<13}" + "".join(f"{_per_day(n):>12}" for n in rates)
    lines = [
        "Event paths, per month at N events a day (transport only: SQS, EventBridge, Lambda "
        "requests; > deployed; docs/cost.md)",
        header,
    ]
    for path in paths:
        mark = ">" if path.selected else " "
        figures = "".join(f"{_money(usd):>12}" for _, usd in path.usd_by_rate)
        lines.append(f"{mark} {path.path:<12}{path.mode:<13}{figures}")
        lines.append(f"      {path.detail}")
    return lines
