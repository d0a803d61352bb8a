"""The WebSocket edge: the connections table, the token verifier, the CDN secret, replies.

``ws_authorizer``, ``ws_connect`` and ``ws_disconnect`` run on this alone. Their settings come
from the environment (``EdgeSettings``), so they never read the app config; boto3 and PyJWT load
with the first call that needs them.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..settings import ConfigurationError, edge_settings_from
from .base import Wiring, current

if TYPE_CHECKING:
    from ...adapters.apigw_delivery import ApiGatewayDelivery
    from ...adapters.cognito_jwt import CognitoTokenVerifier
    from ...adapters.dynamodb_api_keys import DynamoDBApiKeys
    from ...adapters.dynamodb_connections import ConnectionRegistry


class ConnectionWiring(Wiring):
    """Connections, token verification and replies to a connection."""

    @cached_property
    def connections(self) -> ConnectionRegistry:
        from ...adapters.dynamodb_connections import ConnectionRegistry

        table = self.settings.connections_table
        if not table:
            raise ConfigurationError(
                "CHORUS_CONNECTIONS_TABLE is not set; the function is misdeployed"
            )
        return ConnectionRegistry(self.dynamodb, table)

    @cached_property
    def delivery(self) -> ApiGatewayDelivery:
        from ...adapters.apigw_delivery import ApiGatewayDelivery
        from .base import retries

        endpoint = self.settings.websocket_endpoint
        if not endpoint:
            raise ConfigurationError("CHORUS_WEBSOCKET_ENDPOINT is not set; cannot reply")
        client = self.session.client(
            "apigatewaymanagementapi", endpoint_url=endpoint, config=retries()
        )
        return ApiGatewayDelivery(client, self.connections)

    @cached_property
    def verifier(self) -> CognitoTokenVerifier:
        from ...adapters.cognito_jwt import CognitoTokenVerifier, fetch_json

        s = self.settings
        if not s.issuer_url or not s.client_id:
            raise ConfigurationError("CHORUS_ISSUER_URL and CHORUS_CLIENT_ID must be set")
        return CognitoTokenVerifier(
            s.issuer_url, s.client_id, jwks_url=s.jwks_url, fetch=self._jwks_fetch or fetch_json
        )

    def _api_keys_table(self) -> str:
        return self.settings.workspace_table

    @cached_property
    def api_keys(self) -> DynamoDBApiKeys:
        """The public API's keys (items of the workspace table): a chat connection may be
        opened with one, and then each question spends from it."""
        from ...adapters.dynamodb_api_keys import DynamoDBApiKeys

        table = self._api_keys_table()
        if not table:
            raise ConfigurationError(
                "CHORUS_WORKSPACE_TABLE is not set; connections with an API key cannot be checked"
            )
        return DynamoDBApiKeys(self.dynamodb, table)

    @cached_property
    def cdn_secret(self) -> str | None:
        name = self.settings.cdn_secret_parameter
        if not self.settings.require_cdn_header:
            return None
        if not name:
            raise ConfigurationError("CHORUS_CDN_SECRET_PARAMETER is required with the CDN header")
        return self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


def connection_wiring() -> ConnectionWiring:
    """The edge functions' wiring, from their environment on the first call."""
    return current(ConnectionWiring, _from_environment)


def _from_environment() -> Any:
    return ConnectionWiring(edge_settings_from(os.environ))
