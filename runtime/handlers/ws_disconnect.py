"""WebSocket ``$disconnect``: forget the connection (its TTL would, later, anyway)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayWebSocketEvent,
    event_source,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..cloud.services import get_services
from .observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=APIGatewayWebSocketEvent)
def handler(event: APIGatewayWebSocketEvent, context: LambdaContext) -> dict[str, Any]:
    get_services().connections.forget(event.request_context.connection_id)
    return {"statusCode": 200}
