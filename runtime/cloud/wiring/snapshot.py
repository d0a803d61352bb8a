"""What a SnapStart snapshot should hold: the modules a worker's first call imports.

With SnapStart (``chorus:lambda.snapStart``) Lambda runs a worker's init phase once, when a
version is published, and restores every new container from the memory snapshot. The wiring
builds its parts on first use, so without help those imports would still run on each restored
container's first call. During that init (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``) the
chat and ingest workers import them too. Only modules: no client, connection or credential is
created before the snapshot (they would be shared by every restored container). The handlers
also build their tracer then (``observability.tracer``: the X-Ray SDK, which patches botocore
but opens nothing), as they did at import before it moved to the first invocation.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping

CHAT_TURN = (
    "chorus_runtime.core.chat",
    "chorus_runtime.core.retrieval",
    "chorus_runtime.core.answering",
    "chorus_runtime.core.grounding",
    "chorus_runtime.core.agreement",
    "chorus_runtime.core.relevance",
    "chorus_runtime.core.embedding_cache",
    "chorus_runtime.core.model_registry",
    "chorus_runtime.cloud.stores",
    "chorus_runtime.adapters.apigw_delivery",
    "chorus_runtime.adapters.dynamodb_metadata",
    "chorus_runtime.adapters.sagemaker",
    "chorus_runtime.adapters.bedrock",
    "chorus_runtime.adapters.postgres",
    "chorus_runtime.adapters.pgvector_store",
    "chorus_runtime.adapters.dynamodb_store",
    "aws_lambda_powertools.utilities.idempotency",
)
"""Modules a chat turn builds from (the default stores and model adapters, idempotency)."""

INGESTION = (
    "chorus_runtime.core.ingestion",
    "chorus_runtime.core.chunking",
    "chorus_runtime.core.parsing",
    "chorus_runtime.cloud.stores",
    "chorus_runtime.adapters.s3_documents",
    "chorus_runtime.adapters.sns_events",
    "chorus_runtime.adapters.dynamodb_metadata",
    "chorus_runtime.adapters.sagemaker",
    "chorus_runtime.adapters.postgres",
    "chorus_runtime.adapters.pgvector_store",
    "chorus_runtime.adapters.dynamodb_store",
    "aws_lambda_powertools.utilities.idempotency",
)
"""Modules the ingest worker builds from."""

_RUNTIME = __package__.rsplit(".cloud.", 1)[0]  # "runtime" on Lambda, "chorus.runtime" here


def snap_start_init(env: Mapping[str, str] | None = None) -> bool:
    """Whether this init phase is the one a SnapStart snapshot is taken of."""
    env = os.environ if env is None else env
    return env.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"


def preload(modules: Iterable[str]) -> list[str]:
    """Import ``modules`` (``chorus_runtime.`` names); returns the names imported."""
    names = [m.replace("chorus_runtime", _RUNTIME, 1) for m in modules]
    for name in names:
        importlib.import_module(name)
    return names
