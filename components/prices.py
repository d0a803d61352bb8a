"""Dated AWS (and OpenAI) list prices ``chorus cost`` multiplies by a stack's configuration.

us-east-1 on-demand list prices in USD, compiled from the public pricing pages below as of
``AS_OF``. Not fetched live: check the pages before quoting a figure, and update the date with
any change. Other regions usually differ by 0-20 %.
"""

from __future__ import annotations

AS_OF = "2025-06-01"
REGION = "us-east-1"
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
SOURCES = (
    "https://aws.amazon.com/kms/pricing/",
    "https://aws.amazon.com/secrets-manager/pricing/",
    "https://aws.amazon.com/vpc/pricing/",
    "https://aws.amazon.com/privatelink/pricing/",
    "https://aws.amazon.com/rds/aurora/pricing/",
    "https://aws.amazon.com/opensearch-service/pricing/",
    "https://aws.amazon.com/kendra/pricing/",
    "https://aws.amazon.com/sagemaker/pricing/",
    "https://aws.amazon.com/cloudwatch/pricing/",
    "https://aws.amazon.com/sqs/pricing/",
    "https://aws.amazon.com/eventbridge/pricing/",
    "https://aws.amazon.com/lambda/pricing/",
    "https://aws.amazon.com/api-gateway/pricing/",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "https://aws.amazon.com/step-functions/pricing/",
    "https://aws.amazon.com/s3/pricing/",  # S3 Vectors: the "Storage" and "Requests" tabs
    "https://aws.amazon.com/bedrock/pricing/",
    "https://openai.com/api/pricing/",
)

PRICES: dict[str, float] = {
    "kms_key_month": 1.00,
    "secret_month": 0.40,
    "nat_gateway_hour": 0.045,
    "public_ipv4_hour": 0.005,
    "interface_endpoint_az_hour": 0.01,
    "aurora_acu_hour": 0.12,
    "aurora_storage_gb_month": 0.10,
    "aurora_io_million": 0.20,
    "aurora_min_active_acu": 0.5,
    "opensearch_ocu_hour": 0.24,
    "kendra_developer_hour": 1.125,
    "kendra_enterprise_hour": 1.40,
    "sagemaker_serverless_gb_second": 0.00002,
    "alarm_month": 0.10,
    "logs_ingest_gb": 0.50,
    "sqs_request_million": 0.40,
    "sns_publish_million": 0.50,
    "eventbridge_aws_service_event_million": 0.0,
    "lambda_gb_second": 0.0000166667,
    "lambda_request_million": 0.20,
    "websocket_message_million": 1.00,
    "websocket_connection_minute_million": 0.25,
    "http_api_request_million": 1.00,
    "dynamodb_write_million": 0.625,
    "dynamodb_read_million": 0.125,
    "dynamodb_storage_gb_month": 0.25,
    "express_request_million": 1.00,
    "express_gb_second": 0.00001667,
    "standard_transition_million": 25.0,
    "s3_get_million": 0.40,
    "s3_list_million": 5.00,
    "s3_put_million": 5.00,
    "s3_storage_gb_month": 0.023,
    "xray_trace_million": 5.00,
    "rds_data_api_request_million": 0.35,
    "s3vectors_storage_gb_month": 0.06,
    "s3vectors_query_million": 2.50,
    "s3vectors_query_tb_processed": 0.004,
    "scheduler_invocation_million": 1.00,
    "standard_transition_thousand": 0.025,
    "s3_put_thousand": 0.005,
    "s3_get_thousand": 0.0004,
}
"""Unit prices (USD). ``*_month`` per month, ``*_hour`` per hour, ``*_million`` per million."""

INSTANCE_HOUR: dict[str, float] = {
    "ml.t2.medium": 0.056,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.c5.xlarge": 0.204,
    "ml.g4dn.xlarge": 0.7364,
    "ml.g4dn.2xlarge": 1.0528,
    "ml.g5.xlarge": 1.408,
    "ml.g5.2xlarge": 1.515,
    "ml.g5.12xlarge": 7.09,
    "ml.inf2.xlarge": 0.99,
}
"""SageMaker real-time inference instance prices per hour."""

TOKENS_PER_THOUSAND: dict[str, tuple[float, float]] = {
    "anthropic.claude-3-haiku-20240307-v1:0": (0.00025, 0.00125),
    "anthropic.claude-3-5-haiku-20241022-v1:0": (0.0008, 0.004),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": (0.003, 0.015),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": (0.003, 0.015),
    "meta.llama3-8b-instruct-v1:0": (0.0003, 0.0006),
    "meta.llama3-70b-instruct-v1:0": (0.00265, 0.0035),
    "mistral.mistral-7b-instruct-v0:2": (0.00015, 0.0002),
    "amazon.nova-micro-v1:0": (0.000035, 0.00014),
    "amazon.nova-lite-v1:0": (0.00006, 0.00024),
    "amazon.titan-embed-text-v2:0": (0.00002, 0.0),
    "cohere.embed-english-v3": (0.0001, 0.0),
    "gpt-4o-mini": (0.00015, 0.0006),
    "gpt-4o": (0.0025, 0.01),
}
"""(input, output) USD per 1,000 tokens: Bedrock on-demand and OpenAI."""

