"""WebSocket ``$connect`` REQUEST authorizer: a Cognito token from the query string.

Browsers cannot set headers on a WebSocket, so the client connects to ``wss://…?token=<JWT>``.
The token is verified (RS256 against the pool's JWKS, issuer, app client, ``token_use``,
expiry); an Allow policy carries the user id and groups to every later route as
``requestContext.authorizer``. Anything else gets an explicit Deny (API Gateway answers 403) —
an outage of the pool's JWKS or any other failure too: the authorizer never ends in a Lambda
error. A JWKS refresh that failed while cached keys were still used is counted
(``JwksRefreshFailed``) so the outage is visible before the cached keys run out.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..adapters.cognito_jwt import Identity, InvalidToken
from ..cloud.access import origin_header_ok
from ..cloud.services import CloudServices, get_services
from ..core.errors import ChorusError
from .observability import logger, metrics, tracer


def policy(effect: str, method_arn: str, principal: str, context: dict[str, Any]) -> dict:
    """An IAM policy for ``execute-api:Invoke`` on exactly the route being connected."""
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}
            ],
        },
        "context": context,
    }


def authorize(
    services: CloudServices, token: str | None, headers: dict[str, str] | None
) -> Identity:
    """The identity behind a connection attempt; ``InvalidToken`` when it must be refused."""
    settings = services.settings
    if settings.require_cdn_header and not origin_header_ok(
        headers, settings.cdn_secret_header, services.cdn_secret
    ):
        raise InvalidToken("connections must come through the CDN")
    return services.verifier.verify(token)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    token = (event.query_string_parameters or {}).get("token")
    failures: list[int] = []
    try:
        services = get_services()
        failures.append(services.verifier.refresh_failures)
        identity = authorize(services, token, dict(event.headers or {}))
    except InvalidToken as exc:
        logger.info("connection refused", extra={"reason": exc.message})
        metrics.add_metric(name="ConnectionsRefused", unit=MetricUnit.Count, value=1)
        return policy("Deny", event.method_arn, "anonymous", {"reason": exc.code})
    except ChorusError as exc:  # e.g. jwks_unavailable: nobody can be checked, so nobody passes
        logger.error("connection refused: tokens cannot be checked", extra={"reason": exc.message})
        metrics.add_metric(name="AuthorizerFailures", unit=MetricUnit.Count, value=1)
        return policy("Deny", event.method_arn, "anonymous", {"reason": exc.code})
    except Exception:
        logger.exception("connection refused: the authorizer failed")
        metrics.add_metric(name="AuthorizerFailures", unit=MetricUnit.Count, value=1)
        return policy("Deny", event.method_arn, "anonymous", {"reason": "internal_error"})
    finally:
        if failures and get_services().verifier.refresh_failures > failures[0]:
            metrics.add_metric(name="JwksRefreshFailed", unit=MetricUnit.Count, value=1)
    return policy(
        "Allow",
        event.method_arn,
        identity.user_id,
        {
            "userId": identity.user_id,
            "username": identity.username,
            "groups": ",".join(identity.groups),
            "tokenUse": identity.token_use,
        },
    )
