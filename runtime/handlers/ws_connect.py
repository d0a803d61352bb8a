"""WebSocket ``$connect``: record the connection and its user (the authorizer already ran)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayWebSocketEvent,
    event_source,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..adapters.apigw_delivery import Connection
from ..cloud.access import parse_groups
from ..cloud.services import get_services
from .observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=APIGatewayWebSocketEvent)
def handler(event: APIGatewayWebSocketEvent, context: LambdaContext) -> dict[str, Any]:
    request = event.request_context
    authorizer = event["requestContext"].get("authorizer") or {}
    user_id = authorizer.get("userId") or authorizer.get("principalId")
    if not user_id:
        logger.warning("connect without an authorizer context")
        return {"statusCode": 401}
    get_services().connections.remember(
        Connection(
            request.connection_id,
            str(user_id),
            tuple(sorted(parse_groups(authorizer.get("groups")))),
            int((event["requestContext"].get("connectedAt") or 0) // 1000),
        )
    )
    return {"statusCode": 200}