FREE_TIER: dict[str, float] = {
    "alarms": 10,
    "sqs_requests": 1_000_000,
    "lambda_requests": 1_000_000,
    "lambda_gb_seconds": 400_000,
}
"""AWS always-free monthly allowances per account (shown separately, never assumed)."""

CHAT_ASSUMPTIONS: dict[str, float] = {
    "input_tokens": 2500,
    "output_tokens": 350,
    "query_tokens": 30,
    "websocket_frames_out": 40,
    "connection_minutes": 5,
    "worker_seconds": 4.0,
    "message_handler_seconds": 0.1,
    "fanout_seconds_per_model": 3.0,
    "agreement_seconds": 0.5,
    "embedding_seconds": 0.15,
    "rerank_seconds": 0.3,
    "dynamodb_writes": 6,
    "dynamodb_reads": 6,
    "sqs_requests": 3,
    "chats_per_session": 10,
    "session_minutes": 10,
    "aurora_active_acu": 0.5,
    "log_kb": 6,
}
"""What one chat does, for the per-1,000-chats figure (change them, the model follows)."""

EVALUATION_ASSUMPTIONS: dict[str, float] = {
    "seconds_per_case": 4.0,
    "memory_gb": 1.0,
    "list_seconds": 1.0,
    "result_kb_per_case": 3.0,
    "report_kb": 150.0,
    "transitions_per_run": 4,
    "transitions_per_workspace": 3,
    "metrics_per_workspace": 7,
}
"""A scheduled evaluation run (``chorus:evaluation``): each case is one chat turn in the
evaluation function (the chat worker's 4 s at 1 GB, and its tokens, DynamoDB items); the list
step ~1 s; a run's result.json ~3 KB per case and report.html ~150 KB (SVG plots, when
matplotlib ships); Standard workflow transitions: list, map, done + ~3 per workspace (iteration,
task, result); 7 metrics per workspace (6 headline figures + ``EvalRegressions``) and the
``EvalRegressions`` rollup."""

SQS_POLLERS_PER_EVENT_SOURCE = 5
"""Lambda long-polls an SQS event source with about five concurrent pollers when idle."""

EVENT_PATH_ASSUMPTIONS: dict[str, float] = {
    "days_per_month": HOURS_PER_MONTH / 24,
    "busy_events_per_day": 100_000,
    "ingest_batch": 5,
    "chat_batch": 1,
}
"""How the event paths are priced (docs/cost.md, "Event paths"). A queued event costs a
SendMessage plus its share of a ReceiveMessage and a DeleteMessageBatch, and its share of one
Lambda invocation; below ``busy_events_per_day`` a batch holds one event, above it a full batch
(``ingest_batch``, ``chat_batch``). An asynchronous invocation costs one Lambda request; S3's
events on the default EventBridge bus are AWS service events (no EventBridge charge)."""

STORE_ASSUMPTIONS: dict[str, float] = {
    "workspace_chunks": 10_000,
    "chunk_item_kb": 2.5,
    "dynamodb_cold_load_share": 0.1,
    "s3vectors_vector_kb": 1.6,
    "data_api_calls_per_query": 2,
}
"""The workspace the store comparison prices: 10,000 chunks (≈ 10 MB of text; DynamoDB's
limit, docs/stores.md), DynamoDB items of ~2.5 KB (384 float32 + ~600 characters: 25 MB for
10k in bench/stores.py), one query in ten paying a cold load of the whole partition (new
container, the 60 s cache TTL, or a ``document-changed`` invalidation), S3 Vectors data
processed of ~1.6 KB per vector, and two Data API calls per pgvector query (vector + keyword)."""

STORE_LATENCY: dict[str, tuple[str, str]] = {
    "dynamodb": (
        "warm p50 0.1 / 0.4 / 12 ms at 1k / 10k / 50k chunks; a cold load p50 65 / 534 / "
        "2,464 ms (+ ~10-30 ms per 1 MB page in a region)",
        "measured: bench/stores.py (replayed wire pages, 2 shared cores), docs/stores.md",
    ),
    "pgvector": (
        "a few ms (HNSW) once awake, + ~10-50 ms per Data API call; the first query after a "
        "pause waits for the resume (seconds)",
        "not measured here: AWS's Aurora Serverless v2 docs; docs/infrastructure.md (Data API)",
    ),
    "opensearch": (
        "tens of ms",
        "not measured here (no OpenSearch server installable; the adapter is contract-tested)",
    ),
    "s3vectors": (
        "~100 ms warm, under a second cold",
        "not measured here: AWS's S3 Vectors documentation",
    ),
    "kendra": ("hundreds of ms", "not measured here: typical Retrieve latency"),
}
"""Typical query latency of each store and where the figure comes from."""

STORE_FITS: dict[str, str] = {
    "dynamodb": "dev stacks and workspaces up to ~10k chunks; $0 idle",
    "pgvector": "real workspaces of any size up to millions of chunks; ~$0.50 idle paused",
    "opensearch": "large, busy workspaces needing rich keyword search; ~$175+/month floor",
    "s3vectors": "medium to large workspaces with modest query rates; $0 idle",
    "kendra": "organisations already indexing with Kendra connectors; $821+/month",
}
"""Which workspace size and budget each store fits (docs/stores.md, "Choosing")."""
