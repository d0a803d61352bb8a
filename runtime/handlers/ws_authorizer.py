"""WebSocket ``$connect`` REQUEST authorizer: a Cognito token from the query string.

Browsers cannot set headers on a WebSocket, so the client connects to ``wss://…?token=<JWT>``.
The token is verified (RS256 against the pool's JWKS, issuer, app client, ``token_use``,
expiry); an Allow policy carries the user id and groups to every later route as
``requestContext.authorizer``. Anything else gets an explicit Deny (API Gateway answers 403) —
an outage of the pool's JWKS or any other failure too: the authorizer never ends in a Lambda
error. A JWKS refresh that failed while cached keys were still used is counted
(``JwksRefreshFailed``) so the outage is visible before the cached keys run out.

Every connection attempt of a cold container waits for this function, so it imports the
standard library and its wiring only (``runtime.cloud.wiring.connections``); boto3 and PyJWT
load with the first call.
"""

from __future__ import annotations

from typing import Any

from ..adapters.cognito_jwt import Identity, InvalidToken
from ..cloud.access import origin_header_ok
from ..cloud.wiring.connections import ConnectionWiring, connection_wiring
from ..core.errors import ChorusError
from .edge_observability import count, edge_handler, logger


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
    services: ConnectionWiring, token: str | None, headers: dict[str, str] | None
) -> Identity:
    """The identity behind a connection attempt; ``InvalidToken`` when it must be refused."""
    settings = services.settings
    if settings.require_cdn_header and not origin_header_ok(
        headers, settings.cdn_secret_header, services.cdn_secret
    ):
        raise InvalidToken("connections must come through the CDN")
    return services.verifier.verify(token)


@edge_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = (event.get("queryStringParameters") or {}).get("token")
    method_arn = event["methodArn"]
    failures: list[int] = []
    try:
        services = connection_wiring()
        failures.append(services.verifier.refresh_failures)
        identity = authorize(services, token, dict(event.get("headers") or {}))
    except InvalidToken as exc:
        logger.info("connection refused: %s", exc.message)
        count("ConnectionsRefused")
        return policy("Deny", method_arn, "anonymous", {"reason": exc.code})
    except ChorusError as exc:  # e.g. jwks_unavailable: nobody can be checked, so nobody passes
        logger.error("connection refused: tokens cannot be checked: %s", exc.message)
        count("AuthorizerFailures")
        return policy("Deny", method_arn, "anonymous", {"reason": exc.code})
    except Exception:
        logger.exception("connection refused: the authorizer failed")
        count("AuthorizerFailures")
        return policy("Deny", method_arn, "anonymous", {"reason": "internal_error"})
    finally:
        if failures and connection_wiring().verifier.refresh_failures > failures[0]:
            count("JwksRefreshFailed")
    return policy(
        "Allow",
        method_arn,
        identity.user_id,
        {
            "userId": identity.user_id,
            "username": identity.username,
            "groups": ",".join(identity.groups),
            "tokenUse": identity.token_use,
        },
    )
