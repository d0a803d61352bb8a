"""WebSocket ``$connect`` REQUEST authorizer: a Cognito token or an API key from the query string.

Browsers cannot set headers on a WebSocket, so the client connects to ``wss://…?token=<JWT>``.
The token is verified (RS256 against the pool's JWKS, issuer, app client, ``token_use``,
expiry); an Allow policy carries the user id and groups to every later route as
``requestContext.authorizer``. A program may connect with a public API key instead
(``?token=chorus_<keyId>_<secret>&workspace=<id>``: the cloud's streaming answers, since the
HTTP API buffers responses): the key must be a live key of that workspace with the ``answers``
scope; the context then names the key and its workspace, and ``ws_message`` spends one
request of the key's plan per question. Anything else gets an explicit Deny (API Gateway
answers 403) — an outage of the pool's JWKS or any other failure too: the authorizer never ends
in a Lambda error. A JWKS refresh that failed while cached keys were still used is counted
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
from ..core.api_keys import looks_like_key
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
    require_origin(services, headers)
    return services.verifier.verify(token)


def require_origin(services: ConnectionWiring, headers: dict[str, str] | None) -> None:
    settings = services.settings
    if settings.require_cdn_header and not origin_header_ok(
        headers, settings.cdn_secret_header, services.cdn_secret
    ):
        raise InvalidToken("connections must come through the CDN")


def key_context(
    services: ConnectionWiring, token: str, workspace_id: str, headers: dict[str, str] | None
) -> dict[str, Any]:
    """The authorizer context of a connection opened with an API key (``ChorusError``s with
    the key's code when it must be refused)."""
    from ..application.api_keys import SocketKey, verify_key

    require_origin(services, headers)
    key = verify_key(services.api_keys, token, workspace_id, "answers")
    socket_key = SocketKey(key.workspace_id, key.key_id)
    return {
        "userId": socket_key.user_id,
        "username": key.name,
        "groups": "",
        "tokenUse": "api_key",
        "apiKeyId": key.key_id,
        "apiKeyWorkspace": key.workspace_id,
    }


@edge_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    token = query.get("token")
    method_arn = event["methodArn"]
    headers = dict(event.get("headers") or {})
    if looks_like_key(token):
        return _key_connection(token, query.get("workspace") or "", method_arn, headers)
    failures: list[int] = []
    try:
        services = connection_wiring()
        failures.append(services.verifier.refresh_failures)
        identity = authorize(services, token, headers)
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


def _key_connection(
    token: str, workspace_id: str, method_arn: str, headers: dict[str, str]
) -> dict[str, Any]:
    """Allow or deny a connection opened with an API key (never a Lambda error)."""
    try:
        context = key_context(connection_wiring(), token, workspace_id, headers)
    except InvalidToken as exc:
        logger.info("key connection refused: %s", exc.message)
        count("ConnectionsRefused")
        return policy("Deny", method_arn, "anonymous", {"reason": exc.code})
    except ChorusError as exc:  # invalid, revoked or unscoped keys; a misdeployed table
        logger.info("key connection refused: %s", exc.code)
        count("ConnectionsRefused" if exc.http_status < 500 else "AuthorizerFailures")
        return policy("Deny", method_arn, "anonymous", {"reason": exc.code})
    except Exception:
        logger.exception("key connection refused: the authorizer failed")
        count("AuthorizerFailures")
        return policy("Deny", method_arn, "anonymous", {"reason": "internal_error"})
    return policy("Allow", method_arn, context["userId"], context)
