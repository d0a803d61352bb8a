"""ApiGatewayDelivery: frames through moto's management API; GoneException cleans up."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from chorus.runtime.adapters.apigw_delivery import (
    ApiGatewayDelivery,
    Connection,
    ConnectionRegistry,
)
from chorus.runtime.adapters.dynamodb_metadata import TableNames, create_tables
from chorus.runtime.core.ports import Delivery

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        create_tables(
            boto3.client("dynamodb", region_name="us-east-1"), TableNames("w", "d", "s", "conns")
        )
        registry = ConnectionRegistry(boto3.resource("dynamodb", region_name="us-east-1"), "conns")
        client = boto3.client(
            "apigatewaymanagementapi", region_name="us-east-1", endpoint_url=ENDPOINT
        )
        yield client, registry


def posted(connection_id: str) -> bytes:
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
    return backend.connections[connection_id].data


def test_it_implements_the_delivery_port(aws):
    assert isinstance(ApiGatewayDelivery(aws[0]), Delivery)


def test_events_are_posted_as_compact_json_frames(aws):
    client, registry = aws
    delivery = ApiGatewayDelivery(client, registry)

    assert delivery.send_many("c1", [{"type": "token", "text": "é"}, {"type": "final"}])

    assert posted("c1") == b'{"type":"token","text":"\xc3\xa9"}{"type":"final"}'


def test_a_gone_connection_returns_false_and_is_forgotten(aws):
    client, registry = aws
    registry.remember(Connection("c1", "u1", ("team-a",)))
    delivery = ApiGatewayDelivery(client, registry)
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "post_to_connection", service_error_code="GoneException", http_status_code=410
        )
        assert delivery.send("c1", {"type": "heartbeat"}) is False
    assert registry.get("c1") is None


def test_other_errors_are_raised_not_swallowed(aws):
    client, registry = aws
    registry.remember(Connection("c1", "u1"))
    delivery = ApiGatewayDelivery(client, registry)
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "post_to_connection", service_error_code="LimitExceededException", http_status_code=429
        )
        with pytest.raises(Exception, match="LimitExceeded"):
            delivery.send("c1", {"type": "heartbeat"})
    assert registry.get("c1") is not None


def test_the_registry_keeps_user_groups_and_a_ttl(aws):
    _, registry = aws
    registry.remember(Connection("c1", "u1", ("a", "b")))
    assert registry.get("c1") == Connection("c1", "u1", ("a", "b"), registry.get("c1").connected_at)
    item = registry._table.get_item(Key={"connection_id": "c1"})["Item"]
    assert item["expires_at"] - item["connected_at"] > 2 * 3600
    assert json.loads(json.dumps(item, default=int))["user_id"] == "u1"
