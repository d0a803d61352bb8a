"""WebSocket ``sendMessage``, ``heartbeat`` and ``$default``: validate, check, enqueue.

Replies (heartbeats, errors) go back through the management API, so a bad frame gets an
``error`` event with a stable code and the connection stays open.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayWebSocketEvent,
    event_source,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..cloud.access import Caller, parse_groups
from ..cloud.chat_jobs import accept_frame
from ..cloud.wiring.messages import MessageWiring, message_wiring
from ..core.protocol import error_event
from .observability import logger, metrics, tracer


def caller_of(services: MessageWiring, event: APIGatewayWebSocketEvent) -> Caller | None:
    """The user from the authorizer context, else from the connections table."""
    authorizer = event["requestContext"].get("authorizer") or {}
    if authorizer.get("userId"):
        return Caller(str(authorizer["userId"]), parse_groups(authorizer.get("groups")))
    connection = services.connections.get(event.request_context.connection_id)
    if connection is None:
        return None
    return Caller(connection.user_id, frozenset(connection.groups))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=APIGatewayWebSocketEvent)
def handler(event: APIGatewayWebSocketEvent, context: LambdaContext) -> dict[str, Any]:
    services = message_wiring()
    connection_id = event.request_context.connection_id
    caller = caller_of(services, event)
    if caller is None:
        services.delivery.send(
            connection_id, error_event("unauthorized", "unknown connection; reconnect")
        )
        return {"statusCode": 401}
    outcome = accept_frame(services, connection_id, caller, event.body)
    metrics.add_metric(name=f"Frames_{outcome}", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}
