"""Logs and metrics of the WebSocket functions (authorizer, connect, disconnect, message) on the
standard library alone.

Powertools' package loads ~140 modules and its Tracer the X-Ray SDK and botocore (~440, over a
second on the build machine): more than these functions' whole budget (0.3 s cold import, 0.8 s
for ``ws_message``) for calls that make one or two DynamoDB or SQS requests. So they log with
``logging`` (the function's JSON log format makes each record a JSON line with the request id)
and write their counters as CloudWatch EMF lines exactly as ``observability.metrics`` does:
namespace ``chorus``, dimension ``service``.
Active tracing still records each invocation's segment (the function's ``tracing_config``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

NAMESPACE = "chorus"
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "chorus")

logger = logging.getLogger(SERVICE)
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))

F = TypeVar("F", bound=Callable[..., Any])


def count(name: str, value: float = 1) -> None:
    """Emit one counter as an EMF line (CloudWatch turns it into metric ``chorus/<name>``)."""
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"}],
                }
            ],
        },
        "service": SERVICE,
        name: [float(value)],
    }
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def edge_handler(function: F) -> F:
    """Log an unexpected failure with its request id before Lambda reports it."""

    @wraps(function)
    def handle(event: dict[str, Any], context: Any) -> Any:
        try:
            return function(event, context)
        except Exception:
            request_id = getattr(context, "aws_request_id", "")
            logger.exception("%s failed (request id %s)", function.__module__, request_id)
            raise

    return handle  # type: ignore[return-value]
