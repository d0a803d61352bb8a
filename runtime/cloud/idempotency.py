"""Powertools idempotency for effects a redelivered SQS message must not repeat.

SQS delivers at least once: the same S3 event or chat job can arrive twice, even concurrently.
Wrapping the effect in ``idempotent_function`` with DynamoDB persistence means the second
delivery gets the first one's stored result (or, while the first is still running, an error that
makes SQS retry later). Without an idempotency table in the app config (``tables.idempotency``)
the function runs as is; the ingest path stays correct then (deterministic chunk ids, content
hashes), only a concurrent duplicate could publish ``document-changed`` twice.

Powertools' idempotency utility imports its DynamoDB persistence layer and with it boto3 (over a
second of a worker's cold import): it is imported when a table is configured and the first
effect is wrapped, not when a handler imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .wiring.metadata import MetadataWiring

F = TypeVar("F", bound=Callable[..., Any])

RESULT_TTL_SECONDS = 24 * 60 * 60
"""How long a completed result is remembered (longer than SQS keeps retrying a message)."""


def idempotent(
    services: MetadataWiring,
    function: F,
    data_keyword: str,
    *,
    key_prefix: str,
    event_key_jmespath: str | None = None,
    context: Any = None,
) -> F:
    """``function`` made idempotent on its ``data_keyword`` argument, or unchanged."""
    layer = services.idempotency_layer
    if layer is None:
        return function
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(
        event_key_jmespath=event_key_jmespath or "",
        expires_after_seconds=RESULT_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    if context is not None:
        config.register_lambda_context(context)  # in-progress records expire with the invocation
    return idempotent_function(
        function,
        data_keyword_argument=data_keyword,
        persistence_store=layer,
        config=config,
        key_prefix=key_prefix,
    )
